"""``add_histogram`` and ``add_histogram_raw``: the histogram methods of ``SummaryWriter``.

The numeric work runs in Rust (``ferroboard_core::histogram``) with the GIL released, straight
from the caller's memory; the result is the event torch writes for the same call (but for the
points below), appended to the event file in call order.

Where ferroboard differs from torch, on purpose:

* **sum_squares** is numpy's pairwise sum of the squares (as accurate as ``np.sum``), where
  torch uses a BLAS dot product: the two can differ in the last bits. ``sum`` is torch's bit
  for bit when every value is finite and the array is read in C order; arrays contiguous in
  another order (Fortran order, transposed views) are summed in memory order.

* **Non-finite values** (NaN, +inf, -inf) in ``add_histogram`` are left out of everything:
  the buckets and ``num``, ``min``, ``max``, ``sum`` and ``sum_squares``, whatever ``bins``
  is. If no finite value remains, ``ValueError`` (naming ``values``) is raised and nothing is
  written. torch keeps them (writing NaN or infinite statistics TensorBoard cannot draw) or
  raises, depending on ``bins``.
* **max_bins** is never exceeded: torch merges ``n // max_bins`` adjacent bins, which leaves
  more than ``max_bins`` bins whenever ``max_bins`` does not divide ``n`` (104 of the 1548
  default bins for ``max_bins=100``); ferroboard merges ``ceil(n / max_bins)``. Where torch
  stays within ``max_bins`` the results are identical. As in torch, the written histogram
  also starts with the zero-count bucket that marks the left edge of the occupied range.
* **bfloat16** tensors are read exactly; torch first rounds them to float16, turning values
  beyond 65504 into infinities.
* **Explicit bin edges** must be finite and strictly increasing (numpy accepts repeated ones).
* **default_bins**: as in torch, ``bins="tensorflow"`` means ``writer.default_bins``;
  assigning a new list to it changes the default edges, but editing the list in place does
  not (torch would use the edited list).
* **add_histogram_raw** checks its data (as many limits as counts, limits finite and strictly
  increasing, counts finite and non-negative, ``min <= max``).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from .. import _inputs
from .._inputs import device, plain
from .._native import (
    PendingEvent,
    default_histogram_edges,
    histogram_counts_pending,
    histogram_event,
    histogram_raw_event,
)

#: TensorBoard's default edges, as the core counts with them (for device histograms).
_DEFAULT_EDGES: np.ndarray = default_histogram_edges()

#: numpy's named bin rules, accepted by ``add_histogram(bins=...)``.
NUMPY_BIN_RULES = ("auto", "fd", "doane", "scott", "stone", "rice", "sturges", "sqrt")


def _default_bins() -> list[float]:
    """torch's ``SummaryWriter.default_bins``, computed as torch computes it."""
    v = 1e-12
    buckets = []
    neg_buckets = []
    while v < 1e20:
        buckets.append(v)
        neg_buckets.append(-v)
        v *= 1.1
    return [*neg_buckets[::-1], 0, *buckets]


#: torch's default histogram edges (``bins="tensorflow"``), as a list like torch's attribute.
TORCH_DEFAULT_BINS: list[float] = _default_bins()


def _real(value: Any, name: str) -> float:
    if isinstance(value, (str, bytes, bytearray)):
        raise TypeError(f"{name}: expected a real number, got {type(value).__name__}")
    if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
        return float(value)
    if _inputs.is_tensor(value) or isinstance(value, (np.ndarray, np.generic)):
        arr, enc = _inputs.to_numpy(value, name)
        if arr.size != 1:
            raise ValueError(f"{name}: expected a single number, got {_inputs.describe(value)}")
        return float(_inputs.as_float64(arr, enc)[0])
    raise TypeError(f"{name}: expected a real number, got {_inputs.describe(value)}")


def _numpy_edges(arr: np.ndarray, enc: Optional[str], bins: Any) -> tuple[np.ndarray, Any]:
    """The finite values as float64 and numpy's equal-width edges for them under ``bins``."""
    v = _inputs.as_float64(arr, enc)
    if v.size == 0:
        raise ValueError("values: expected at least one value, got none")
    v = v[np.isfinite(v)]
    if v.size == 0:
        raise ValueError(
            "values: every value is NaN or infinite; non-finite values are left out of "
            "histograms, so nothing remains to draw"
        )
    try:
        with np.errstate(all="ignore"):
            edges = np.histogram_bin_edges(v, bins)
    except (ValueError, MemoryError, IndexError, OverflowError) as e:
        # numpy fails in several ways on extreme ranges (an IndexError for "stone").
        raise ValueError(
            f"bins={plain(bins)}: numpy cannot make bin edges for these values: {e}"
        ) from e
    if edges.size < 2 or not np.all(np.isfinite(edges)) or not np.all(edges[1:] > edges[:-1]):
        raise ValueError(
            f"bins={plain(bins)}: the values' range ({plain(v.min())} to {plain(v.max())}) is "
            "too wide or too "
            "narrow for finite, increasing bin edges"
        )
    return v, edges


class HistogramMethods:
    """The histogram methods of ``SummaryWriter`` (mixed into it)."""

    if TYPE_CHECKING:

        def _write_event(self, payload: bytes) -> None: ...  # NativeWriter's

        def _write_pending(self, pending: PendingEvent) -> None: ...  # NativeWriter's

        default_bins: list[float]  # SummaryWriter's
        _stock_bins: list[float]

    def add_histogram(
        self,
        tag: str,
        values: Any,
        global_step: Optional[int] = None,
        bins: Any = "tensorflow",
        walltime: Optional[float] = None,
        max_bins: Optional[int] = None,
    ) -> None:
        """Adds a histogram of ``values``, as torch's ``add_histogram``.

        Args:
            tag: Data identifier.
            values: A numpy array or torch tensor (any shape, strides and real dtype,
                including float16 and bfloat16), or a sequence of numbers. Read in place when
                contiguous; NaN and infinities are left out (see the module notes).
            global_step: Global step value to record.
            bins: ``"tensorflow"`` (TensorBoard's default edges), one of numpy's rules
                (``"auto"``, ``"fd"``, ``"doane"``, ``"scott"``, ``"stone"``, ``"rice"``,
                ``"sturges"``, ``"sqrt"``), a positive number of equal-width bins, or a
                sequence of finite, strictly increasing edges.
            walltime: Seconds after the epoch of the event (default: now).
            max_bins: At most this many bins: adjacent bins are merged (never more than
                ``max_bins`` remain, unlike torch).

        Raises:
            ValueError: ``values`` is empty, has no finite value, or lies entirely outside
                the edges; ``bins`` or ``max_bins`` is invalid.
            TypeError: an argument has an unsupported type.
        """
        if max_bins is not None:
            max_bins = _inputs.int_arg(max_bins, "max_bins", 1)
        if isinstance(bins, str) and bins == "tensorflow":
            # torch uses self.default_bins; a list assigned to it replaces the built-in edges.
            custom = getattr(self, "default_bins", None)
            if custom is not None and custom is not getattr(self, "_stock_bins", custom):
                bins = custom
        if _inputs.is_foreign_array(values):
            values = _inputs.from_dlpack(values, "values")  # a device array stays on its device
        if device.handles(values) and self._device_histogram(
            tag, values, global_step, bins, walltime, max_bins
        ):
            return
        arr, enc = _inputs.histogram_values(values)
        if isinstance(bins, str):
            if bins == "tensorflow":
                payload = histogram_event(
                    tag, arr, None, False, max_bins, global_step, walltime, enc
                )
                self._write_event(payload)
                return
            if bins not in NUMPY_BIN_RULES:
                raise ValueError(
                    f"bins: expected 'tensorflow', one of numpy's rules {NUMPY_BIN_RULES}, a "
                    f"positive int or a sequence of edges, got {plain(bins)}"
                )
            arr, edges = _numpy_edges(arr, enc, bins)
            uniform, enc = True, None
        elif isinstance(bins, numbers.Integral) and not isinstance(bins, (bool, np.bool_)):
            n = _inputs.int_arg(bins, "bins", 1)
            arr, edges = _numpy_edges(arr, enc, n)
            uniform, enc = True, None
        elif isinstance(bins, (bool, np.bool_)) or bins is None:
            raise TypeError(
                f"bins: expected a str, an int or a sequence of edges, got {type(bins).__name__}"
            )
        else:
            edges = np.asarray(_inputs.float_vector(bins, "bins"), dtype=np.float64)
            uniform = False
        payload = histogram_event(tag, arr, edges, uniform, max_bins, global_step, walltime, enc)
        self._write_event(payload)

    def _device_histogram(
        self,
        tag: str,
        values: Any,
        global_step: Any,
        bins: Any,
        walltime: Any,
        max_bins: Optional[int],
    ) -> bool:
        """A device tensor's histogram counted on its device and written when its copy lands
        (see ``_inputs/device.py``); ``False`` for bins that depend on the values (numpy's
        rules, a bin count), which take the host path."""
        if isinstance(bins, str) and bins == "tensorflow":
            edges = None
        elif isinstance(bins, (str, numbers.Integral)) or bins is None:
            return False
        else:
            edges = _inputs.float_vector(bins, "bins")
        _inputs.check_real(values, "values")
        if values.numel() == 0:
            raise ValueError("values: expected at least one value, got none")
        host_edges = _DEFAULT_EDGES if edges is None else np.asarray(edges, dtype=np.float64)
        pending = device.after_checks(
            lambda producer: histogram_counts_pending(
                tag, producer, edges, max_bins, global_step, walltime
            ),
            lambda: device.histogram(values, host_edges),
        )
        self._write_pending(pending)
        return True

    def add_histogram_raw(
        self,
        tag: str,
        min: Any,
        max: Any,
        num: Any,
        sum: Any,
        sum_squares: Any,
        bucket_limits: Any,
        bucket_counts: Any,
        global_step: Optional[int] = None,
        walltime: Optional[float] = None,
    ) -> None:
        """Adds a histogram from raw data, as torch's ``add_histogram_raw``.

        Args:
            tag: Data identifier.
            min: Smallest value.
            max: Largest value.
            num: Number of values.
            sum: Sum of all values.
            sum_squares: Sum of squares of all values.
            bucket_limits: Upper limit of each bucket (finite, strictly increasing).
            bucket_counts: Number of values in each bucket (finite, non-negative), as many
                as ``bucket_limits``.
            global_step: Global step value to record.
            walltime: Seconds after the epoch of the event (default: now).

        Raises:
            ValueError: the data is inconsistent (see the module notes).
        """
        payload = histogram_raw_event(
            tag,
            _real(min, "min"),
            _real(max, "max"),
            _real(num, "num"),
            _real(sum, "sum"),
            _real(sum_squares, "sum_squares"),
            _inputs.float_vector(bucket_limits, "bucket_limits"),
            _inputs.float_vector(bucket_counts, "bucket_counts"),
            global_step,
            walltime,
        )
        self._write_event(payload)
