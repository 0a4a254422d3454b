"""The reader's fault policy on truncated, corrupted and still-growing files built here."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import ferroboard
import numpy as np
import pytest

from tests.support.framing import frame, header_event, scalar_event, scalar_file

NAME = "events.out.tfevents.1700000000.host.1.0"


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_truncated_tail_is_normal_and_reported(tmp_path):
    data, offsets = scalar_file("x", range(10))
    for cut in (offsets[5] + 1, offsets[5] + 12, len(data) - 1):
        p = _write(tmp_path / f"c{cut}" / NAME, data[:cut])
        res = ferroboard.read(p.parent)
        steps = res.scalars["step"].tolist()
        assert steps == list(range(len(steps)))
        f = res.files[0]
        assert f["pending"] == cut - f["end_offset"] > 0
        assert f["corrupt"] == []
        assert f["bad_length_at"] is None
        assert f["end_offset"] == offsets[len(steps) + 1]
        # strict mode accepts an incomplete tail too: it is not corruption.
        assert len(ferroboard.read_scalars(p, strict=True)["step"]) == len(steps)


def test_bad_payload_crc_skips_one_record_and_counts_it(tmp_path):
    data, offsets = scalar_file("x", range(10))
    buf = bytearray(data)
    buf[offsets[4] + 14] ^= 0xFF  # a payload byte of the record of step 3
    p = _write(tmp_path / NAME, bytes(buf))
    res = ferroboard.read(p)
    assert res.scalars["step"].tolist() == [0, 1, 2, 4, 5, 6, 7, 8, 9]
    assert res.files[0]["corrupt"] == [offsets[4]]
    assert res.corrupt_records == 1
    with pytest.raises(ferroboard.CorruptRecordError) as e:
        ferroboard.read(p, strict=True)
    assert str(p) in str(e.value)
    assert f"offset {offsets[4]}" in str(e.value)
    assert e.value.offset == offsets[4]
    assert e.value.path == str(p)
    # Without CRC checks the damaged record is decoded as it stands.
    assert len(ferroboard.read_scalars(p, check_crc=False)["step"]) == 10


def test_bad_payload_crc_where_tensorboard_and_tbparse_stop_the_file(tmp_path):
    """Documented difference: at a record whose payload CRC fails, EventAccumulator (and so
    tbparse) stop reading the file; we skip that one record and read on."""
    import warnings

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    tbparse = pytest.importorskip("tbparse")
    data, offsets = scalar_file("x", range(6))
    buf = bytearray(data)
    buf[offsets[3] + 14] ^= 0xFF  # a payload byte of the record of step 2
    _write(tmp_path / "run" / NAME, bytes(buf))
    ea = EventAccumulator(str(tmp_path / "run"), size_guidance={"scalars": 0})
    ea.Reload()
    assert [e.step for e in ea.Scalars("x")] == [0, 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert tbparse.SummaryReader(str(tmp_path)).scalars["step"].tolist() == [0, 1]
    assert ferroboard.SummaryReader(tmp_path).scalars["step"].tolist() == [0, 1, 3, 4, 5]


def test_tag_filter_does_not_verify_records_of_known_filtered_out_tags(tmp_path):
    records = [frame(header_event())]
    for s in range(6):
        records += [frame(scalar_event("keep", s, s)), frame(scalar_event("drop", s, -s))]
    offsets = np.cumsum([0] + [len(r) for r in records]).tolist()
    buf = bytearray(b"".join(records))
    drop_late = offsets[6]  # "drop" at step 2: a tag already seen by then
    buf[offsets[7] - 5] ^= 0x40  # the value byte just before its payload CRC
    assert drop_late == offsets[7] - len(records[6])
    p = _write(tmp_path / NAME, bytes(buf))
    # Unfiltered: the damage is found and counted.
    assert ferroboard.read(p).files[0]["corrupt"] == [drop_late]
    # Filtered to "keep": every "keep" value back, the "drop" record skipped unverified.
    res = ferroboard.read(p, tags=["keep"])
    assert res.scalars["value"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    assert res.files[0]["corrupt"] == []
    assert res.files[0]["records"] == len(records)
    # strict=True verifies every record, filtered or not.
    with pytest.raises(ferroboard.CorruptRecordError, match=f"offset {drop_late}"):
        ferroboard.read(p, tags=["keep"], strict=True)


def test_bad_length_crc_is_skipped_to_the_next_record_and_named(tmp_path):
    data, offsets = scalar_file("x", range(10))
    buf = bytearray(data)
    buf[offsets[6] + 3] ^= 0x01  # the length of the record of step 5
    p = _write(tmp_path / "run" / NAME, bytes(buf))
    other, _ = scalar_file("y", range(3))
    _write(tmp_path / "run2" / NAME, other)
    res = ferroboard.read(tmp_path)
    s = res.scalars
    # Resynchronised on the next record: only the damaged record is lost.
    assert s["step"][s["tag"] == "x"].tolist() == [0, 1, 2, 3, 4, 6, 7, 8, 9]
    assert s["step"][s["tag"] == "y"].tolist() == [0, 1, 2]
    bad = next(f for f in res.files if f["path"] == str(p))
    assert bad["bad_length_at"] == offsets[6]
    assert bad["skipped"] == [(offsets[6], offsets[7] - offsets[6])]
    assert bad["end_offset"] == len(data)
    assert bad["pending"] == 0
    assert res.skipped == [(str(p), offsets[6], offsets[7] - offsets[6])]
    with pytest.raises(ferroboard.CorruptRecordError, match=f"offset {offsets[6]}"):
        ferroboard.read(tmp_path, strict=True)


def test_garbage_file_never_raises_without_strict(tmp_path):
    rng = np.random.default_rng(0)
    _write(tmp_path / NAME, rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
    res = ferroboard.read(tmp_path)
    assert len(res.scalars["step"]) == 0
    assert res.files[0]["bad_length_at"] == 0
    # Nothing verifies in random bytes: all but the last 11 (too few for a header, so
    # possibly the start of a record still being written) are skipped.
    assert res.files[0]["skipped"] == [(0, 5000 - 11)]
    assert res.files[0]["pending"] == 11


def test_growing_file_chunk_by_chunk(tmp_path):
    data, _ = scalar_file("x", range(200))
    p = tmp_path / NAME
    p.write_bytes(b"")
    tail = ferroboard.LogTail(tmp_path)
    rng = np.random.default_rng(1)
    pos, seen = 0, []
    while pos < len(data):
        n = int(rng.integers(1, 300))
        with open(p, "ab") as f:
            f.write(data[pos : pos + n])
        pos += n
        batch = tail.read()
        seen.extend(batch.scalars["step"].tolist())
        assert batch.corrupt_records == 0
    assert seen == list(range(200))
    assert len(tail.read().scalars["step"]) == 0


def test_new_files_and_runs_are_picked_up(tmp_path):
    tail = ferroboard.LogTail(tmp_path)
    assert len(tail.read().scalars["step"]) == 0
    _write(tmp_path / "a" / NAME, scalar_file("x", range(3))[0])
    assert tail.read().scalars["run"].tolist() == ["a"] * 3
    _write(tmp_path / "b" / NAME, scalar_file("y", range(2))[0])
    with open(tmp_path / "a" / NAME, "ab") as f:
        f.write(frame(scalar_event("x", 3, 1.5)))
    got = tail.read().scalars
    assert sorted(zip(got["run"].tolist(), got["step"].tolist())) == [
        ("a", 3),
        ("b", 0),
        ("b", 1),
    ]


def test_file_read_while_its_writer_runs(tmp_path):
    """A real writer (ferroboard's, flushing often) in a thread; the file is polled throughout."""
    n = 3000
    done = threading.Event()

    def write() -> None:
        w = ferroboard.SummaryWriter(tmp_path, flush_secs=0.01)
        for s in range(n):
            w.add_scalar("loss", 1.0 / (s + 1), s)
            if s % 500 == 0:
                w.add_text("note", f"t{s}", s)
            if s % 100 == 0:
                w.flush()
                time.sleep(0.002)
        w.close()
        done.set()

    t = threading.Thread(target=write)
    t.start()
    tail = ferroboard.LogTail(tmp_path)
    steps: list[int] = []
    texts = 0
    polls = 0
    while True:
        finished = done.is_set()
        b = tail.read()
        polls += 1
        steps.extend(b.scalars["step"].tolist())
        texts += len(b.records("text"))
        if finished:
            break
        time.sleep(0.001)
    t.join()
    assert polls > 2
    assert steps == list(range(n))
    assert texts == 6
    full = ferroboard.read_scalars(tmp_path)
    assert full["step"].tolist() == steps


def test_restarted_run_with_purge_step(tmp_path):
    """torch's purge_step: a second file restarts at step 5; both views."""
    first, _ = scalar_file("x", range(10))
    _write(tmp_path / "events.out.tfevents.1.h.1.0", first)
    second = frame(header_event()) + b"".join(
        frame(scalar_event("x", s, -1.0)) for s in range(5, 8)
    )
    _write(tmp_path / "events.out.tfevents.2.h.1.0", second)
    all_ = ferroboard.read_scalars(tmp_path)
    assert all_["step"].tolist() == [*range(10), 5, 6, 7]
    tb = ferroboard.read_scalars(tmp_path, purge_restarts=True)
    assert tb["step"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert tb["value"].tolist()[5:] == [-1.0] * 3
