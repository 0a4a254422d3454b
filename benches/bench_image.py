"""Images, side by side: torch.utils.tensorboard, tensorboardX and ferroboard.

Each timing covers a batch of calls on a fresh writer **through ``close()``**, so every image
is encoded and on disk, divided by the number of calls; the median of several batches is
reported. ferroboard's calls return once the pixels are copied (encoding runs on the writer's
thread), so its **calling-thread time** (the calls alone, before ``close()``) is reported
separately, beside torch's per-call time (torch encodes on the calling thread).

PNG sizes: the same image through torch (PIL's default zlib level) and through ferroboard at
each ``png_compression`` level, for a natural-looking photograph (matplotlib's sample
``grace_hopper.jpg``, resized to 224x224) and for uniform noise.

The output is checked: each contender's last image, read back with TensorBoard's reader and
decoded with PIL, must equal torch's pixel for pixel.

Run: ``.venv/bin/python benches/bench_image.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(__file__))
import ferroboard
import numpy as np
import torch
from _common import machine


def writers() -> dict[str, Any]:
    from tensorboardX import SummaryWriter as XWriter
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    return {"torch": TorchWriter, "tensorboardX": XWriter, "ferroboard": ferroboard.SummaryWriter}


def last_image(logdir: str, tag: str) -> Any:
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2

    last = None
    for name in sorted(os.listdir(logdir)):
        if "tfevents" not in name:
            continue
        for raw in RawEventFileLoader(os.path.join(logdir, name)).Load():
            for v in event_pb2.Event.FromString(raw).summary.value:
                if v.tag == tag:
                    last = v.image
    return last


def decode(png: bytes) -> np.ndarray:
    from PIL import Image

    return np.array(Image.open(io.BytesIO(png)))


def time_batches(
    make: Callable[[str], Any], call: Callable[[Any, int], None], calls: int, batches: int
) -> tuple[float, float, str]:
    """(median seconds per call through close(), median seconds per call before close(), the
    last batch's logdir)."""
    total, calling = [], []
    root = tempfile.mkdtemp(prefix="bench_image_")
    logdir = root
    for b in range(-1, batches):  # batch -1: warm-up
        logdir = os.path.join(root, str(b + 1))
        w = make(logdir)
        t = time.perf_counter()
        for i in range(calls):
            call(w, i)
        t_calls = time.perf_counter()
        w.close()
        t_end = time.perf_counter()
        if b >= 0:
            total.append((t_end - t) / calls)
            calling.append((t_calls - t) / calls)
    return statistics.median(total), statistics.median(calling), logdir


def natural_image() -> np.ndarray:
    """matplotlib's sample photograph, 224x224 RGB uint8, as (3, H, W)."""
    import matplotlib
    from PIL import Image

    path = os.path.join(matplotlib.get_data_path(), "sample_data", "grace_hopper.jpg")
    img = Image.open(path).convert("RGB").resize((224, 224), Image.Resampling.BILINEAR)
    return np.asarray(img).transpose(2, 0, 1).copy()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    batches = 3 if args.quick else 5
    rng = np.random.default_rng(0)
    photo = natural_image()
    cases = [
        ("add_image 3x224x224 float32", "add_image", photo.astype(np.float32) / 255.0),
        ("add_image 3x224x224 uint8", "add_image", photo),
        (
            "add_images 64x3x32x32 float32",
            "add_images",
            rng.random((64, 3, 32, 32), dtype=np.float32),
        ),
        (
            "add_image 3x224x224 float32 (torch tensor)",
            "add_image",
            torch.from_numpy(photo.astype(np.float32) / 255.0),
        ),
    ]
    calls = {"torch": 10 if args.quick else 20, "tensorboardX": 10 if args.quick else 20}
    calls["ferroboard"] = 100 if args.quick else 200
    print(f"# {machine()}; torch {torch.__version__}, numpy {np.__version__}")
    print(f"# load average before: {os.getloadavg()[0]:.2f}")
    print()
    print(
        "| call | torch ms/call | tensorboardX ms/call | ferroboard ms/call | vs torch | "
        "vs tensorboardX | ferroboard calling thread ms/call | as % of torch's call |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name, method, data in cases:
        res: dict[str, tuple[float, float, str]] = {}
        for who, cls in writers().items():

            def call(w: Any, i: int, method: str = method, data: Any = data) -> None:
                getattr(w, method)("img", data, i)

            res[who] = time_batches(cls, call, calls[who], batches)
        theirs = last_image(res["torch"][2], "img")
        for who in ("tensorboardX", "ferroboard"):
            got = last_image(res[who][2], "img")
            assert np.array_equal(
                decode(got.encoded_image_string), decode(theirs.encoded_image_string)
            ), f"{who} differs from torch on {name}"
            assert (got.height, got.width, got.colorspace) == (
                theirs.height,
                theirs.width,
                theirs.colorspace,
            )
        t, x, f = res["torch"][0], res["tensorboardX"][0], res["ferroboard"][0]
        torch_call = res["torch"][1]
        f_call = res["ferroboard"][1]
        print(
            f"| {name} | {t * 1e3:.3f} | {x * 1e3:.3f} | {f * 1e3:.3f} | {t / f:.1f}x | "
            f"{x / f:.1f}x | {f_call * 1e3:.4f} | {100 * f_call / torch_call:.2f}% |"
        )
    print()
    print("| PNG bytes | torch (PIL) | ferroboard none | fast (default) | balanced | high |")
    print("|---|---:|---:|---:|---:|---:|")
    from ferroboard._native import image_pending
    from tensorboard.compat.proto.event_pb2 import Event
    from torch.utils.tensorboard import summary as torch_summary

    noise = rng.integers(0, 256, (3, 224, 224), dtype=np.uint8)
    for label, img in (("photograph 224x224 RGB", photo), ("uniform noise 224x224 RGB", noise)):
        torch_png = torch_summary.image("i", img, dataformats="CHW").value[0].image
        sizes = [len(torch_png.encoded_image_string)]
        for level in ("none", "fast", "balanced", "high"):
            ev = Event.FromString(image_pending("i", img, "CHW", compression=level).resolve())
            png = ev.summary.value[0].image.encoded_image_string
            assert np.array_equal(decode(png), decode(torch_png.encoded_image_string))
            sizes.append(len(png))
        cells = " | ".join(
            f"{s:,}" if i == 0 else f"{s:,} ({s / sizes[0]:.2f}x)" for i, s in enumerate(sizes)
        )
        print(f"| {label} | {cells} |")
    print()
    print(f"# load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
