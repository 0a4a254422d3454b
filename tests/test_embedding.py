"""add_embedding: the projector's files, judged against torch's writer (file by file: TSV
values parsed as TensorBoard parses them, metadata text, sprite pixels decoded by PIL, config
entries parsed by TensorBoard's ``projector_config_pb2`` with protobuf's ``text_format``) and
against TensorBoard's own server (its projector plugin's HTTP API); nothing half-written."""

from __future__ import annotations

import io
import json
import os
import threading
import warnings
from pathlib import Path
from typing import Any, Callable

import ferroboard
import numpy as np
import pytest
import torch
from ferroboard import _native
from google.protobuf import text_format
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image
from tensorboard.plugins.projector import projector_plugin
from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from tests.support.bad_input import EMBEDDING
from tests.support.tensorboard_server import TensorBoardServer

CONFIG = "projector_config.pbtxt"


def _rng() -> np.random.Generator:
    return np.random.default_rng(13)


def _config(logdir: Path) -> ProjectorConfig:
    cfg = ProjectorConfig()
    text_format.Parse((logdir / CONFIG).read_text(), cfg)
    return cfg


def _assets(logdir: Path) -> list[str]:
    """The files under ``logdir`` but event files, relative, sorted."""
    return sorted(
        str(p.relative_to(logdir))
        for p in logdir.rglob("*")
        if p.is_file() and not p.name.startswith("events.out.tfevents")
    )


def _pixels(path: Path) -> np.ndarray:
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _same_files(ours: Path, theirs: Path) -> None:
    """Every file torch wrote, we wrote, with the same content as TensorBoard reads it."""
    assert _assets(ours) == _assets(theirs)
    for rel in _assets(theirs):
        a, b = ours / rel, theirs / rel
        if rel.endswith("tensors.tsv"):
            # TensorBoard's own TSV reader: float() of each value, then float32.
            ta = projector_plugin._read_tensor_tsv_file(str(a))
            tb = projector_plugin._read_tensor_tsv_file(str(b))
            assert ta.shape == tb.shape, rel
            np.testing.assert_array_equal(ta, tb, err_msg=rel)
            # And the text itself: Python's str() of each value, as torch writes it.
            assert a.read_bytes() == b.read_bytes(), rel
        elif rel.endswith("sprite.png"):
            pa, pb = _pixels(a), _pixels(b)
            assert pa.shape == pb.shape, rel
            np.testing.assert_array_equal(pa, pb, err_msg=rel)
        elif rel == CONFIG:
            assert _config(ours) == _config(theirs)
            # And the text itself: protobuf's MessageToString, byte for byte.
            assert a.read_bytes() == b.read_bytes()
        else:
            assert a.read_bytes() == b.read_bytes(), rel


def _both(tmp_path: Path, calls: Callable[[Any, bool], None]) -> tuple[Path, Path]:
    """Runs ``calls(writer, is_torch)`` on our writer and torch's, in two logdirs."""
    ours, theirs = tmp_path / "ours", tmp_path / "torch"
    w = ferroboard.SummaryWriter(str(ours))
    calls(w, False)
    w.close()
    t = TorchWriter(str(theirs))
    calls(t, True)
    t.close()
    return ours, theirs


def _mat(n: int = 9, d: int = 5) -> np.ndarray:
    return _rng().standard_normal((n, d)).astype(np.float32)


def _images(n: int = 9, c: int = 3, h: int = 4, w: int = 6) -> torch.Tensor:
    return torch.from_numpy(_rng().random((n, c, h, w)).astype(np.float32))


CASES: dict[str, Callable[[Any, bool], None]] = {
    "plain": lambda w, _t: w.add_embedding(_mat()),
    "metadata": lambda w, _t: w.add_embedding(
        _mat(), metadata=[f"p{i}" if i % 2 else i for i in range(9)], global_step=7
    ),
    "header": lambda w, _t: w.add_embedding(
        _mat(),
        metadata=[[f"n{i}", i % 3, i / 2] for i in range(9)],
        metadata_header=["name", "class", "half"],
        global_step=3,
        tag="multi",
    ),
    "label_float": lambda w, _t: w.add_embedding(
        _mat(), metadata=list("abcdefghi"), label_img=_images(), tag="img"
    ),
    "label_gray": lambda w, _t: w.add_embedding(_mat(), label_img=_images(c=1, h=5, w=5)),
    "label_out_of_range": lambda w, _t: w.add_embedding(
        _mat(5, 2), label_img=(_images(5) * 3 - 1), global_step=2
    ),
    "two_tags_and_steps": lambda w, _t: (
        w.add_embedding(_mat(), tag="first"),
        w.add_embedding(_mat(4, 2), metadata=list("wxyz"), tag="sec/ond%", global_step=12),
        w.add_embedding(_mat(3, 3), tag="first", global_step=123456),
        w.add_embedding(_mat(2, 2), tag="üñí\\code", global_step=-4),
    ),
    "float64_and_tensor": lambda w, _t: (
        w.add_embedding(_rng().standard_normal((6, 3)) * 1e20, tag="f64"),
        w.add_embedding(torch.from_numpy(_mat(6, 3)), tag="tensor"),
        w.add_embedding(torch.from_numpy(_mat(6, 3)).half(), tag="half"),
        w.add_embedding(np.arange(12, dtype=np.int64).reshape(4, 3) - 5, tag="int"),
        w.add_embedding(
            np.array([[np.nan, np.inf], [-np.inf, -0.0], [1e-30, 3e38]], np.float32), tag="odd"
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_files_match_torchs(tmp_path, case):
    ours, theirs = _both(tmp_path, CASES[case])
    _same_files(ours, theirs)


def test_uint8_label_images_are_pixels(tmp_path):
    """uint8 images are 0..255 pixels (torch multiplies them by 255 again: a difference on
    purpose); the sprite equals torch's for the same images given as floats in [0, 1]."""
    u8 = torch.from_numpy(_rng().integers(0, 256, (7, 3, 3, 5), dtype=np.uint8))

    def calls(w: Any, is_torch: bool) -> None:
        w.add_embedding(_mat(7, 2), label_img=u8.float() / 255 if is_torch else u8)

    ours, theirs = _both(tmp_path, calls)
    _same_files(ours, theirs)
    sprite = _pixels(ours / "00000/default/sprite.png")
    # Image 0 sits at the top left, image 1 beside it (3 per row).
    np.testing.assert_array_equal(sprite[:3, :5], u8[0].permute(1, 2, 0).numpy())
    np.testing.assert_array_equal(sprite[:3, 5:10], u8[1].permute(1, 2, 0).numpy())


def test_numpy_and_tensor_inputs_give_the_same_files(tmp_path):
    mat, img = _mat(), _images()
    a, b = tmp_path / "a", tmp_path / "b"
    with ferroboard.SummaryWriter(str(a)) as w:
        w.add_embedding(mat, metadata=np.arange(9), label_img=img.numpy())
    with ferroboard.SummaryWriter(str(b)) as w:
        w.add_embedding(torch.from_numpy(mat), metadata=torch.arange(9), label_img=img)
    for rel in _assets(a):
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel
    assert (a / "00000/default/metadata.tsv").read_text() == "".join(f"{i}\n" for i in range(9))


@settings(max_examples=40)
@given(
    hnp.arrays(
        st.sampled_from([np.float32, np.float64, np.float16]),
        st.tuples(st.integers(1, 4), st.integers(1, 4)),
    )
)
def test_tensorboard_reads_back_every_float32(tmp_path_factory, mat):
    """Any values, including NaN, infinities, subnormals and -0.0, read back by TensorBoard's
    own TSV reader as the float32 values torch's files give."""
    d = tmp_path_factory.mktemp("p")
    with ferroboard.SummaryWriter(str(d)) as w:
        w.add_embedding(mat)
    with np.errstate(over="ignore"):  # float64 beyond float32's range: inf, both ways
        got = projector_plugin._read_tensor_tsv_file(str(d / "00000/default/tensors.tsv"))
        want = mat.astype(np.float32)
    assert got.shape == want.shape
    # The text is torch's (its make_mat: str() of each value's .item()).
    rows = ["\t".join(str(v.item()) for v in row) + "\n" for row in mat]
    assert (d / "00000/default/tensors.tsv").read_text() == "".join(rows)
    nan = np.isnan(want)
    np.testing.assert_array_equal(np.isnan(got), nan)
    # Bit for bit (-0.0 included) where not NaN.
    np.testing.assert_array_equal(got[~nan].view(np.uint32), want[~nan].view(np.uint32))


def test_tensorboard_server_lists_our_embeddings_as_torchs(tmp_path):
    """TensorBoard's projector plugin (its HTTP API) serves the same runs, configs, tensors,
    metadata and sprites for our files as for torch's."""
    logdir = tmp_path / "logs"

    def calls(w: Any, _t: bool) -> None:
        w.add_embedding(_mat(), metadata=list("abcdefghi"), label_img=_images(), tag="img")
        w.add_embedding(
            _mat(4, 3),
            metadata=[["a", 1], ["b", 2], ["c", 3], ["d", 4]],
            metadata_header=["l", "n"],
            global_step=5,
        )

    _both(logdir, calls)
    server = TensorBoardServer(logdir, tmp_path / "tb.log")
    try:
        runs = server.wait_for("/data/plugin/projector/runs", lambda a: len(a) == 2)
        assert sorted(runs) == ["ours", "torch"]
        info = {r: server.get("/data/plugin/projector/info", run=r) for r in runs}
        assert info["ours"] == info["torch"]
        names = [e["tensorName"] for e in info["ours"]["embeddings"]]
        assert names == ["img:00000", "default:00005"]
        assert info["ours"]["embeddings"][0]["tensorShape"] == [9, 5]
        for name in names:
            q = {"name": name}
            t_ours = server.get_bytes("/data/plugin/projector/tensor", run="ours", **q)
            t_torch = server.get_bytes("/data/plugin/projector/tensor", run="torch", **q)
            assert t_ours == t_torch
            m_ours = server.get_bytes("/data/plugin/projector/metadata", run="ours", **q)
            assert m_ours == server.get_bytes("/data/plugin/projector/metadata", run="torch", **q)
        s_ours, s_torch = (
            server.get_bytes("/data/plugin/projector/sprite_image", run=r, name="img:00000")
            for r in ("ours", "torch")
        )
        decoded = [np.asarray(Image.open(io.BytesIO(b)).convert("RGB")) for b in (s_ours, s_torch)]
        np.testing.assert_array_equal(decoded[0], decoded[1])
    finally:
        server.stop()


# ---------------------------------------------------------------- nothing half-written


def test_a_failed_config_write_leaves_no_entry(tmp_path):
    with ferroboard.SummaryWriter(str(tmp_path)) as w:
        w.add_embedding(_mat(), tag="kept")
        config = tmp_path / CONFIG
        config.unlink()
        config.mkdir()  # the config cannot be replaced
        with pytest.raises(OSError, match=CONFIG):
            w.add_embedding(_mat(), tag="lost")
        config.rmdir()
        w.add_embedding(_mat(), tag="next")
    assert [e.tensor_name for e in _config(tmp_path).embeddings] == ["kept:00000", "next:00000"]
    assert not [p for p in tmp_path.rglob("*.tmp")]


def test_a_failed_asset_write_leaves_no_entry(tmp_path):
    with ferroboard.SummaryWriter(str(tmp_path)) as w:
        w.add_embedding(_mat(), tag="kept")
        (tmp_path / "00000" / "blocked").write_text("a file where the directory goes")
        with pytest.raises(NotADirectoryError):
            w.add_embedding(_mat(), metadata=list("abcdefghi"), tag="blocked")
        w.add_embedding(_mat(), tag="next")
    assert [e.tensor_name for e in _config(tmp_path).embeddings] == ["kept:00000", "next:00000"]


@pytest.mark.parametrize("row", EMBEDDING, ids=[str(i) for i in range(len(EMBEDDING))])
def test_bad_input_writes_nothing_and_the_next_embedding_is_logged(tmp_path, row):
    method, args, kwargs, exc, match = row
    with ferroboard.SummaryWriter(str(tmp_path)) as w:
        with pytest.raises(exc, match=match):
            getattr(w, method)(*args, **kwargs)
        assert _assets(tmp_path) == []
        w.add_embedding(_mat(4, 3), tag="good")
    assert _assets(tmp_path) == ["00000/good/tensors.tsv", CONFIG]
    assert [e.tensor_name for e in _config(tmp_path).embeddings] == ["good:00000"]


def test_write_to_disk_false_writes_nothing(tmp_path):
    w = ferroboard.SummaryWriter(str(tmp_path / "quiet"), write_to_disk=False)
    w.add_embedding(_mat(), metadata=list("abcdefghi"), label_img=_images())
    with pytest.raises(ValueError, match="metadata"):
        w.add_embedding(_mat(), metadata=["a"])
    w.close()
    assert not (tmp_path / "quiet").exists()


def test_fsync_writers_log_embeddings(tmp_path):
    with ferroboard.SummaryWriter(str(tmp_path), fsync=True) as w:
        w.add_embedding(_mat(), metadata=list("abcdefghi"), label_img=_images())
    assert _assets(tmp_path) == [
        "00000/default/metadata.tsv",
        "00000/default/sprite.png",
        "00000/default/tensors.tsv",
        CONFIG,
    ]


def test_the_same_tag_and_step_replaces_its_entry(tmp_path):
    with ferroboard.SummaryWriter(str(tmp_path)) as w:
        w.add_embedding(_mat(), metadata=list("abcdefghi"))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            w.add_embedding(_mat(3, 2))
        assert any("already logged" in str(c.message) for c in caught)
    cfg = _config(tmp_path)
    assert len(cfg.embeddings) == 1
    assert not cfg.embeddings[0].metadata_path
    tsv = projector_plugin._read_tensor_tsv_file(str(tmp_path / "00000/default/tensors.tsv"))
    assert tsv.shape == (3, 2)


def test_a_boolean_matrix_is_written_as_numbers(tmp_path):
    """torch writes ``True``/``False``, which TensorBoard's reader (``float()``) refuses."""
    mat = np.array([[True, False], [False, True]])
    with ferroboard.SummaryWriter(str(tmp_path)) as w:
        w.add_embedding(mat)
    got = projector_plugin._read_tensor_tsv_file(str(tmp_path / "00000/default/tensors.tsv"))
    np.testing.assert_array_equal(got, mat.astype(np.float32))


def test_a_resumed_run_keeps_its_embeddings(tmp_path):
    with ferroboard.SummaryWriter(str(tmp_path)) as w:
        w.add_embedding(_mat(), tag="before", global_step=1)
    with ferroboard.SummaryWriter(str(tmp_path)) as w:
        w.add_embedding(_mat(), tag="after", global_step=2)
    assert [e.tensor_name for e in _config(tmp_path).embeddings] == [
        "before:00001",
        "after:00002",
    ]


def test_threads_lose_no_entry(tmp_path):
    with ferroboard.SummaryWriter(str(tmp_path)) as w:
        threads = [
            threading.Thread(target=w.add_embedding, args=(_mat(3, 2),), kwargs={"tag": f"t{i}"})
            for i in range(8)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(e.tensor_name for e in _config(tmp_path).embeddings) == [
        f"t{i}:00000" for i in range(8)
    ]


def test_a_closed_writer_reopens_for_an_embedding(tmp_path):
    """As torch (``_get_file_writer()``): the run keeps an event file TensorBoard finds."""
    w = ferroboard.SummaryWriter(str(tmp_path))
    w.close()
    for p in tmp_path.glob("events.out.tfevents*"):
        os.remove(p)
    w.add_embedding(_mat())
    w.close()
    assert list(tmp_path.glob("events.out.tfevents*"))


# ---------------------------------------------------------------- reading back


def test_projector_embeddings_reads_torchs_config(tmp_path):
    """The native config reader reads what torch (protobuf's text_format) wrote."""
    _ours, theirs = _both(tmp_path, CASES["two_tags_and_steps"])
    found = _native.projector_embeddings(str(theirs))
    assert found is not None
    cfg = _config(theirs)
    assert [f["tensor_name"] for f in found] == [e.tensor_name for e in cfg.embeddings]
    assert [f["tensor_path"] for f in found] == [e.tensor_path for e in cfg.embeddings]
    assert [f["shape"] for f in found] == [(9, 5), (4, 2), (3, 3), (2, 2)]
    assert found[1]["metadata_path"] == cfg.embeddings[1].metadata_path
    assert _native.projector_embeddings(str(tmp_path)) is None


def test_cli_ls_shows_embeddings(tmp_path, capsys):
    from ferroboard.cli import main

    _both(tmp_path, CASES["two_tags_and_steps"])
    assert main(["ls", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    for run in ("ours", "torch"):
        block = out.split(f"{run}  (")[1].split("\n\n")[0]
        assert "first:00000  embedding  9x5  in 00000/first" in block
        assert "sec/ond%:00012  embedding  4x2, metadata  in 00012/sec%2fond%25" in block
    assert main(["ls", str(tmp_path), "--json"]) == 0
    doc = {r["run"]: r["embeddings"] for r in json.loads(capsys.readouterr().out)}
    assert doc["ours"] == doc["torch"]
    assert [e["name"] for e in doc["ours"]] == [
        "first:00000",
        "sec/ond%:00012",
        "first:123456",
        "üñí\\code:-0004",
    ]
    assert doc["ours"][2]["shape"] == [3, 3]
    # A config in the logdir itself, without event files, is shown too (TensorBoard reads it).
    root = tmp_path / "ours"
    for p in root.glob("events.out.tfevents*"):
        p.unlink()
    assert main(["ls", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(".  (no event files; projector config)\n  first:00000  embedding  9x5")


def test_signature_is_torchs():
    import inspect

    def params(fn: Any) -> list[tuple[str, object]]:
        sig = inspect.signature(fn)
        return [(p.name, p.default) for p in sig.parameters.values() if p.name != "self"]

    assert params(ferroboard.SummaryWriter.add_embedding) == params(TorchWriter.add_embedding)
