"""Histograms and PR curves, side by side: torch.utils.tensorboard, tensorboardX and ferroboard.

Each contender gets a fresh writer and makes the same calls; a timing covers a batch of calls
and the ``flush()`` after it (so the events are handed to the operating system), divided by
the number of calls; the median of several batches is reported. The output is then checked:
every contender's last histogram (and PR curve) is read back from its file with TensorBoard's
reader and compared with torch's bucket by bucket (tensorboardX and torch agree exactly too),
and ferroboard's ``sum`` must be torch's bit for bit.

For the histograms, ``numpy.sum`` of the same array (``x.sum()``, timed in batches that
alternate with ferroboard's, in the same run) is the reference line for reading the values
once: the table gives ferroboard's time as a multiple of it (the median of the batches'
ratios, and the ratio of each side's fastest batch: on a loaded machine the second says what
the code does when it gets the cores, the first what a run got).

Run: ``.venv/bin/python benches/bench_histogram.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import ferroboard
import numpy as np
import torch
from _common import machine


def writers():
    from tensorboardX import SummaryWriter as XWriter
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    return {"torch": TorchWriter, "tensorboardX": XWriter, "ferroboard": ferroboard.SummaryWriter}


def last_summary(logdir: str, tag: str):
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2

    (f,) = [os.path.join(logdir, f) for f in os.listdir(logdir) if "tfevents" in f]
    last = None
    for raw in RawEventFileLoader(f).Load():
        ev = event_pb2.Event.FromString(raw)
        for v in ev.summary.value:
            if v.tag == tag:
                last = v
    return last


def time_calls(w, call, calls: int, batches: int) -> float:
    """Median seconds per call over ``batches`` batches of ``calls`` calls plus a flush."""
    call(w)  # warm-up (first-use costs: table set-up, imports)
    w.flush()
    out = []
    for _ in range(batches):
        t = time.perf_counter()
        for _ in range(calls):
            call(w)
        w.flush()
        out.append((time.perf_counter() - t) / calls)
    return statistics.median(out)


def time_numpy_sum(arr: np.ndarray, calls: int) -> float:
    """Seconds per ``arr.sum()`` over one batch of ``calls`` calls."""
    t = time.perf_counter()
    for _ in range(calls):
        arr.sum()
    return (time.perf_counter() - t) / calls


def time_paired(
    w, call, arr: np.ndarray, calls: int, batches: int
) -> tuple[float, float, float, float]:
    """A batch of ``call`` (plus a flush), then a batch of ``arr.sum()``, ``batches`` times:
    the median seconds per call of each, the median of the batches' ratios and the ratio of
    the fastest batches. Alternating keeps the two under the same conditions when the
    machine's load changes during the run."""
    call(w)
    w.flush()
    arr.sum()
    ours, sums, ratios = [], [], []
    for _ in range(batches):
        t = time.perf_counter()
        for _ in range(calls):
            call(w)
        w.flush()
        ours.append((time.perf_counter() - t) / calls)
        sums.append(time_numpy_sum(arr, calls))
        ratios.append(ours[-1] / sums[-1])
    return (
        statistics.median(ours),
        statistics.median(sums),
        statistics.median(ratios),
        min(ours) / min(sums),
    )


def check_histograms(results: dict) -> None:
    ref = results["torch"].histo
    for name, v in results.items():
        h = v.histo
        assert list(h.bucket_limit) == list(ref.bucket_limit), name
        assert list(h.bucket) == list(ref.bucket), name
        assert (h.min, h.max, h.num) == (ref.min, ref.max, ref.num), name
        assert abs(h.sum - ref.sum) <= 1e-9 * ref.num * max(abs(ref.min), abs(ref.max)), name
    # numpy's pairwise sum of the float64 values, as torch computes it.
    assert results["ferroboard"].histo.sum == ref.sum


def check_pr(results: dict) -> None:
    ref = results["torch"].tensor
    for name, v in results.items():
        assert v.tensor == ref, name


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true", help="fewer calls (a smoke run)")
    args = ap.parse_args()
    scale = 0.2 if args.quick else 1.0

    rng = np.random.default_rng(0)
    big = rng.normal(0, 1, 1_000_000).astype(np.float32)
    small = rng.normal(0, 1, 10_000).astype(np.float32)
    big_t = torch.from_numpy(big)
    labels = rng.integers(0, 2, 100_000)
    preds = np.clip(labels * 0.3 + rng.random(100_000) * 0.7, 0, 1).astype(np.float32)

    scenarios = {
        # name: (call, tag, check, {contender: (calls per batch, batches)}, numpy.sum's array)
        "add_histogram, 1M float32 (numpy)": (
            lambda w: w.add_histogram("big", big, 1),
            "big",
            check_histograms,
            {"torch": (3, 5), "tensorboardX": (3, 5), "ferroboard": (50, 15)},
            big,
        ),
        "add_histogram, 1M float32 (torch tensor)": (
            lambda w: w.add_histogram("big_t", big_t, 1),
            "big_t",
            check_histograms,
            {"torch": (3, 5), "tensorboardX": (3, 5), "ferroboard": (50, 15)},
            big,
        ),
        "add_histogram, 10k float32 (numpy)": (
            lambda w: w.add_histogram("small", small, 1),
            "small",
            check_histograms,
            {
                "torch": (100, 5),
                "tensorboardX": (200, 5),
                "ferroboard": (2000, 15),
            },
            small,
        ),
        "add_pr_curve, 100k predictions": (
            lambda w: w.add_pr_curve("pr", labels, preds, 1),
            "pr",
            check_pr,
            {"torch": (40, 5), "tensorboardX": (40, 5), "ferroboard": (400, 7)},
            None,
        ),
    }

    print(f"Machine: {machine()}; torch {torch.__version__}, numpy {np.__version__}")
    print()
    print(
        "| call | torch ms/call | tensorboardX ms/call | ferroboard ms/call | vs torch "
        "| vs tensorboardX | numpy.sum ms | ferroboard / numpy.sum | fastest batches |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, (call, tag, check, counts, summed) in scenarios.items():
        per_call, outputs = {}, {}
        for who, cls in writers().items():
            n, batches = counts[who]
            n = max(1, int(n * scale))
            with tempfile.TemporaryDirectory() as d:
                w = cls(d)
                if who == "ferroboard" and summed is not None:
                    per_call[who], s, ratio, fastest = time_paired(w, call, summed, n, batches)
                else:
                    per_call[who] = time_calls(w, call, n, batches)
                w.close()
                outputs[who] = last_summary(d, tag)
        check(outputs)
        t, x, f = per_call["torch"], per_call["tensorboardX"], per_call["ferroboard"]
        ref = "- | - | -" if summed is None else f"{s * 1e3:.3f} | {ratio:.2f}x | {fastest:.2f}x"
        print(
            f"| {name} | {t * 1e3:.3f} | {x * 1e3:.3f} | {f * 1e3:.3f} | "
            f"{t / f:.0f}x | {x / f:.0f}x | {ref} |"
        )
    print()
    print(
        "Outputs checked: every contender's last event equals torch's (buckets, counts, PR data;"
        " ferroboard's histogram sum bit for bit)."
    )


if __name__ == "__main__":
    main()
