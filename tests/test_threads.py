"""Many threads on one writer: every value present, each thread's order kept."""

from __future__ import annotations

import threading

import ferroboard

from tests.support.judges import tb_events
from tests.support.logdirs import event_files

THREADS = 4
CALLS = 50_000


def test_four_threads_fifty_thousand_scalars_each(logdir):
    w = ferroboard.SummaryWriter(str(logdir), max_queue=2)
    start = threading.Barrier(THREADS)

    def log(t: int) -> None:
        start.wait()
        for i in range(CALLS):
            w.add_scalar(f"thread{t}", float(i), i)

    threads = [threading.Thread(target=log, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    w.close()
    ((_run, (path,)),) = event_files(logdir).items()
    per_thread: dict[str, list[int]] = {f"thread{t}": [] for t in range(THREADS)}
    values_ok = True
    for e in tb_events(path)[1:]:
        (v,) = e.summary.value
        per_thread[v.tag].append(e.step)
        values_ok &= v.simple_value == float(e.step)
    assert values_ok
    for tag, steps in per_thread.items():
        assert steps == list(range(CALLS)), tag
