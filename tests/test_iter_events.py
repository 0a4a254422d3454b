"""``ferroboard.iter_events``: every event as TensorBoard's own record loader reads it, on files
written by torch, tensorboardX and TensorFlow; and the bulk reader's fault policy, on files
damaged by hand (``tests/support/framing``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ferroboard
import numpy as np
import pytest

from tests.support.framing import frame, scalar_event, scalar_file
from tests.support.judges import tb_events
from tests.support.logdirs import (
    TF_FIXTURES,
    all_event_files,
    write_tbx_logdir,
    write_torch_logdir,
)

NAME = "events.out.tfevents.1.host"


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """Every event file written by torch, tensorboardX and TensorFlow (vendored)."""
    root = tmp_path_factory.mktemp("iter_events")
    write_torch_logdir(root / "torch")
    write_tbx_logdir(root / "tbx")
    files = all_event_files(root) + all_event_files(TF_FIXTURES)
    assert any("tf2-written" in str(f) for f in files)
    return files


def _check_value(mine: dict[str, Any], v: Any, plugin: str) -> None:
    """One value of ours against TensorBoard's ``Summary.Value`` proto ``v``."""
    from tensorboard.util import tensor_util

    which = v.WhichOneof("value")
    tag = v.node_name if not v.tag and which == "tensor" else v.tag
    assert mine["tag"] == tag
    assert mine["plugin"] == (plugin or None)
    if which == "simple_value":
        assert mine["value"] == np.float32(v.simple_value)
    elif which == "histo":
        h = v.histo
        assert (mine["min"], mine["max"], mine["num"], mine["sum"], mine["sum_squares"]) == (
            h.min,
            h.max,
            h.num,
            h.sum,
            h.sum_squares,
        )
        assert mine["limits"].tolist() == list(h.bucket_limit)
        assert mine["counts"].tolist() == list(h.bucket)
    elif which == "image":
        i = v.image
        assert (mine["width"], mine["height"], mine["colorspace"], mine["encoded"]) == (
            i.width,
            i.height,
            i.colorspace,
            i.encoded_image_string,
        )
    elif which == "audio":
        a = v.audio
        assert (mine["sample_rate"], mine["num_channels"], mine["length_frames"]) == (
            a.sample_rate,
            a.num_channels,
            a.length_frames,
        )
        assert (mine["content_type"], mine["encoded"]) == (a.content_type, a.encoded_audio_string)
    elif which == "tensor":
        theirs = tensor_util.make_ndarray(v.tensor)
        if mine["kind"] == "hparams":
            assert "tensor" not in mine  # its data is the plugin content, as the bulk reader
        elif "value" in mine:  # a one-number tensor of the scalars plugin
            assert mine["kind"] == "scalars"
            assert mine["value"] == theirs.item()
        else:
            assert mine["tensor"].shape == theirs.shape
            assert mine["tensor"].tolist() == theirs.tolist()


def test_every_event_equals_tensorboards_reading(written: list[Path]) -> None:
    kinds_seen: set[str] = set()
    for path in written:
        theirs = tb_events(path)
        it = ferroboard.iter_events(path)
        mine = list(it)
        assert (it.corrupt, it.skipped, it.malformed, it.truncated) == ([], [], [], None)
        assert len(mine) == len(theirs), path
        plugins: dict[str, str] = {}  # tag -> plugin of its first metadata, TensorBoard's rule
        for m, e in zip(mine, theirs):
            assert (m["step"], m["wall_time"]) == (e.step, e.wall_time), path
            assert m["kind"] == (e.WhichOneof("what") or "empty")
            if m["kind"] != "summary":
                if m["kind"] in ("file_version", "graph_def", "meta_graph_def"):
                    assert m[m["kind"]] == getattr(e, m["kind"])
                continue
            assert len(m["values"]) == len(e.summary.value)
            for mv, v in zip(m["values"], e.summary.value):
                tag = v.node_name if not v.tag and v.WhichOneof("value") == "tensor" else v.tag
                if v.HasField("metadata"):
                    plugins.setdefault(tag, v.metadata.plugin_data.plugin_name)
                _check_value(mv, v, plugins.get(tag, ""))
                kinds_seen.add(mv["kind"])
    # The files hold every kind the bulk reader knows.
    assert kinds_seen >= {
        "scalars",
        "histograms",
        "images",
        "audio",
        "text",
        "tensors",
        "pr_curves",
        "hparams",
    }


def test_keys_are_the_bulk_readers(written: list[Path]) -> None:
    """A value's data keys are those of ``ReadResult.records`` for its kind."""
    path = next(p for p in written if "tf2-written" in str(p) and "train" in str(p))
    records = ferroboard.read(path)
    for ev in ferroboard.iter_events(path):
        for v in ev.get("values", ()):
            if v["kind"] in (None, "scalars"):
                continue
            (rec, *_) = records.records(v["kind"])
            assert set(v) - {"plugin", "kind"} == set(rec) - {"run", "file", "step", "wall_time"}


def _file(tmp_path: Path, data: bytes) -> Path:
    p = tmp_path / NAME
    p.write_bytes(data)
    return p


def test_bad_data_crc_is_skipped_and_counted(tmp_path: Path) -> None:
    data, offsets = scalar_file("x", range(5))
    buf = bytearray(data)
    buf[offsets[3] + 14] ^= 0x08  # a payload byte of step 2
    p = _file(tmp_path, bytes(buf))
    it = ferroboard.iter_events(p)
    assert [e["step"] for e in it if e["kind"] == "summary"] == [0, 1, 3, 4]
    assert (it.corrupt, it.corrupt_records, it.skipped) == ([offsets[3]], 1, [])
    # The bulk reader reports the same record.
    assert ferroboard.read(p).files[0]["corrupt"] == [offsets[3]]
    strict = ferroboard.iter_events(p, strict=True)
    with pytest.raises(ferroboard.reader.CorruptRecordError) as e:
        list(strict)
    assert (e.value.path, e.value.offset) == (str(p), offsets[3])  # type: ignore[attr-defined]
    assert "record payload CRC mismatch" in str(e.value)


def test_damaged_length_is_reported_and_the_events_after_it_read(tmp_path: Path) -> None:
    data, offsets = scalar_file("x", range(6))
    buf = bytearray(data)
    buf[offsets[2] + 5] ^= 0x01  # the length of step 1: where that record ends is unknown
    p = _file(tmp_path, bytes(buf))
    it = ferroboard.iter_events(p)
    steps = [e["step"] for e in it if e["kind"] == "summary"]
    assert steps == [0, 2, 3, 4, 5]
    assert it.skipped == [(offsets[2], offsets[3] - offsets[2])]
    assert (it.bad_length_at, it.path) == (offsets[2], str(p))
    # TensorBoard stops the file there; the bulk reader passes over the same bytes.
    assert len(tb_events(p)) == 2
    assert ferroboard.read(p).files[0]["skipped"] == it.skipped
    strict = ferroboard.iter_events(p, strict=True)
    assert [e["step"] for e in [next(strict), next(strict)]] == [0, 0]
    with pytest.raises(ferroboard.reader.CorruptRecordError, match="record length CRC") as e:
        next(strict)
    assert (e.value.path, e.value.offset) == (str(p), offsets[2])  # type: ignore[attr-defined]


def test_malformed_event_is_skipped_and_listed(tmp_path: Path) -> None:
    data, _ = scalar_file("x", range(2))
    bad = frame(b"\x0a\xff")  # CRCs hold, not an Event
    p = _file(tmp_path, data + bad + frame(scalar_event("x", 9, 1.0)))
    it = ferroboard.iter_events(p)
    assert [e["step"] for e in it] == [0, 0, 1, 9]
    assert it.malformed == [len(data)]
    with pytest.raises(ferroboard.reader.CorruptRecordError, match="malformed event"):
        list(ferroboard.iter_events(p, strict=True))


def test_incomplete_tail_ends_quietly(tmp_path: Path) -> None:
    data, _ = scalar_file("x", range(3))
    tail = frame(scalar_event("x", 7, 0.5))
    p = _file(tmp_path, data + tail[:-3])
    it = ferroboard.iter_events(p, strict=True)
    assert len(list(it)) == 4
    assert it.truncated == len(data)
