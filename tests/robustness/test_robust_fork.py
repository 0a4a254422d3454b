"""fork() with a writer in use or after parallel work, and writers sent to spawn workers.

* A process whose writer is busy (a thread logging at that moment) forks many times: no child
  deadlocks (each has a SIGALRM watchdog), no child corrupts the parent's file, a child that
  logs writes its own file (its pid in the name), the parent keeps logging.
* multiprocessing fork children leave through ``os._exit()``: what they logged is still written.
* Pickling: a writer sent to a ``spawn`` worker reopens there, on the same ``log_dir``, in its
  own file (torch's writer cannot be pickled at all).
* A child forked after the parent's thread pools ran (reading a logdir, a large histogram, a PR
  curve) does the same work on pools of its own instead of hanging.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import pickle
import re
from pathlib import Path

import ferroboard
import pytest
from ferroboard import SummaryWriter

from tests.support.judges import our_events, tb_loaded_events
from tests.support.logdirs import all_event_files
from tests.support.processes import run_child

FORKS = 24
CHILD_RECORDS = 200

FORK_WHILE_BUSY = f"""
import os, signal, sys, threading, time
from ferroboard import SummaryWriter

w = SummaryWriter(sys.argv[1])
stop = threading.Event()

def busy():
    j = 0
    while not stop.is_set():
        w.add_scalar("thread", float(j), j)
        if j % 500 == 0:
            w.add_text("thread_text", "x" * (j % 3000), j)
            w.flush()
        j += 1
    print("thread", j)

t = threading.Thread(target=busy)
t.start()
children = []
for k in range({FORKS}):
    w.add_scalar("main", float(k), k)
    pid = os.fork()
    if pid == 0:
        signal.alarm(20)  # a deadlocked child dies of SIGALRM, which the parent reports
        if k % 3 == 0:
            os._exit(0)  # leaves without touching the writer
        for i in range({CHILD_RECORDS}):
            w.add_scalar("child", float(k), i)
        if k % 3 == 1:
            w.close()  # closes the child's own file only
            os._exit(0)
        sys.exit(0)  # atexit closes the child's writer
    children.append((k, pid))
    time.sleep(0.01)
for k, pid in children:
    _, status = os.waitpid(pid, 0)
    print("child", k, pid, os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, flush=True)
stop.set()
t.join()
for k in range({FORKS}, 2 * {FORKS}):
    w.add_scalar("main", float(k), k)
w.close()
print("parent", os.getpid())
"""


def pid_of(path: Path) -> int:
    m = re.match(r"events\.out\.tfevents\.\d{10}\..+\.(\d+)\.\d+$", path.name)
    assert m, path.name
    return int(m.group(1))


def test_fork_while_a_thread_logs(tmp_path: Path) -> None:
    proc = run_child(FORK_WHILE_BUSY, str(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.split()
    text = proc.stdout.splitlines()
    parent_pid = int(text[-1].split()[1])
    thread_records = int(next(line for line in text if line.startswith("thread")).split()[1])
    children = {}
    for line in text:
        if line.startswith("child"):
            _, k, pid, ok = line.split()
            assert ok == "True", f"child {k} did not exit cleanly (deadlock?): {proc.stdout}"
            children[int(pid)] = int(k)
    assert len(children) == FORKS, lines

    files = all_event_files(tmp_path)
    by_pid: dict[int, list[Path]] = {}
    for f in files:
        by_pid.setdefault(pid_of(f), []).append(f)
    # The parent's one file: every main and thread record, in order, nothing from children.
    (parent_file,) = by_pid.pop(parent_pid)
    events = our_events(parent_file)
    assert len(tb_loaded_events(parent_file)) == len(events)
    tags = [e["values"][0]["tag"] for e in events if e["kind"] == "summary"]
    assert "child" not in tags
    main = [e["step"] for e in events if e["kind"] == "summary" and e["values"][0]["tag"] == "main"]
    assert main == list(range(2 * FORKS))
    thread = [
        e["step"] for e in events if e["kind"] == "summary" and e["values"][0]["tag"] == "thread"
    ]
    assert thread == list(range(thread_records))
    # Each logging child: one file of its own with all its records; silent children: none.
    for pid, k in children.items():
        if k % 3 == 0:
            assert pid not in by_pid
            continue
        (f,) = by_pid.pop(pid)
        ev = our_events(f)
        assert len(tb_loaded_events(f)) == len(ev)
        assert [e["kind"] for e in ev[:1]] == ["file_version"]
        steps = [e["step"] for e in ev[1:]]
        assert steps == list(range(CHILD_RECORDS)), (k, len(steps))
        assert {e["values"][0]["value"] for e in ev[1:]} == {float(k)}
    assert not by_pid, by_pid


def _mp_child_logs(w: SummaryWriter, k: int) -> None:
    for i in range(CHILD_RECORDS):
        w.add_scalar("mp_child", float(k), i)
    # No close(), no flush(): multiprocessing ends a fork child with os._exit().


# Python 3.12+ warns when a process with threads (our writer's) forks; forking is the point here.
@pytest.mark.filterwarnings("ignore:.*fork\\(\\) may lead to deadlocks:DeprecationWarning")
def test_multiprocessing_fork_child_without_close_loses_nothing(tmp_path: Path) -> None:
    ctx = mp.get_context("fork")
    w = SummaryWriter(tmp_path)
    w.add_scalar("parent", 1.0, 0)
    procs = [ctx.Process(target=_mp_child_logs, args=(w, k)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    w.add_scalar("parent", 2.0, 1)
    w.close()
    pids = {p.pid: k for k, p in enumerate(procs)}
    seen = set()
    for f in all_event_files(tmp_path):
        ev = [e for e in our_events(f) if e["kind"] == "summary"]
        if pid_of(f) == os.getpid():
            assert [e["values"][0]["tag"] for e in ev] == ["parent", "parent"]
            continue
        k = pids[pid_of(f)]
        seen.add(k)
        assert [e["step"] for e in ev] == list(range(CHILD_RECORDS))
        assert {e["values"][0]["value"] for e in ev} == {float(k)}
    assert seen == {0, 1, 2}


def test_pickle_reopens_with_the_same_settings(tmp_path: Path) -> None:
    w = SummaryWriter(tmp_path, purge_step=5, max_queue=3, flush_secs=7, filename_suffix=".x")
    w.add_scalar("a", 1.0, 6)
    w2 = pickle.loads(pickle.dumps(w))
    try:
        assert type(w2) is SummaryWriter
        assert (w2.log_dir, w2.max_queue, w2.flush_secs, w2.filename_suffix) == (
            str(tmp_path),
            3,
            7,
            ".x",
        )
        assert w2.purge_step is None  # applies once, to the original writer only
        assert w2._event_file != w._event_file
        w2.add_scalar("b", 2.0, 1)
    finally:
        w2.close()
        w.close()
    files = all_event_files(tmp_path)
    assert len(files) == 2
    assert all(f.name.endswith(".x") for f in files)
    kinds = sorted(len(our_events(f)) for f in files)
    assert kinds == [2, 4]  # header + b; header + purge (2 events) + a


def _spawn_worker(w: SummaryWriter, k: int) -> int:
    for i in range(50):
        w.add_scalar("spawned", float(k), i)
    w.close()
    return os.getpid()


def test_spawn_workers_receive_a_writer(tmp_path: Path) -> None:
    w = SummaryWriter(tmp_path)
    w.add_scalar("parent", 0.0, 0)
    ctx = mp.get_context("spawn")
    env_before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(Path(__file__).resolve().parents[2] / "python"), *filter(None, [env_before])]
    )
    try:
        with ctx.Pool(2) as pool:
            pids = pool.starmap(_spawn_worker, [(w, 0), (w, 1)], chunksize=1)
    finally:
        if env_before is None:
            del os.environ["PYTHONPATH"]
        else:
            os.environ["PYTHONPATH"] = env_before
    w.close()
    files = all_event_files(tmp_path)
    assert {pid_of(f) for f in files} == {os.getpid(), *pids}
    spawned = sorted(
        e["values"][0]["value"]
        for f in files
        for e in our_events(f)
        if e["kind"] == "summary" and e["values"][0]["tag"] == "spawned"
    )
    assert spawned == [0.0] * 50 + [1.0] * 50


PARALLEL_AFTER_FORK = """
import os, signal, sys
import numpy as np
import ferroboard
from ferroboard import SummaryWriter

logdir = sys.argv[1]
for r in range(8):
    w = SummaryWriter(os.path.join(logdir, f"run{r}"))
    for s in range(300):
        w.add_scalar("x", float(s), s)
    w.close()
big = np.linspace(-1, 1, 2_000_000, dtype=np.float32)

def work(tag):
    n = len(ferroboard.read_scalars(logdir)["step"])
    w = SummaryWriter(os.path.join(logdir, tag))
    w.add_histogram("h", big, 0)  # large enough to be bucketed in parallel
    w.add_pr_curve("pr", (big > 0).astype(np.int64), (big + 1) / 2, 0)
    w.close()
    return n

print("parent", work("parent"), flush=True)  # the thread pools now exist in the parent
pids = []
for k in range(3):
    pid = os.fork()
    if pid == 0:
        signal.alarm(30)  # a child that hangs dies of SIGALRM, which the parent reports
        ok = work(f"child{k}") == 2400
        os._exit(0 if ok else 3)
    pids.append(pid)
for pid in pids:
    _, status = os.waitpid(pid, 0)
    print("child", os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0, status, flush=True)
"""


def test_forked_children_read_and_bucket_in_parallel(tmp_path: Path) -> None:
    """A child forked after the parent used the thread pools (reading a logdir, bucketing a
    large histogram, a PR curve) gets pools of its own: it does the same work and finishes."""
    p = run_child(PARALLEL_AFTER_FORK, str(tmp_path), timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0] == "parent 2400"
    children = [ln for ln in lines if ln.startswith("child")]
    assert len(children) == 3, lines
    assert all(ln.startswith("child True") for ln in children), lines
    res = ferroboard.read(tmp_path)
    hist_runs = {r for r, recs in _hist_runs(res).items() if recs}
    assert hist_runs == {"parent", "child0", "child1", "child2"}


def _hist_runs(res) -> dict[str, int]:
    out: dict[str, int] = {}
    for rec in res.records("histograms"):
        out[rec["run"]] = out.get(rec["run"], 0) + 1
    return out
