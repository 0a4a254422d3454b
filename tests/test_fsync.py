"""SummaryWriter(..., fsync=True): flush() and close() return only after fdatasync on the event
files. Observed with strace (the system calls themselves, and their order against the
caller's return), when strace can trace here."""

from __future__ import annotations

import pickle
import re
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from ferroboard import SummaryWriter
from tensorboard.backend.event_processing import event_accumulator


def test_fsync_writes_the_same_events(tmp_path):
    for fsync in (False, True):
        with SummaryWriter(str(tmp_path / str(fsync)), fsync=fsync) as w:
            w.add_scalar("x", 1.5, 7)
            w.flush()
        acc = event_accumulator.EventAccumulator(str(tmp_path / str(fsync)))
        acc.Reload()
        assert [(e.step, e.value) for e in acc.Scalars("x")] == [(7, 1.5)]


@pytest.mark.parametrize("value", [1, 0, "yes", None, 1.0])
def test_fsync_must_be_a_bool(tmp_path, value):
    with pytest.raises(TypeError, match=r"fsync must be a bool, got "):
        SummaryWriter(str(tmp_path), fsync=value)
    assert list(tmp_path.iterdir()) == []  # nothing opened


def test_fsync_accepts_numpy_bool(tmp_path):
    w = SummaryWriter(str(tmp_path), fsync=np.bool_(True))
    assert w._fsync is True
    w.close()


def test_fsync_is_keyword_only(tmp_path):
    with pytest.raises(TypeError):
        SummaryWriter(str(tmp_path), "", None, 10, 120, "", True)  # type: ignore[misc]


@pytest.mark.parametrize("fsync", [False, True])
def test_pickling_keeps_fsync(tmp_path, fsync):
    w = SummaryWriter(str(tmp_path), fsync=fsync)
    copy = pickle.loads(pickle.dumps(w))
    assert copy._fsync is fsync
    copy.close()
    w.close()


SCRIPT = textwrap.dedent(
    """
    import os, sys, time
    from ferroboard import SummaryWriter

    w = SummaryWriter(sys.argv[1], fsync=sys.argv[2] == "1")
    w.add_scalar("x", 1.0, 0)
    time.sleep(0.3)  # the background thread hands the record to the OS (every 50 ms)
    os.write(2, b"FLUSH-CALLED")
    w.flush()
    os.write(2, b"FLUSH-RETURNED")
    w.add_scalar("x", 2.0, 1)
    w.close()
    os.write(2, b"CLOSE-RETURNED")
    """
)


def _strace(tmp_path, fsync: bool) -> list[str]:
    strace = shutil.which("strace")
    if strace is None:
        pytest.skip("strace is not installed")
    log = tmp_path / f"strace-{fsync}.txt"
    result = subprocess.run(
        [
            strace,
            "-f",
            "-y",
            "-e",
            "trace=fdatasync,fsync,write",
            "-o",
            str(log),
            sys.executable,
            "-c",
            SCRIPT,
            str(tmp_path / f"logs-{fsync}"),
            "1" if fsync else "0",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0 and "ptrace" in result.stderr:
        pytest.skip(f"strace cannot trace here: {result.stderr.strip()}")
    assert result.returncode == 0, result.stderr
    return log.read_text().splitlines()


def _syncs_of_event_file(lines: list[str]) -> list[int]:
    """Indexes of the lines where an fdatasync/fsync of an event file completed."""
    out = []
    pending = set()
    for i, line in enumerate(lines):
        m = re.match(r"(\d+)\s+(fdatasync|fsync)\(\d+<[^>]*events\.out\.tfevents[^>]*>", line)
        if m and "<unfinished" in line:
            pending.add(m.group(1))
        elif m and re.search(r"= 0$", line):
            out.append(i)
        else:
            r = re.match(r"(\d+)\s+<\.\.\. (fdatasync|fsync) resumed>.*= 0$", line)
            if r and r.group(1) in pending:
                pending.discard(r.group(1))
                out.append(i)
    return out


def _marker(lines: list[str], text: str) -> int:
    return next(i for i, line in enumerate(lines) if text in line and "write(2" in line)


def test_fsync_true_syncs_before_flush_and_close_return(tmp_path):
    lines = _strace(tmp_path, True)
    syncs = _syncs_of_event_file(lines)
    called = _marker(lines, "FLUSH-CALLED")
    flushed = _marker(lines, "FLUSH-RETURNED")
    closed = _marker(lines, "CLOSE-RETURNED")
    # The header and the first record reached the file before flush() (the periodic
    # hand-over), with no sync.
    writes = [i for i, line in enumerate(lines) if re.search(r"write\(\d+<[^>]*tfevents", line)]
    assert len([i for i in writes if i < called]) >= 2, "\n".join(lines)
    assert all(i > called for i in syncs), "\n".join(lines)
    assert any(called < i < flushed for i in syncs), "\n".join(lines)
    assert any(flushed < i < closed for i in syncs), "\n".join(lines)


def test_fsync_false_never_syncs(tmp_path):
    lines = _strace(tmp_path, False)
    _marker(lines, "CLOSE-RETURNED")
    assert _syncs_of_event_file(lines) == []
