"""Several processes on one log directory: 4 processes (multiprocessing, spawn), each with two
writers and ``add_scalars`` sub-runs of the same names, all started at the same moment: every
file name is distinct (pid and per-process counter), and every record is readable."""

from __future__ import annotations

import multiprocessing as mp
import os
from pathlib import Path

from tests.support.judges import our_events, tb_loaded_events
from tests.support.logdirs import all_event_files
from tests.support.paths import PYTHON_DIR

PROCS = 4
N = 2000


def _rank(log_dir: str, rank: int, barrier, pids) -> None:
    from ferroboard import SummaryWriter

    barrier.wait()
    a = SummaryWriter(log_dir)
    b = SummaryWriter(log_dir)  # the same second, the same pid: the counter tells them apart
    for i in range(N):
        a.add_scalar("a", float(rank), i)
        b.add_scalar("b", float(rank), i)
        if i % 10 == 0:
            a.add_scalars("m", {"x": float(rank), "y": float(i)}, i)
    a.close()
    b.close()
    pids.put(os.getpid())


def test_four_processes_one_logdir(tmp_path: Path, robust_report) -> None:
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(PROCS)
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join([str(PYTHON_DIR), *filter(None, [old])])
    try:
        queue = ctx.Queue()
        procs = [
            ctx.Process(target=_rank, args=(str(tmp_path), r, barrier, queue)) for r in range(PROCS)
        ]
        for p in procs:
            p.start()
        pids = [queue.get(timeout=120) for _ in procs]
        for p in procs:
            p.join(timeout=60)
            assert p.exitcode == 0
    finally:
        if old is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = old
    assert len(set(pids)) == PROCS
    files = all_event_files(tmp_path)
    assert len(files) == PROCS * 4  # two main files and two sub-runs per process
    assert len({f.name for f in files if f.parent == tmp_path}) == PROCS * 2
    records = 0
    per_tag: dict[tuple[str, str, float], list[int]] = {}
    for f in files:
        events = our_events(f)
        assert len(tb_loaded_events(f)) == len(events)
        assert events[0]["kind"] == "file_version"
        for e in events[1:]:
            v = e["values"][0]
            key = (f.parent.name, v["tag"], v["value"] if v["tag"] != "m" else 0.0)
            per_tag.setdefault(key, []).append(e["step"])
            records += 1
    for r in range(PROCS):
        assert per_tag[(tmp_path.name, "a", float(r))] == list(range(N))
        assert per_tag[(tmp_path.name, "b", float(r))] == list(range(N))
    for sub in ("m_x", "m_y"):
        steps = per_tag[(sub, "m", 0.0)]
        assert sorted(steps) == sorted(list(range(0, N, 10)) * PROCS)
    robust_report(
        f"processes: {PROCS} processes x 2 writers + 2 add_scalars sub-runs on one logdir, "
        f"started together: {len(files)} distinct files, {records} records, all readable"
    )
