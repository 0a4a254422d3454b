"""The scalars of a logdir as a pandas, Arrow or polars table (each an optional dependency):
:func:`scalars_frame`, :func:`scalars_arrow`, :func:`scalars_polars`."""

from __future__ import annotations

import importlib
from typing import Any

import numpy as np

from ._contract import ScalarColumns
from .api import PathLike, read

__all__ = ["scalars_arrow", "scalars_frame", "scalars_polars"]


_EXTRAS = {"pandas": "pandas", "pyarrow": "arrow", "polars": "polars"}


def _require(module: str, what: str) -> Any:
    """``import module``, or a ``ModuleNotFoundError`` that says what to install for ``what``."""
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name is None or e.name.split(".")[0] != module.split(".")[0]:
            raise  # something the package itself imports is missing: not ours to explain
        top = module.split(".")[0]
        extra = _EXTRAS.get(top, top)
        raise ModuleNotFoundError(
            f"{what} needs the optional package {top!r}, which is not installed: "
            f"pip install {top}  (or: pip install 'ferroboard[{extra}]')",
            name=top,
        ) from e


def _pandas(what: str = "SummaryReader") -> Any:
    return _require("pandas", what)


def _scalar_codes(path: PathLike, **kw: Any) -> tuple[list[str], list[str], ScalarColumns]:
    r = read(path, kinds=["scalars"], **kw)
    return r.runs, r.tags, r.raw_scalars


def scalars_frame(path: PathLike, **kw: Any) -> Any:
    """:func:`read_scalars` as a pandas DataFrame with categorical ``run`` and ``tag``."""
    pd = _pandas("scalars_frame")

    runs, tags, s = _scalar_codes(path, **kw)
    return pd.DataFrame(
        {
            "run": pd.Categorical.from_codes(s["run"].astype(np.int32), categories=runs),
            "tag": pd.Categorical.from_codes(s["tag"].astype(np.int32), categories=tags),
            "step": s["step"],
            "wall_time": s["wall_time"],
            "value": s["value"],
        },
        copy=False,
    )


def scalars_arrow(path: PathLike, **kw: Any) -> Any:
    """:func:`read_scalars` as a ``pyarrow.Table`` (dictionary-encoded ``run`` and ``tag``)."""
    pa = _require("pyarrow", "scalars_arrow")

    runs, tags, s = _scalar_codes(path, **kw)
    return pa.table(
        {
            "run": pa.DictionaryArray.from_arrays(
                pa.array(s["run"].astype(np.int32)), pa.array(runs, pa.string())
            ),
            "tag": pa.DictionaryArray.from_arrays(
                pa.array(s["tag"].astype(np.int32)), pa.array(tags, pa.string())
            ),
            "step": s["step"],
            "wall_time": s["wall_time"],
            "value": s["value"],
        }
    )


def scalars_polars(path: PathLike, **kw: Any) -> Any:
    """:func:`read_scalars` as a polars DataFrame (needs polars and pyarrow)."""
    pl = _require("polars", "scalars_polars")

    return pl.from_arrow(scalars_arrow(path, **kw))
