"""Images: ``add_image``, ``add_images``, ``add_image_with_boxes``, ``add_figure`` against
torch's writer (its ``summary.image``/``image_boxes`` and ``figure_to_image``, the functions its
``SummaryWriter`` calls), TensorBoard's reader and server, and tbparse.

The judges decode PNGs with PIL; our files are read with TensorBoard's own event reader.
"""

from __future__ import annotations

import io
import itertools
from pathlib import Path
from typing import Any

import ferroboard
import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.tensorboard import summary as torch_summary

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
