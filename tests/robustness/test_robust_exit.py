"""Exits and signals: everything logged before the end is on disk, and the process ends
promptly (a hard subprocess timeout turns any hang into a failure).

Policy (see docs/GUARANTEES.md): ferroboard installs no signal handler by default. Normal exit,
``sys.exit``, an uncaught exception and SIGINT (KeyboardInterrupt) run ``atexit``, which closes
every writer: nothing is lost. SIGTERM's default action kills without ``atexit``: records added
up to the drain interval (50 ms) before the signal are in the file, later ones may not be.
``ferroboard.close_on_sigterm()`` (opt-in) closes every writer first: nothing is lost.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from tests.support.judges import our_events, tb_loaded_events
from tests.support.logdirs import all_event_files
from tests.support.processes import popen_child, run_child

N = 3000

PROLOGUE = f"""
import os, signal, sys, threading, time
import ferroboard
from ferroboard import SummaryWriter
w = SummaryWriter(sys.argv[1])
for i in range({N}):
    w.add_scalar("s", float(i), i)
    if i % 10 == 0:
        w.add_text("t", f"text {{i}}", i)
"""

ENDINGS = {
    "falls off the end": ("", 0),
    "sys.exit": ("sys.exit(3)", 3),
    "uncaught exception": ("raise RuntimeError('boom')", 1),
    "KeyboardInterrupt": ("raise KeyboardInterrupt", None),
    "SIGINT to itself": ("os.kill(os.getpid(), signal.SIGINT); time.sleep(30)", None),
    "os.fork child exits too": (
        "pid = os.fork()\nif pid == 0:\n    sys.exit(0)\nos.waitpid(pid, 0)",
        0,
    ),
    "daemon thread still logging": (
        "def spam():\n"
        "    j = 0\n"
        "    while True:\n"
        "        w.add_scalar('daemon', 1.0, j)\n"
        "        j += 1\n"
        "threading.Thread(target=spam, daemon=True).start()\n"
        "time.sleep(0.05)",
        0,
    ),
    "close_on_sigterm, SIGTERM to itself": (
        "ferroboard.close_on_sigterm(); os.kill(os.getpid(), signal.SIGTERM); time.sleep(30)",
        -signal.SIGTERM,
    ),
    "close_on_sigterm chains a Python handler": (
        "signal.signal(signal.SIGTERM, lambda *a: sys.exit(7))\n"
        "ferroboard.close_on_sigterm()\n"
        "os.kill(os.getpid(), signal.SIGTERM); time.sleep(30)",
        7,
    ),
}


def check_all_logged(log_dir: Path) -> None:
    files = [f for f in all_event_files(log_dir) if f.parent == log_dir]
    events = [e for f in files for e in our_events(f)]
    steps = [e["step"] for e in events if e["kind"] == "summary" and e["values"][0]["tag"] == "s"]
    texts = [
        e["step"]
        for e in events
        if e["kind"] == "summary" and e["values"][0]["tag"] == "t/text_summary"
    ]
    assert steps == list(range(N))
    assert texts == list(range(0, N, 10))
    # TensorBoard's loader agrees.
    assert sum(len(tb_loaded_events(f)) for f in files) == len(events)


@pytest.mark.parametrize("ending", list(ENDINGS))
def test_everything_logged_before_the_end_is_on_disk(tmp_path: Path, ending: str) -> None:
    code, rc = ENDINGS[ending]
    start = time.monotonic()
    proc = run_child(PROLOGUE + code, str(tmp_path), timeout=60)
    elapsed = time.monotonic() - start
    if rc is None:  # KeyboardInterrupt: Python exits with 1 or dies of SIGINT, per version
        assert proc.returncode in (1, -signal.SIGINT), proc.stderr
        assert "KeyboardInterrupt" in proc.stderr
    else:
        assert proc.returncode == rc, proc.stderr
    assert elapsed < 30
    check_all_logged(tmp_path)


def _ready_child(tmp_path: Path, extra: str = ""):
    code = PROLOGUE + extra + "\nprint('ready', flush=True)\ntime.sleep(30)\n"
    import subprocess

    return popen_child(code, str(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.parametrize(
    ("sig", "extra"),
    [
        (signal.SIGTERM, ""),
        (signal.SIGINT, ""),
        (signal.SIGTERM, "ferroboard.close_on_sigterm()"),
    ],
    ids=["SIGTERM default", "SIGINT", "SIGTERM with close_on_sigterm"],
)
def test_signal_from_outside(tmp_path: Path, sig: int, extra: str) -> None:
    with _ready_child(tmp_path, extra) as proc:
        try:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
            if sig == signal.SIGTERM and not extra:
                # Default SIGTERM: no atexit. What was added up to the drain interval (50 ms)
                # before the signal is in the file; leave ample margin for a loaded machine.
                time.sleep(1.0)
            sent = time.monotonic()
            proc.send_signal(sig)
            rc = proc.wait(timeout=30)
            assert time.monotonic() - sent < 10, "slow to exit"
        finally:
            proc.kill()
            proc.communicate()
    if sig == signal.SIGTERM:
        assert rc == -signal.SIGTERM
    else:
        assert rc in (1, -signal.SIGINT)
    check_all_logged(tmp_path)


@pytest.fixture
def sigint_ignored():
    """This process ignores SIGINT for the test, as pytest does when started in the background
    by a non-interactive shell (`make test &` in a script): its children inherit that."""
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


def test_children_get_a_default_sigint_when_the_suite_ignores_it(
    tmp_path: Path, sigint_ignored: None
) -> None:
    probe = "import signal; print(signal.getsignal(signal.SIGINT) is signal.default_int_handler)"
    assert run_child(probe, check=True).stdout.strip() == "True"
    # The SIGINT tests above, run with SIGINT ignored here.
    (tmp_path / "self").mkdir()
    (tmp_path / "outside").mkdir()
    test_everything_logged_before_the_end_is_on_disk(tmp_path / "self", "SIGINT to itself")
    test_signal_from_outside(tmp_path / "outside", signal.SIGINT, "")
