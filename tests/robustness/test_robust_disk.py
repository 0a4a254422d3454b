"""Full and failing disks: a clear ``OSError`` on the next call, ``flush()`` or ``close()``;
no hang, no crash; what was written before the fault stays readable (a failed write is rolled
back to the last whole record, so the file never holds a torn record).

* a full filesystem: a 512 KiB tmpfs the test mounts (skipped where mounting is not allowed);
* a file-size limit (``RLIMIT_FSIZE``, in a child that ignores SIGXFSZ): works anywhere;
* the log directory removed mid-run: ``FileNotFoundError``, then a new file in the recreated
  directory;
* the log directory made read-only mid-run (a read-only bind mount over it; skipped where
  mounting is not allowed): new files (sub-runs, reopening after ``close()``) fail with EROFS.
  (Linux refuses to remount read-only a filesystem with a file open for writing, so an already
  open event file cannot be made read-only under a running writer.)
"""

from __future__ import annotations

import contextlib
import errno
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from ferroboard import SummaryWriter

from tests.support.framing import scan_raw
from tests.support.judges import our_events, tb_loaded_events
from tests.support.logdirs import all_event_files
from tests.support.processes import run_child


@contextlib.contextmanager
def mounted(target: Path, *args: str) -> Iterator[Path]:
    target.mkdir(parents=True, exist_ok=True)
    try:
        r = subprocess.run(["mount", *args, str(target)], capture_output=True, timeout=30)
    except (OSError, subprocess.SubprocessError) as e:
        pytest.skip(f"cannot mount here: {e}")
    if r.returncode != 0:
        pytest.skip(f"cannot mount here: {r.stderr.decode(errors='replace').strip()}")
    try:
        yield target
    finally:
        subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=30)


def whole_records_only(path: Path) -> list[dict]:
    data = path.read_bytes()
    raw = scan_raw(data)
    assert raw.problem is None
    assert raw.tail == 0, "a failed write must be rolled back to the last whole record"
    events = our_events(path)
    assert len(events) == len(raw.payloads)
    assert len(tb_loaded_events(path)) == len(events)
    return events


def test_full_filesystem_then_space_freed(tmp_path: Path, robust_report) -> None:
    with mounted(tmp_path / "mnt", "-t", "tmpfs", "-o", "size=512k", "tmpfs") as mnt:
        filler = mnt / "filler"
        filler.write_bytes(b"\0" * (300 * 1024))
        w = SummaryWriter(mnt / "run")
        text = "x" * 2000
        flushed_upto = -1
        failed_at = None
        error: OSError | None = None
        for i in range(10_000):
            try:
                w.add_text("t", text, i)
                if i % 10 == 9:
                    w.flush()
                    flushed_upto = i
            except OSError as e:
                error, failed_at = e, i
                break
        assert error is not None, "the disk never filled up"
        assert error.errno == errno.ENOSPC, error
        assert "run" in str(error)  # names the file
        # Free the space: logging goes on, after the last whole record.
        filler.unlink()
        for i in range(failed_at + 1, failed_at + 50):
            w.add_text("t", "after", i)
        w.flush()
        w.close()
        (path,) = all_event_files(mnt)
        events = whole_records_only(path)
        steps = [e["step"] for e in events[1:]]
        assert steps == sorted(set(steps))
        assert set(range(flushed_upto + 1)) <= set(steps)
        assert set(range(failed_at + 1, failed_at + 50)) <= set(steps)
        robust_report(
            f"full disk (512 KiB tmpfs): ENOSPC raised at call {failed_at}; all {flushed_upto + 1} "
            f"records flushed before it readable, no torn record, logging resumed once space "
            f"was freed ({len(steps)} records in the file)"
        )


FSIZE_CHILD = """
import errno, resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # else the kernel kills us instead of EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
from ferroboard import SummaryWriter
w = SummaryWriter(sys.argv[1])
flushed = -1
for i in range(100_000):
    try:
        w.add_scalar("s", float(i), i)
        if i % 100 == 99:
            w.flush()
            flushed = i
    except OSError as e:
        print("error", e.errno, i, flushed, flush=True)
        break
for op in (w.flush, w.close):
    try:
        op()
    except OSError as e:
        print("later", op.__name__, e.errno, flush=True)
print("done", flush=True)
"""


def test_file_size_limit(tmp_path: Path) -> None:
    proc = run_child(FSIZE_CHILD, str(tmp_path), timeout=60)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[-1] == "done"
    _, code, failed_at, flushed = lines[0].split()
    assert int(code) == errno.EFBIG
    (path,) = all_event_files(tmp_path)
    assert path.stat().st_size <= 100_000
    events = whole_records_only(path)
    steps = [e["step"] for e in events[1:]]
    assert steps == list(range(len(steps)))
    assert len(steps) > int(flushed)
    assert len(steps) <= int(failed_at) + 1


def test_log_dir_removed_mid_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    w = SummaryWriter(run)
    for i in range(100):
        w.add_scalar("s", float(i), i)
    w.flush()
    shutil.rmtree(run)
    for i in range(100, 200):
        w.add_scalar("s", float(i), i)
    with pytest.raises(FileNotFoundError, match="deleted"):
        w.flush()
    # The writer goes on in a new file in the recreated directory.
    for i in range(200, 300):
        w.add_scalar("s", float(i), i)
    w.flush()
    w.close()
    (path,) = all_event_files(run)
    events = whole_records_only(path)
    assert [e["step"] for e in events[1:]] == list(range(200, 300))


def test_log_dir_made_read_only_mid_run(tmp_path: Path) -> None:
    run = tmp_path / "run"
    w = SummaryWriter(run)
    w.add_scalar("s", 1.0, 0)
    w.flush()
    with mounted(run, "--bind", "-o", "ro", str(run)):
        # The open file is on the underlying filesystem: it keeps working.
        w.add_scalar("s", 2.0, 1)
        w.flush()
        # New files cannot be created: a clear error, and the writer keeps working.
        with pytest.raises(OSError, match=r"directory|create") as e:
            w.add_scalars("m", {"x": 1.0}, 0)
        assert e.value.errno == errno.EROFS
        w.add_scalar("s", 3.0, 2)
        w.close()
        with pytest.raises(OSError, match="Read-only") as e:
            w.add_scalar("s", 4.0, 3)  # reopening after close() needs a new file
        assert e.value.errno == errno.EROFS
    w.close()
    (path,) = all_event_files(run)
    events = whole_records_only(path)
    assert [e["step"] for e in events[1:]] == [0, 1, 2]
