"""``add_pr_curve`` and ``add_pr_curve_raw``: the precision-recall curve methods of
``SummaryWriter``.

The numeric work runs in Rust (``ferroboard_core::pr_curve``) with the GIL released, straight
from the caller's memory; the result is the event torch writes for the same call (but for the
points below), appended to the event file in call order.

Where ferroboard differs from torch, on purpose:

* **add_pr_curve** keeps ``num_thresholds`` as given (2 to 2**24); torch silently lowers it
  to 127. Labels must be booleans or 0/1, predictions within [0, 1], weights finite and
  non-negative; otherwise ``ValueError``.
* **add_pr_curve_raw** checks its six arrays (``num_thresholds`` values each, counts finite
  and non-negative, precision and recall within [0, 1]); ``weights`` is accepted for
  signature compatibility and, as in torch, ignored. When ``num_thresholds`` is not given,
  it is the arrays' length (2 to 2**24), and that is what the plugin metadata records; torch
  records 127 whatever the length (TensorBoard's PR-curve plugin takes the thresholds from
  the data's shape, so both files draw the same curve).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

from .. import _inputs
from .._inputs import device
from .._native import PendingEvent, pr_curve_buckets_pending, pr_curve_event, pr_curve_raw_event

#: Largest ``num_thresholds`` of ``add_pr_curve``.
MAX_THRESHOLDS = 1 << 24


class _DefaultThresholds(int):
    """torch's default ``num_thresholds`` (127) of ``add_pr_curve_raw``: equal to 127 (so the
    signature shows torch's default), but told apart from an explicit 127 by identity."""

    __slots__ = ()


#: The default of ``add_pr_curve_raw(num_thresholds=...)``: "take it from the arrays".
DEFAULT_THRESHOLDS = _DefaultThresholds(127)

_RAW_ROWS = (
    "true_positive_counts",
    "false_positive_counts",
    "true_negative_counts",
    "false_negative_counts",
    "precision",
    "recall",
)


class PrCurveMethods:
    """The precision-recall curve methods of ``SummaryWriter`` (mixed into it)."""

    if TYPE_CHECKING:

        def _write_event(self, payload: bytes) -> None: ...  # NativeWriter's

        def _write_pending(self, pending: PendingEvent) -> None: ...  # NativeWriter's

    def add_pr_curve(
        self,
        tag: str,
        labels: Any,
        predictions: Any,
        global_step: Optional[int] = None,
        num_thresholds: int = 127,
        weights: Any = None,
        walltime: Optional[float] = None,
    ) -> None:
        """Adds a precision-recall curve, as torch's ``add_pr_curve``.

        Args:
            tag: Data identifier.
            labels: Ground truth, booleans or 0/1 (array, tensor or sequence).
            predictions: Probabilities within [0, 1], as many as ``labels`` (paired in
                C order).
            global_step: Global step value to record.
            num_thresholds: Number of thresholds, 2 to 2**24 (not capped at 127 as in torch).
            weights: ``None``, one non-negative weight for every example, or one per example.
            walltime: Seconds after the epoch of the event (default: now).

        Raises:
            ValueError: invalid labels, predictions, weights or ``num_thresholds``.
        """
        if _inputs.is_foreign_array(predictions):
            predictions = _inputs.from_dlpack(predictions, "predictions")
        if device.handles(predictions):
            self._device_pr_curve(
                tag, labels, predictions, global_step, num_thresholds, weights, walltime
            )
            return
        labels_arr = _inputs.labels_array(labels)
        preds, enc = _inputs.predictions_array(predictions)
        n = _inputs.int_arg(num_thresholds, "num_thresholds", 2, MAX_THRESHOLDS)
        w = _inputs.weights_arg(weights, preds.size)
        payload = pr_curve_event(tag, labels_arr, preds, n, w, global_step, walltime, enc)
        self._write_event(payload)

    def _device_pr_curve(
        self,
        tag: str,
        labels: Any,
        predictions: Any,
        global_step: Any,
        num_thresholds: Any,
        weights: Any,
        walltime: Any,
    ) -> None:
        """A PR curve of device predictions, bucketed on their device and written when the
        buckets' copy lands (see ``_inputs/device.py``). Invalid values are found there too,
        so they are raised by the writer's next call rather than by this one."""
        n = _inputs.int_arg(num_thresholds, "num_thresholds", 2, MAX_THRESHOLDS)
        if _inputs.is_foreign_array(labels):
            labels = _inputs.from_dlpack(labels, "labels")
        if not _inputs.is_tensor(labels):
            arr, enc = _inputs.to_numpy(labels, "labels")
            labels = _inputs.torch_from_host(arr, enc)
        if predictions.is_complex() or labels.is_complex():
            raise TypeError("labels and predictions: expected real numbers, got complex")
        if labels.numel() != predictions.numel():
            raise ValueError(
                f"labels and predictions: expected the same number of values, got "
                f"{labels.numel()} labels and {predictions.numel()} predictions"
            )
        if predictions.numel() == 0:
            raise ValueError("labels and predictions: expected at least one example, got none")
        w: Any = None
        if weights is not None:
            if _inputs.is_tensor(weights) and weights.numel() not in (1, predictions.numel()):
                raise ValueError(
                    f"weights: expected one weight or {predictions.numel()}, got {weights.numel()}"
                )
            if _inputs.is_tensor(weights):
                w = weights
            else:
                wa = _inputs.weights_arg(weights, predictions.numel())
                w = wa if isinstance(wa, float) else _inputs.torch_from_host(wa, None)
        pending = device.after_checks(
            lambda producer: pr_curve_buckets_pending(tag, producer, n, global_step, walltime),
            lambda: device.pr_buckets(labels, predictions, n, w),
        )
        self._write_pending(pending)

    def add_pr_curve_raw(
        self,
        tag: str,
        true_positive_counts: Any,
        false_positive_counts: Any,
        true_negative_counts: Any,
        false_negative_counts: Any,
        precision: Any,
        recall: Any,
        global_step: Optional[int] = None,
        num_thresholds: int = DEFAULT_THRESHOLDS,
        weights: Any = None,
        walltime: Optional[float] = None,
    ) -> None:
        """Adds a precision-recall curve from raw data, as torch's ``add_pr_curve_raw``.

        Args:
            tag: Data identifier.
            true_positive_counts: True positives at each threshold.
            false_positive_counts: False positives at each threshold.
            true_negative_counts: True negatives at each threshold.
            false_negative_counts: False negatives at each threshold.
            precision: Precision at each threshold, within [0, 1].
            recall: Recall at each threshold, within [0, 1].
            global_step: Global step value to record.
            num_thresholds: Number of thresholds: the length of each array (2 to 2**24).
                When not given, the arrays' length (torch's default, 127, only fits arrays
                of 127 values).
            weights: Ignored, as in torch (accepted for compatibility).
            walltime: Seconds after the epoch of the event (default: now).

        Raises:
            ValueError: the arrays are inconsistent (see the module notes).
        """
        del weights  # torch ignores it too
        given = num_thresholds is not DEFAULT_THRESHOLDS
        if given:
            n = _inputs.int_arg(num_thresholds, "num_thresholds", 2, MAX_THRESHOLDS)
        arrays = (
            true_positive_counts,
            false_positive_counts,
            true_negative_counts,
            false_negative_counts,
            precision,
            recall,
        )
        rows = [_inputs.float_vector(a, name) for a, name in zip(arrays, _RAW_ROWS)]
        if not given:
            # torch writes any length; the count TensorBoard needs is the arrays' length.
            n = len(rows[0])
            for name, row in zip(_RAW_ROWS[1:], rows[1:]):
                if len(row) != n:
                    raise ValueError(
                        f"{name}: expected as many values as true_positive_counts ({n}), "
                        f"got {len(row)}"
                    )
            if not 2 <= n <= MAX_THRESHOLDS:
                raise ValueError(
                    f"true_positive_counts: expected 2 to {MAX_THRESHOLDS} values (one per "
                    f"threshold), got {n}"
                )
        tp, fp, tn, fn, precision_row, recall_row = rows
        payload = pr_curve_raw_event(
            tag, tp, fp, tn, fn, precision_row, recall_row, n, global_step, walltime
        )
        self._write_event(payload)
