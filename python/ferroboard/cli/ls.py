"""``ferroboard ls PATH``: runs, tags, kinds, counts, step ranges and last values."""

from __future__ import annotations

import argparse
import json
import math
from typing import Any, Optional, TextIO, Union

import numpy as np

from ..reader import FileReport
from ..reader.api import KINDS, read
from ._output import EXIT_OK


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
