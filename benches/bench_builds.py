"""Two checkouts of ferroboard side by side on the figures a restructuring must not move.

    python benches/bench_builds.py --baseline OTHER/python [--rounds 5]

Times, for this checkout's package (``python/`` next to this file) and the baseline's (a
directory holding a ``ferroboard`` package with its built extension), each case in a fresh
process, alternating checkouts round by round and keeping each one's best round, so that a
slow moment of a shared machine hits both alike:

  * ``add_scalar``: 200,000 calls and ``close()`` (calls per second, best of 5 writers);
  * ``add_histogram``: 1M float32 normal values, default bins, 50 calls and ``flush()`` (ms per
    call), next to ``numpy.sum`` of the same array in the same process;
  * ``read single``: ``ferroboard.read_scalars`` of one event file of 1,000,000 scalars;
  * ``read logdir``: the same over 200 runs of 5,000 scalars (bench_reader's datasets).

Both packages read the same files (written once, by this checkout) and each case checks what
it read, so a build that reads wrong does not time well by accident.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CASES = ("add_scalar", "add_histogram", "read single", "read logdir")


def run_case(case: str, data: str) -> dict[str, float]:
    """One case in this process; returns its figure(s)."""
    import ferroboard
    import numpy as np

    if case == "add_scalar":
        n = 200_000
        dt = float("inf")
        for _ in range(5):
            with tempfile.TemporaryDirectory() as d:
                t = time.perf_counter()
                w = ferroboard.SummaryWriter(d)
                for i in range(n):
                    w.add_scalar("loss", 0.5, i)
                w.close()
                dt = min(dt, time.perf_counter() - t)
        return {"calls/s": n / dt}
    if case == "add_histogram":
        x = np.random.RandomState(0).randn(1_000_000).astype(np.float32)
        calls = 50
        with tempfile.TemporaryDirectory() as d:
            w = ferroboard.SummaryWriter(d)
            w.add_histogram("h", x, 0)
            w.flush()
            best = float("inf")
            for _ in range(5):
                t = time.perf_counter()
                for i in range(calls):
                    w.add_histogram("h", x, i)
                w.flush()
                best = min(best, (time.perf_counter() - t) / calls)
            w.close()
        s = float("inf")
        for _ in range(5):
            t = time.perf_counter()
            for _ in range(calls):
                x.sum()
            s = min(s, (time.perf_counter() - t) / calls)
        return {"ms": best * 1e3, "numpy.sum ms": s * 1e3}
    path = os.path.join(data, "single" if case == "read single" else "logdir")
    best = float("inf")
    for _ in range(7):
        t = time.perf_counter()
        r = ferroboard.read_scalars(path)
        best = min(best, time.perf_counter() - t)
    if len(r["value"]) != 1_000_000:
        raise SystemExit(f"{case}: read {len(r['value'])} scalars, expected 1,000,000")
    return {"ms": best * 1e3}


def in_process(pythonpath: str, case: str, data: str) -> dict[str, float]:
    env = dict(os.environ, PYTHONPATH=pythonpath)
    out = subprocess.run(
        [sys.executable, __file__, "--case", case, "--data", data],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def better(case: str, a: dict[str, float], b: dict[str, float] | None) -> dict[str, float]:
    if b is None:
        return a
    if case == "add_scalar":
        return a if a["calls/s"] > b["calls/s"] else b
    return a if a["ms"] < b["ms"] else b


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline", help="PYTHONPATH of the other checkout's package")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "ferroboard-bench"))
    ap.add_argument("--case", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.case:
        print(json.dumps(run_case(a.case, a.data)))
        return
    if not a.baseline:
        ap.error("--baseline is required")
    sys.path.insert(0, str(HERE))
    sys.path.insert(0, str(HERE.parent / "python"))
    from bench_reader import make_data

    make_data(Path(a.data))
    checkouts = {"this": str(HERE.parent / "python"), "baseline": a.baseline}
    best: dict[tuple[str, str], dict[str, float]] = {}
    for r in range(a.rounds):
        order = list(checkouts.items())
        if r % 2:
            order.reverse()
        for case in CASES:
            for name, pp in order:
                got = in_process(pp, case, a.data)
                best[(case, name)] = better(case, got, best.get((case, name)))
        print(f"round {r + 1}/{a.rounds} done (load average {os.getloadavg()[0]:.2f})", flush=True)
    print("\n| case | baseline | this | this / baseline |")
    print("|---|---:|---:|---:|")
    for case in CASES:
        old, new = best[(case, "baseline")], best[(case, "this")]
        if case == "add_scalar":
            o, n = old["calls/s"], new["calls/s"]
            print(f"| add_scalar calls/s | {o:,.0f} | {n:,.0f} | {n / o:.2f}x |")
        elif case == "add_histogram":
            print(
                f"| add_histogram 1M ms (numpy.sum ms) | {old['ms']:.3f} "
                f"({old['numpy.sum ms']:.3f}) | {new['ms']:.3f} ({new['numpy.sum ms']:.3f}) "
                f"| {old['ms'] / new['ms']:.2f}x faster |"
            )
        else:
            print(
                f"| {case} ms | {old['ms']:.1f} | {new['ms']:.1f} "
                f"| {old['ms'] / new['ms']:.2f}x faster |"
            )


if __name__ == "__main__":
    main()
