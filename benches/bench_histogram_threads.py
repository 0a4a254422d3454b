"""Where a large histogram's time goes among the process's threads (Linux only).

``add_histogram`` of 1M normal float32 values in batches of calls (plus a ``flush()``),
alternated with batches of ``numpy.sum`` of the same array; for each ``add_histogram`` batch,
each thread's CPU time, time spent waiting for a CPU while runnable, and context switches
(involuntary: taken off a CPU that it wanted), from ``/proc/self/task/*/schedstat`` and
``status``. The calling thread does part of the work and a thread of the pool (named
``ferroboard-N``) the rest; a pool thread that only waits, yielding its CPU, shows here too.

This says how the work was shared, not how fast each CPU ran it: the machine's other load
(a virtual machine's neighbours) shows only as the time per call.

Run: ``PYTHONPATH=python .venv/bin/python benches/bench_histogram_threads.py [--batches N]``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

import ferroboard
import numpy as np


def thread_stats() -> dict[str, tuple[int, int, int]]:
    """Per thread (``name:tid``): nanoseconds on a CPU, nanoseconds runnable and waiting,
    involuntary context switches."""
    out = {}
    for tid in os.listdir("/proc/self/task"):
        base = f"/proc/self/task/{tid}"
        try:
            with open(f"{base}/comm") as f:
                name = f.read().strip()
            with open(f"{base}/schedstat") as f:
                run, wait, _ = map(int, f.read().split())
            with open(f"{base}/status") as f:
                invol = next(
                    int(line.split()[1])
                    for line in f
                    if line.startswith("nonvoluntary_ctxt_switches")
                )
        except (FileNotFoundError, StopIteration):
            continue  # the thread ended
        out[f"{name}:{tid}"] = (run, wait, invol)
    return out


def main() -> None:
    if not os.path.exists("/proc/self/task"):
        sys.exit("bench_histogram_threads: Linux only (reads /proc/self/task)")
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", type=int, default=10, help="batches of each (default 10)")
    ap.add_argument("--calls", type=int, default=100, help="calls per batch (default 100)")
    args = ap.parse_args()
    x = np.random.default_rng(0).normal(0, 1, 1_000_000).astype(np.float32)
    w = ferroboard.SummaryWriter(tempfile.mkdtemp())
    w.add_histogram("h", x, 0)  # first-use costs: pools, tables
    w.flush()
    ours, sums = [], []
    used: dict[str, list[int]] = {}
    for _ in range(args.batches):
        before = thread_stats()
        t = time.perf_counter()
        for step in range(args.calls):
            w.add_histogram("h", x, step)
        w.flush()
        ours.append((time.perf_counter() - t) / args.calls)
        after = thread_stats()
        for k, (run, wait, invol) in after.items():
            r0, w0, i0 = before.get(k, (0, 0, 0))
            acc = used.setdefault(k, [0, 0, 0])
            acc[0] += run - r0
            acc[1] += wait - w0
            acc[2] += invol - i0
        t = time.perf_counter()
        for _ in range(args.calls):
            x.sum()
        sums.append((time.perf_counter() - t) / args.calls)
    w.close()
    calls = args.batches * args.calls
    print(
        f"{os.cpu_count()} CPUs; {calls} calls of add_histogram (1M float32), "
        f"in batches of {args.calls}"
    )
    print(
        f"add_histogram: median {statistics.median(ours) * 1e3:.3f} ms/call, best batch "
        f"{min(ours) * 1e3:.3f}; numpy.sum: median {statistics.median(sums) * 1e3:.3f}, best "
        f"{min(sums) * 1e3:.3f}; median of the batches' ratios "
        f"{statistics.median(a / s for a, s in zip(ours, sums)):.2f}x"
    )
    print("| thread | CPU us/call | waiting for a CPU us/call | involuntary switches/call |")
    print("|---|---:|---:|---:|")
    for k, (run, wait, invol) in sorted(used.items()):
        if run or wait or invol:
            cells = f"{run / calls / 1e3:.0f} | {wait / calls / 1e3:.0f} | {invol / calls:.2f}"
            print(f"| {k} | {cells} |")


if __name__ == "__main__":
    main()
