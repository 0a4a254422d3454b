"""The writer's memory does not grow with the number of events written."""

from __future__ import annotations

import ferroboard


def _rss_kib() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_rss_flat_over_millions_of_events(logdir):
    w = ferroboard.SummaryWriter(str(logdir))
    add = w.add_scalar
    for i in range(500_000):
        add("loss", 0.5, i)
    w.flush()
    before = _rss_kib()
    for i in range(500_000, 2_500_000):
        add("loss", 0.5, i)
    w.flush()
    grown = _rss_kib() - before
    w.close()
    # 2M more events are ~80 MB on disk; holding them would grow RSS by far more than this.
    assert grown < 16 * 1024, f"RSS grew by {grown} KiB over 2M events"
