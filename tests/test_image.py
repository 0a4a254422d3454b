"""Images: ``add_image``, ``add_images``, ``add_image_with_boxes``, ``add_figure`` against
torch's writer (its ``summary.image``/``image_boxes`` and ``figure_to_image``, the functions its
``SummaryWriter`` calls), TensorBoard's reader and server, and tbparse.

The judges decode PNGs with PIL; our files are read with TensorBoard's own event reader.
"""

from __future__ import annotations

import io
import itertools
import warnings
from pathlib import Path
from typing import Any

import ferroboard
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageFont
from torch.utils.tensorboard import summary as torch_summary
from torch.utils.tensorboard._utils import figure_to_image

from tests.support.judges import tb_events
from tests.support.logdirs import event_files

RNG = np.random.default_rng(12)


def _decode(png: bytes) -> np.ndarray:
    return np.array(Image.open(io.BytesIO(png)))


def _our_images(logdir: Path) -> dict[str, Any]:
    """tag -> Summary.Image, from our event file through TensorBoard's reader."""
    (path,) = event_files(logdir)["."]
    return {v.tag: v.image for e in tb_events(path) for v in e.summary.value}


def _torch_image(summary: Any) -> Any:
    (value,) = summary.value
    return value.image


def _assert_same_image(ours: Any, theirs: Any, what: str) -> None:
    assert (ours.height, ours.width, ours.colorspace) == (
        theirs.height,
        theirs.width,
        theirs.colorspace,
    ), what
    np.testing.assert_array_equal(
        _decode(ours.encoded_image_string), _decode(theirs.encoded_image_string), err_msg=what
    )


def _values(shape: tuple[int, ...], kind: str) -> Any:
    """Pixel data of ``kind``: uint8 anywhere in 0..255; floats around [0, 1] (some clipped,
    some exactly k/255); integers and booleans; float16 and bfloat16 tensors."""
    if kind == "uint8":
        return RNG.integers(0, 256, shape, dtype=np.uint8)
    if kind == "int64":
        return RNG.integers(-2, 3, shape, dtype=np.int64)
    if kind == "bool":
        return RNG.random(shape) < 0.5
    f = RNG.uniform(-0.1, 1.1, shape)
    f.flat[::3] = RNG.integers(0, 256, f.size)[::3] / 255.0
    if kind == "float64":
        return f
    if kind == "float32":
        return f.astype(np.float32)
    if kind == "float16":
        return torch.from_numpy(f).to(torch.float16)
    if kind == "bfloat16":
        return torch.from_numpy(f).to(torch.bfloat16)
    if kind == "tensor32":
        return torch.from_numpy(f.astype(np.float32))
    raise AssertionError(kind)


KINDS = ["uint8", "float32", "float64", "int64", "bool", "float16", "bfloat16", "tensor32"]
AXES = {"N": 3, "C": 3, "H": 5, "W": 7}


def _cases() -> list[tuple[str, str, int, int]]:
    """(method, dataformats, channels, batch): every permutation of every format torch takes."""
    cases = []
    for fmt in ["HW", "WH", "hw"]:
        cases.append(("add_image", fmt, 1, 1))
    for perm in itertools.permutations("HWC"):
        for c in (1, 2, 3, 4):
            cases.append(("add_image", "".join(perm), c, 1))
    for perm in itertools.permutations("NCHW"):
        for c, n in ((1, 3), (3, 9), (3, 1)):
            cases.append(("add_images", "".join(perm), c, n))
    cases.append(("add_images", "nhwc", 3, 17))
    return cases


CASES = _cases()


def _shape(fmt: str, c: int, n: int) -> tuple[int, ...]:
    sizes = {**AXES, "C": c, "N": n}
    return tuple(sizes[a] for a in fmt.upper())


def test_every_dataformats_and_dtype_decodes_to_torchs_pixels(logdir):
    """One writer, every case (each dtype in turn), then each image against torch's."""
    expected = {}
    with ferroboard.SummaryWriter(str(logdir)) as w:
        for i, (method, fmt, c, n) in enumerate(CASES):
            kind = KINDS[i % len(KINDS)]
            data = _values(_shape(fmt, c, n), kind)
            tag = f"{method}/{fmt}/{c}/{n}/{kind}"
            getattr(w, method)(tag, data, i, dataformats=fmt)
            expected[tag] = _torch_image(torch_summary.image(tag, data, dataformats=fmt))
    ours = _our_images(logdir)
    assert set(ours) == set(expected)
    for tag, theirs in expected.items():
        _assert_same_image(ours[tag], theirs, tag)


def test_default_dataformats_and_non_contiguous_inputs(logdir):
    chw = RNG.random((3, 6, 4)).astype(np.float32)
    hwc_view = chw.transpose(1, 2, 0)  # not C-contiguous
    batch = torch.rand(4, 3, 5, 6)[:, :, ::2, :]  # strided tensor
    with ferroboard.SummaryWriter(str(logdir)) as w:
        w.add_image("chw", chw)
        w.add_image("view", hwc_view, dataformats="HWC")
        w.add_images("batch", batch)
        w.add_image("fortran", np.asfortranarray(chw))
    ours = _our_images(logdir)
    _assert_same_image(
        ours["chw"], _torch_image(torch_summary.image("c", chw, dataformats="CHW")), "chw"
    )
    _assert_same_image(
        ours["view"], _torch_image(torch_summary.image("v", hwc_view, dataformats="HWC")), "view"
    )
    _assert_same_image(
        ours["batch"], _torch_image(torch_summary.image("b", batch, dataformats="NCHW")), "batch"
    )
    _assert_same_image(ours["fortran"], ours["chw"], "fortran")


def test_the_caller_may_reuse_its_buffer_at_once(logdir):
    img = np.full((3, 4, 4), 200, dtype=np.uint8)
    with ferroboard.SummaryWriter(str(logdir)) as w:
        w.add_image("a", img, 0)
        img[:] = 7  # after the call returns, before the writer thread encodes
        w.add_image("b", img, 1)
    ours = _our_images(logdir)
    assert (_decode(ours["a"].encoded_image_string) == 200).all()
    assert (_decode(ours["b"].encoded_image_string) == 7).all()


@pytest.mark.parametrize("level", ["none", "fast", "balanced", "high"])
def test_png_compression_changes_size_not_pixels(logdir, level):
    img = RNG.random((3, 16, 16))
    with ferroboard.SummaryWriter(str(logdir)) as w:
        w.png_compression = level
        w.add_image("a", img)
    _assert_same_image(
        _our_images(logdir)["a"],
        _torch_image(torch_summary.image("a", img, dataformats="CHW")),
        level,
    )


# ----------------------------------------------------------------- boxes


def _torch_label_mask(shape: tuple[int, ...], boxes: np.ndarray, labels: list[str]) -> np.ndarray:
    """Where torch's labels are: each background rectangle and the text's own extent (PIL's
    default font, at torch's position)."""
    from PIL import ImageDraw

    mask = np.zeros(shape[:2], dtype=bool)
    font = ImageFont.load_default()
    draw = ImageDraw.Draw(Image.new("RGB", (shape[1], shape[0])))
    for (left, _top, _right, bottom), text in zip(boxes, labels):
        if not text:
            continue
        x0, y0, x1, y1 = font.getbbox(text)
        tw, th = x1 - x0, y1 - y0
        m = np.ceil(0.05 * th)
        _mark(mask, int(left), int(bottom - th - 2 * m), int(left + tw), int(bottom))
        bx0, by0, bx1, by1 = draw.textbbox((left + m, bottom - th - m), text, font=font)
        _mark(mask, int(bx0), int(by0), int(bx1), int(by1))
    return mask


def _our_label_mask(shape: tuple[int, ...], boxes: np.ndarray, labels: list[str]) -> np.ndarray:
    """Where our labels are: the background sized to the 5x7 font (6 pixels a character)."""
    mask = np.zeros(shape[:2], dtype=bool)
    for (left, _top, _right, bottom), text in zip(boxes, labels):
        if text:
            tw = 6 * len(text) - 1
            _mark(mask, int(left), int(bottom - 9), int(left + tw), int(bottom))
    return mask


def _mark(mask: np.ndarray, x0: int, y0: int, x1: int, y1: int) -> None:
    h, w = mask.shape
    mask[max(y0, 0) : max(min(y1 + 1, h), 0), max(x0, 0) : max(min(x1 + 1, w), 0)] = True


BOX_CASES = [
    # (channels, dataformats, rescale, with labels)
    (3, "CHW", 1, False),
    (1, "CHW", 1, True),
    (3, "HWC", 1, True),
    (4, "CHW", 1, False),
    (2, "CHW", 1, False),
    (None, "HW", 1, False),
    (3, "CHW", 0.5, False),
    (3, "CHW", 2, False),
    (4, "HWC", 1.3, False),
    (2, "CHW", 0.37, False),
    (3, "NCHW", 1, True),
]


@pytest.mark.parametrize(("c", "fmt", "rescale", "with_labels"), BOX_CASES)
def test_boxes_are_drawn_at_torchs_pixels(logdir, c, fmt, rescale, with_labels):
    """Outlines (reversed, partly outside, fractional, degenerate boxes), rescaled images, and
    labels: equal to torch's everywhere but under the label text."""
    sizes = {"N": 2, "C": c or 1, "H": 48, "W": 64}
    img = RNG.random(tuple(sizes[a] for a in fmt)).astype(np.float32)
    boxes = np.concatenate(
        [
            RNG.uniform(-8, 70, (6, 4)),
            np.round(RNG.uniform(-8, 70, (6, 4))),
            [[5, 5, 5, 5], [10, 3, 10, 20], [30, 25, 4, 2]],
        ]
    )
    labels = (
        [f"o{i}" if i in (1, 7, 13) else "" for i in range(len(boxes))] if with_labels else None
    )
    with ferroboard.SummaryWriter(str(logdir)) as w:
        w.add_image_with_boxes("b", img, boxes, 3, rescale=rescale, dataformats=fmt, labels=labels)
    theirs = _torch_image(
        torch_summary.image_boxes("b", img, boxes, rescale=rescale, dataformats=fmt, labels=labels)
    )
    ours = _our_images(logdir)["b"]
    if not with_labels:
        _assert_same_image(ours, theirs, "boxes")
        return
    a, b = _decode(ours.encoded_image_string), _decode(theirs.encoded_image_string)
    assert a.shape == b.shape
    assert (ours.height, ours.width, ours.colorspace) == (
        theirs.height,
        theirs.width,
        theirs.colorspace,
    )
    hidden = _torch_label_mask(a.shape, boxes, labels) | _our_label_mask(a.shape, boxes, labels)
    assert hidden.mean() < 0.5
    np.testing.assert_array_equal(a[~hidden], b[~hidden])
    # Our labels are drawn: black text on red where each labelled box's background is.
    for (left, _t, _r, bottom), text in zip(boxes, labels):
        x, y = int(left) + 1, int(bottom) - 8
        inside = 0 <= x <= a.shape[1] - 6 * len(text) and 0 <= y <= a.shape[0] - 7
        if text and inside:
            cell = a[y : y + 7, x : x + 6 * len(text) - 1]
            assert (cell == [0, 0, 0]).all(-1).any()
            assert (cell == [255, 0, 0]).all(-1).any()


def test_a_single_label_string_labels_a_single_box(logdir):
    img = np.zeros((3, 20, 30), dtype=np.uint8)
    with ferroboard.SummaryWriter(str(logdir)) as w:
        w.add_image_with_boxes("b", img, torch.tensor([[2.0, 2.0, 25.0, 18.0]]), labels="cat")
    a = _decode(_our_images(logdir)["b"].encoded_image_string)
    assert (a[9:19, 2:20] == [255, 0, 0]).all(-1).sum() > 60  # the label's red background


# ----------------------------------------------------------------- figures


def _figure(seed: int) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2.0, 1.5), dpi=50)
    ax.plot(np.random.default_rng(seed).random(10))
    return fig


@pytest.mark.parametrize("close", [True, False])
def test_figures_render_as_torch_renders_them(logdir, close):
    import matplotlib.pyplot as plt

    one, many = _figure(1), [_figure(2), _figure(3), _figure(4)]
    expected_one = torch_summary.image("f", figure_to_image(one, close=False), dataformats="CHW")
    expected_many = torch_summary.image("l", figure_to_image(many, close=False), dataformats="NCHW")
    with ferroboard.SummaryWriter(str(logdir)) as w:
        w.add_figure("f", one, 1, close=close)
        w.add_figure("l", many, 2, close=close)
    ours = _our_images(logdir)
    _assert_same_image(ours["f"], _torch_image(expected_one), "figure")
    _assert_same_image(ours["l"], _torch_image(expected_many), "figures")
    for fig in [one, *many]:
        assert plt.fignum_exists(fig.number) is not close
        plt.close(fig)


def test_add_figure_without_matplotlib_says_what_to_install(logdir, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_matplotlib(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with (
        ferroboard.SummaryWriter(str(logdir)) as w,
        pytest.raises(ImportError, match="pip install matplotlib"),
    ):
        w.add_figure("f", object())


# ----------------------------------------------------------------- readers


def _logged_pixels() -> dict[str, tuple[Any, np.ndarray]]:
    """tag -> (the input, the pixels it must decode to), known without our code: uint8 input
    is written as it is (gray in three channels, batches side by side)."""
    rgb = RNG.integers(0, 256, (6, 9, 3), dtype=np.uint8)
    gray = RNG.integers(0, 256, (5, 4), dtype=np.uint8)
    rgba = RNG.integers(0, 256, (4, 5, 7), dtype=np.uint8)
    batch = RNG.integers(0, 256, (2, 3, 4, 5), dtype=np.uint8)
    return {
        "rgb": (rgb, rgb),
        "gray": (gray, np.stack([gray] * 3, -1)),
        "rgba": (rgba, rgba.transpose(1, 2, 0)),
        "batch": (batch, np.concatenate(list(batch.transpose(0, 2, 3, 1)), axis=1)),
    }


def _write_logged(logdir: Path) -> dict[str, np.ndarray]:
    items = _logged_pixels()
    with ferroboard.SummaryWriter(str(logdir)) as w:
        w.add_image("rgb", items["rgb"][0], 0, dataformats="HWC")
        w.add_image("gray", items["gray"][0], 1, dataformats="HW")
        w.add_image("rgba", items["rgba"][0], 2)
        w.add_images("batch", items["batch"][0], 3)
    return {tag: pixels for tag, (_input, pixels) in items.items()}


def test_tensorboard_image_plugin_serves_every_image(logdir, tmp_path):
    from tests.support.tensorboard_server import TensorBoardServer

    expected = _write_logged(logdir / "run")
    server = TensorBoardServer(logdir, tmp_path / "tb.log")
    try:
        tags = server.wait_for(
            "/data/plugin/images/tags", lambda t: len(t.get("run", {})) == len(expected)
        )
        assert set(tags["run"]) == set(expected)
        for step, (tag, pixels) in enumerate(expected.items()):
            entries = server.get("/data/plugin/images/images", run="run", tag=tag, sample="0")
            assert [e["step"] for e in entries] == [step]
            query = dict(p.split("=", 1) for p in entries[0]["query"].split("&"))
            body = server.get_bytes("/data/plugin/images/individualImage", **query)
            np.testing.assert_array_equal(_decode(body), pixels, err_msg=tag)
    finally:
        server.stop()


def test_readers_return_our_images_as_tbparse_does(logdir):
    import tbparse
    import tbparse.summary_reader as sr

    from tests.support.standin_tf import STANDIN_TF
    from tests.test_reader import assert_frames_identical

    expected = _write_logged(logdir)
    result = ferroboard.read(str(logdir))
    assert result is not None
    ours = ferroboard.SummaryReader(str(logdir), extra_columns={"width", "height"}).images
    assert sorted(ours["tag"]) == sorted(expected)
    for tag, value in zip(ours["tag"], ours["value"]):
        np.testing.assert_array_equal(value, expected[tag], err_msg=tag)
    saved = sr.tensorflow
    sr.tensorflow = STANDIN_TF
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # tbparse's own pandas deprecations
            theirs = tbparse.SummaryReader(str(logdir), extra_columns={"width", "height"}).images
    finally:
        sr.tensorflow = saved
    assert_frames_identical(theirs, ours)


def test_an_unknown_png_compression_is_refused_and_nothing_written(logdir):
    with ferroboard.SummaryWriter(str(logdir)) as w:
        w.png_compression = "max"
        with pytest.raises(ValueError, match="png_compression: expected 'none', 'fast'"):
            w.add_image("a", np.zeros((3, 2, 2)))
        w.png_compression = "high"
        w.add_image("b", np.zeros((3, 2, 2)))
    assert list(_our_images(logdir)) == ["b"]


def test_pending_events_resolve_to_torchs_event(logdir):
    """The binding's PendingEvent, resolved on the calling thread, is the serialized Event."""
    from ferroboard._native import image_pending
    from tensorboard.compat.proto.event_pb2 import Event

    img = RNG.random((3, 4, 6))
    ev = Event.FromString(image_pending("t", img, "CHW", 5, 7.5).resolve())
    assert (ev.step, ev.wall_time) == (5, 7.5)
    _assert_same_image(
        ev.summary.value[0].image,
        _torch_image(torch_summary.image("t", img, dataformats="CHW")),
        "t",
    )


def test_cli_lists_and_exports_our_images(logdir):
    import base64
    import json

    from tests.test_cli import run_cli

    expected = _write_logged(logdir)
    doc = json.loads(run_cli("ls", str(logdir), "--json").stdout)
    kinds = {(t["tag"], t["kind"]): t["count"] for t in doc[0]["tags"]}
    assert kinds == {(tag, "images"): 1 for tag in expected}
    out = run_cli("export", str(logdir), "-f", "jsonl", "--kind", "images").stdout
    recs = {r["tag"]: r for r in map(json.loads, out.splitlines())}
    assert set(recs) == set(expected)
    for tag, pixels in expected.items():
        r = recs[tag]
        assert (r["height"], r["width"], r["colorspace"]) == pixels.shape
        png = base64.b64decode(r["encoded"]["base64"])
        np.testing.assert_array_equal(_decode(png), pixels, err_msg=tag)


# ----------------------------------------------------------------- generated inputs

COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}
DTYPES = ["uint8", "int8", "int16", "uint16", "int32", "uint32", "int64", "float16", "float32"]
DTYPES += ["float64", "bool"]


def _resolved(img: Any, fmt: str, **kw: Any) -> Any:
    """Our Summary.Image for ``img`` (adapted as the writer adapts it), encoded now."""
    from ferroboard import _inputs
    from ferroboard._native import image_pending
    from tensorboard.compat.proto.event_pb2 import Event

    arr, enc = _inputs.image_array(img)
    ev = Event.FromString(image_pending("t", arr, fmt, 0, 1.0, enc, **kw).resolve())
    return ev.summary.value[0].image


@st.composite
def _images(draw: Any) -> tuple[np.ndarray, str]:
    rank = draw(st.sampled_from([2, 3, 4]))
    letters = {2: "HW", 3: "HWC", 4: "NCHW"}[rank]
    fmt = "".join(draw(st.permutations(letters)))
    fmt = fmt.lower() if draw(st.booleans()) else fmt
    sizes = {"H": draw(st.integers(1, 6)), "W": draw(st.integers(1, 6))}
    sizes["N"] = draw(st.integers(1, 10))
    sizes["C"] = draw(st.sampled_from([1, 3] if rank == 4 else [1, 2, 3, 4]))
    shape = tuple(sizes[a] for a in fmt.upper())
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    floats = {"allow_nan": False, "allow_infinity": False}
    if dtype.kind == "f":
        elements = st.one_of(
            st.floats(-0.5, 1.5, width=dtype.itemsize * 8, **floats),
            st.floats(width=dtype.itemsize * 8, **floats),
        )
        img = draw(hnp.arrays(dtype, shape, elements=elements))
    else:
        img = draw(hnp.arrays(dtype, shape))
    return img, fmt


@settings(max_examples=100, **COMMON)
@given(case=_images())
def test_generated_images_decode_to_torchs_pixels(case):
    img, fmt = case
    with np.errstate(over="ignore"):  # torch's float32 product of the largest floats
        theirs = _torch_image(torch_summary.image("t", img, dataformats=fmt))
    _assert_same_image(_resolved(img, fmt), theirs, f"{img.dtype} {img.shape} {fmt}")


@settings(max_examples=100, **COMMON)
@given(
    c=st.sampled_from([1, 2, 3, 4]),
    h=st.integers(1, 24),
    w=st.integers(1, 24),
    boxes=hnp.arrays(
        np.float64,
        st.tuples(st.integers(0, 5), st.just(4)),
        elements=st.one_of(st.floats(-10, 40), st.integers(-10, 40).map(float)),
    ),
    rescale=st.one_of(st.just(1), st.floats(0.3, 3.0)),
)
def test_generated_boxes_and_rescales_are_torchs(c, h, w, boxes, rescale):
    img = np.random.default_rng(h * 31 + w).random((c, h, w), dtype=np.float32)
    if int(h * rescale) < 1 or int(w * rescale) < 1:
        return
    theirs = _torch_image(
        torch_summary.image_boxes("t", img, boxes, rescale=rescale, dataformats="CHW")
    )
    ours = _resolved(img, "CHW", boxes=boxes, rescale=float(rescale))
    _assert_same_image(ours, theirs, f"{boxes.tolist()} {rescale}")


def test_queued_pixels_stay_within_the_budget(logdir):
    """Images waiting for the writer thread hold at most the budget of copied pixels (one
    image over it when alone); every image still arrives, in order."""
    from ferroboard._native import _image_queue

    img = np.zeros((3, 64, 64), dtype=np.float32)  # 48 KiB copied per call
    _, default = _image_queue()
    seen = []
    try:
        _image_queue(4 * img.nbytes)
        with ferroboard.SummaryWriter(str(logdir)) as w:
            for i in range(60):
                w.add_image("a", img, i)
                seen.append(_image_queue()[0])
    finally:
        _image_queue(default)
    assert max(seen) <= 4 * img.nbytes
    assert _image_queue()[0] == 0  # all given back after close()
    (path,) = event_files(logdir)["."]
    steps = [e.step for e in tb_events(path) if e.summary.value]
    assert steps == list(range(60))


@pytest.mark.parametrize("name", ["add_image", "add_images", "add_image_with_boxes", "add_figure"])
def test_signatures_are_torchs(name):
    import inspect

    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    def params(fn: Any) -> list[tuple[str, Any]]:
        sig = inspect.signature(fn)
        return [(p.name, p.default) for p in sig.parameters.values() if p.name != "self"]

    assert params(getattr(ferroboard.SummaryWriter, name)) == params(getattr(TorchWriter, name))


def test_a_png_compression_that_is_not_a_str_is_a_type_error(logdir):
    with ferroboard.SummaryWriter(str(logdir)) as w:
        w.png_compression = 3  # type: ignore[assignment]
        with pytest.raises(TypeError, match="png_compression"):
            w.add_image("a", np.zeros((3, 2, 2)))
