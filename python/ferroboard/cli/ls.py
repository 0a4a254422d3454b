"""``ferroboard ls PATH``: runs, tags, kinds, counts, step ranges and last values, and the
projector's embeddings (``projector_config.pbtxt`` in a run's directory, or in the logdir
itself, where TensorBoard's projector looks; the config is read in Rust)."""

from __future__ import annotations

import argparse
import json
import math
import os
from typing import Any, Optional, TextIO, Union

import numpy as np

from .._native import projector_embeddings
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


def _embeddings(path: str, run: str) -> list[dict[str, Any]]:
    """The embeddings of ``run``'s projector config (an ``error`` entry for one that cannot
    be read)."""
    if not os.path.isdir(path):
        return []
    try:
        found = projector_embeddings(os.path.join(path, run))
    except (ValueError, OSError) as e:
        return [{"error": str(e)}]
    return [
        {
            "name": f["tensor_name"],
            "shape": list(f["shape"]) if f["shape"] is not None else None,
            "tensor_path": f["tensor_path"],
            "metadata_path": f["metadata_path"],
            "sprite_path": f["sprite_path"],
        }
        for f in found or []
    ]


def _embedding_line(e: dict[str, Any]) -> str:
    if "error" in e:
        return f"  embeddings: unreadable projector config: {e['error']}\n"
    shape = "x".join(map(str, e["shape"])) if e["shape"] else "no tensor file"
    extra = "".join(
        f", {what}"
        for what, key in (("metadata", "metadata_path"), ("sprite", "sprite_path"))
        if e[key]
    )
    return f"  {e['name']}  embedding  {shape}{extra}  in {os.path.dirname(e['tensor_path'])}\n"


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
    embeddings = {run: _embeddings(args.path, run) for run in res.runs}
    if "." not in embeddings and not args.run:
        # TensorBoard's projector also reads a config in the logdir itself.
        root = _embeddings(args.path, ".")
        if root:
            embeddings["."] = root
    if args.json:
        doc = []
        for run in embeddings:
            if run not in res.runs:
                doc.append({"run": run, "files": 0, "records": 0, "embeddings": embeddings[run]})
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
                    "embeddings": embeddings[run],
                }
            )
        json.dump(doc, out, indent=1)
        out.write("\n")
        return EXIT_OK
    for run, found in embeddings.items():
        if run not in res.runs:
            out.write(f"{run}  (no event files; projector config)\n")
            for e in found:
                out.write(_embedding_line(e))
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
        for e in embeddings[run]:
            out.write(_embedding_line(e))
    if not res.runs and not embeddings:
        if args.run or args.tag:
            out.write("no run or tag matches --run/--tag (exact names)\n")
        else:
            out.write("no event files\n")
    return EXIT_OK
