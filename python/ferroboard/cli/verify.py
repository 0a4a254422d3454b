"""``ferroboard verify PATH``: CRC-check every record; exit status 1 on corruption."""

from __future__ import annotations

import argparse
from typing import TextIO

from ..reader.api import read
from ._output import EXIT_CORRUPT, EXIT_OK


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    res = read(args.path, kinds=[], check_crc=True)
    bad_files = 0
    for f in res.files:
        problems = []
        for off in f["corrupt"]:
            problems.append(f"corrupt record (payload CRC mismatch) at byte offset {off}")
        for off in f["malformed"]:
            problems.append(f"malformed event (CRC matched, not an Event) at byte offset {off}")
        for off, n in f["skipped"]:
            problems.append(
                f"corrupt record length at byte offset {off}: {n} bytes skipped "
                "to the next intact record"
            )
        tail = ""
        if f["pending"]:
            tail = (
                f"; incomplete final record at byte offset {f['end_offset']} "
                f"({f['pending']} bytes, normal while a writer is running)"
            )
        status = "CORRUPT" if problems else "ok"
        if problems:
            bad_files += 1
        if problems or not args.quiet:
            out.write(f"{status:8} {f['path']}: {f['records']} records{tail}\n")
        for p in problems:
            out.write(f"         {p}\n")
    n = len(res.files)
    out.write(
        f"{n} file{'s' if n != 1 else ''} checked, {bad_files} with corruption, "
        f"{sum(f['records'] for f in res.files)} records\n"
    )
    return EXIT_CORRUPT if bad_files else EXIT_OK
