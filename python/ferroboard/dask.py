"""A logdir as a ``dask.dataframe``: one partition per group of runs, each read by ferroboard.

The core's read plan (``ferroboard._native.read_plan``) splits the logdir's runs, in reading
order, into contiguous groups of about equal bytes, the way a local read splits them over
threads; each partition reads one group (``runs=`` of :func:`ferroboard.read`) on whichever
worker dask gives it, so a logdir of thousands of runs is read on every core of a cluster.
``compute()`` gives the rows :func:`ferroboard.read_scalars` gives, in the same order.

``run`` and ``tag`` are categorical columns: ``run`` with every run of the plan as categories
(known to dask), ``tag`` with the tags each partition finds (unknown to dask until computed).

dask is an optional dependency: ``pip install "dask[dataframe]"`` (and ``distributed`` for a
cluster).
"""

from __future__ import annotations

import os
from typing import Any, Iterable, Optional, Union

import numpy as np

from . import _storage
from ._native import READER_KINDS, read_plan
from .reader.api import read

PathLike = Union[str, "os.PathLike[str]"]

__all__ = ["read_plan_groups", "read_records", "read_scalars"]


def _dask_dataframe() -> Any:
    try:
        import dask.dataframe as dd
    except ImportError as e:
        raise ImportError(
            'ferroboard.dask needs dask\'s DataFrame: pip install "dask[dataframe]"'
        ) from e
    return dd


def _pandas() -> Any:
    try:
        import pandas as pd
    except ImportError as e:  # dask[dataframe] brings pandas; this is a broken install
        raise ImportError("ferroboard.dask needs pandas: pip install pandas") from e
    return pd


def read_plan_groups(path: PathLike, partitions: Optional[int] = None) -> list[list[str]]:
    """The runs under ``path`` in reading order, in at most ``partitions`` contiguous groups of
    about equal bytes (default: one per CPU of this machine)."""
    n = (os.cpu_count() or 1) if partitions is None else partitions
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"partitions: expected a positive int, got {partitions!r}")
    p = os.fspath(path)
    if not _storage.exists(p):  # as every reader entry point: local paths and s3:// alike
        raise FileNotFoundError(2, "No such file or directory", p)
    return read_plan(p, n)


def _scalars_partition(spec: tuple[str, list[str], list[str], dict[str, Any]]) -> Any:
    """One partition of :func:`read_scalars` (runs on a worker)."""
    pd = _pandas()
    path, runs, all_runs, options = spec
    r = read(path, kinds=["scalars"], runs=runs, **options)
    s = r.raw_scalars
    run_codes = np.array([all_runs.index(name) for name in r.runs], dtype=np.int32)
    codes = run_codes[s["run"]]
    return pd.DataFrame(
        {
            "run": pd.Categorical.from_codes(codes, categories=all_runs),
            "tag": pd.Categorical.from_codes(s["tag"].astype(np.int32), categories=r.tags),
            "step": s["step"],
            "wall_time": s["wall_time"],
            "value": s["value"],
        },
        copy=False,
    )


def _records_partition(spec: tuple[str, list[str], list[str], str, dict[str, Any]]) -> Any:
    """One partition of :func:`read_records` (runs on a worker)."""
    pd = _pandas()
    path, runs, all_runs, kind, options = spec
    recs = read(path, kinds=[kind], runs=runs, **options).records(kind)
    fixed = ("run", "tag", "step", "wall_time", "file")
    return pd.DataFrame(
        {
            "run": pd.Categorical([r["run"] for r in recs], categories=all_runs),
            "tag": pd.Categorical([r["tag"] for r in recs]),
            "step": np.array([r["step"] for r in recs], dtype=np.int64),
            "wall_time": np.array([r["wall_time"] for r in recs], dtype=np.float64),
            "value": pd.Series(
                [
                    r["tensor"] if "tensor" in r else {k: v for k, v in r.items() if k not in fixed}
                    for r in recs
                ],
                dtype=object,
            ),
        }
    )


def _options(
    tags: Optional[Iterable[str]], check_crc: bool, strict: bool, purge_restarts: bool
) -> dict[str, Any]:
    return {
        "tags": None if tags is None else ([tags] if isinstance(tags, str) else list(tags)),
        "check_crc": check_crc,
        "strict": strict,
        "purge_restarts": purge_restarts,
    }


def _groups(
    path: PathLike, partitions: Optional[int], runs: Optional[Iterable[str]]
) -> tuple[str, list[list[str]], list[str]]:
    p = os.fspath(path)
    groups = read_plan_groups(p, partitions)
    if runs is not None:
        wanted = {runs} if isinstance(runs, str) else set(runs)
        groups = [[r for r in g if r in wanted] for g in groups]
        groups = [g for g in groups if g]
    all_runs = [r for g in groups for r in g]
    return p, groups or [[]], all_runs


def _meta(pd: Any, all_runs: list[str], value: Any) -> Any:
    """The empty frame dask plans with: every run of the plan as ``run``'s categories, ``tag``'s
    unknown until computed, and ``value`` as given."""
    return pd.DataFrame(
        {
            "run": pd.Categorical([], categories=all_runs),
            "tag": pd.Categorical([], categories=["__UNKNOWN_CATEGORIES__"]),
            "step": np.zeros(0, np.int64),
            "wall_time": np.zeros(0, np.float64),
            "value": value,
        }
    )


def read_scalars(
    path: PathLike,
    *,
    partitions: Optional[int] = None,
    runs: Optional[Iterable[str]] = None,
    tags: Optional[Iterable[str]] = None,
    check_crc: bool = True,
    strict: bool = False,
    purge_restarts: bool = False,
) -> Any:
    """Every scalar under ``path`` as a lazy ``dask.dataframe.DataFrame`` (``run``, ``tag``,
    ``step``, ``wall_time``, ``value``), one partition per group of the read plan; the other
    arguments as :func:`ferroboard.read_scalars`."""
    dd = _dask_dataframe()
    pd = _pandas()
    p, groups, all_runs = _groups(path, partitions, runs)
    options = _options(tags, check_crc, strict, purge_restarts)
    meta = _meta(pd, all_runs, np.zeros(0, np.float64))
    specs = [(p, g, all_runs, options) for g in groups]
    return dd.from_map(_scalars_partition, specs, meta=meta, label="ferroboard-read-scalars")


def read_records(
    path: PathLike,
    kind: str,
    *,
    partitions: Optional[int] = None,
    runs: Optional[Iterable[str]] = None,
    tags: Optional[Iterable[str]] = None,
    check_crc: bool = True,
    strict: bool = False,
    purge_restarts: bool = False,
) -> Any:
    """The records of one non-scalar kind (``"histograms"``, ``"tensors"``, ``"text"``,
    ``"images"``, ...: ``ferroboard._native.READER_KINDS``) as a lazy dask DataFrame:
    ``run``, ``tag``, ``step``, ``wall_time``, and ``value`` (the record's data: a numpy array
    for tensors, else a dict of its decoded fields, as :meth:`ReadResult.records`)."""
    if kind == "scalars":
        raise ValueError("kind: use ferroboard.dask.read_scalars for scalars")
    if kind not in READER_KINDS:
        raise ValueError(f"kind: expected one of {list(READER_KINDS)}, got {kind!r}")
    dd = _dask_dataframe()
    pd = _pandas()
    p, groups, all_runs = _groups(path, partitions, runs)
    options = _options(tags, check_crc, strict, purge_restarts)
    meta = _meta(pd, all_runs, pd.Series([], dtype=object))
    specs = [(p, g, all_runs, kind, options) for g in groups]
    import dask

    # ``value`` holds arrays and dicts: dask's default conversion of object columns to
    # strings would turn them into their reprs.
    with dask.config.set({"dataframe.convert-string": False}):
        return dd.from_map(_records_partition, specs, meta=meta, label=f"ferroboard-read-{kind}")
