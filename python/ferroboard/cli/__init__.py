"""The ``ferroboard`` command: list, export, verify, print, rewrite and plot TensorBoard event
files.

``ferroboard ls PATH``       runs, tags, kinds, counts, step ranges and last values
``ferroboard export PATH``   scalars (or another kind) to CSV, Parquet or JSON lines
``ferroboard verify PATH``   CRC-check every record; exit status 1 on corruption
``ferroboard cat FILE...``   every event of event files as readable text
``ferroboard rewrite SRC``   drop/keep tags, runs, steps; restarts; thin out; merge runs
``ferroboard plot LOGDIR``   scalars to PNG, SVG or a self-contained HTML page
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from typing import Optional

from .. import __version__
from ..reader.api import KINDS
from ._output import EXIT_CORRUPT, EXIT_OK, EXIT_USAGE
from .cat import cmd_cat
from .export import cmd_export
from .ls import cmd_ls
from .plot import add_parser as _add_plot
from .rewrite import add_parser as _add_rewrite
from .verify import cmd_verify

__all__ = [
    "EXIT_CORRUPT",
    "EXIT_OK",
    "EXIT_USAGE",
    "build_parser",
    "cmd_cat",
    "cmd_export",
    "cmd_ls",
    "cmd_verify",
    "main",
]


def _common(p: argparse.ArgumentParser, filters: bool = True) -> None:
    if filters:
        p.add_argument("--run", action="append", metavar="RUN", help="only this run (repeatable)")
        p.add_argument("--tag", action="append", metavar="TAG", help="only this tag (repeatable)")
        p.add_argument(
            "--strict", action="store_true", help="fail on a corrupt record instead of skipping"
        )
        p.add_argument(
            "--purge-restarts",
            action="store_true",
            help="TensorBoard's view of restarted runs (drop records superseded by a restart)",
        )
    p.add_argument("--no-crc", action="store_true", help="skip payload CRC checks (faster)")


def _count(text: str) -> int:
    """An ``int >= 0`` argument (argparse names the option in its error)."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ferroboard",
        description="TensorBoard event files, fast: list, export, verify, print, rewrite, plot.",
    )
    parser.add_argument("--version", action="version", version=f"ferroboard {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser(
        "ls",
        help="runs, tags, kinds, counts, step ranges, last values",
        description="List each run of a logdir (or one event file): its tags with kind, "
        "record count, step range and, for scalars, the last value.",
    )
    p.add_argument("path", help="logdir or event file")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    _common(p)
    p.set_defaults(func=cmd_ls)

    p = sub.add_parser(
        "export",
        help="export scalars (or another kind) to CSV, Parquet or JSON lines",
        description="Export one kind (default scalars) of every run as rows "
        "run, tag, step, wall_time, value. Runs are read in batches, with a progress bar on "
        "stderr when it is a terminal and the logdir is large.",
    )
    p.add_argument("path", help="logdir or event file")
    p.add_argument(
        "--format",
        "-f",
        choices=("csv", "parquet", "jsonl"),
        help="default: from --output's name (.parquet or .pq: parquet, .jsonl or .ndjson: "
        "jsonl, else csv); parquet with --partitions; csv on stdout",
    )
    p.add_argument(
        "--output", "-o", metavar="FILE", help="output file (default, or -: stdout; not parquet)"
    )
    p.add_argument(
        "--kind",
        choices=[k for k in KINDS if k != "hparams"],
        default="scalars",
        help="which summaries to export (default: scalars)",
    )
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="force the progress bar on or off",
    )
    p.add_argument(
        "--partitions",
        type=int,
        metavar="N",
        help="with --format parquet: --output is a directory, one part-NNNNN.parquet per group "
        "of runs of the read plan (N groups of about equal bytes, as ferroboard.dask reads them)",
    )
    p.add_argument("--batch-runs", type=int, default=16, help=argparse.SUPPRESS)
    _common(p)
    p.set_defaults(func=cmd_export)

    p = sub.add_parser(
        "verify",
        help="CRC-check every record; non-zero exit on corruption",
        description="Check both CRCs of every record of every event file. Reports corrupt "
        "records and corrupt lengths with their byte offsets, and incomplete final records "
        "(normal for a file still being written). Exit status: 0 clean, 1 corruption found.",
    )
    p.add_argument("path", help="logdir or event file")
    p.add_argument("--quiet", "-q", action="store_true", help="only list files with problems")
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser(
        "cat",
        help="print the events of event files as readable text",
        description="Print every event of each event file, one line per event "
        "(@byte offset, step, wall time, then its contents, tags as written). With several "
        "files, each file's events follow a '==> FILE <==' line, in the order given. An error "
        "names its file; the other files are still printed (exit status 1 if a file is corrupt, "
        "2 if one cannot be read).",
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="event files")
    p.add_argument("--json", action="store_true", help="one JSON object per event, with its 'file'")
    p.add_argument("--full", action="store_true", help="do not abbreviate long values")
    p.add_argument(
        "--limit", "-n", type=_count, help="print at most N events of each file (N >= 0)"
    )
    _common(p, filters=False)
    p.set_defaults(func=cmd_cat)
    _add_rewrite(sub)
    _add_plot(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    out = sys.stdout
    try:
        return int(args.func(args, out))
    except BrokenPipeError:
        # `ferroboard cat FILE | head`: stop quietly.
        with contextlib.suppress(OSError):
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115
        return EXIT_OK
    except (OSError, ValueError) as e:
        print(f"ferroboard {args.command}: {e}", file=sys.stderr)
        return EXIT_CORRUPT if "offset" in str(e) else EXIT_USAGE
