"""``ferroboard export PATH``: one kind (default scalars) of every run to CSV, Parquet or JSON
lines, read in batches of runs."""

from __future__ import annotations

import argparse
import csv
import errno
import json
import os
import sys
import time
from typing import Any, Optional, TextIO

from .. import _storage
from .._native import event_files, read_plan
from ..reader.api import ReadResult, read
from ._output import EXIT_OK, EXIT_USAGE, jsonable


def _runs_of(path: str) -> list[str]:
    """Runs under ``path`` in reading order: the reader's own discovery (``event_files``), so
    export batches exactly the runs a read finds. A logdir that cannot be listed has none
    (the batched reads, of no runs, then write an empty export, as before)."""
    try:
        files = event_files(path)
    except OSError:
        return []
    return list(dict.fromkeys(run for run, _ in files))


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
            f.write(json.dumps(jsonable(r)) + "\n")
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
        return json.dumps(jsonable(t))
    data = {k: v for k, v in r.items() if k not in ("run", "tag", "step", "wall_time", "file")}
    return json.dumps(jsonable(data))


def _parquet_write(sink: dict[str, Any], table: Any) -> None:
    import pyarrow.parquet as pq

    if sink.get("writer") is None:
        sink["writer"] = pq.ParquetWriter(sink["path"], table.schema)
    sink["writer"].write_table(table)


def _write_empty_parquet(kind: str, path: str) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(
        pa.table(
            {
                "run": pa.array([], pa.string()),
                "tag": pa.array([], pa.string()),
                "step": pa.array([], pa.int64()),
                "wall_time": pa.array([], pa.float64()),
                "value": pa.array([], pa.float64() if kind == "scalars" else pa.string()),
            }
        ),
        path,
    )


def _read_runs(args: argparse.Namespace, runs: list[str]) -> ReadResult:
    """One read of ``runs`` under ``args.path`` with the command's kind, tag and fault options."""
    return read(
        args.path,
        kinds=[args.kind],
        runs=runs,
        tags=args.tag or None,
        check_crc=not args.no_crc,
        strict=args.strict,
        purge_restarts=args.purge_restarts,
    )


def _export_partitions(args: argparse.Namespace) -> int:
    """``--format parquet --partitions N``: one Parquet file per group of the read plan."""
    os.makedirs(args.output, exist_ok=True)
    groups = read_plan(args.path, args.partitions)
    if args.run:
        groups = [[r for r in g if r in set(args.run)] for g in groups]
    total_runs = sum(len(g) for g in groups)
    show = args.progress if args.progress is not None else sys.stderr.isatty()
    progress = _Progress(total_runs, show, sys.stderr)
    total, done, corrupt = 0, 0, 0
    try:
        for i, group in enumerate(groups):
            path = os.path.join(args.output, f"part-{i:05d}.parquet")
            sink: dict[str, Any] = {"path": path}
            try:
                if group:
                    res = _read_runs(args, group)
                    corrupt += res.corrupt_records
                    total += _write_batch("parquet", args.kind, res, sink)
            finally:
                if sink.get("writer") is not None:
                    sink["writer"].close()
                else:
                    _write_empty_parquet(args.kind, path)
            done += len(group)
            progress.update(done, total)
    finally:
        progress.close()
    if corrupt:
        print(f"ferroboard export: skipped {corrupt} corrupt records", file=sys.stderr)
    return EXIT_OK


_FORMAT_OF_SUFFIX = {".parquet": "parquet", ".pq": "parquet", ".jsonl": "jsonl", ".ndjson": "jsonl"}


def _format_of(output: Optional[str], partitions: Optional[int]) -> str:
    """The format when ``--format`` is not given: Parquet for ``--partitions``, else by the
    output file's suffix, else CSV."""
    if partitions is not None:
        return "parquet"
    suffix = os.path.splitext(output or "")[1].lower()
    return _FORMAT_OF_SUFFIX.get(suffix, "csv")


def cmd_export(args: argparse.Namespace, out: TextIO) -> int:
    if not _storage.exists(args.path):  # as `ls` and `verify` say, before any output
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), args.path)
    fmt = args.format or _format_of(args.output, args.partitions)
    if fmt == "parquet":
        if not args.output or args.output == "-":  # "-" is stdout, for the text formats
            print("ferroboard export: --format parquet needs --output FILE", file=sys.stderr)
            return EXIT_USAGE
        try:
            import pyarrow.parquet

            del pyarrow
        except ImportError:
            print("ferroboard export: --format parquet needs pyarrow", file=sys.stderr)
            return EXIT_USAGE
    if args.partitions is not None:
        if fmt != "parquet":
            print("ferroboard export: --partitions needs --format parquet", file=sys.stderr)
            return EXIT_USAGE
        if args.partitions < 1:
            print("ferroboard export: --partitions must be at least 1", file=sys.stderr)
            return EXIT_USAGE
        return _export_partitions(args)
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
            res = _read_runs(args, batch)
            corrupt += res.corrupt_records
            total += _write_batch(fmt, args.kind, res, sink)
            done += len(batch)
            progress.update(done, total)
    finally:
        progress.close()
        if sink.get("writer") is not None:
            sink["writer"].close()
        elif fmt == "parquet":  # nothing written: still leave a valid (empty) file
            _write_empty_parquet(args.kind, args.output)
        if close_file:
            sink["file"].close()
        else:
            out.flush()
    if corrupt:
        print(f"ferroboard export: skipped {corrupt} corrupt records", file=sys.stderr)
    return EXIT_OK
