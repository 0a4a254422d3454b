"""add_embedding, side by side: torch.utils.tensorboard, tensorboardX and ferroboard.

Each contender gets a fresh writer in its own logdir and logs the same embedding several
times (a new ``global_step`` each time, so each call writes a new directory, as a training
loop would): a 1000 x 128 float32 matrix, 1000 string labels and 1000 RGB label images of
28 x 28 (a 896 x 896 sprite). A call is timed from its start until it returns (all three
write their files before returning); the median over the calls is reported, and each
contender's time as a ratio of torch's.

The output is checked before any figure is printed: every contender's files of the last call
are read back as TensorBoard reads them (TSV values through its projector's own reader, the
sprite's pixels through PIL, the config through protobuf's text_format) and must equal
torch's.

Run: ``.venv/bin/python benches/bench_embedding.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from typing import Any

sys.path.insert(0, os.path.dirname(__file__))
import ferroboard
import numpy as np
import torch
from _common import machine


def writers() -> dict[str, Any]:
    from tensorboardX import SummaryWriter as XWriter
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    return {"torch": TorchWriter, "tensorboardX": XWriter, "ferroboard": ferroboard.SummaryWriter}


def inputs(n: int, d: int, side: int) -> tuple[torch.Tensor, list[str], torch.Tensor]:
    rng = np.random.default_rng(0)
    mat = torch.from_numpy(rng.standard_normal((n, d)).astype(np.float32))
    labels = [f"point {i} class {i % 10}" for i in range(n)]
    imgs = torch.from_numpy(rng.random((n, 3, side, side)).astype(np.float32))
    return mat, labels, imgs


def read_back(logdir: str, step: int) -> tuple[np.ndarray, str, np.ndarray, Any]:
    from google.protobuf import text_format
    from PIL import Image
    from tensorboard.plugins.projector import projector_plugin
    from tensorboard.plugins.projector.projector_config_pb2 import ProjectorConfig

    d = os.path.join(logdir, f"{step:05d}", "default")
    tsv = projector_plugin._read_tensor_tsv_file(os.path.join(d, "tensors.tsv"))
    with open(os.path.join(d, "metadata.tsv")) as f:
        meta = f.read()
    with Image.open(os.path.join(d, "sprite.png")) as im:
        sprite = np.asarray(im.convert("RGB"))
    cfg = ProjectorConfig()
    with open(os.path.join(logdir, "projector_config.pbtxt")) as f:
        text_format.Parse(f.read(), cfg)
    return tsv, meta, sprite, cfg


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    ap.add_argument("--calls", type=int, default=15, help="calls per contender")
    args = ap.parse_args()
    calls = 3 if args.quick else args.calls
    n, d, side = 1000, 128, 28
    mat, labels, imgs = inputs(n, d, side)
    times: dict[str, list[float]] = {}
    outputs = {}
    with tempfile.TemporaryDirectory() as root:
        for name, cls in writers().items():
            logdir = os.path.join(root, name)
            w = cls(logdir)
            w.add_embedding(mat, metadata=labels, label_img=imgs, global_step=0)  # warm-up
            ts = []
            for step in range(1, calls + 1):
                t = time.perf_counter()
                w.add_embedding(mat, metadata=labels, label_img=imgs, global_step=step)
                ts.append(time.perf_counter() - t)
            w.close()
            times[name] = ts
            outputs[name] = read_back(logdir, calls)
        ref = outputs["torch"]
        for name, out in outputs.items():
            np.testing.assert_array_equal(out[0], ref[0], err_msg=name)
            assert out[1] == ref[1], name
            np.testing.assert_array_equal(out[2], ref[2], err_msg=name)
            assert out[3] == ref[3], name
    print(f"Machine: {machine()}; torch {torch.__version__}, numpy {np.__version__}")
    print()
    print(
        f"add_embedding of a {n} x {d} float32 matrix, {n} labels and {n} RGB images of "
        f"{side} x {side}; median of {calls} calls (files read back: equal to torch's)"
    )
    print()
    print("| writer | ms per call | vs torch |")
    print("|---|---:|---:|")
    t_torch = statistics.median(times["torch"])
    for name, ts in times.items():
        m = statistics.median(ts)
        print(f"| {name} | {m * 1e3:.1f} | {t_torch / m:.1f}x |")


if __name__ == "__main__":
    main()
