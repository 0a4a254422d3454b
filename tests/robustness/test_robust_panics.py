"""Panics and failures inside the native core surface as Python exceptions, never as an abort
or a hang.

* The build never sets ``panic = "abort"`` (PyO3 turns a panic in a method into
  ``pyo3_runtime.PanicException``; with abort it would kill the interpreter).
* Values produced on the background thread (deferred producers, the path future GPU logging
  takes) that raise, return something other than bytes, or block, are reported by the next
  call; the writer goes on. (A Rust panic while producing one is caught the same way:
  ``rust/core/src/writer.rs`` tests; a background thread that dies anyway is reported as
  "the background writer thread stopped unexpectedly" by the next call, never waited for.)
* Dropping a writer with deferred values queued, or exiting the interpreter with them, does
  not deadlock on the GIL.
"""

from __future__ import annotations

import re
import struct
import threading
import time
from pathlib import Path

import pytest
from ferroboard import SummaryWriter

from tests.support.judges import our_events
from tests.support.paths import REPO
from tests.support.processes import run_child


def test_no_panic_abort_in_any_cargo_profile() -> None:
    manifests = [REPO / "Cargo.toml", *REPO.glob("rust/*/Cargo.toml")]
    assert len(manifests) >= 3
    for m in manifests:
        text = m.read_text()
        assert not re.search(r"""^\s*panic\s*=\s*["']abort["']""", text, re.M), m
    config = REPO / ".cargo" / "config.toml"
    if config.exists():
        assert "panic=abort" not in config.read_text().replace(" ", "")


def _scalar_event_bytes(step: int) -> bytes:
    # A serialized Event with one scalar, built by the native helper from a Summary.Value.
    value = b"\x0a\x01d\x15" + struct.pack("<f", 1.5)  # Summary.Value{tag: "d", simple_value}
    return SummaryWriter._event_bytes(value, step, 1.0)


@pytest.mark.parametrize(
    ("producer", "message"),
    [
        (lambda: 1 / 0, "ZeroDivisionError"),
        (lambda: "not bytes", "must return bytes"),
        (lambda: None, "must return bytes"),
        (lambda: 42, "must return bytes"),
        (lambda: (_ for _ in ()).throw(KeyboardInterrupt()), "KeyboardInterrupt"),
        (lambda: (_ for _ in ()).throw(SystemExit(3)), "SystemExit"),
        (lambda: (_ for _ in ()).throw(MemoryError()), "MemoryError"),
    ],
    ids=["raises", "str", "None", "int", "KeyboardInterrupt", "SystemExit", "MemoryError"],
)
def test_failing_deferred_producer_is_reported_and_writer_goes_on(
    tmp_path: Path, producer, message: str
) -> None:
    w = SummaryWriter(tmp_path)
    w.add_scalar("before", 1.0, 0)
    w._write_deferred(lambda: _scalar_event_bytes(1))
    w._write_deferred(producer)
    with pytest.raises(RuntimeError, match=message):
        w.flush()
    w.add_scalar("after", 2.0, 2)
    w.close()
    events = [e for e in our_events(w_file(tmp_path)) if e["kind"] == "summary"]
    assert [(e["values"][0]["tag"], e["step"]) for e in events] == [
        ("before", 0),
        ("d", 1),
        ("after", 2),
    ]


def w_file(d: Path) -> Path:
    (f,) = [p for p in d.iterdir() if "tfevents" in p.name]
    return f


def test_slow_producer_does_not_deadlock_close(tmp_path: Path) -> None:
    w = SummaryWriter(tmp_path)
    started = threading.Event()

    def slow() -> bytes:
        started.set()
        time.sleep(0.3)
        return _scalar_event_bytes(7)

    w._write_deferred(slow)
    w.close()  # waits for the producer, which needs the GIL: close() must release it
    events = [e for e in our_events(w_file(tmp_path)) if e["kind"] == "summary"]
    assert [e["step"] for e in events] == [7]
    assert started.is_set()


def test_drop_and_exit_with_deferred_values_queued(tmp_path: Path) -> None:
    code = """
import sys, time
from ferroboard import SummaryWriter
from ferroboard._native import NativeWriter
ev = SummaryWriter._event_bytes(b"\\x0a\\x01d\\x15\\x00\\x00\\xc0\\x3f", 5, 1.0)
w = SummaryWriter(sys.argv[1] + "/a")
w._write_deferred(lambda: (time.sleep(0.1), ev)[1])
del w  # closes the writer while the producer needs the GIL
w2 = SummaryWriter(sys.argv[1] + "/b")
w2._write_deferred(lambda: (time.sleep(0.1), ev)[1])
print("exiting", flush=True)  # exits without close(): atexit closes w2
"""
    proc = run_child(code, str(tmp_path), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "exiting"
    for sub in ("a", "b"):
        events = [e for e in our_events(w_file(tmp_path / sub)) if e["kind"] == "summary"]
        assert [e["step"] for e in events] == [5]
