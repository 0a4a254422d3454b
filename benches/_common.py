"""Helpers shared by the side-by-side benchmarks."""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Callable


def rss_mib() -> float:
    """Resident set size of this process, in MiB (Linux)."""
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def best_of(fn: Callable[..., float], repeats: int, *args: object) -> float:
    """Median of ``repeats`` runs of ``fn(*args)`` (which returns seconds)."""
    return statistics.median(fn(*args) for _ in range(repeats))


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}"


def timed(fn: Callable[[], None]) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t
