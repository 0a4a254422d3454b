"""``ferroboard cat FILE...``: every event of event files as readable text."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO

import numpy as np

from .. import _storage
from ..events import iter_events
from ._output import EXIT_CORRUPT, EXIT_OK, EXIT_USAGE, jsonable


def _array_text(a: np.ndarray, full: bool) -> str:
    """A numpy array's values as JSON, the first 8 only unless ``full``."""
    vals = a.reshape(-1).tolist()
    shown = vals if full or len(vals) <= 8 else [*vals[:8], "..."]
    shown = [x.decode("utf-8", "replace") if isinstance(x, bytes) else x for x in shown]
    return json.dumps(jsonable(shown), ensure_ascii=False)


def _value_text(v: dict[str, Any], full: bool) -> str:
    parts = [f"tag={json.dumps(v.get('tag', ''), ensure_ascii=False)}"]
    if v.get("plugin"):
        parts.append(f"plugin={v['plugin']}")
    for key, val in v.items():
        if key in ("tag", "plugin") or val is None:
            continue
        if key == "tensor" and isinstance(val, np.ndarray):
            parts.append(
                f"tensor {val.dtype} shape={list(val.shape)} values={_array_text(val, full)}"
            )
        elif isinstance(val, np.ndarray):
            parts.append(
                f"{key}=[{val.size} values]"
                if val.size > 8 and not full
                else f"{key}={_array_text(val, full)}"
            )
        elif isinstance(val, bytes):
            parts.append(f"{key}=<{len(val)} bytes>")
        else:
            parts.append(f"{key}={jsonable(val)}")
    return " ".join(parts)


def _cat_one(path: str, args: argparse.Namespace, out: TextIO) -> None:
    """Prints the events of one file; raises OSError/ValueError on a bad file."""
    if _storage.isdir(path):
        raise IsADirectoryError("is a directory; give event files")
    n = 0
    events = iter_events(path, check_crc=not args.no_crc)
    for ev in events:
        if args.limit is not None and n >= args.limit:
            break
        n += 1
        if args.json:
            out.write(json.dumps(jsonable({"file": path, **ev}), ensure_ascii=False) + "\n")
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
                f"{k}=<{len(v)} bytes>" if isinstance(v, bytes) else f"{k}={jsonable(v)}"
                for k, v in rest.items()
            )
            out.write(f"{head} {kind} {body}".rstrip() + "\n")
    # Damage passed over on the way (as the bulk reader does): named once the events are out.
    damage = [
        f"corrupt record length at byte offset {o}: skipped {k} bytes" for o, k in events.skipped
    ]
    damage += [f"record payload CRC mismatch at byte offset {o}" for o in events.corrupt]
    damage += [f"malformed event at byte offset {o}" for o in events.malformed]
    if damage:
        raise _Damaged("; ".join(damage))


class _Damaged(OSError):
    """A file read to its end past damage (reported, exit status 1)."""


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
        except BrokenPipeError:
            raise  # the reader went away (`| head`): main() stops quietly, no file is to blame
        except (OSError, ValueError) as e:
            out.flush()
            print(f"ferroboard cat: {_error_text(path, e)}", file=sys.stderr)
            status = max(status, EXIT_CORRUPT if "offset" in str(e) else EXIT_USAGE)
    return status
