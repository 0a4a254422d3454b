"""Writer throughput, side by side: torch.utils.tensorboard, tensorboardX and ferroboard.

Each contender logs the same calls into a fresh directory; the time includes creating the
writer and closing it (so everything is on disk). Output is checked: every file must hold
exactly the events logged. Run: ``.venv/bin/python benches/bench_writer.py``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
import ferroboard
from _common import best_of, machine, rss_mib, timed


def writers():
    from tensorboardX import SummaryWriter as XWriter
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    return {"torch": TorchWriter, "tensorboardX": XWriter, "ferroboard": ferroboard.SummaryWriter}


def count_summaries(logdir: str) -> int:
    """Summary events in every event file under ``logdir``, read back with ferroboard's
    iterator (itself checked against TensorBoard's reader in the test suite)."""
    n = 0
    for dirpath, _dirs, files in os.walk(logdir):
        for f in files:
            if "tfevents" in f:
                it = ferroboard.iter_events(os.path.join(dirpath, f))
                n += sum(e["kind"] == "summary" for e in it)
    return n


def scenario_scalar(w, n):
    add = w.add_scalar
    for i in range(n):
        add("loss", 0.5, i)


def scenario_scalars(w, n):
    for i in range(n):
        w.add_scalars("metrics", {"a": 1.0, "b": 2.0, "c": 3.0, "d": 4.0}, i)


def scenario_text(w, n):
    for i in range(n):
        w.add_text("notes", "epoch finished, loss is going down", i)


SCENARIOS = {
    # name: (function, events per call, calls for the peers, calls for ferroboard)
    "add_scalar": (scenario_scalar, 1, 20_000, 1_000_000),
    "add_scalars (4 values)": (scenario_scalars, 4, 5_000, 200_000),
    "add_text": (scenario_text, 1, 20_000, 500_000),
}


def measure_once(cls, fn, n: int, per_call: int, label: str) -> float:
    """Seconds for one contender to create a writer, make ``n`` calls and close; the output
    must hold exactly the events logged."""
    with tempfile.TemporaryDirectory() as d:

        def body():
            w = cls(d)
            fn(w, n)
            w.close()

        dt = timed(body)
        got = count_summaries(d)
        assert got == n * per_call, f"{label}: {got} events, expected {n * per_call}"
        return dt


def run(repeats: int, quick: bool) -> list[tuple[str, dict[str, float]]]:
    rows = []
    for name, (fn, per_call, n_peer, n_ours) in SCENARIOS.items():
        if quick:
            n_peer, n_ours = n_peer // 10, n_ours // 10
        rates = {}
        for who, cls in writers().items():
            n = n_ours if who == "ferroboard" else n_peer
            secs = best_of(measure_once, repeats, cls, fn, n, per_call, who)
            rates[who] = n / secs
        rows.append((name, rates))
    return rows


def memory_check() -> tuple[float, float]:
    """RSS after 1M and after 5M more add_scalar calls on one writer."""
    with tempfile.TemporaryDirectory() as d:
        w = ferroboard.SummaryWriter(d)
        scenario_scalar(w, 1_000_000)
        w.flush()
        after_1m = rss_mib()
        scenario_scalar(w, 5_000_000)
        w.flush()
        after_6m = rss_mib()
        w.close()
    return after_1m, after_6m


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="10x fewer calls (smoke test)")
    args = ap.parse_args()
    print(f"# Writer throughput ({machine()})")
    print()
    print(
        "| call | torch calls/s | tensorboardX calls/s | ferroboard calls/s "
        "| vs torch | vs tensorboardX |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, r in run(args.repeats, args.quick):
        print(
            f"| {name} | {r['torch']:,.0f} | {r['tensorboardX']:,.0f} | {r['ferroboard']:,.0f} "
            f"| {r['ferroboard'] / r['torch']:.0f}x | {r['ferroboard'] / r['tensorboardX']:.0f}x |"
        )
    if not args.quick:
        m1, m6 = memory_check()
        print()
        print(
            f"ferroboard RSS after 1M add_scalar: {m1:.1f} MiB; after 6M: {m6:.1f} MiB "
            f"(growth {m6 - m1:+.1f} MiB)"
        )


if __name__ == "__main__":
    main()
