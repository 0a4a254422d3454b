"""Nothing logged is lost: exit without close(), flush() then read, SIGKILL after flush()."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import ferroboard

from tests.support.judges import tb_events
from tests.support.logdirs import event_files
from tests.support.paths import REPO


def _child(code: str, logdir: Path, **kwargs) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "python"), str(REPO)])}
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), str(logdir)], env=env, **kwargs
    )


def _steps(logdir: Path, tag: str = "x") -> list[int]:
    (files,) = event_files(logdir).values()
    return [e.step for f in files for e in tb_events(f) for v in e.summary.value if v.tag == tag]


def test_exit_without_close_loses_nothing(logdir):
    code = """
        import sys, ferroboard
        w = ferroboard.SummaryWriter(sys.argv[1], flush_secs=3600)
        for i in range(50_000):
            w.add_scalar("x", i, i)
        w.add_text("t", "last words", 50_000)
        # no close(), no flush(): the interpreter just exits
    """
    assert _child(code, logdir).wait(timeout=60) == 0
    assert _steps(logdir) == list(range(50_000))
    assert _steps(logdir, "t/text_summary") == [50_000]


def test_flush_makes_everything_readable_in_process(logdir):
    w = ferroboard.SummaryWriter(str(logdir), flush_secs=3600)
    for i in range(10_000):
        w.add_scalar("x", i, i)
    w.flush()
    assert _steps(logdir) == list(range(10_000))
    # Our own iterator agrees.
    ours = [e["step"] for e in ferroboard.iter_events(w._event_file) if e["kind"] == "summary"]
    assert ours == list(range(10_000))
    w.close()


def test_sigkill_right_after_flush_keeps_every_flushed_record(logdir):
    code = """
        import os, sys, ferroboard
        w = ferroboard.SummaryWriter(sys.argv[1], flush_secs=3600)
        for i in range(20_000):
            w.add_scalar("x", i, i)
        w.flush()
        os.write(1, b"flushed\\n")
        for i in range(20_000, 10**9):  # keep logging until killed
            w.add_scalar("x", i, i)
    """
    proc = _child(code, logdir, stdout=subprocess.PIPE)
    with proc.stdout:
        assert proc.stdout.readline() == b"flushed\n"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    steps = _steps(logdir)
    assert steps[:20_000] == list(range(20_000))
    assert steps == list(range(len(steps)))  # nothing out of order, no gaps
