"""TFRecord framing by hand: the suite's one CRC32C oracle, :func:`frame`, a few hand-encoded
events, and a strict record scanner.

Written from the format description (FORMAT.md), independently of ferroboard's reader and
writer, so a bug in one is not hidden by the same bug in the other.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Callable, Optional

# ----------------------------------------------------------------------- CRC32C (Castagnoli)

_CASTAGNOLI = 0x82F63B78  # the reflected polynomial
_TABLE = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = (_c >> 1) ^ _CASTAGNOLI if _c & 1 else _c >> 1
    _TABLE.append(_c)


def crc32c(data: bytes) -> int:
    """CRC32C of ``data``, byte by byte from a 256-entry table."""
    crc = 0xFFFFFFFF
    for b in data:
        crc = _TABLE[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def masked_crc(data: bytes) -> int:
    """TFRecord's masked CRC: CRC32C rotated right by 15 bits plus 0xA282EAD8."""
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ----------------------------------------------------------------------- records and events


def frame(payload: bytes) -> bytes:
    """One TFRecord record holding ``payload``."""
    n = struct.pack("<Q", len(payload))
    return n + struct.pack("<I", masked_crc(n)) + payload + struct.pack("<I", masked_crc(payload))


def scalar_event(tag: str, step: int, value: float, wall_time: float = 1.0) -> bytes:
    """A serialized ``Event{wall_time, step, summary{value{tag, simple_value}}}``."""

    def varint(x: int) -> bytes:
        x &= (1 << 64) - 1
        out = bytearray()
        while True:
            b = x & 0x7F
            x >>= 7
            if x:
                out.append(b | 0x80)
            else:
                out.append(b)
                return bytes(out)

    def ld(field: int, body: bytes) -> bytes:
        return varint(field << 3 | 2) + varint(len(body)) + body

    value = ld(1, tag.encode()) + bytes([0x15]) + struct.pack("<f", value)
    return (
        bytes([0x09])
        + struct.pack("<d", wall_time)
        + varint(2 << 3)
        + varint(step)
        + ld(5, ld(1, value))
    )


def header_event(wall_time: float = 1.0) -> bytes:
    """``Event{wall_time, file_version: "brain.Event:2"}``."""
    v = b"brain.Event:2"
    return bytes([0x09]) + struct.pack("<d", wall_time) + bytes([0x1A, len(v)]) + v


def scalar_file(
    tag: str, steps: range, value: Callable[[int], float] = lambda s: s * 0.5
) -> tuple[bytes, list[int]]:
    """Bytes of an event file of scalars, and the byte offset of every record."""
    out = bytearray()
    offsets = []
    for p in [header_event()] + [scalar_event(tag, s, value(s)) for s in steps]:
        offsets.append(len(out))
        out += frame(p)
    return bytes(out), offsets


# ----------------------------------------------------------------------- strict scanning


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
