"""``ferroboard.SummaryReader`` against ``tbparse.SummaryReader`` itself, exhaustively.

tbparse decodes images and audio with TensorFlow (``tf.image.decode_image``,
``tf.audio.decode_wav``), and refuses to read them without it. TensorFlow is neither
installed nor a dependency, so **this module injects a stand-in ``tensorflow`` into tbparse**
(``tbparse.summary_reader.tensorflow``; nothing else sees it) that implements exactly those two
functions with TensorFlow's documented semantics, using Pillow and numpy as test-only judges:

* ``decode_image(contents)``: a PNG as ``uint8`` ``(H, W, C)`` with the file's channels (gray
  1, gray+alpha 2, RGB 3, RGBA 4; palette images RGB, RGBA with a ``tRNS`` chunk; low-bit gray
  scaled to 8 bits; 16-bit samples reduced to their high byte); a GIF as ``uint8``
  ``(T, H, W, 3)`` (the stand-in is exact for GIFs whose frames cover the screen, the GIFs
  written here; TensorFlow documents that it does not support frame-compressed GIFs, and our
  decoder's handling of them is tested in Rust against TensorFlow's algorithm).
* ``decode_wav(contents)``: 16-bit PCM only (anything else is an error, as in TensorFlow), as
  ``float32`` ``(frames, channels)`` equal to ``int16 / 32768``, and the sample rate as int32.

Everything else tbparse does, it does itself: these tests compare its DataFrames, tags and
static helpers with ours on logdirs written by torch's writer, tensorboardX and TensorFlow
(the vendored fixture). Each logdir is written once per module, and each tbparse reader is
built once per option set and read for every kind (tbparse is slow).
"""

from __future__ import annotations

import dataclasses
import itertools
import warnings
from pathlib import Path

import ferroboard
import numpy as np
import pytest

from tests.support.logdirs import (
    TF_FIXTURES,
    write_media_logdir,
    write_tbx_logdir,
    write_torch_logdir,
)
from tests.support.standin_tf import STANDIN_TF, standin_decode_wav
from tests.test_reader import assert_frames_identical

tbparse = pytest.importorskip("tbparse")
PIL = pytest.importorskip("PIL")


# ----------------------------------------------------------------- the stand-in TensorFlow


@pytest.fixture(scope="module", autouse=True)
def standin_tensorflow():
    import tbparse.summary_reader as sr

    saved = sr.tensorflow
    sr.tensorflow = STANDIN_TF
    yield
    sr.tensorflow = saved


# ----------------------------------------------------------------- logdirs


@pytest.fixture(scope="module")
def logdirs(tmp_path_factory) -> dict[str, Path]:
    torch_dir = tmp_path_factory.mktemp("torch")
    write_torch_logdir(torch_dir)
    tbx_dir = tmp_path_factory.mktemp("tbx")
    write_tbx_logdir(tbx_dir)
    return {"torch": torch_dir, "tbx": tbx_dir, "tf": TF_FIXTURES}


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    root = tmp_path_factory.mktemp("media")
    return root, write_media_logdir(root)


def _tbparse(path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tbparse's own pandas deprecations
        return tbparse.SummaryReader(str(path), **kw)


def _frame(reader, kind):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return reader.get_events(kind)


KINDS = ["scalars", "tensors", "histograms", "images", "audio", "text", "hparams"]
COMMON = ["dir_name", "file_name", "wall_time"]
HIST = ["min", "max", "num", "sum", "sum_squares"]
IMAGE = ["width", "height"]
AUDIO = ["content_type", "length_frames", "sample_rate"]
# Each kind reads only its own extra columns, so one reader covers one choice per kind:
# none, all, and every single column of every kind (a set of the i-th columns of each kind).
SPECIFIC = [set(), set(HIST + IMAGE + AUDIO)] + [
    {cols[i] for cols in (HIST, IMAGE, AUDIO) if i < len(cols)} for i in range(len(HIST))
]
COMMON_SUBSETS = [set(c) for n in range(4) for c in itertools.combinations(COMMON, n)]
OPTION_SETS = [
    (pivot, frozenset(common | specific))
    for pivot in (False, True)
    for common in COMMON_SUBSETS
    for specific in SPECIFIC
    # Every common subset with none or all specific columns; single ones with none or all common.
    if specific in SPECIFIC[:2] or len(common) in (0, 3)
]


@pytest.mark.parametrize("which", ["torch", "tbx", "tf"])
@pytest.mark.parametrize(
    ("pivot", "extra"),
    OPTION_SETS,
    ids=[f"{'pivot' if p else 'long'}-{'+'.join(sorted(e)) or 'none'}" for p, e in OPTION_SETS],
)
def test_every_kind_and_option_equals_tbparse(logdirs, which, pivot, extra):
    path = logdirs[which]
    theirs = _tbparse(path, pivot=pivot, extra_columns=set(extra))
    ours = ferroboard.SummaryReader(path, pivot=pivot, extra_columns=set(extra))
    for kind in KINDS:
        a, b = _frame(theirs, kind), ours.get_events(kind)
        try:
            assert_frames_identical(a, b)
        except AssertionError as e:
            raise AssertionError(f"{kind}: {e}\ntbparse:\n{a}\nours:\n{b}") from e


def test_option_sets_cover_every_column():
    assert {c for _, e in OPTION_SETS for c in e} == set(COMMON + HIST + IMAGE + AUDIO)
    assert len(OPTION_SETS) > 40


# ----------------------------------------------------------------- decoded media


@pytest.mark.parametrize("kind", ["images", "audio"])
@pytest.mark.parametrize("pivot", [False, True])
def test_decoded_media_of_every_format_equal_tbparse(media, kind, pivot):
    root, files = media
    extra = {"wall_time", "width", "height", "content_type", "length_frames", "sample_rate"}
    theirs = _frame(_tbparse(root, pivot=pivot, extra_columns=extra), kind)
    ours = ferroboard.SummaryReader(root, pivot=pivot, extra_columns=extra).get_events(kind)
    assert len(theirs) > 0
    assert_frames_identical(theirs, ours)
    if not pivot:
        prefix = "wav/" if kind == "audio" else ("png/", "gif/")
        assert sorted(ours["tag"]) == sorted(t for t in files if t.startswith(prefix))


def test_decode_false_keeps_the_encoded_bytes(media):
    root, files = media
    r = ferroboard.SummaryReader(root, decode=False)
    for kind in ("images", "audio"):
        df = r.get_events(kind)
        assert all(v == files[t] for t, v in zip(df["tag"], df["value"]))
    decoded = ferroboard.SummaryReader(root).images
    assert decoded["value"].map(type).eq(np.ndarray).all()


def test_tf_image_and_audio_tensors_decode_as_tbparse_decodes_them():
    """TensorFlow writes images and audio as string tensors, which tbparse puts in
    ``tensors``; ``unify=True`` puts them in ``images``/``audio``, decoded as tbparse's own
    ``tensor_to_image``/``tensor_to_audio`` decode those tensors."""
    theirs = _frame(_tbparse(TF_FIXTURES / "train"), "tensors")
    ours = ferroboard.SummaryReader(
        TF_FIXTURES / "train", unify=True, extra_columns={"width", "height"}
    )
    im, au = ours.images, ours.audio
    t_im = theirs[theirs["tag"] == "samples"]
    expected = []
    for step, value in zip(t_im["step"], t_im["value"]):
        d = tbparse.SummaryReader.tensor_to_image(value)
        pics = d["image"] if d["image"].ndim == 4 else d["image"][None]
        expected += [(step, p, d["width"], d["height"]) for p in pics]
    assert len(expected) == len(im) > 0
    for (step, pic, w, h), row in zip(expected, im.itertuples()):
        assert (row.step, row.width, row.height) == (step, w, h)
        assert (row.value.dtype, row.value.shape) == (pic.dtype, pic.shape)
        np.testing.assert_array_equal(row.value, pic)
    t_au = theirs[theirs["tag"] == "tone"]
    assert len(t_au) == len(au) > 0
    for value, row in zip(t_au["value"], au.itertuples()):
        d = tbparse.SummaryReader.tensor_to_audio(value)
        assert (row.value.dtype, row.value.shape) == (d["audio"].dtype, d["audio"].shape)
        np.testing.assert_array_equal(row.value, d["audio"])


def _wav(fmt: int, bits: int, channels: int, data: bytes, rate: int = 8000) -> bytes:
    """A canonical WAV (format tag ``fmt``: 1 PCM, 3 IEEE float) around ``data``, framed here
    since the ``wave`` module writes PCM only."""
    import struct

    block = channels * bits // 8
    fmt_chunk = struct.pack("<HHIIHH", fmt, channels, rate, rate * block, block, bits)
    body = b"WAVEfmt " + struct.pack("<I", 16) + fmt_chunk + b"data" + struct.pack("<I", len(data))
    return b"RIFF" + struct.pack("<I", len(body) + len(data)) + body + data


def test_wav_beyond_tensorflow():
    """TensorFlow reads 16-bit PCM only; 8/24/32-bit PCM and float WAVs decode too, to the
    samples written, scaled to [-1, 1)."""
    from ferroboard import _native

    rng = np.random.default_rng(3)
    u8 = rng.integers(0, 256, size=(9, 2), dtype=np.uint8)
    i32 = rng.integers(-(2**31), 2**31, size=(7, 3), dtype=np.int64).astype("<i4")
    i24 = rng.integers(-(2**23), 2**23, size=(5, 1))
    b24 = b"".join(int(v).to_bytes(3, "little", signed=True) for v in i24.ravel())
    f32 = rng.uniform(-1, 1, size=(6, 2)).astype("<f4")
    items = [
        _wav(1, 8, 2, u8.tobytes()),
        _wav(1, 32, 3, i32.tobytes()),
        _wav(3, 32, 2, f32.tobytes()),
        _wav(1, 24, 1, b24),
    ]
    got = _native.decode_wavs(items)
    np.testing.assert_array_equal(got[0][0], (u8.astype(np.float32) - 128) / 128)
    np.testing.assert_array_equal(got[1][0], i32.astype(np.float32) / 2**31)
    np.testing.assert_array_equal(got[2][0], f32)
    np.testing.assert_array_equal(got[3][0], (i24 / 2**23).astype(np.float32))
    assert [r for _, r in got] == [8000] * 4
    with pytest.raises(ValueError, match="Can only read 16-bit"):
        standin_decode_wav(items[0])  # the stand-in refuses it, as TensorFlow does


def test_undecodable_media_name_the_record(tmp_path):
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import Summary

    w = SummaryWriter(tmp_path)
    bad = Summary.Image(height=1, width=1, colorspace=3, encoded_image_string=b"\xff\xd8\xffjpeg")
    w._get_file_writer().add_summary(Summary(value=[Summary.Value(tag="jpg", image=bad)]), 7)
    w.close()
    with pytest.raises(ValueError, match=r"'jpg' at step 7 .*JPEG.*decode=False"):
        _ = ferroboard.SummaryReader(tmp_path).images
    assert len(ferroboard.SummaryReader(tmp_path, decode=False).images) == 1
    assert ferroboard.SummaryReader(tmp_path).tags["images"] == ["jpg"]  # tags decode nothing


# ----------------------------------------------------------------- tags, children, raw events


def _files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if "tfevents" in p.name)


def _tags_equal(theirs: dict, ours: dict) -> None:
    assert list(theirs) == list(ours)
    for k in theirs:
        if k == "hparams":  # tbparse lists hparams names in protobuf map (hash) order
            assert sorted(theirs[k]) == sorted(ours[k]), k
        else:
            assert theirs[k] == ours[k], k


@pytest.mark.parametrize("which", ["torch", "tbx", "tf"])
def test_tags_equal_tbparse(logdirs, which):
    root = logdirs[which]
    for path in [root, *_files(root)[:4]]:
        theirs, ours = _tbparse(path), ferroboard.SummaryReader(path)
        _tags_equal(theirs.tags, ours.tags)
        for kind in KINDS:
            t, o = theirs.get_tags(kind), ours.get_tags(kind)
            assert (sorted(t), sorted(o)) if kind == "hparams" else (t == o), (path, kind)
    with pytest.raises(ValueError, match="Unknown event_type"):
        ferroboard.SummaryReader(root).get_tags("nope")


@pytest.mark.parametrize("which", ["torch", "tf"])
def test_children_equal_tbparse(logdirs, which):
    root = logdirs[which]
    theirs = _tbparse(root, extra_columns={"dir_name", "file_name"})
    ours = ferroboard.SummaryReader(root, extra_columns={"dir_name", "file_name"})
    assert list(ours.children) == list(theirs.children)
    assert not ours.children._built  # nothing is read until asked for

    def walk(t, o, depth=0):
        assert list(o.children) == list(t.children)
        for name in t.children:
            tc, oc = t[name], o[name]
            assert oc is o.children[name]  # built once
            assert oc.log_path == tc.log_path
            for kind in ("scalars", "text", "histograms"):
                assert_frames_identical(_frame(tc, kind), oc.get_events(kind))
            _tags_equal(tc.tags, oc.tags)
            if depth < 3:
                walk(tc, oc, depth + 1)

    walk(theirs, ours)
    with pytest.raises(KeyError):
        ours["no such entry"]
    leaf = ferroboard.SummaryReader(_files(root)[0])
    assert dict(leaf.children) == {}


def test_symlinked_run_directories_are_read_as_tbparse_reads_them(tmp_path):
    """A logdir that gathers runs by symbolic links to their directories (a common way to
    compare experiments): tbparse lists the link as a directory and reads it, and so does
    TensorBoard (tests/test_reader.py); a link back up the tree is not followed forever."""
    from torch.utils.tensorboard import SummaryWriter

    elsewhere, root = tmp_path / "elsewhere", tmp_path / "logdir"
    for run, base in ((elsewhere / "exp1", 0.0), (root / "local", 10.0)):
        w = SummaryWriter(run)
        for s in range(3):
            w.add_scalar("loss", base + s, s)
            w.add_text("note", f"{run.name} {s}", s)
        w.close()
    (root / "linked").symlink_to(elsewhere / "exp1", target_is_directory=True)
    for pivot in (False, True):
        extra = {"dir_name", "file_name", "wall_time"}
        theirs = _tbparse(root, pivot=pivot, extra_columns=extra)
        ours = ferroboard.SummaryReader(root, pivot=pivot, extra_columns=extra)
        for kind in ("scalars", "text"):
            a, b = _frame(theirs, kind), ours.get_events(kind)
            assert len(a) == 6
            assert_frames_identical(a, b)
        assert list(ours.children) == list(theirs.children) == ["linked", "local"]
        assert_frames_identical(_frame(theirs["linked"], "scalars"), ours["linked"].scalars)
    # A link to an ancestor would make the tree infinite: it is not followed.
    (root / "local" / "up").symlink_to(root, target_is_directory=True)
    assert sorted(set(ferroboard.read_scalars(root)["run"])) == ["linked", "local"]


def test_text_without_tensors_in_event_types_keeps_every_text(tmp_path):
    """Documented difference: with ``event_types`` lacking ``tensors``, tbparse sizes its
    accumulator's tensor reservoir to 1, so its ``text`` holds each file's last text per tag
    only; ours holds them all, as with ``tensors`` (which changes nothing in tbparse's)."""
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(tmp_path)
    for s in range(4):
        w.add_text("note", f"n{s}", s)
    w.close()
    narrow = _frame(_tbparse(tmp_path, event_types={"text"}), "text")
    assert narrow["value"].tolist() == ["n3"]
    theirs = _frame(_tbparse(tmp_path, event_types={"text", "tensors"}), "text")
    assert theirs["value"].tolist() == ["n0", "n1", "n2", "n3"]
    for et in ({"text"}, {"text", "tensors"}):
        assert_frames_identical(theirs, ferroboard.SummaryReader(tmp_path, event_types=et).text)


def _same_event(theirs, ours) -> bool:
    from tensorboard.util import tensor_util

    if type(theirs).__name__ == "TensorEvent":
        arr = tensor_util.make_ndarray(theirs.tensor_proto)
        return (
            (theirs.wall_time, theirs.step) == (ours.wall_time, ours.step)
            and arr.dtype == ours.tensor.dtype
            and arr.shape == ours.tensor.shape
            and bool(np.all(arr == ours.tensor))
        )
    if type(theirs).__name__ == "HistogramEvent":
        h, o = theirs.histogram_value, ours.histogram_value
        return (theirs.wall_time, theirs.step) == (ours.wall_time, ours.step) and (
            dataclasses.astuple(h) == dataclasses.astuple(o)
        )
    return dataclasses.astuple(theirs) == dataclasses.astuple(ours) and (
        type(theirs).__name__ == type(ours).__name__
    )


@pytest.mark.parametrize("which", ["torch", "tbx", "tf"])
def test_raw_tags_and_events_equal_tbparse(logdirs, which):
    for path in _files(logdirs[which]):
        theirs, ours = _tbparse(path), ferroboard.SummaryReader(path)
        t_tags, o_tags = theirs.raw_tags, ours.raw_tags
        plugins = {t["plugin"] for t in ours.result.tag_summary()}
        if "graph_run_metadata_graph" in plugins:  # documented: a graph summary counts
            assert (t_tags.pop("graph"), o_tags.pop("graph")) == (False, True)
        # Documented: hparams plugin tags are not listed as tensors, also where TensorFlow
        # wrote their (dummy) tensors.
        hp = set(t_tags["hparams"])
        t_tags["tensors"] = [t for t in t_tags["tensors"] if t not in hp]
        assert t_tags == o_tags, path
        t_ev, o_ev = theirs.raw_events, ours.raw_events
        t_ev["tensors"] = {k: v for k, v in t_ev["tensors"].items() if k not in hp}
        assert list(t_ev) == list(o_ev)
        for kind in t_ev:
            assert list(t_ev[kind]) == list(o_ev[kind]), (path, kind)
            if kind == "hparams":  # serialized HParamsPluginData there, tensors here
                continue
            for tag in t_ev[kind]:
                a, b = t_ev[kind][tag], o_ev[kind][tag]
                assert len(a) == len(b), (path, kind, tag)
                assert all(_same_event(x, y) for x, y in zip(a, b)), (path, kind, tag)
                assert len(ours.get_raw_events(kind, tag)) == len(a)
    with pytest.raises(ValueError, match="Not an event file"):
        _ = ferroboard.SummaryReader(logdirs[which]).raw_tags


def test_raw_tags_in_file_order_whatever_the_wall_times(tmp_path):
    """Tags logged with explicit wall times that go back (``walltime=``, as replayed or
    imported logs have them) are listed in the order their first records are in the file,
    as TensorBoard's ``Tags()`` lists them."""
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(tmp_path)
    for i, tag in enumerate(["late", "early", "mid"]):
        wt = {"late": 300.0, "early": 100.0, "mid": 200.0}[tag]
        w.add_scalar(tag, float(i), 0, walltime=wt)
        w.add_histogram(f"h_{tag}", np.arange(5.0) + i, 0, walltime=wt)
        w.add_text(f"t_{tag}", tag, 0, walltime=wt)
    w.close()
    (path,) = _files(tmp_path)
    theirs, ours = _tbparse(path), ferroboard.SummaryReader(path)
    t_tags, o_tags = theirs.raw_tags, ours.raw_tags
    assert t_tags["scalars"] == ["late", "early", "mid"]
    assert t_tags == o_tags
    for kind in ("scalars", "histograms", "text"):
        assert list(theirs.raw_events[kind]) == list(ours.raw_events[kind])


def test_tensor_tags_in_file_order_when_scalar_tensors_and_others_mix(tmp_path):
    """torch's ``new_style`` scalars (TensorFlow 2 writes every scalar so) are tensors; logged
    after a PR curve, tbparse lists them after it in ``tags["tensors"]``, as we must."""
    from torch.utils.tensorboard import SummaryWriter

    w = SummaryWriter(tmp_path / "run")
    for s in range(2):
        w.add_pr_curve("pr", np.array([0, 1, 1]), np.array([0.1, 0.5, 0.9]), s)
        w.add_scalar("acc", 0.5 + s, s, new_style=True)
    w.close()
    theirs, ours = _tbparse(tmp_path), ferroboard.SummaryReader(tmp_path)
    assert theirs.get_tags("tensors") == ["pr", "acc"]
    assert ours.get_tags("tensors") == theirs.get_tags("tensors")
    _tags_equal(theirs.tags, ours.tags)
    for pivot, extra in ((False, set()), (True, {"wall_time"}), (True, {"wall_time", "dir_name"})):
        theirs = _tbparse(tmp_path, pivot=pivot, extra_columns=extra)
        ours = ferroboard.SummaryReader(tmp_path, pivot=pivot, extra_columns=extra)
        assert_frames_identical(_frame(theirs, "tensors"), ours.tensors)


# ----------------------------------------------------------------- static helpers


def _same(a, b) -> bool:
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return (
            isinstance(b, np.ndarray)
            and a.dtype == b.dtype
            and a.shape == b.shape
            and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
        )
    if isinstance(a, float) and np.isnan(a):
        return isinstance(b, float) and np.isnan(b)
    return type(a) is type(b) and a == b


def _histogram_inputs(logdirs):
    """Histogram tensors TensorFlow wrote, and counts/limits of torch's histograms."""
    tensors = _frame(_tbparse(TF_FIXTURES / "train"), "tensors")
    hist_tensors = [v for t, v in zip(tensors["tag"], tensors["value"]) if t.startswith("weights/")]
    h = _frame(_tbparse(logdirs["torch"] / "a"), "histograms")
    return hist_tensors, list(zip(h["counts"], h["limits"]))


def test_static_histogram_helpers_equal_tbparse(logdirs):
    T, F = tbparse.SummaryReader, ferroboard.SummaryReader
    tensors, hists = _histogram_inputs(logdirs)
    assert tensors
    assert hists
    for t in [*tensors, tensors[0].astype(np.float32), tensors[0].tolist()]:
        if len(t) == 0:
            continue  # tbparse fails on an empty tensor (IndexError); we raise ValueError
        assert _same(T.tensor_to_histogram(t), F.tensor_to_histogram(t))
        assert _same(T.buckets_to_histogram_dict(t), F.buckets_to_histogram_dict(t))
    with pytest.raises(ValueError, match="tensor"):
        F.tensor_to_histogram(np.zeros((0, 3)))
    for counts, limits in hists[:4]:
        lo, hi = float(limits[1]), float(limits[-2])
        for x in (
            np.linspace(lo - 1, hi + 1, 7),
            np.linspace(lo, hi, 50),
            np.array([limits[0], limits[1], limits[-1], limits[-1] + 1]),
        ):
            assert _same(
                T.histogram_to_cdf(counts, limits, x), F.histogram_to_cdf(counts, limits, x)
            )
            assert _same(
                T.histogram_to_pdf(counts, limits, x), F.histogram_to_pdf(counts, limits, x)
            )
        for kw in (
            {},
            {"lower_bound": lo, "upper_bound": hi},
            {"lower_bound": lo, "upper_bound": lo},
            {"lower_bound": lo - 3, "upper_bound": hi + 3, "n_bins": 7},
        ):
            a = T.histogram_to_bins(counts, limits, **kw)
            b = F.histogram_to_bins(counts, limits, **kw)
            assert _same(list(a), list(b)), kw
    # A zero-width bucket (a constant histogram) counts in the bin that holds it.
    counts, limits = np.array([0.0, 5.0]), np.array([2.0, 2.0])
    assert _same(
        T.histogram_to_bins(counts, limits, 1.0, 3.0, 4),
        F.histogram_to_bins(counts, limits, 1.0, 3.0, 4),
    )
    with pytest.raises(ValueError, match="increasing"):
        F.histogram_to_cdf(hists[0][0], hists[0][1], np.array([1.0, 0.0]))
    with pytest.raises(ValueError, match="same length"):
        F.histogram_to_cdf([0, 1], [0.0], [0.5])


def test_static_media_helpers_equal_tbparse():
    T, F = tbparse.SummaryReader, ferroboard.SummaryReader
    tensors = _frame(_tbparse(TF_FIXTURES / "train"), "tensors")
    images = [v for t, v in zip(tensors["tag"], tensors["value"]) if t == "samples"]
    clips = [v for t, v in zip(tensors["tag"], tensors["value"]) if t == "tone"]
    assert images
    assert clips
    for v in [*images, images[0][:3]]:  # several images, and one
        assert _same(T.tensor_to_image(v), F.tensor_to_image(v))
    for v in [*clips, clips[0][:1]]:
        assert _same(T.tensor_to_audio(v), F.tensor_to_audio(v))
    with pytest.raises(ValueError, match="label"):
        F.tensor_to_audio(np.array([[clips[0][0][0], b"x"]], dtype=object))


def test_histogram_helpers_on_generated_histograms_equal_tbparse():
    """Random histograms (zero-width buckets included) and points: the same floats as
    tbparse's own helpers, bit for bit."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    T, F = tbparse.SummaryReader, ferroboard.SummaryReader
    finite = st.floats(-100, 100, allow_nan=False, width=32)

    @settings(max_examples=150)  # fixed examples, no database: the profile in tests/conftest.py
    @given(
        edges=st.lists(finite, min_size=2, max_size=12),
        counts=st.lists(st.integers(0, 50), min_size=11, max_size=11),
        xs=st.lists(finite, min_size=2, max_size=10, unique=True),
        bounds=st.one_of(st.none(), st.tuples(finite, finite)),
        n_bins=st.integers(1, 12),
    )
    def check(edges, counts, xs, bounds, n_bins):
        limits = np.sort(np.array(edges, dtype=np.float64))
        c = np.array([0, *counts[: len(limits) - 1]], dtype=np.float64)
        if c.sum() == 0:
            c[-1] = 1.0
        x = np.sort(np.array(xs, dtype=np.float64))
        if np.all(np.diff(limits) > 0):  # tbparse's cdf needs distinct edges around each x
            assert _same(T.histogram_to_cdf(c, limits, x), F.histogram_to_cdf(c, limits, x))
            assert _same(T.histogram_to_pdf(c, limits, x), F.histogram_to_pdf(c, limits, x))
        lo, hi = (None, None) if bounds is None else sorted(bounds)
        a = T.histogram_to_bins(c, limits, lo, hi, n_bins)
        b = F.histogram_to_bins(c, limits, lo, hi, n_bins)
        assert _same(list(a), list(b))
        t = np.stack([limits[:-1], limits[1:], c[1:]], axis=1)
        assert _same(T.tensor_to_histogram(t), F.tensor_to_histogram(t))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 0/0 in both, on zero-width buckets
        check()
