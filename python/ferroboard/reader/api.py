"""The bulk reader: :func:`read`, :func:`read_scalars`, :class:`ReadResult` and :class:`LogTail`.

Every record of every summary kind, parsed in Rust:

* :func:`read_scalars` — the columnar fast path: a dict of numpy arrays (``run``, ``tag``,
  ``step``, ``wall_time``, ``value``), no pandas needed, with ``runs``/``tags`` filters (values
  of other tags are not decoded). :mod:`.frames` gives the same as an Arrow table, a polars
  DataFrame or a pandas DataFrame; :mod:`.tbparse` is the ``tbparse.SummaryReader`` drop-in.
* :func:`read` — one read of every kind, as a :class:`ReadResult`.
* :class:`LogTail` — incremental reading: each :meth:`LogTail.read` returns only what was
  appended since the previous call, and an incomplete final record is simply left for later.

Fault policy, everywhere: an incomplete tail is normal; a record whose payload CRC fails is
skipped and counted (see ``files`` reports); a corrupt length stops that file and is reported
with its byte offset; ``strict=True`` raises :class:`CorruptRecordError` instead, naming the
file and offset. The payload CRC of every record whose data comes back is checked
(``check_crc=False`` skips that); with a ``tags`` filter, plain scalar records of tags
already known to be filtered out are skipped without it, so corrupt ones among them are not
counted (``strict=True`` checks every record). ``purge_restarts=True`` gives TensorBoard's
data server's view of restarted runs (per tag, a record at step ``s`` drops the
earlier-written records of that tag with step ``>= s``; TensorBoard's Python
``EventAccumulator`` purges differently, see the README); by default every record comes back
as written.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any, Optional, Union

import numpy as np

from .. import _storage
from .._native import READER_KINDS, CorruptRecordError, NativeReader, take_names
from ._contract import (
    FileReport,
    ItemColumns,
    NativeReadOutput,
    ReaderKind,
    RunHParams,
    ScalarColumns,
    ScalarEncoding,
    TensorData,
)

__all__ = [
    "CorruptRecordError",
    "LogTail",
    "ReadResult",
    "read",
    "read_scalars",
]

PathLike = Union[str, "os.PathLike[str]"]

# Kind names by code, from the native module (the core's ``Kind::name()``).
KINDS: tuple[ReaderKind, ...] = READER_KINDS
SCALARS, HISTOGRAMS, IMAGES, AUDIO, TEXT, TENSORS, PR_CURVES, HPARAMS = (
    KINDS.index(k)
    for k in ("scalars", "histograms", "images", "audio", "text", "tensors", "pr_curves", "hparams")
)
# Scalar encodings by code (the core's ``ScalarEncoding``; not exported by the binding yet).
ENCODINGS: tuple[ScalarEncoding, ...] = ("simple_value", "float", "double", "half")


def _opt_list(x: Optional[Iterable[str]]) -> Optional[list[str]]:
    if x is None:
        return None
    if isinstance(x, str):
        return [x]
    return list(x)


def _native(
    path: PathLike,
    kinds: Optional[Iterable[str]] = None,
    runs: Optional[Iterable[str]] = None,
    tags: Optional[Iterable[str]] = None,
    check_crc: bool = True,
    strict: bool = False,
    purge_restarts: bool = False,
) -> NativeReader:
    p = os.fspath(path)
    if not _storage.exists(p):
        raise FileNotFoundError(2, "No such file or directory", p)
    return NativeReader(
        p,
        kinds=_opt_list(kinds),
        runs=_opt_list(runs),
        tags=_opt_list(tags),
        check_crc=check_crc,
        strict=strict,
        purge_restarts=purge_restarts,
    )


def _objarr(values: Iterable[Any]) -> np.ndarray:
    """A 1-d object array holding each value as one element (arrays stay whole)."""
    values = list(values)
    a = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        a[i] = v
    return a


def _names(names: list[str], idx: np.ndarray) -> np.ndarray:
    """``names[idx]`` as an object array of str (built natively: one reference per entry)."""
    return take_names(list(names), np.ascontiguousarray(idx, dtype=np.uint32))


def _tensor_array(data: TensorData) -> np.ndarray:
    """A native tensor tuple (numpy dtype, shape, bytes or list of bytes, tf dtype) to ndarray,
    as TensorFlow's ``make_ndarray`` builds it."""
    dtype, shape, body, _tf_dtype = data
    out: np.ndarray
    if isinstance(body, list):  # strings (dtype "object"): one bytes per element
        arr = np.empty(len(body), dtype=object)
        arr[:] = body
        out = arr.reshape(shape)
    else:
        out = np.frombuffer(body, dtype=np.dtype(dtype)).copy().reshape(shape)
    return out


class ReadResult:
    """One read's output, with per-kind views.

    ``runs``, ``tags`` (name lists), ``files`` (per-file reports: ``path``, ``records``,
    ``corrupt`` offsets, ``bad_length_at`` and ``skipped`` ``(offset, length)`` byte ranges
    passed over by resynchronising after a corrupt length, ``pending`` bytes of an incomplete
    tail, ``end_offset``), ``scalars`` (dict of numpy arrays with ``run``/``tag`` names),
    :meth:`records` for the other kinds, ``has_graph`` and ``hparams`` per run,
    ``graph_defs`` (run -> the serialized ``GraphDef`` of its last graph event, the graph
    TensorBoard shows; decode it with ``tensorboard.compat.proto.graph_pb2.GraphDef``), and (in a
    :class:`LogTail` with ``purge_restarts=True``) ``purges``. :meth:`record_counts` gives the
    records per kind; the repr shows runs, files, records per kind and corrupt counts.

    The native output as typed columns (``ferroboard.reader._contract``), for code that works
    on integer codes rather than names: :attr:`raw_scalars`, :attr:`items` (every non-scalar
    record) and :attr:`hparams_records` (per run). Nothing else reads the native dict.
    """

    def __init__(self, raw: NativeReadOutput):
        self._raw = raw
        self.runs: list[str] = raw["runs"]
        self.tags: list[str] = raw["tags"]
        self.files: list[FileReport] = raw["files"]
        self.has_graph: dict[str, bool] = dict(zip(self.runs, raw["has_graph"]))
        self.graph_defs: dict[str, bytes] = {
            run: g for run, g in zip(self.runs, raw["graph_defs"]) if g is not None
        }
        self.run_metadata: dict[str, list[str]] = dict(zip(self.runs, raw["run_metadata"]))
        self._scalars: Optional[dict[str, np.ndarray]] = None

    def __repr__(self) -> str:
        counts = self.record_counts()
        kinds = ", ".join(f"{k}={n}" for k, n in counts.items() if n) or "none"
        return (
            f"<ReadResult: {len(self.runs)} runs, {len(self.files)} files, "
            f"records: {kinds}; corrupt records: {self.corrupt_records}, "
            f"bytes skipped after corrupt lengths: {self.skipped_bytes}>"
        )

    def record_counts(self) -> dict[str, int]:
        """Records read per kind (scalars of both encodings count as ``scalars``)."""
        out: dict[str, int] = {k: 0 for k in KINDS}
        out["scalars"] = len(self._raw["scalars"]["step"])
        codes, n = np.unique(np.asarray(self._raw["items"]["kind"]), return_counts=True)
        for c, k in zip(codes, n):
            out[KINDS[int(c)]] += int(k)
        return out

    @property
    def purges(self) -> list[dict[str, Any]]:
        """With ``purge_restarts=True`` in a :class:`LogTail`: the rows returned by earlier
        reads that a restart in this one supersedes, as ``{"run", "tag", "step"}`` (drop that
        run's and tag's rows at steps ``>= step``). Empty for a one-shot read."""
        return [
            {"run": self.runs[r], "tag": self.tags[t], "step": s} for r, t, s in self._raw["purges"]
        ]

    @property
    def corrupt_records(self) -> int:
        """Records skipped because their payload CRC failed."""
        return sum(len(f["corrupt"]) for f in self.files)

    @property
    def skipped(self) -> list[tuple[str, int, int]]:
        """``(path, offset, length)`` of every byte range passed over by resynchronising
        after a corrupt record length (the records in it are lost; every record after it
        was read). ``strict=True`` raises at the first one instead."""
        return [(f["path"], off, n) for f in self.files for off, n in f["skipped"]]

    @property
    def skipped_bytes(self) -> int:
        """Bytes passed over by resynchronising after corrupt lengths."""
        return sum(n for f in self.files for _, n in f["skipped"])

    @property
    def raw_scalars(self) -> ScalarColumns:
        """Scalar columns with ``run``/``file``/``tag`` as integer codes (indexes into
        :attr:`runs`, :attr:`files`, :attr:`tags`) and ``encoding`` (into ``ENCODINGS``)."""
        return self._raw["scalars"]

    @property
    def items(self) -> ItemColumns:
        """Every non-scalar record as columns: ``kind`` (codes into ``KINDS``), ``run``,
        ``file``, ``tag`` (codes, as :attr:`raw_scalars`), ``step``, ``wall_time``, and
        ``data`` (per record: the decoded histogram, image or audio fields, a tensor tuple,
        or None); :meth:`records` gives the same per kind as dicts with names."""
        return self._raw["items"]

    @property
    def hparams_records(self) -> list[RunHParams]:
        """Per run (in :attr:`runs` order): its hparams plugin data, ``hparams`` (name ->
        value, empty without a ``session_start_info``), ``metric_tags``, ``status``,
        ``group_name``, ``start_time_secs``."""
        return self._raw["hparams"]

    @property
    def scalars(self) -> dict[str, np.ndarray]:
        """Every scalar (``simple_value`` and scalar tensors): run, tag, step, wall_time, value."""
        if self._scalars is None:
            s = self._raw["scalars"]
            self._scalars = {
                "run": _names(self.runs, s["run"]),
                "tag": _names(self.tags, s["tag"]),
                "step": s["step"],
                "wall_time": s["wall_time"],
                "value": s["value"],
            }
        return self._scalars

    def records(self, kind: str) -> list[dict[str, Any]]:
        """Records of one non-scalar kind as dicts: run, tag, step, wall_time, file, and the
        kind's data (``tensor`` for tensor-encoded values, else the decoded fields)."""
        code = KINDS.index(kind)
        it = self._raw["items"]
        sel = np.flatnonzero(it["kind"] == code)
        out = []
        for i in sel:
            d = it["data"][i]
            rec: dict[str, Any] = {
                "run": self.runs[it["run"][i]],
                "tag": self.tags[it["tag"][i]],
                "step": int(it["step"][i]),
                "wall_time": float(it["wall_time"][i]),
                "file": self.files[it["file"][i]]["path"],
            }
            if isinstance(d, tuple):
                rec["tensor"] = _tensor_array(d)
            elif isinstance(d, dict):
                rec.update(d)
            out.append(rec)
        return out

    def hparams(self) -> dict[str, dict[str, Any]]:
        """Run -> its hyperparameters (runs with a ``session_start_info`` only)."""
        return {r: h["hparams"] for r, h in zip(self.runs, self._raw["hparams"]) if h["hparams"]}

    def metric_tags(self) -> list[str]:
        """Metric tags named by every hparams ``experiment`` summary, in first-seen order."""
        seen: dict[str, None] = {}
        for h in self._raw["hparams"]:
            for t in h["metric_tags"]:
                seen[t] = None
        return list(seen)

    def tag_summary(self) -> list[dict[str, Any]]:
        """Per run and tag: plugin and record counts per kind (as read)."""
        out = []
        for run, tag, plugin, counts in self._raw["tag_info"]:
            out.append(
                {
                    "run": self.runs[run],
                    "tag": self.tags[tag],
                    "plugin": plugin,
                    "counts": {KINDS[k]: c for k, c in enumerate(counts) if c},
                }
            )
        return out


def read(
    path: PathLike,
    *,
    kinds: Optional[Iterable[str]] = None,
    runs: Optional[Iterable[str]] = None,
    tags: Optional[Iterable[str]] = None,
    check_crc: bool = True,
    strict: bool = False,
    purge_restarts: bool = False,
) -> ReadResult:
    """Reads a logdir or event file once: every record of the given kinds (default all)."""
    nr = _native(path, kinds, runs, tags, check_crc, strict, purge_restarts)
    return ReadResult(nr.poll())


def read_scalars(
    path: PathLike,
    *,
    runs: Optional[Iterable[str]] = None,
    tags: Optional[Iterable[str]] = None,
    check_crc: bool = True,
    strict: bool = False,
    purge_restarts: bool = False,
) -> dict[str, np.ndarray]:
    """Every scalar under ``path`` as a dict of numpy arrays: ``run`` and ``tag`` (object
    arrays of str), ``step`` (int64), ``wall_time`` and ``value`` (float64).

    Both encodings count: ``simple_value`` and rank-0 float/double/half tensors of the
    ``scalars`` plugin. Only runs in ``runs`` and tags in ``tags`` are read (default: all).
    """
    return read(
        path,
        kinds=["scalars"],
        runs=runs,
        tags=tags,
        check_crc=check_crc,
        strict=strict,
        purge_restarts=purge_restarts,
    ).scalars


class LogTail:
    """Incremental reading of a logdir or event file that is still being written.

    Each :meth:`read` returns a :class:`ReadResult` holding only the records appended since
    the previous call (everything, the first time). An incomplete final record is left for
    the next call; new files and runs are picked up as they appear. Options as :func:`read`.

    With ``purge_restarts=True`` each batch holds TensorBoard's view of its own records, and
    :attr:`ReadResult.purges` says which rows of earlier batches a restart in it supersedes:
    dropping those, then appending the batch, keeps exactly the one-shot view.
    """

    def __init__(self, path: PathLike, **kw: Any):
        self._native = _native(path, **kw)
        self.path = os.fspath(path)

    def read(self) -> ReadResult:
        """The records appended since the last call."""
        return ReadResult(self._native.poll())

    __call__ = read
