"""``ferroboard rewrite SRC [DST]``: rewrite a logdir's event files by rules (see
:func:`ferroboard.rewrite`); in place and atomic per run without DST."""

from __future__ import annotations

import argparse
import contextlib
import io
from typing import Any, Optional, TextIO

from ..rewrite import rewrite
from ._output import EXIT_CORRUPT, EXIT_OK

__all__ = ["add_parser", "cmd_rewrite"]


def _steps(text: str) -> tuple[Optional[int], Optional[int]]:
    lo, sep, hi = text.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"expected LO:HI (either may be empty), got {text!r}")
    try:
        return (int(lo) if lo else None, int(hi) if hi else None)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected integers in LO:HI, got {text!r}") from None


def _merge(text: str) -> tuple[str, list[str]]:
    target, sep, globs = text.partition("=")
    return (target, globs.split(",") if sep else ["*"])


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "rewrite",
        help="drop/keep tags, runs and steps, apply restarts, thin out, merge runs",
        description="Rewrite the event files of SRC (a logdir or one event file) by rules, "
        "into DST (new or empty), or in place without DST: per run, the new files are "
        "written and checked under SRC/.ferroboard-rewrite/, the old ones kept there as a "
        "backup, and swapped by rename under a journal (on Linux the run's whole directory, "
        "or the whole logdir when the logdir's own run or a merge is rewritten, exchanged in "
        "one step); an interrupted rewrite is finished "
        "by the next `ferroboard rewrite SRC` (with no rules: only that). A run still being "
        "written (modified in the last 5 s, or open for writing) is refused unless --force. "
        "Globs are fnmatch's (* also matches /). Damaged records are left out and listed "
        "(exit status 1).",
    )
    p.add_argument("src", help="logdir or event file")
    p.add_argument("dst", nargs="?", help="output logdir (default: rewrite SRC in place)")
    p.add_argument("--drop-tag", action="append", metavar="GLOB", help="drop tags (repeatable)")
    p.add_argument("--keep-tag", action="append", metavar="GLOB", help="keep only these tags")
    p.add_argument("--drop-run", action="append", metavar="GLOB", help="drop runs (repeatable)")
    p.add_argument("--keep-run", action="append", metavar="GLOB", help="keep only these runs")
    p.add_argument("--steps", type=_steps, metavar="LO:HI", help="keep LO <= step < HI")
    p.add_argument(
        "--apply-restarts",
        action="store_true",
        help="drop what a later restart superseded (as TensorBoard shows it)",
    )
    p.add_argument(
        "--max-media", type=int, metavar="N", help="keep the last N images/audio per tag"
    )
    p.add_argument(
        "--max-points", type=int, metavar="N", help="at most N scalars per tag (first, last kept)"
    )
    p.add_argument("--every", type=int, metavar="K", help="every K-th scalar per tag, and the last")
    p.add_argument(
        "--merge-runs",
        action="append",
        type=_merge,
        metavar="TARGET[=GLOB,...]",
        help="merge the runs matching the globs (default: all) into run TARGET (repeatable)",
    )
    p.add_argument("--dry-run", "-n", action="store_true", help="only print what would change")
    p.add_argument("--force", action="store_true", help="rewrite runs still being written")
    p.set_defaults(func=cmd_rewrite)


def cmd_rewrite(args: argparse.Namespace, out: TextIO) -> int:
    # ferroboard.rewrite prints a dry run's report itself: here it goes to `out` once.
    with contextlib.redirect_stdout(io.StringIO()):
        report = rewrite(
            args.src,
            args.dst,
            drop_tags=args.drop_tag,
            keep_tags=args.keep_tag,
            drop_runs=args.drop_run,
            keep_runs=args.keep_run,
            steps=args.steps,
            apply_restarts=args.apply_restarts,
            max_media_per_tag=args.max_media,
            max_points_per_tag=args.max_points,
            every=args.every,
            merge_runs=dict(args.merge_runs) if args.merge_runs else None,
            dry_run=args.dry_run,
            force=args.force,
        )
    text = report.format()
    if text:
        out.write(text + "\n")
    return EXIT_CORRUPT if report.damage else EXIT_OK
