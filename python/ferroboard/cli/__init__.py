"""The ``ferroboard`` command: list, export, verify and print TensorBoard event files.

``ferroboard ls PATH``       runs, tags, kinds, counts, step ranges and last values
``ferroboard export PATH``   scalars (or another kind) to CSV, Parquet or JSON lines
``ferroboard verify PATH``   CRC-check every record; exit status 1 on corruption
``ferroboard cat FILE...``   every event of event files as readable text
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import csv
import errno
import json
import math
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, Optional, TextIO, Union

import numpy as np

from .. import __version__
from ..events import iter_events
from ..read import FileReport
from ..reader import KINDS, ReadResult, read

EXIT_OK, EXIT_CORRUPT, EXIT_USAGE = 0, 1, 2


def _runs_of(path: str) -> list[str]:
    """Runs under ``path`` in reading order (as the reader finds them)."""
    if os.path.isfile(path):
        return ["."]
    runs: list[str] = []

    def walk(d: str, rel: str) -> None:
        try:
            names = sorted(os.listdir(d))
        except OSError:
            return
        for n in names:
            full = os.path.join(d, n)
            if os.path.isdir(full) and not os.path.islink(full):
                walk(full, f"{rel}/{n}" if rel else n)
            elif "tfevents" in n and os.path.isfile(full):
                run = rel or "."
                if run not in runs:
                    runs.append(run)

    walk(path, "")
    return runs


def _fmt_num(x: float) -> str:
    if isinstance(x, float) and (math.isnan(x) or math.isinf(x)):
        return str(x)
    return f"{x:.6g}"


def _filters(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "runs": args.run or None,
        "tags": args.tag or None,
        "check_crc": not args.no_crc,
        "strict": args.strict,
    }


# --------------------------------------------------------------------------------- ls


def cmd_ls(args: argparse.Namespace, out: TextIO) -> int:
    res = read(args.path, purge_restarts=args.purge_restarts, **_filters(args))
    s = res.raw_scalars
    it = res.items
    stats: dict[tuple[int, int, str], dict[str, Any]] = {}

    def add(
        run: np.ndarray,
        tag: np.ndarray,
        step: np.ndarray,
        kinds: Union[str, np.ndarray],
        values: Optional[np.ndarray] = None,
    ) -> None:
        if not len(run):
            return
        key = run.astype(np.int64) * (len(res.tags) + 1) + tag
        order = np.argsort(key, kind="stable")
        k_sorted = key[order]
        starts = np.flatnonzero(np.r_[True, k_sorted[1:] != k_sorted[:-1]])
        ends = np.r_[starts[1:], len(k_sorted)]
        for a, b in zip(starts, ends):
            idx = order[a:b]
            i0 = idx[0]
            kind = kinds if isinstance(kinds, str) else KINDS[kinds[i0]]
            st: dict[str, Any] = {
                "count": len(idx),
                "min_step": int(step[idx].min()),
                "max_step": int(step[idx].max()),
            }
            if values is not None:
                st["last"] = float(values[idx[-1]])
            stats[(int(run[i0]), int(tag[i0]), kind)] = st

    add(s["run"], s["tag"], s["step"], "scalars", s["value"])
    for code in np.unique(it["kind"]):
        sel = np.flatnonzero(it["kind"] == code)
        add(it["run"][sel], it["tag"][sel], it["step"][sel], KINDS[int(code)])
    files_per_run: dict[int, list[FileReport]] = {}
    for f in res.files:
        files_per_run.setdefault(f["run"], []).append(f)
    if args.json:
        doc = []
        for ri, run in enumerate(res.runs):
            fs = files_per_run.get(ri, [])
            doc.append(
                {
                    "run": run,
                    "files": len(fs),
                    "records": sum(f["records"] for f in fs),
                    "corrupt_records": sum(len(f["corrupt"]) for f in fs),
                    "has_graph": res.has_graph[run],
                    "hparams": res.hparams().get(run, {}),
                    "tags": [
                        {"tag": res.tags[t], "kind": k, **st}
                        for (r, t, k), st in stats.items()
                        if r == ri
                    ],
                }
            )
        json.dump(doc, out, indent=1)
        out.write("\n")
        return EXIT_OK
    for ri, run in enumerate(res.runs):
        fs = files_per_run.get(ri, [])
        notes = [f"{len(fs)} file{'s' if len(fs) != 1 else ''}"]
        notes.append(f"{sum(f['records'] for f in fs)} records")
        bad = sum(len(f["corrupt"]) for f in fs)
        if bad:
            notes.append(f"{bad} corrupt")
        if res.has_graph[run]:
            notes.append("graph")
        hp = res.hparams().get(run)
        if hp:
            notes.append("hparams " + ", ".join(f"{k}={v}" for k, v in hp.items()))
        out.write(f"{run}  ({'; '.join(notes)})\n")
        rows = [(res.tags[t], k, st) for (r, t, k), st in stats.items() if r == ri]
        rows.sort(key=lambda x: (x[0], x[1]))
        width = max([len(r[0]) for r in rows] + [3])
        for tag, kind, st in rows:
            steps = (
                f"step {st['min_step']}"
                if st["min_step"] == st["max_step"]
                else f"steps {st['min_step']}..{st['max_step']}"
            )
            last = f"  last {_fmt_num(st['last'])}" if "last" in st else ""
            out.write(f"  {tag:<{width}}  {kind:<10} {st['count']:>8}  {steps}{last}\n")
    if not res.runs:
        out.write("no event files\n")
    return EXIT_OK


# --------------------------------------------------------------------------------- export


class _Progress:
    """A one-line progress bar on stderr."""

    def __init__(self, total: int, enabled: bool, stream: TextIO):
        self.total, self.enabled, self.stream = total, enabled, stream
        self.start = time.perf_counter()

    def update(self, done: int, records: int) -> None:
        if not self.enabled:
            return
        width = 30
        filled = int(width * done / max(self.total, 1))
        rate = records / max(time.perf_counter() - self.start, 1e-9)
        self.stream.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} runs"
            f"  {records:,} records  {rate:,.0f}/s"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return _jsonable(x.tolist()) if x.dtype == object else x.tolist()
    if isinstance(x, bytes):
        try:
            return x.decode("utf-8")
        except UnicodeDecodeError:
            return {"base64": base64.b64encode(x).decode("ascii")}
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return str(x)
    if isinstance(x, dict):
        return {k: _jsonable(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_jsonable(v) for v in x]
    return x


def _write_batch(fmt: str, kind: str, res: ReadResult, sink: dict[str, Any]) -> int:
    """Writes one batch of runs; returns the records written."""
    if kind == "scalars":
        s = res.scalars
        n = len(s["step"])
        columns = ("run", "tag", "step", "wall_time", "value")
        if fmt == "csv":
            w = sink["csv"]
            for run, tag, step, wt, v in zip(*(s[c].tolist() for c in columns)):
                w.writerow((run, tag, step, repr(wt), repr(v)))
        elif fmt == "jsonl":
            f = sink["file"]
            for row in zip(*(s[c].tolist() for c in columns)):
                f.write(json.dumps(dict(zip(columns, row))) + "\n")
        else:
            import pyarrow as pa

            table = pa.table(
                {
                    "run": pa.array(s["run"].tolist(), pa.string()),
                    "tag": pa.array(s["tag"].tolist(), pa.string()),
                    "step": s["step"],
                    "wall_time": s["wall_time"],
                    "value": s["value"],
                }
            )
            _parquet_write(sink, table)
        return n
    recs = res.records(kind)
    if fmt == "jsonl":
        f = sink["file"]
        for r in recs:
            f.write(json.dumps(_jsonable(r)) + "\n")
    elif fmt == "csv":
        w = sink["csv"]
        for r in recs:
            w.writerow((r["run"], r["tag"], r["step"], repr(r["wall_time"]), _cell(r)))
    else:
        import pyarrow as pa

        table = pa.table(
            {
                "run": pa.array([r["run"] for r in recs], pa.string()),
                "tag": pa.array([r["tag"] for r in recs], pa.string()),
                "step": pa.array([r["step"] for r in recs], pa.int64()),
                "wall_time": pa.array([r["wall_time"] for r in recs], pa.float64()),
                "value": pa.array([_cell(r) for r in recs], pa.string()),
            }
        )
        _parquet_write(sink, table)
    return len(recs)


def _cell(r: dict[str, Any]) -> str:
    """A non-scalar record's data as one text cell (text as is, the rest as JSON)."""
    if "tensor" in r:
        t = r["tensor"]
        if t.dtype == object and t.size == 1:
            v = t.reshape(()).item()
            return v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
        return json.dumps(_jsonable(t))
    data = {k: v for k, v in r.items() if k not in ("run", "tag", "step", "wall_time", "file")}
    return json.dumps(_jsonable(data))


def _parquet_write(sink: dict[str, Any], table: Any) -> None:
    import pyarrow.parquet as pq

    if sink.get("writer") is None:
        sink["writer"] = pq.ParquetWriter(sink["path"], table.schema)
    sink["writer"].write_table(table)


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    if not os.path.exists(args.path):  # as `ls` and `verify` say, before any output
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), args.path)
    fmt = args.format
    if fmt == "parquet":
        if not args.output:
            print("ferroboard export: --format parquet needs --output FILE", file=sys.stderr)
            return EXIT_USAGE
        try:
            import pyarrow.parquet

            del pyarrow
        except ImportError:
            print("ferroboard export: --format parquet needs pyarrow", file=sys.stderr)
            return EXIT_USAGE
    runs = _runs_of(args.path)
    if args.run:
        runs = [r for r in runs if r in set(args.run)]
    batches = [runs[i : i + args.batch_runs] for i in range(0, len(runs), args.batch_runs)]
    show = args.progress if args.progress is not None else sys.stderr.isatty() and len(batches) > 1
    progress = _Progress(len(runs), show, sys.stderr)
    close_file = False
    sink: dict[str, Any] = {"path": args.output}
    if fmt != "parquet":
        f: TextIO
        if args.output and args.output != "-":
            f = open(args.output, "w", newline="", encoding="utf-8")  # noqa: SIM115
            close_file = True
        else:
            f = out
        sink["file"] = f
        if fmt == "csv":
            sink["csv"] = csv.writer(f, lineterminator="\n")
            sink["csv"].writerow(("run", "tag", "step", "wall_time", "value"))
    total, done, corrupt = 0, 0, 0
    try:
        for batch in batches:
            res = read(
                args.path,
                kinds=[args.kind],
                runs=batch,
                tags=args.tag or None,
                check_crc=not args.no_crc,
                strict=args.strict,
                purge_restarts=args.purge_restarts,
            )
            corrupt += res.corrupt_records
            total += _write_batch(fmt, args.kind, res, sink)
            done += len(batch)
            progress.update(done, total)
    finally:
        progress.close()
        if sink.get("writer") is not None:
            sink["writer"].close()
        elif fmt == "parquet":  # nothing written: still leave a valid (empty) file
            import pyarrow as pa
            import pyarrow.parquet as pq

            pq.write_table(
                pa.table(
                    {
                        "run": pa.array([], pa.string()),
                        "tag": pa.array([], pa.string()),
                        "step": pa.array([], pa.int64()),
                        "wall_time": pa.array([], pa.float64()),
                        "value": pa.array(
                            [], pa.float64() if args.kind == "scalars" else pa.string()
                        ),
                    }
                ),
                args.output,
            )
        if close_file:
            sink["file"].close()
        else:
            out.flush()
    if corrupt:
        print(f"ferroboard export: skipped {corrupt} corrupt records", file=sys.stderr)
    return EXIT_OK


# --------------------------------------------------------------------------------- verify


def cmd_verify(args: argparse.Namespace, out: TextIO) -> int:
    res = read(args.path, kinds=[], check_crc=True)
    bad_files = 0
    for f in res.files:
        problems = []
        for off in f["corrupt"]:
            problems.append(f"corrupt record (payload CRC mismatch) at byte offset {off}")
        for off in f["malformed"]:
            problems.append(f"malformed event (CRC matched, not an Event) at byte offset {off}")
        if f["bad_length_at"] is not None:
            problems.append(
                f"corrupt record length at byte offset {f['bad_length_at']}: "
                "the rest of the file is unreadable"
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


# --------------------------------------------------------------------------------- cat


def _value_text(v: dict[str, Any], full: bool) -> str:
    parts = [f"tag={json.dumps(v.get('tag', ''), ensure_ascii=False)}"]
    if v.get("plugin"):
        parts.append(f"plugin={v['plugin']}")
    for key, val in v.items():
        if key in ("tag", "plugin"):
            continue
        if key == "tensor" and isinstance(val, dict):
            vals = val.get("values", [])
            shown = vals if full or len(vals) <= 8 else [*vals[:8], "..."]
            shown = [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in shown]
            text = f"tensor {val.get('dtype')} shape={val.get('shape')}"
            if vals or "tensor_content" not in val:
                text += f" values={json.dumps(_jsonable(shown), ensure_ascii=False)}"
            for k2, x in val.items():  # packed tensor_content: its size (bytes stay unparsed)
                if k2 not in ("dtype", "shape", "values"):
                    text += f" {k2}=<{len(x)} bytes>" if isinstance(x, bytes) else f" {k2}={x}"
            parts.append(text)
        elif isinstance(val, dict):
            inner = []
            for k2, x in val.items():
                if isinstance(x, bytes):
                    inner.append(f"{k2}=<{len(x)} bytes>")
                elif isinstance(x, list) and not full and len(x) > 8:
                    inner.append(f"{k2}=[{len(x)} values]")
                else:
                    inner.append(f"{k2}={_jsonable(x)}")
            parts.append(f"{key}{{{' '.join(inner)}}}")
        elif isinstance(val, bytes):
            parts.append(f"{key}=<{len(val)} bytes>")
        else:
            parts.append(f"{key}={_jsonable(val)}")
    return " ".join(parts)


def _cat_one(path: str, args: argparse.Namespace, out: TextIO) -> None:
    """Prints the events of one file; raises OSError/ValueError on a bad file."""
    if os.path.isdir(path):
        raise IsADirectoryError("is a directory; give event files")
    n = 0
    for ev in iter_events(path, check_crc=not args.no_crc):
        if args.limit is not None and n >= args.limit:
            break
        n += 1
        if args.json:
            out.write(json.dumps(_jsonable({"file": path, **ev}), ensure_ascii=False) + "\n")
            continue
        head = f"@{ev['offset']} step={ev['step']} wall_time={ev['wall_time']:.6f}"
        kind = ev.get("kind", "")
        if kind == "summary":
            vals = ev.get("values", [])
            if len(vals) == 1:
                out.write(f"{head} summary {_value_text(vals[0], args.full)}\n")
            else:
                out.write(f"{head} summary ({len(vals)} values)\n")
                for v in vals:
                    out.write(f"    {_value_text(v, args.full)}\n")
        else:
            rest = {k: v for k, v in ev.items() if k not in ("offset", "step", "wall_time", "kind")}
            body = " ".join(
                f"{k}=<{len(v)} bytes>" if isinstance(v, bytes) else f"{k}={_jsonable(v)}"
                for k, v in rest.items()
            )
            out.write(f"{head} {kind} {body}".rstrip() + "\n")


def _error_text(path: str, e: BaseException) -> str:
    """``PATH: what went wrong``, naming the file once whatever the error's own text says."""
    msg = e.strerror if isinstance(e, OSError) and e.strerror and e.filename else str(e)
    if msg.startswith(f"{path}: "):
        msg = msg[len(path) + 2 :]
    return f"{path}: {msg}"


def cmd_cat(args: argparse.Namespace, out: TextIO) -> int:
    """Every file in the order given; with several files, a ``==> FILE <==`` line before each
    (as ``head`` does). An error names its file and ends that file only: the other files are
    still printed, and the exit status is that of the worst error (1 corruption, 2 other)."""
    status = EXIT_OK
    several = len(args.files) > 1
    for i, path in enumerate(args.files):
        if several and not args.json:
            out.write(("\n" if i else "") + f"==> {path} <==\n")
        try:
            _cat_one(path, args, out)
        except (OSError, ValueError) as e:
            out.flush()
            print(f"ferroboard cat: {_error_text(path, e)}", file=sys.stderr)
            status = max(status, EXIT_CORRUPT if "offset" in str(e) else EXIT_USAGE)
    return status


# --------------------------------------------------------------------------------- main


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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ferroboard",
        description="Read TensorBoard event files fast: list, export, verify, print.",
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
    p.add_argument("--format", "-f", choices=("csv", "parquet", "jsonl"), default="csv")
    p.add_argument("--output", "-o", metavar="FILE", help="output file (default: stdout)")
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
    p.add_argument("--limit", "-n", type=int, help="print at most N events of each file")
    _common(p, filters=False)
    p.set_defaults(func=cmd_cat)
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


if __name__ == "__main__":
    sys.exit(main())
