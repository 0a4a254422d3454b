"""``ferroboard.rewrite``: log surgery on a logdir, streamed by the Rust core.

Drop or keep tags and runs by glob, keep a step range, apply TensorBoard's restart rule, keep
the last N images/audio of a tag, downsample scalars, merge runs: in place (atomic per run,
see README "Rewriting logs") or into a new directory. Every decision about bytes is the
core's (``ferroboard_core::rewrite``); this module checks arguments and shapes the report.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Optional, TextIO, Union

from . import _native

__all__ = ["RewriteReport", "RunChange", "TagChange", "rewrite"]

PathLike = Union[str, "os.PathLike[str]"]
Globs = Optional[Union[str, Sequence[str]]]


@dataclass(frozen=True)
class TagChange:
    """What happens to one tag of a run (``<graph>``, ``<file_version>``... for records that
    are not summary values)."""

    tag: str
    records_kept: int
    records_removed: int
    bytes_removed: int
    metadata_moved: bool


@dataclass(frozen=True)
class RunChange:
    """What happens to one output run: ``action`` is ``rewritten``, ``unchanged`` or
    ``dropped``; ``damage`` lists ``(file, byte offset, what)`` of damaged records left out;
    ``live`` says why the run looks like it is still being written (dry runs, ``force``);
    ``swap`` how an in-place rewrite swapped the run in: ``exchange`` (its whole directory in
    one step), ``logdir-exchange`` (the whole logdir in one step, every run of the rewrite at
    once: a rewrite holding the logdir's own run or a merge) or ``per-file: <why not whole>``,
    ``None`` when nothing was swapped."""

    run: str
    sources: list[str]
    action: str
    files_in: list[str]
    files_out: list[str]
    bytes_in: int
    bytes_out: int
    records_in: int
    records_out: int
    tags: list[TagChange]
    damage: list[tuple[str, int, str]]
    live: Optional[str]
    swap: Optional[str] = None


@dataclass(frozen=True)
class RewriteReport:
    """The outcome of :func:`rewrite`: one :class:`RunChange` per output run, and the
    interrupted in-place rewrites that were finished first (``recovered``)."""

    runs: list[RunChange]
    recovered: list[str] = field(default_factory=list)
    dry_run: bool = False

    @property
    def damage(self) -> list[tuple[str, int, str]]:
        """Every damaged record left out, over all runs."""
        return [d for r in self.runs for d in r.damage]

    def format(self) -> str:
        """The report as text: per run, its action and sizes, then per tag the records and
        bytes removed (tags that lose nothing are left out), then any damage."""
        verb = "would remove" if self.dry_run else "removed"
        lines = [f"finished an interrupted rewrite: {u}" for u in self.recovered]
        for r in self.runs:
            src = "" if r.sources == [r.run] else f" (merged from {', '.join(r.sources)})"
            live = f" [live: {r.live}]" if r.live else ""
            # A run not swapped whole says so (a reader could see it part new for a moment).
            whole = ("exchange", "logdir-exchange")
            swap = f" [swapped {r.swap}]" if r.swap and r.swap not in whole else ""
            lines.append(
                f"{r.run}{src}: {r.action}, {r.records_in} -> {r.records_out} records, "
                f"{r.bytes_in} -> {r.bytes_out} bytes{live}{swap}"
            )
            for t in r.tags:
                if t.records_removed or t.metadata_moved:
                    moved = (
                        ", plugin metadata moved to first kept value" if t.metadata_moved else ""
                    )
                    lines.append(
                        f"  {t.tag}: {verb} {t.records_removed} of "
                        f"{t.records_removed + t.records_kept} records, {t.bytes_removed} bytes"
                        f"{moved}"
                    )
            for path, off, what in r.damage:
                lines.append(f"  DAMAGED {path} at byte offset {off}: {what}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.format()


def _globs(name: str, v: Globs) -> Optional[list[str]]:
    if v is None:
        return None
    if isinstance(v, str):
        return [v]
    if isinstance(v, Iterable) and not isinstance(v, (bytes, Mapping)):
        out = list(v)
        if all(isinstance(g, str) for g in out):
            return out
    raise TypeError(f"{name}: expected a list of glob strings, got {v!r}")


def _count(name: str, v: Optional[int], least: int) -> Optional[int]:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name}: expected an int, got {type(v).__name__}")
    if v < least:
        raise ValueError(f"{name}: expected an int >= {least}, got {v}")
    return v


def _steps(v: object) -> Optional[tuple[int, int]]:
    if v is None:
        return None
    if not isinstance(v, (tuple, list)) or len(v) != 2:
        raise TypeError(f"steps: expected a (lo, hi) pair, got {v!r}")
    lo, hi = v
    for x in (lo, hi):
        if x is not None and (isinstance(x, bool) or not isinstance(x, int)):
            raise TypeError(f"steps: expected ints (or None for an open end), got {v!r}")
    lo = -(2**63) if lo is None else lo
    hi = 2**63 - 1 if hi is None else hi
    if lo > hi:
        raise ValueError(f"steps: expected lo <= hi, got {v!r}")
    return (lo, hi)


def _merges(v: object) -> list[tuple[str, list[str]]]:
    """``"target"`` (every kept run into one), or ``{target: globs}``."""
    if v is None:
        return []
    if isinstance(v, str):
        return [(v, ["*"])]
    if isinstance(v, Mapping):
        out = []
        for target, globs in v.items():
            if not isinstance(target, str):
                raise TypeError(f"merge_runs: expected run names as keys, got {target!r}")
            out.append((target, _globs("merge_runs", globs) or []))
        return out
    raise TypeError(
        f"merge_runs: expected a run name or a {{target run: [globs]}} mapping, got {v!r}"
    )


def rewrite(
    src: PathLike,
    dst: Optional[PathLike] = None,
    *,
    drop_tags: Globs = None,
    keep_tags: Globs = None,
    drop_runs: Globs = None,
    keep_runs: Globs = None,
    steps: Optional[tuple[Optional[int], Optional[int]]] = None,
    apply_restarts: bool = False,
    max_media_per_tag: Optional[int] = None,
    max_points_per_tag: Optional[int] = None,
    every: Optional[int] = None,
    merge_runs: Optional[Union[str, Mapping[str, Sequence[str]]]] = None,
    dry_run: bool = False,
    force: bool = False,
) -> RewriteReport:
    """Rewrites the event files of ``src`` (a logdir, or one event file) by rules, into
    ``dst`` (must not exist or be empty) or in place when ``dst`` is None.

    Tags and runs are lists of globs (``fnmatch``: ``*`` also matches ``/``). ``steps=(lo,
    hi)`` keeps ``lo <= step < hi`` (None for an open end). ``apply_restarts`` drops what a
    later restart superseded (a value at step s drops the tag's earlier values at steps >= s,
    as TensorBoard shows it). ``max_media_per_tag=N`` keeps the last N images/audio of each
    tag; ``every=k`` every k-th scalar of each tag, ``max_points_per_tag=N`` at most N evenly
    spaced scalars (both keep the first and the last). ``merge_runs`` is a run name (every
    kept run merged into it) or ``{target: [globs]}``. The step, restart and limit rules leave
    hparams and graph values alone, and records that are not summaries (headers, graphs) are
    kept. ``dry_run`` changes nothing and prints what would change. A run whose event file was
    modified in the last 5 seconds or is open for writing is refused (``OSError``, EBUSY)
    unless ``force``. Damaged records are left out and listed in the report's ``damage``
    (and printed to stderr).
    """
    if dst is not None and not isinstance(dst, (str, os.PathLike)):
        raise TypeError(f"dst: expected a path or None, got {type(dst).__name__}")
    if not isinstance(src, (str, os.PathLike)):
        raise TypeError(f"src: expected a path, got {type(src).__name__}")
    for name, flag in (("apply_restarts", apply_restarts), ("dry_run", dry_run), ("force", force)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name}: expected a bool, got {type(flag).__name__}")
    runs, recovered = _native.rewrite_logdir(
        os.fspath(src),
        None if dst is None else os.fspath(dst),
        _globs("keep_tags", keep_tags),
        _globs("drop_tags", drop_tags) or [],
        _globs("keep_runs", keep_runs),
        _globs("drop_runs", drop_runs) or [],
        _steps(steps),
        apply_restarts,
        _count("max_media_per_tag", max_media_per_tag, 1),
        _count("max_points_per_tag", max_points_per_tag, 2),
        _count("every", every, 1),
        _merges(merge_runs),
        dry_run,
        force,
        5.0,
    )
    report = RewriteReport(
        runs=[
            RunChange(
                run=r["run"],
                sources=list(r["sources"]),
                action=r["action"],
                files_in=list(r["files_in"]),
                files_out=list(r["files_out"]),
                bytes_in=r["bytes_in"],
                bytes_out=r["bytes_out"],
                records_in=r["records_in"],
                records_out=r["records_out"],
                tags=[TagChange(**t) for t in r["tags"]],
                damage=[tuple(d) for d in r["damage"]],
                live=r["live"],
                swap=r["swap"],
            )
            for r in runs
        ],
        recovered=list(recovered),
        dry_run=dry_run,
    )
    if dry_run:
        _print(report.format(), sys.stdout)
    elif report.damage:
        _print(
            "\n".join(
                f"ferroboard.rewrite: damaged record left out: {p} at byte offset {o}: {w}"
                for p, o, w in report.damage
            ),
            sys.stderr,
        )
    return report


def _print(text: str, out: TextIO) -> None:
    if text:
        out.write(text + "\n")
