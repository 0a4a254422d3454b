"""One-thread CPU time of the histogram of 1M float32 values against numpy.sum of the same array.

Wall time on a shared machine moves by 2x between runs; CPU time of one thread moves little,
so this is the steadier before/after comparison for changes to the counting pass. Run it with
rayon's pool held to one thread:

    RAYON_NUM_THREADS=1 PYTHONPATH=python .venv/bin/python benches/bench_histogram_cpu.py

Prints the best of 11 batches of 30 calls of ``_native.histogram_event`` (default bins) and of
``x.sum()``, in milliseconds per call (``time.process_time``), and their ratio.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
from ferroboard import _native


def best(f: Callable[[], object], batches: int = 11, calls: int = 30) -> float:
    """Least CPU milliseconds per call over ``batches`` batches of ``calls`` calls."""
    f()
    out = []
    for _ in range(batches):
        t = time.process_time()
        for _ in range(calls):
            f()
        out.append((time.process_time() - t) / calls)
    return min(out) * 1e3


def main() -> None:
    x = np.random.RandomState(0).randn(1 << 20).astype(np.float32)
    h = best(lambda: _native.histogram_event("h", x))
    s = best(lambda: x.sum())
    print(f"histogram_event {h:.3f} ms, numpy.sum {s:.3f} ms, ratio {h / s:.2f}x")


if __name__ == "__main__":
    main()
