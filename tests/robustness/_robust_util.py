"""Shared helpers of the robustness tests: independent record parsing, both readers, children.

The raw parser here is written from the format description (FORMAT.md), independently of
ferroboard's reader, so a bug in one is not hidden by the same bug in the other.
"""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

import ferroboard

REPO = Path(__file__).resolve().parents[2]
PYTHON_DIR = REPO / "python"

_CASTAGNOLI = 0x82F63B78
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _CASTAGNOLI if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


@dataclass
class RawScan:
    """The records of a file, parsed strictly: every complete record must have good CRCs."""

    payloads: list[bytes] = field(default_factory=list)
    tail: int = 0  # bytes after the last complete record (an incomplete record)
    problem: Optional[str] = None  # why the file is not "whole records + one incomplete tail"


def scan_raw(data: bytes, check_payload_crc: bool = True) -> RawScan:
    """Walks ``data`` record by record. Anything but whole, CRC-valid records followed by at most
    one incomplete record (a prefix of a valid record) is reported in ``problem``. (Payload CRCs
    in pure Python are slow; callers that read the file with a checking reader too skip them.)"""
    out = RawScan()
    pos = 0
    n = len(data)
    while pos < n:
        rest = n - pos
        if rest < 12:
            out.tail = rest
            return out
        (length,) = struct.unpack_from("<Q", data, pos)
        (len_crc,) = struct.unpack_from("<I", data, pos + 8)
        if masked_crc(data[pos : pos + 8]) != len_crc:
            out.problem = f"bad length CRC at offset {pos}"
            return out
        if rest < 12 + length + 4:
            out.tail = rest
            return out
        payload = data[pos + 12 : pos + 12 + length]
        (data_crc,) = struct.unpack_from("<I", data, pos + 12 + length)
        if check_payload_crc and masked_crc(payload) != data_crc:
            out.problem = f"bad payload CRC at offset {pos}"
            return out
        out.payloads.append(payload)
        pos += 12 + length + 4
    return out


def tb_events(path: os.PathLike[str] | str) -> list[Any]:
    """The events of ``path`` as TensorBoard's own loader reads them (protobuf ``Event``s)."""
    from tensorboard.backend.event_processing import event_file_loader

    return list(event_file_loader.EventFileLoader(os.fspath(path)).Load())


def ours(path: os.PathLike[str] | str) -> list[dict[str, Any]]:
    return list(ferroboard.iter_events(path))


def event_files(root: os.PathLike[str] | str) -> list[Path]:
    return sorted(p for p in Path(root).rglob("*") if "tfevents" in p.name and p.is_file())


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(PYTHON_DIR), *filter(None, [env.get("PYTHONPATH")])])
    env["PYTHONUNBUFFERED"] = "1"
    return env


# Children start with SIGINT raising KeyboardInterrupt, as under an interactive shell, even when
# this test process ignores SIGINT: a backgrounded `make test &` from a non-interactive shell
# starts pytest with SIGINT ignored, ignored dispositions survive exec, and Python then leaves
# SIGINT ignored, so the tests that send SIGINT would wait for a child that never reacts. Done in
# the child's own first line rather than by a ``preexec_fn`` (not safe in a process with threads,
# and this one has the writers' and the reader's threads).
SIGINT_DEFAULT = "import signal as _s; _s.signal(_s.SIGINT, _s.default_int_handler); del _s\n"


def child_argv(code: str, *args: str) -> list[str]:
    """The command line running ``code`` in a fresh interpreter, SIGINT at its default."""
    return [sys.executable, "-c", SIGINT_DEFAULT + textwrap.dedent(code), *args]


def run_child(
    code: str, *args: str, timeout: float = 60, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Runs ``code`` in a fresh interpreter (ferroboard importable), with a hard timeout."""
    return subprocess.run(
        child_argv(code, *args),
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=check,
    )


def popen_child(code: str, *args: str, **kw: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        child_argv(code, *args),
        env=child_env(),
        text=True,
        **kw,
    )


def scalar_steps(path: os.PathLike[str] | str, tag: Optional[str] = None) -> list[int]:
    return [
        e["step"]
        for e in ours(path)
        if e["kind"] == "summary" and (tag is None or e["values"][0]["tag"] == tag)
    ]
