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

import io
import itertools
import types
import warnings
import wave
from pathlib import Path

import ferroboard
import numpy as np
import pytest

from tests.reader_logs import TF_FIXTURES, write_media_logdir, write_tbx_logdir, write_torch_logdir
from tests.test_reader import assert_frames_identical

tbparse = pytest.importorskip("tbparse")
PIL = pytest.importorskip("PIL")


# ----------------------------------------------------------------- the stand-in TensorFlow


class _Eager:
    """What ``tf.Tensor.numpy()`` gives, and nothing else."""

    def __init__(self, value):
        self._value = value

    def numpy(self):
        return self._value


def _decode_image(contents, channels=None, dtype=None, name=None, expand_animations=True):
    from PIL import Image, ImageSequence

    im = Image.open(io.BytesIO(contents))
    if im.format == "GIF":
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
        return _Eager(np.stack(frames).astype(np.uint8))
    if im.format != "PNG":
        raise ValueError(f"the stand-in decodes PNG and GIF only, not {im.format}")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode == "1":
        im = im.convert("L")
    a = np.asarray(im)
    if a.dtype != np.uint8:  # 16-bit gray: the high byte
        a = (a.astype(np.uint32) >> 8).astype(np.uint8)
    if a.ndim == 2:
        a = a[..., None]
    return _Eager(a)


def _decode_wav(contents, desired_channels=-1, desired_samples=-1, name=None):
    with wave.open(io.BytesIO(contents)) as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"Can only read 16-bit WAV files, but received {8 * w.getsampwidth()}")
        channels, rate = w.getnchannels(), w.getframerate()
        raw = w.readframes(w.getnframes())
    a = np.frombuffer(raw, dtype="<i2").reshape(-1, channels).astype(np.float32) / 32768.0
    return _Eager(a), _Eager(np.int32(rate))


STANDIN_TF = types.SimpleNamespace(
    image=types.SimpleNamespace(decode_image=_decode_image),
    audio=types.SimpleNamespace(decode_wav=_decode_wav),
)


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
        _decode_wav(items[0])  # the stand-in refuses it, as TensorFlow does


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
