"""Rewriting an event file with a tag filter, beside reading it, in one run.

    python benches/bench_rewrite.py             # all cases (the Python script peer: ~30 s)
    python benches/bench_rewrite.py --quick     # ferroboard's cases only

Dataset: the reader benchmark's "single" file, written by ferroboard's own writer (torch's
bytes): one event file, 10 tags x 100,000 steps = 1,000,000 scalars (43.8 MB).

Cases (each in a fresh process; the fast ones best of 5 calls per process, in --rounds
interleaved rounds, best round kept; peak RSS is the process's maximum resident set, "+mem"
its growth over the size just before the case):

* ``read``: ``ferroboard.read_scalars(path)``, the reader (every tag); ``read_2tags`` with
  ``tags=[metric/0, metric/1]``.
* ``rewrite_keep2``: ``ferroboard.rewrite(path, dst, keep_tags=["metric/0", "metric/1"])`` into
  a new directory (each call into a fresh one); ``rewrite_drop1``: ``drop_tags=["metric/0"]``
  (90% of the bytes written); ``rewrite_in_place_keep2``: the in-place rewrite (staging, fsync,
  read-back, backup, journal, rename) of a copy made before each call (the copy not timed).
* ``rewrite_keep2_4x_file``: ``rewrite_keep2`` on a file of 4,000,000 scalars (memory: flat).
* ``python_script``: the hand-written way: TensorBoard's record loader, its protobuf ``Event``,
  a tag test, TensorBoard's ``RecordWriter`` (run once).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_TAGS = 10
KEEP = ["metric/0", "metric/1"]


def make_data(root: Path, steps: int = 100_000) -> Path:
    import ferroboard

    single = root / "single"
    if not (root / ".done").exists():
        shutil.rmtree(root, ignore_errors=True)
        w = ferroboard.SummaryWriter(single, max_queue=100000)
        for s in range(steps):
            for k in range(N_TAGS):
                w.add_scalar(f"metric/{k}", s * 1e-3 + k, s, walltime=1.7e9 + s)
        w.close()
        t = time.time() - 3600  # a finished run
        for p in single.iterdir():
            os.utime(p, (t, t))
        (root / ".done").write_text("ok")
    return single


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def python_script(src: Path, dst: Path) -> int:
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2
    from tensorboard.summary.writer.record_writer import RecordWriter

    n = 0
    for path in sorted(src.glob("*tfevents*")):
        with open(dst / path.name, "wb") as f:
            w = RecordWriter(f)
            for raw in RawEventFileLoader(str(path)).Load():
                ev = event_pb2.Event.FromString(raw)
                if ev.HasField("summary"):
                    kept = [v for v in ev.summary.value if v.tag in KEEP]
                    if not kept:
                        continue
                    if len(kept) != len(ev.summary.value):
                        del ev.summary.value[:]
                        ev.summary.value.extend(kept)
                w.write(ev.SerializeToString())
                n += 1
    return n


def case(name: str, path: str, work: str) -> dict:
    import ferroboard

    src = Path(path)
    repeats = 5
    counter = [0]

    def fresh() -> Path:
        counter[0] += 1
        d = Path(work) / f"{name}-{os.getpid()}-{counter[0]}"
        shutil.rmtree(d, ignore_errors=True)
        return d

    setup = None
    if name == "read":

        def fn(_):
            return len(ferroboard.read_scalars(src)["step"])
    elif name == "read_2tags":

        def fn(_):
            return len(ferroboard.read_scalars(src, tags=KEEP)["step"])
    elif name in ("rewrite_keep2", "rewrite_drop1"):
        rules = {"keep_tags": KEEP} if name == "rewrite_keep2" else {"drop_tags": ["metric/0"]}

        def fn(_):
            r = ferroboard.rewrite(src, fresh(), **rules)
            return sum(x.records_out for x in r.runs)
    elif name == "rewrite_in_place_keep2":

        def setup():
            d = fresh()
            shutil.copytree(src, d)
            return d

        def fn(d):
            r = ferroboard.rewrite(d, keep_tags=KEEP, force=True)
            return sum(x.records_out for x in r.runs)
    elif name == "python_script":
        repeats = 1

        def fn(_):
            d = fresh()
            d.mkdir(parents=True)
            return python_script(src, d)
    else:
        raise SystemExit(f"unknown case {name}")
    base = _rss_mb()
    best, n = float("inf"), 0
    for _ in range(repeats):
        arg = setup() if setup else None
        t0 = time.perf_counter()
        n = fn(arg)
        best = min(best, time.perf_counter() - t0)
        shutil.rmtree(Path(work), ignore_errors=True)
        Path(work).mkdir(parents=True, exist_ok=True)
    return {"seconds": best, "records": n, "peak_mb": _rss_mb(), "delta_mb": _rss_mb() - base}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "ferroboard-bench"))
    ap.add_argument("--case", nargs=3, metavar=("NAME", "PATH", "WORK"), help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.case:
        print(json.dumps(case(*a.case)))
        return
    single = make_data(Path(a.data) / "rewrite")
    fast = ["read", "read_2tags", "rewrite_keep2", "rewrite_drop1", "rewrite_in_place_keep2"]
    slow = [] if a.quick else ["python_script"]
    work = Path(tempfile.mkdtemp(prefix="ferroboard-bench-rewrite-"))
    results: dict[str, dict] = {}

    def run(name: str) -> dict:
        out = subprocess.run(
            [sys.executable, __file__, "--case", name, str(single), str(work / name)],
            check=True,
            capture_output=True,
            text=True,
        )
        return json.loads(out.stdout.strip().splitlines()[-1])

    for _ in range(a.rounds):
        for name in fast:
            r = run(name)
            if name not in results or r["seconds"] < results[name]["seconds"]:
                results[name] = r
    for name in slow:
        results[name] = run(name)
    if not a.quick:
        # Memory stays flat with the file's size: the same rewrite of a file 4x as large.
        big = make_data(Path(a.data) / "rewrite-x4", steps=400_000)
        out = subprocess.run(
            [sys.executable, __file__, "--case", "rewrite_keep2", str(big), str(work / "big")],
            check=True,
            capture_output=True,
            text=True,
        )
        results["rewrite_keep2_4x_file"] = json.loads(out.stdout.strip().splitlines()[-1])
    shutil.rmtree(work, ignore_errors=True)
    size = sum(p.stat().st_size for p in single.iterdir()) / 1e6
    print(f"single: one file, 1,000,000 scalars, {size:.1f} MB\n")
    print("| case | seconds | records out | vs read | peak RSS MB (+case) |")
    print("|---|---:|---:|---:|---:|")
    read = results["read"]["seconds"]
    for name, r in results.items():
        print(
            f"| {name} | {r['seconds']:.4f} | {r['records']:,} | {r['seconds'] / read:.2f}x "
            f"| {r['peak_mb']:.0f} (+{r['delta_mb']:.0f}) |"
        )


if __name__ == "__main__":
    main()
