"""Bad input: one table per method family of ``SummaryWriter`` (and its constructor), imported
by the fast suite (tests/test_bad_input.py) and the robustness suite
(tests/robustness/test_robust_bad_input.py, which also checks that every public ``add_*`` method
and the constructor have rows).

A row is ``(method, args, kwargs, exception, match)``: ``getattr(writer, method)(*args,
**kwargs)`` (``"__init__"``: ``SummaryWriter(**kwargs)``) raises ``exception`` whose message
``match`` (a regular expression, ``re.search``) finds: it names the argument and, in many rows,
what was expected. Afterwards the writer still works and wrote nothing for the refused call.
"""

from __future__ import annotations

import io
import re
from typing import Any, Callable

import ferroboard
import numpy as np
import torch

Row = tuple[str, tuple[Any, ...], dict[str, Any], type[Exception], str]


class NoFloat:
    def __float__(self) -> float:
        raise RuntimeError("no float here")


NAN, INF = float("nan"), float("inf")
HUGE_TAG = "x" * 70_000
SURROGATE = "bad\udc80tag"

# Valid inputs the histogram and PR-curve rows change one argument of.
GOOD = np.array([1.0, 2.0, 3.0])
RAW_OK = {
    "min": 0,
    "max": 2,
    "num": 3,
    "sum": 3,
    "sum_squares": 5,
    "bucket_limits": [1.0, 2.0],
    "bucket_counts": [1, 2],
}
L = np.array([True, False, True])
P = np.array([0.9, 0.2, 0.4])
ROWS = {
    "true_positive_counts": [3.0, 1.0],
    "false_positive_counts": [2.0, 0.0],
    "true_negative_counts": [0.0, 2.0],
    "false_negative_counts": [0.0, 2.0],
    "precision": [0.6, 1.0],
    "recall": [1.0, 0.33],
    "num_thresholds": 2,
}
# num_thresholds left at its default: the arrays' length must agree.
ROWS_NO_N = {k: v for k, v in ROWS.items() if k != "num_thresholds"}
_LIMITS, _COUNTS = [1.0, 2.0], [1.0, 1.0]


def _hist(kw: dict[str, Any]) -> dict[str, Any]:
    return {"tag": "h", **kw}


def _hist_raw(kw: dict[str, Any]) -> dict[str, Any]:
    return {"tag": "r", **RAW_OK, **kw}


def _pr(kw: dict[str, Any]) -> dict[str, Any]:
    return {"tag": "pr", "labels": L, "predictions": P, **kw}


def _pr_raw(kw: dict[str, Any]) -> dict[str, Any]:
    return {"tag": "raw", **ROWS, **kw}


def _pr_raw_no_n(kw: dict[str, Any]) -> dict[str, Any]:
    return {"tag": "raw", **ROWS_NO_N, **kw}


# SummaryWriter(...): the row's keywords, with ``log_dir`` the test's directory unless the row
# gives one. Nothing is created.
CONSTRUCTOR: list[Row] = [
    ("__init__", (), {"logdir": "/somewhere/else"}, TypeError, "log_dir and logdir"),
    ("__init__", (), {"logdir": 5}, TypeError, "logdir"),
    ("__init__", (), {"write_to_disk": "False"}, TypeError, "write_to_disk"),
    ("__init__", (), {"write_to_disk": None}, TypeError, "write_to_disk"),
    ("__init__", (), {"max_queue": np.int64(-1)}, ValueError, "max_queue"),
    ("__init__", (), {"max_queue": -1}, ValueError, "max_queue"),
    ("__init__", (), {"max_queue": "10"}, ValueError, "max_queue"),
    ("__init__", (), {"flush_secs": "1"}, TypeError, "flush_secs"),
    ("__init__", (), {"flush_secs": -1}, ValueError, "flush_secs"),
    ("__init__", (), {"flush_secs": NAN}, ValueError, "flush_secs"),
    ("__init__", (), {"filename_suffix": 3}, TypeError, "filename_suffix"),
    ("__init__", (), {"comment": None}, TypeError, "comment"),
    ("__init__", (), {"purge_step": "x"}, TypeError, "purge_step"),
    ("__init__", (), {"flush_secs": float("inf")}, ValueError, "flush_secs"),
    ("__init__", (), {"flush_secs": -5}, ValueError, "flush_secs"),
    ("__init__", (), {"filename_suffix": 1}, TypeError, "filename_suffix"),
    ("__init__", (), {"filename_suffix": "/../../escape"}, ValueError, "filename_suffix"),
    ("__init__", (), {"filename_suffix": "a\0"}, ValueError, "filename_suffix"),
    ("__init__", (), {"comment": 1}, TypeError, "comment"),
    ("__init__", (), {"purge_step": NAN}, ValueError, "purge_step"),
    ("__init__", (), {"purge_step": 2**63}, ValueError, "purge_step"),
    ("__init__", (), {"log_dir": 5}, TypeError, "log_dir"),
    ("__init__", (), {"log_dir": "a\0b"}, ValueError, "log_dir"),
    ("__init__", (), {"logdir": "elsewhere"}, TypeError, "logdir"),
    ("__init__", (), {"log_dir": None, "logdir": 5}, TypeError, "logdir"),
    ("__init__", (), {"write_to_disk": "no"}, TypeError, "write_to_disk"),
    ("__init__", (), {"write_to_disk": False, "flush_secs": NAN}, ValueError, "flush_secs"),
    ("__init__", (), {"write_to_disk": False, "purge_step": 1.5}, ValueError, "purge_step"),
]

# add_scalar, add_scalars, add_text. Negative steps are valid int64 (as in torch); sub-run
# directories made from add_scalars' keys must stay inside log_dir.
SCALARS: list[Row] = [
    # add_scalar
    ("add_scalar", (1, 1.0), {}, TypeError, "tag"),
    ("add_scalar", (None, 1.0), {}, TypeError, "tag"),
    ("add_scalar", (b"bytes", 1.0), {}, TypeError, "tag"),
    ("add_scalar", ("bad\ud800", 1.0), {}, ValueError, "tag"),
    ("add_scalar", ("x" * 70_000, 1.0), {}, ValueError, "tag"),
    ("add_scalar", ("a", "1.0"), {}, TypeError, "scalar_value"),
    ("add_scalar", ("a", None), {}, TypeError, "scalar_value"),
    ("add_scalar", ("a", [1.0]), {}, TypeError, "scalar_value"),
    ("add_scalar", ("a", {"v": 1}), {}, TypeError, "scalar_value"),
    ("add_scalar", ("a", 1 + 2j), {}, TypeError, "scalar_value"),
    ("add_scalar", ("a", 10**400), {}, ValueError, "scalar_value"),
    ("add_scalar", ("a", np.array([1.0, 2.0])), {}, ValueError, "scalar_value"),
    ("add_scalar", ("a", np.array([])), {}, ValueError, "scalar_value"),
    ("add_scalar", ("a", np.array(["x"])), {}, TypeError, "scalar_value"),
    ("add_scalar", ("a", np.array([1 + 1j])), {}, TypeError, "scalar_value"),
    ("add_scalar", ("a", torch.ones(3)), {}, ValueError, "scalar_value"),
    ("add_scalar", ("a", torch.ones(0)), {}, ValueError, "scalar_value"),
    ("add_scalar", ("a", torch.tensor(1 + 1j)), {}, TypeError, "scalar_value"),
    ("add_scalar", ("a", 1.0), {"global_step": "3"}, TypeError, "global_step"),
    ("add_scalar", ("a", 1.0), {"global_step": 1.5}, ValueError, "global_step"),
    ("add_scalar", ("a", 1.0), {"global_step": NAN}, ValueError, "global_step"),
    ("add_scalar", ("a", 1.0), {"global_step": 2**63}, ValueError, "global_step"),
    ("add_scalar", ("a", 1.0), {"global_step": -(2**63) - 1}, ValueError, "global_step"),
    ("add_scalar", ("a", 1.0), {"global_step": [1]}, TypeError, "global_step"),
    ("add_scalar", ("a", 1.0), {"global_step": np.array([1, 2])}, ValueError, "global_step"),
    ("add_scalar", ("a", 1.0), {"walltime": NAN}, ValueError, "walltime"),
    ("add_scalar", ("a", 1.0), {"walltime": float("inf")}, ValueError, "walltime"),
    ("add_scalar", ("a", 1.0), {"walltime": "now"}, TypeError, "walltime"),
    ("add_scalar", (b"loss", 1.0), {}, TypeError, "tag"),
    ("add_scalar", (3, 1.0), {}, TypeError, "tag"),
    ("add_scalar", (["loss"], 1.0), {}, TypeError, "tag"),
    ("add_scalar", (SURROGATE, 1.0), {}, ValueError, "tag"),
    ("add_scalar", ("v", "1.0"), {}, TypeError, "scalar_value"),
    ("add_scalar", ("v", b"1"), {}, TypeError, "scalar_value"),
    ("add_scalar", ("v", None), {}, TypeError, "scalar_value"),
    ("add_scalar", ("v", [1.0]), {}, TypeError, "scalar_value"),
    ("add_scalar", ("v", {"a": 1}), {}, TypeError, "scalar_value"),
    ("add_scalar", ("v", 1j), {}, TypeError, "scalar_value"),
    ("add_scalar", ("v", NoFloat()), {}, TypeError, "scalar_value"),
    ("add_scalar", ("v", 10**400), {}, ValueError, "scalar_value"),
    ("add_scalar", ("v", np.array([])), {}, ValueError, "scalar_value"),
    ("add_scalar", ("v", np.zeros((0, 3))), {}, ValueError, "scalar_value"),
    ("add_scalar", ("v", np.array([1.0, 2.0])), {}, ValueError, "scalar_value"),
    ("add_scalar", ("v", np.ones((2, 2))), {}, ValueError, "scalar_value"),
    ("add_scalar", ("v", np.array("a")), {}, TypeError, "scalar_value"),
    ("add_scalar", ("v", np.complex64(1)), {}, TypeError, "scalar_value"),
    ("add_scalar", ("v", np.array([object()], dtype=object)), {}, TypeError, "scalar_value"),
    ("add_scalar", ("v", np.datetime64("2020-01-01")), {}, TypeError, "scalar_value"),
    ("add_scalar", ("v", torch.ones(2)), {}, ValueError, "scalar_value"),
    ("add_scalar", ("v", torch.ones(0)), {}, ValueError, "scalar_value"),
    ("add_scalar", ("v", torch.ones(1, dtype=torch.complex64)), {}, TypeError, "scalar_value"),
    ("add_scalar", ("v", 1.0, 1.5), {}, ValueError, "global_step"),
    ("add_scalar", ("v", 1.0, NAN), {}, ValueError, "global_step"),
    ("add_scalar", ("v", 1.0, INF), {}, ValueError, "global_step"),
    ("add_scalar", ("v", 1.0, 2**63), {}, ValueError, "global_step"),
    ("add_scalar", ("v", 1.0, -(2**63) - 1), {}, ValueError, "global_step"),
    ("add_scalar", ("v", 1.0, 10**30), {}, ValueError, "global_step"),
    ("add_scalar", ("v", 1.0, "3"), {}, TypeError, "global_step"),
    ("add_scalar", ("v", 1.0, [1]), {}, TypeError, "global_step"),
    ("add_scalar", ("v", 1.0, 1j), {}, TypeError, "global_step"),
    ("add_scalar", ("v", 1.0, np.array([1, 2])), {}, ValueError, "global_step"),
    ("add_scalar", ("v", 1.0, np.array([], dtype=np.int64)), {}, ValueError, "global_step"),
    ("add_scalar", ("v", 1.0, np.uint64(2**64 - 1)), {}, ValueError, "global_step"),
    ("add_scalar", ("v", 1.0, torch.tensor(1.5)), {}, ValueError, "global_step"),
    ("add_scalar", ("v", 1.0, torch.tensor([1, 2])), {}, ValueError, "global_step"),
    ("add_scalar", ("v", 1.0, 0, NAN), {}, ValueError, "walltime"),
    ("add_scalar", ("v", 1.0, 0, INF), {}, ValueError, "walltime"),
    ("add_scalar", ("v", 1.0, 0, -INF), {}, ValueError, "walltime"),
    ("add_scalar", ("v", 1.0, 0, "now"), {}, TypeError, "walltime"),
    ("add_scalar", ("v", 1.0, 0, np.float32("nan")), {}, ValueError, "walltime"),
    ("add_scalar", ("v", 1.0, 0, torch.tensor(INF)), {}, ValueError, "walltime"),
    ("add_scalar", ("v", 1.0), {"walltime": np.ones(3)}, ValueError, "walltime"),
    # add_scalars
    ("add_scalars", ("m", [("a", 1.0)]), {}, TypeError, "tag_scalar_dict"),
    ("add_scalars", ("m", {1: 1.0}), {}, TypeError, "tag_scalar_dict key"),
    ("add_scalars", ("m", {"a": "x"}), {}, TypeError, "tag_scalar_dict"),
    ("add_scalars", ("m", {"../../escape": 1.0}), {}, ValueError, "outside log_dir"),
    ("add_scalars", ("m", {"a/../../x": 1.0}), {}, ValueError, "outside log_dir"),
    ("add_scalars", ("m", {"a\x00b": 1.0}), {}, ValueError, "NUL"),
    ("add_scalars", ("m", {"ok": 1.0, "bad": None}), {}, TypeError, "tag_scalar_dict"),
    ("add_scalars", (3, {"a": 1.0}), {}, TypeError, "main_tag"),
    ("add_scalars", ("m", {"a": 1.0}), {"global_step": "x"}, TypeError, "global_step"),
    ("add_scalars", (None, {"a": 1.0}), {}, TypeError, "main_tag"),
    ("add_scalars", (SURROGATE, {"a": 1.0}), {}, ValueError, "main_tag"),
    ("add_scalars", (HUGE_TAG, {"a": 1.0}), {}, ValueError, "main_tag"),
    ("add_scalars", ("m", None), {}, TypeError, "tag_scalar_dict"),
    ("add_scalars", ("m", {SURROGATE: 1.0}), {}, ValueError, "tag_scalar_dict key"),
    (
        "add_scalars",
        ("m", {"a": 1.0, "b": np.ones(2)}),
        {},
        ValueError,
        re.escape('tag_scalar_dict["b"]'),
    ),
    ("add_scalars", ("m", {"a": None}), {}, TypeError, re.escape('tag_scalar_dict["a"]')),
    ("add_scalars", ("m", {"a": 1.0}, NAN), {}, ValueError, "global_step"),
    ("add_scalars", ("m", {"a": 1.0}, 2**64), {}, ValueError, "global_step"),
    ("add_scalars", ("m", {"a": 1.0}, 0, NAN), {}, ValueError, "walltime"),
    ("add_scalars", ("m", {"../../escape": 1.0}), {}, ValueError, "tag_scalar_dict key"),
    ("add_scalars", ("m", {"a/../../../escape": 1.0}), {}, ValueError, "tag_scalar_dict key"),
    ("add_scalars", ("m", {"/..": 1.0}), {}, ValueError, "tag_scalar_dict key"),
    ("add_scalars", ("m", {"a\0b": 1.0}), {}, ValueError, "tag_scalar_dict key"),
    ("add_scalars", ("m", {"..\\..\\escape": 1.0}), {}, ValueError, "tag_scalar_dict key"),
    ("add_scalars", ("bad\0main", {"a": 1.0}), {}, ValueError, "main_tag"),
    ("add_scalars", ("..\\x", {"a": 1.0}), {}, ValueError, "main_tag"),
    ("add_scalars", ("m", {"k" * 300: 1.0}), {}, ValueError, "tag_scalar_dict key"),
    # add_text
    ("add_text", ("t", 3), {}, TypeError, "text_string"),
    ("add_text", ("t", b"bytes"), {}, TypeError, "text_string"),
    ("add_text", ("t", "bad\udfff"), {}, ValueError, "text_string"),
    ("add_text", (None, "x"), {}, TypeError, "tag"),
    ("add_text", ("t", "x"), {"walltime": NAN}, ValueError, "walltime"),
    ("add_text", (SURROGATE, "x"), {}, ValueError, "tag"),
    ("add_text", (HUGE_TAG, "x"), {}, ValueError, "tag"),
    ("add_text", ("t", None), {}, TypeError, "text_string"),
    ("add_text", ("t", 5), {}, TypeError, "text_string"),
    ("add_text", ("t", ["a"]), {}, TypeError, "text_string"),
    ("add_text", ("t", "\udfff"), {}, ValueError, "text_string"),
    ("add_text", ("t", "x", NAN), {}, ValueError, "global_step"),
    ("add_text", ("t", "x", -(2**63) - 1), {}, ValueError, "global_step"),
    ("add_text", ("t", "x", 0, INF), {}, ValueError, "walltime"),
]

# add_histogram, add_histogram_raw (torch's signatures).
HISTOGRAM: list[Row] = [
    # add_histogram
    ("add_histogram", ("h", [NAN]), {}, ValueError, "values"),
    ("add_histogram", ("h", [1.0]), {"bins": "nope"}, ValueError, "bins"),
    ("add_histogram", (None, [1.0]), {}, TypeError, "tag"),
    ("add_histogram", (SURROGATE, [1.0]), {}, ValueError, "tag"),
    ("add_histogram", ("h", None), {}, TypeError, "values"),
    ("add_histogram", ("h", "abc"), {}, TypeError, "values"),
    ("add_histogram", ("h", np.array([])), {}, ValueError, "values"),
    ("add_histogram", ("h", torch.ones(0)), {}, ValueError, "values"),
    ("add_histogram", ("h", np.array([NAN, NAN])), {}, ValueError, "values"),
    ("add_histogram", ("h", np.array([INF, -INF])), {}, ValueError, "values"),
    ("add_histogram", ("h", np.array([1 + 2j])), {}, TypeError, "values"),
    ("add_histogram", ("h", np.array(["a", "b"])), {}, TypeError, "values"),
    ("add_histogram", ("h", [1.0], 1.5), {}, ValueError, "global_step"),
    ("add_histogram", ("h", [1.0], 0, "no-such-bins"), {}, ValueError, "bins"),
    ("add_histogram", ("h", [1.0]), {"walltime": NAN}, ValueError, "walltime"),
    (
        "add_histogram",
        (),
        _hist({"values": np.array([])}),
        ValueError,
        "values: expected at least one value",
    ),
    ("add_histogram", (), _hist({"values": []}), ValueError, "values: expected at least one value"),
    ("add_histogram", (), _hist({"values": "abc"}), TypeError, "values"),
    (
        "add_histogram",
        (),
        _hist({"values": np.array(["a", "b"])}),
        TypeError,
        "values: expected real numbers",
    ),
    (
        "add_histogram",
        (),
        _hist({"values": np.array([1 + 2j])}),
        TypeError,
        "values: expected real numbers, got complex",
    ),
    (
        "add_histogram",
        (),
        _hist({"values": torch.tensor([1 + 2j])}),
        TypeError,
        "values: expected real numbers",
    ),
    ("add_histogram", (), _hist({"values": np.array([None, 1.0])}), TypeError, "values"),
    ("add_histogram", (), _hist({"values": {"a": 1}}), TypeError, "values"),
    (
        "add_histogram",
        (),
        _hist({"values": torch.empty(3, device="meta")}),
        ValueError,
        "values: a tensor on the meta",
    ),
    (
        "add_histogram",
        (),
        _hist({"values": np.array([np.nan])}),
        ValueError,
        "values: every value is NaN",
    ),
    (
        "add_histogram",
        (),
        _hist({"values": GOOD, "bins": "bogus"}),
        ValueError,
        "bins: expected 'tensorflow'",
    ),
    (
        "add_histogram",
        (),
        _hist({"values": GOOD, "bins": 0}),
        ValueError,
        "bins: expected an int >= 1",
    ),
    ("add_histogram", (), _hist({"values": GOOD, "bins": -3}), ValueError, "bins"),
    ("add_histogram", (), _hist({"values": GOOD, "bins": True}), TypeError, "bins"),
    ("add_histogram", (), _hist({"values": GOOD, "bins": None}), TypeError, "bins"),
    (
        "add_histogram",
        (),
        _hist({"values": GOOD, "bins": [1.0]}),
        ValueError,
        "bins: expected at least 2 bin edges",
    ),
    (
        "add_histogram",
        (),
        _hist({"values": GOOD, "bins": [2.0, 1.0]}),
        ValueError,
        "bins: expected strictly increasing",
    ),
    (
        "add_histogram",
        (),
        _hist({"values": GOOD, "bins": [1.0, 1.0, 2.0]}),
        ValueError,
        "bins: expected strictly increasing",
    ),
    (
        "add_histogram",
        (),
        _hist({"values": GOOD, "bins": [0.0, np.nan]}),
        ValueError,
        "bins: expected finite",
    ),
    (
        "add_histogram",
        (),
        _hist({"values": GOOD, "bins": [[0.0, 1.0]]}),
        ValueError,
        "bins: expected a one-dimensional",
    ),
    (
        "add_histogram",
        (),
        _hist({"values": GOOD, "bins": "fd", "max_bins": 0}),
        ValueError,
        "max_bins: expected an int >= 1",
    ),
    (
        "add_histogram",
        (),
        _hist({"values": GOOD, "max_bins": 2.5}),
        TypeError,
        "max_bins: expected an int",
    ),
    ("add_histogram", (), _hist({"values": GOOD, "max_bins": True}), TypeError, "max_bins"),
    (
        "add_histogram",
        (),
        _hist({"values": np.array([1e308, -1e308]), "bins": 10}),
        ValueError,
        "bins=10",
    ),
    ("add_histogram", (), _hist({"values": GOOD, "tag": 3}), TypeError, "tag must be a str"),
    ("add_histogram", (), _hist({"values": GOOD, "global_step": "x"}), TypeError, "global_step"),
    ("add_histogram", (), _hist({"values": GOOD, "global_step": 2**70}), ValueError, "global_step"),
    (
        "add_histogram",
        (),
        _hist({"values": GOOD, "walltime": float("nan")}),
        ValueError,
        "walltime",
    ),
    ("add_histogram", (), _hist({"values": GOOD, "walltime": "now"}), TypeError, "walltime"),
    # add_histogram_raw
    (
        "add_histogram_raw",
        ("h", 0, 1, 2, 1, 1, [1.0, 2.0], [1.0]),
        {},
        ValueError,
        "bucket_limits and bucket_counts",
    ),
    (
        "add_histogram_raw",
        ("h", 0, 1, 2, 1, 1, [2.0, 1.0], _COUNTS),
        {},
        ValueError,
        "bucket_limits",
    ),
    (
        "add_histogram_raw",
        ("h", 0, 1, 2, 1, 1, _LIMITS, [1.0, -1.0]),
        {},
        ValueError,
        "bucket_counts",
    ),
    ("add_histogram_raw", ("h", "a", 1, 2, 1, 1, _LIMITS, _COUNTS), {}, TypeError, "min"),
    ("add_histogram_raw", (None, 0, 1, 2, 1, 1, _LIMITS, _COUNTS), {}, TypeError, "tag"),
    (
        "add_histogram_raw",
        (),
        _hist_raw({"bucket_limits": [1.0]}),
        ValueError,
        "bucket_limits and bucket_counts: expected the same",
    ),
    (
        "add_histogram_raw",
        (),
        _hist_raw({"bucket_limits": [], "bucket_counts": []}),
        ValueError,
        "expected at least one bucket",
    ),
    (
        "add_histogram_raw",
        (),
        _hist_raw({"bucket_limits": [2.0, 1.0]}),
        ValueError,
        "bucket_limits: expected strictly increasing",
    ),
    (
        "add_histogram_raw",
        (),
        _hist_raw({"bucket_limits": [1.0, np.inf]}),
        ValueError,
        "bucket_limits: expected finite",
    ),
    (
        "add_histogram_raw",
        (),
        _hist_raw({"bucket_counts": [1, -1]}),
        ValueError,
        "bucket_counts: expected finite non-negative",
    ),
    (
        "add_histogram_raw",
        (),
        _hist_raw({"bucket_counts": [1, np.nan]}),
        ValueError,
        "bucket_counts",
    ),
    (
        "add_histogram_raw",
        (),
        _hist_raw({"bucket_counts": [[1, 2]]}),
        ValueError,
        "bucket_counts: expected a one-dimensional",
    ),
    ("add_histogram_raw", (), _hist_raw({"bucket_counts": "ab"}), TypeError, "bucket_counts"),
    (
        "add_histogram_raw",
        (),
        _hist_raw({"min": 5}),
        ValueError,
        "min and max: expected min <= max",
    ),
    (
        "add_histogram_raw",
        (),
        _hist_raw({"min": np.nan}),
        ValueError,
        "min and max: expected finite",
    ),
    ("add_histogram_raw", (), _hist_raw({"min": "0"}), TypeError, "min: expected a real number"),
    ("add_histogram_raw", (), _hist_raw({"max": [1, 2]}), TypeError, "max: expected a real number"),
    (
        "add_histogram_raw",
        (),
        _hist_raw({"max": np.array([1.0, 2.0])}),
        ValueError,
        "max: expected a single number",
    ),
    (
        "add_histogram_raw",
        (),
        _hist_raw({"num": -1}),
        ValueError,
        "num: expected a finite non-negative",
    ),
    ("add_histogram_raw", (), _hist_raw({"sum": np.nan}), ValueError, "sum: expected a number"),
    (
        "add_histogram_raw",
        (),
        _hist_raw({"sum_squares": -1.0}),
        ValueError,
        "sum_squares: expected a non-negative",
    ),
    ("add_histogram_raw", (), _hist_raw({"tag": None}), TypeError, "tag must be a str"),
]

# add_pr_curve, add_pr_curve_raw (torch's signatures). add_pr_curve_raw without
# num_thresholds takes the arrays' length, which must agree (and be 2 or more).
PR_CURVE: list[Row] = [
    # add_pr_curve
    ("add_pr_curve", ("p", [0, 2], [0.5, 0.5]), {}, ValueError, "labels"),
    ("add_pr_curve", ("p", [0, 1], [0.5, 1.5]), {}, ValueError, "predictions"),
    ("add_pr_curve", ("p", [0, 1], [0.5]), {}, ValueError, "labels and predictions"),
    ("add_pr_curve", ("p", [0, 1], [0.5, NAN]), {}, ValueError, "predictions"),
    ("add_pr_curve", ("p", [0, 1], [0.5, 0.2], None, 0), {}, ValueError, "num_thresholds"),
    ("add_pr_curve", ("p", [], []), {}, ValueError, "labels and predictions"),
    (
        "add_pr_curve",
        (),
        _pr({"labels": np.array([0, 2, 1])}),
        ValueError,
        r"labels: expected booleans or 0/1, got 2",
    ),
    (
        "add_pr_curve",
        (),
        _pr({"labels": np.array([0.0, 0.5, 1.0])}),
        ValueError,
        r"labels: .* got 0\.5 at index 1",
    ),
    (
        "add_pr_curve",
        (),
        _pr({"labels": np.array([-1, 0, 1], dtype=np.int8)}),
        ValueError,
        "labels: .* got -1",
    ),
    (
        "add_pr_curve",
        (),
        _pr({"labels": np.array([0.0, np.nan, 1.0])}),
        ValueError,
        "labels: .* got NaN",
    ),
    (
        "add_pr_curve",
        (),
        _pr({"labels": np.array([1, 0])}),
        ValueError,
        "labels and predictions: expected the same",
    ),
    ("add_pr_curve", (), _pr({"labels": "101"}), TypeError, "labels"),
    (
        "add_pr_curve",
        (),
        _pr({"labels": np.array([1 + 0j, 0, 1])}),
        TypeError,
        "labels: expected real numbers",
    ),
    (
        "add_pr_curve",
        (),
        _pr({"predictions": np.array([0.1, 1.5, 0.2])}),
        ValueError,
        r"predictions: .* got 1\.5",
    ),
    (
        "add_pr_curve",
        (),
        _pr({"predictions": np.array([0.1, -0.1, 0.2])}),
        ValueError,
        r"predictions: .* got -0\.1",
    ),
    (
        "add_pr_curve",
        (),
        _pr({"predictions": np.array([0.1, np.nan, 0.2])}),
        ValueError,
        "predictions: .* got NaN",
    ),
    (
        "add_pr_curve",
        (),
        _pr({"predictions": np.array([0.1, np.inf, 0.2])}),
        ValueError,
        "predictions: .* got inf",
    ),
    (
        "add_pr_curve",
        (),
        _pr({"predictions": np.array([0, 2, 1])}),
        ValueError,
        "predictions: .* got 2",
    ),
    (
        "add_pr_curve",
        (),
        _pr({"predictions": torch.tensor([0.5, 1.01, 0.0])}),
        ValueError,
        "predictions: .* at index 1",
    ),
    ("add_pr_curve", (), _pr({"predictions": [0.1, "x", 0.3]}), TypeError, "predictions"),
    (
        "add_pr_curve",
        (),
        _pr({"labels": [], "predictions": []}),
        ValueError,
        "expected at least one example",
    ),
    (
        "add_pr_curve",
        (),
        _pr({"num_thresholds": 1}),
        ValueError,
        "num_thresholds: expected an int from 2",
    ),
    ("add_pr_curve", (), _pr({"num_thresholds": 2**24 + 1}), ValueError, "num_thresholds"),
    (
        "add_pr_curve",
        (),
        _pr({"num_thresholds": 10.0}),
        TypeError,
        "num_thresholds: expected an int",
    ),
    ("add_pr_curve", (), _pr({"num_thresholds": True}), TypeError, "num_thresholds"),
    (
        "add_pr_curve",
        (),
        _pr({"weights": -1.0}),
        ValueError,
        "weights: expected finite non-negative weights",
    ),
    (
        "add_pr_curve",
        (),
        _pr({"weights": np.array([1.0, np.nan, 1.0])}),
        ValueError,
        "weights: .* at index 1",
    ),
    (
        "add_pr_curve",
        (),
        _pr({"weights": np.array([1.0, 2.0])}),
        ValueError,
        r"weights: expected a single number or one",
    ),
    ("add_pr_curve", (), _pr({"weights": "heavy"}), TypeError, "weights"),
    ("add_pr_curve", (), _pr({"weights": True}), TypeError, "weights"),
    ("add_pr_curve", (), _pr({"tag": 5}), TypeError, "tag must be a str"),
    ("add_pr_curve", (), _pr({"global_step": 1.5}), ValueError, "global_step"),
    ("add_pr_curve", (), _pr({"walltime": "later"}), TypeError, "walltime"),
    # add_pr_curve_raw
    (
        "add_pr_curve_raw",
        ("p", [1, 0], [1, 0], [0, 1], [0, 1], [0.5, 1.0], [1.0]),
        {},
        ValueError,
        "recall: expected as many values as true_positive_counts",
    ),
    (
        "add_pr_curve_raw",
        ("p", *([[1, 0]] * 6)),
        {"num_thresholds": 127},
        ValueError,
        "true_positive_counts: expected num_thresholds",
    ),
    ("add_pr_curve_raw", ("p", *([[1, 2]] * 5), [1]), {}, ValueError, "true_positive_counts"),
    ("add_pr_curve_raw", ("p", "x", *([[1, 2]] * 5)), {}, TypeError, "true_positive_counts"),
    ("add_pr_curve_raw", ("p", *([[1, 0]] * 5), [1, 0, 0]), {}, ValueError, "recall"),
    ("add_pr_curve_raw", ("p", *([[1.0]] * 6)), {}, ValueError, "true_positive_counts"),
    ("add_pr_curve_raw", ("p", *([[1, 0]] * 6), 0, 127), {}, ValueError, "num_thresholds"),
    (
        "add_pr_curve_raw",
        (),
        _pr_raw({"num_thresholds": 127}),
        ValueError,
        r"true_positive_counts: expected num_thresholds \(127\)",
    ),
    (
        "add_pr_curve_raw",
        (),
        _pr_raw({"recall": [1.0]}),
        ValueError,
        r"recall: expected num_thresholds \(2\) values, got 1",
    ),
    (
        "add_pr_curve_raw",
        (),
        _pr_raw({"precision": [1.2, 0.5]}),
        ValueError,
        r"precision: expected values within \[0, 1\]",
    ),
    (
        "add_pr_curve_raw",
        (),
        _pr_raw({"recall": [np.nan, 0.5]}),
        ValueError,
        "recall: expected values within",
    ),
    (
        "add_pr_curve_raw",
        (),
        _pr_raw({"true_negative_counts": [-1, 2]}),
        ValueError,
        "true_negative_counts: expected finite",
    ),
    (
        "add_pr_curve_raw",
        (),
        _pr_raw({"false_negative_counts": [np.inf, 2]}),
        ValueError,
        "false_negative_counts: expected finite",
    ),
    (
        "add_pr_curve_raw",
        (),
        _pr_raw({"false_positive_counts": [[2.0, 0.0]]}),
        ValueError,
        "false_positive_counts: expected a one",
    ),
    (
        "add_pr_curve_raw",
        (),
        _pr_raw({"false_positive_counts": None}),
        TypeError,
        "false_positive_counts",
    ),
    ("add_pr_curve_raw", (), _pr_raw({"num_thresholds": 1}), ValueError, "num_thresholds"),
    ("add_pr_curve_raw", (), _pr_raw({"num_thresholds": "2"}), TypeError, "num_thresholds"),
    ("add_pr_curve_raw", (), _pr_raw({"tag": b"x"}), TypeError, "tag must be a str"),
    (
        "add_pr_curve_raw",
        (),
        _pr_raw_no_n({"recall": [1.0]}),
        ValueError,
        r"recall: expected as many values as true_positive_counts \(2\), got 1",
    ),
    (
        "add_pr_curve_raw",
        (),
        _pr_raw_no_n({"precision": [0.6, 1.0, 1.0]}),
        ValueError,
        r"precision: expected as many values as true_positive_counts \(2\), got 3",
    ),
    (
        "add_pr_curve_raw",
        (),
        _pr_raw_no_n({k: [1.0] for k in ROWS_NO_N}),
        ValueError,
        r"true_positive_counts: expected 2 to 16777216 values",
    ),
    (
        "add_pr_curve_raw",
        (),
        _pr_raw_no_n({k: [] for k in ROWS_NO_N}),
        ValueError,
        r"true_positive_counts: expected 2 to 16777216 values",
    ),
    (
        "add_pr_curve_raw",
        (),
        _pr_raw_no_n({"precision": [1.2, 0.5]}),
        ValueError,
        r"precision: expected values within \[0, 1\]",
    ),
]

# add_audio, add_video, add_mesh (torch's signatures): checked before anything is queued.
SND = np.zeros(64, dtype=np.float32)
VID = np.zeros((1, 2, 3, 4, 4), dtype=np.uint8)
VERTS = np.zeros((1, 3, 3))
MEDIA_AV: list[Row] = [
    ("add_audio", ("a", np.array([0.0, NAN])), {}, ValueError, "snd_tensor: expected finite"),
    ("add_audio", ("a", np.array([0.0, INF])), {}, ValueError, "snd_tensor: expected finite"),
    ("add_audio", ("a", np.zeros(0)), {}, ValueError, "snd_tensor: expected at least one"),
    ("add_audio", ("a", np.zeros((100, 2))), {}, ValueError, r"snd_tensor: expected \(samples,\)"),
    ("add_audio", ("a", np.zeros((2, 2, 5))), {}, ValueError, "snd_tensor"),
    ("add_audio", ("a", "loud"), {}, TypeError, "snd_tensor"),
    ("add_audio", ("a", None), {}, TypeError, "snd_tensor"),
    ("add_audio", ("a", SND), {"sample_rate": 0}, ValueError, "sample_rate: expected a positive"),
    ("add_audio", ("a", SND), {"sample_rate": -8000}, ValueError, "sample_rate"),
    ("add_audio", ("a", SND), {"sample_rate": NAN}, ValueError, "sample_rate"),
    ("add_audio", ("a", SND), {"sample_rate": "44100"}, TypeError, "sample_rate"),
    ("add_audio", ("a", SND), {"sample_rate": True}, TypeError, "sample_rate"),
    ("add_audio", (3, SND), {}, TypeError, "tag"),
    ("add_audio", ("a", SND), {"global_step": "x"}, TypeError, "global_step"),
    (
        "add_video",
        ("v", np.zeros((2, 3, 4, 4))),
        {},
        ValueError,
        r"vid_tensor: expected shape \(N, T, C, H, W\)",
    ),
    (
        "add_video",
        ("v", np.zeros((1, 2, 2, 4, 4))),
        {},
        ValueError,
        "vid_tensor: expected 1, 3 or 4 channels",
    ),
    (
        "add_video",
        ("v", np.zeros((1, 0, 3, 4, 4))),
        {},
        ValueError,
        "vid_tensor: expected no empty",
    ),
    (
        "add_video",
        ("v", np.full((1, 1, 3, 2, 2), NAN)),
        {},
        ValueError,
        "vid_tensor: expected finite",
    ),
    (
        "add_video",
        ("v", torch.full((1, 1, 1, 2, 2), INF)),
        {},
        ValueError,
        "vid_tensor: expected finite",
    ),
    (
        "add_video",
        ("v", np.zeros((1, 1, 1, 1, 70000), np.uint8)),
        {},
        ValueError,
        "vid_tensor: the tiled frame",
    ),
    ("add_video", ("v", VID), {"fps": 0}, ValueError, "fps: expected a positive"),
    ("add_video", ("v", VID), {"fps": -1.5}, ValueError, "fps"),
    ("add_video", ("v", VID), {"fps": INF}, ValueError, "fps"),
    ("add_video", ("v", VID), {"fps": None}, TypeError, "fps"),
    ("add_video", ("v", object()), {}, TypeError, "vid_tensor"),
    ("add_mesh", ("m", np.zeros((3, 3))), {}, ValueError, r"vertices: expected shape \(B, N, 3\)"),
    ("add_mesh", ("m", np.zeros((1, 3, 2))), {}, ValueError, "vertices"),
    ("add_mesh", ("m", np.full((1, 3, 3), NAN)), {}, ValueError, "vertices: expected finite"),
    ("add_mesh", ("m", None), {}, TypeError, "vertices"),
    (
        "add_mesh",
        ("m", VERTS),
        {"colors": np.zeros((1, 2, 3))},
        ValueError,
        "colors: expected the vertices' shape",
    ),
    (
        "add_mesh",
        ("m", VERTS),
        {"colors": np.full((1, 3, 3), 300)},
        ValueError,
        r"colors: expected values within \[0, 255\]",
    ),
    ("add_mesh", ("m", VERTS), {"colors": np.full((1, 3, 3), -1)}, ValueError, "colors"),
    (
        "add_mesh",
        ("m", VERTS),
        {"faces": np.array([[[0, 1, 3]]])},
        ValueError,
        r"faces: expected whole vertex indices within \[0, 3\)",
    ),
    (
        "add_mesh",
        ("m", VERTS),
        {"faces": np.array([[[0, 1, 1.5]]])},
        ValueError,
        "faces: expected whole",
    ),
    (
        "add_mesh",
        ("m", VERTS),
        {"faces": np.zeros((2, 1, 3))},
        ValueError,
        "faces: expected the vertices' batch size",
    ),
    ("add_mesh", ("m", VERTS), {"faces": np.zeros((1, 3))}, ValueError, "faces"),
    ("add_mesh", ("m", VERTS), {"config_dict": {"a": object()}}, TypeError, "config_dict"),
    ("add_mesh", ("m", "points"), {}, TypeError, "vertices"),
]

# add_hparams, add_custom_scalars*, add_summary, add_event (the structural family).
HP = {"lr": 0.1, "opt": "adam"}
MD = {"hp/acc": 0.5}
STRUCTURAL: list[Row] = [
    ("add_hparams", ([("lr", 0.1)], MD), {}, TypeError, "hparam_dict must be a dict"),
    ("add_hparams", (HP, [0.5]), {}, TypeError, "metric_dict must be a dict"),
    ("add_hparams", ({1: 0.1}, MD), {}, TypeError, "hparam_dict keys must be str"),
    ("add_hparams", (HP, {2: 0.5}), {}, TypeError, "metric_dict keys must be str"),
    ("add_hparams", ({"lr": [0.1]}, MD), {}, TypeError, r"hparam_dict\['lr'\] must be a bool"),
    ("add_hparams", ({"lr": object()}, MD), {}, TypeError, r"hparam_dict\['lr'\]"),
    ("add_hparams", ({"lr": b"x"}, MD), {}, TypeError, r"hparam_dict\['lr'\]"),
    ("add_hparams", ({"lr": 1j}, MD), {}, TypeError, r"hparam_dict\['lr'\]"),
    ("add_hparams", ({"n": 10**400}, MD), {}, ValueError, r"hparam_dict\['n'\] is too large"),
    (
        "add_hparams",
        ({"w": torch.zeros(3)}, MD),
        {},
        ValueError,
        r"hparam_dict\['w'\] must have exactly one element",
    ),
    (
        "add_hparams",
        ({"w": np.array(["a"])}, MD),
        {},
        TypeError,
        r"hparam_dict\['w'\] must be a bool, str or real number",
    ),
    ("add_hparams", (HP, {"hp/acc": "high"}), {}, TypeError, r"metric_dict\['hp/acc'\]"),
    (
        "add_hparams",
        (HP, {"hp/acc": NoFloat()}),
        {},
        TypeError,
        r"metric_dict\['hp/acc'\] must be a real number",
    ),
    ("add_hparams", (HP, {"hp/acc": torch.zeros(2)}), {}, ValueError, "metric_dict"),
    ("add_hparams", (HP, {SURROGATE: 1.0}), {}, ValueError, "metric_dict key"),
    ("add_hparams", ({HUGE_TAG: 1.0}, MD), {}, ValueError, "hparam_dict key"),
    (
        "add_hparams",
        (HP, MD),
        {"hparam_domain_discrete": ["adam"]},
        TypeError,
        "hparam_domain_discrete must be a dict",
    ),
    (
        "add_hparams",
        (HP, MD),
        {"hparam_domain_discrete": {"opt": "adam"}},
        TypeError,
        r"hparam_domain_discrete\['opt'\] must be a list",
    ),
    (
        "add_hparams",
        (HP, MD),
        {"hparam_domain_discrete": {"opt": ["sgd"]}},
        ValueError,
        r"hparam_dict\['opt'\]: 'adam' is not in its domain",
    ),
    (
        "add_hparams",
        (HP, MD),
        {"hparam_domain_discrete": {"lr": [0.1, "x"]}},
        TypeError,
        r"hparam_domain_discrete\['lr'\]\[1\]: expected a number",
    ),
    (
        "add_hparams",
        (HP, MD),
        {"hparam_domain_discrete": {"bs": [1]}},
        ValueError,
        r"hparam_domain_discrete\['bs'\]: 'bs' is not a key of hparam_dict",
    ),
    (
        "add_hparams",
        (HP, MD),
        {"hparam_domain_discrete": {"opt": [None]}},
        TypeError,
        r"hparam_domain_discrete\['opt'\]\[0\]",
    ),
    ("add_hparams", (HP, MD), {"run_name": 3}, TypeError, "run_name must be a str"),
    ("add_hparams", (HP, MD), {"run_name": "../x"}, ValueError, "run_name must name a directory"),
    ("add_hparams", (HP, MD), {"run_name": "/abs"}, ValueError, "run_name must name a directory"),
    ("add_hparams", (HP, MD), {"run_name": "a\0b"}, ValueError, "run_name"),
    ("add_hparams", (HP, MD), {"global_step": "1"}, TypeError, "global_step must be an int"),
    ("add_hparams", (HP, MD), {"global_step": 1.5}, ValueError, "global_step must be an integer"),
    ("add_custom_scalars", ([],), {}, TypeError, "layout must be a dict"),
    ("add_custom_scalars", ({"c": ["x"]},), {}, TypeError, r"layout\['c'\] must be a dict"),
    ("add_custom_scalars", ({"c": {"t": None}},), {}, TypeError, r"layout\['c'\]\['t'\]"),
    (
        "add_custom_scalars",
        ({"c": {"t": ["Margin", ["a", "b"]]}},),
        {},
        ValueError,
        r"layout\['c'\]\['t'\]: a Margin chart needs exactly 3 tags",
    ),
    (
        "add_custom_scalars",
        ({"c": {"t": ["margin", ["a", "b", "c"]]}},),
        {},
        ValueError,
        "'Multiline' or 'Margin'",
    ),
    ("add_custom_scalars", ({"c": {"t": [1, ["a"]]}},), {}, TypeError, "the kind must be"),
    ("add_custom_scalars", ({"c": {"t": ["Multiline", 5]}},), {}, TypeError, "tags must be"),
    ("add_custom_scalars", ({1: {"t": ["Multiline", []]}},), {}, TypeError, "category title"),
    ("add_custom_scalars", ({"c": {"t": ["Multiline", [b"a"]]}},), {}, TypeError, "tag 0"),
    ("add_custom_scalars_multilinechart", ("loss",), {}, TypeError, "tags must be a list"),
    ("add_custom_scalars_multilinechart", (None,), {}, TypeError, "tags must be a list"),
    ("add_custom_scalars_multilinechart", ([1],), {}, TypeError, "tag 0 must be a str"),
    ("add_custom_scalars_multilinechart", (["a"],), {"title": 3}, TypeError, "title must be"),
    ("add_custom_scalars_marginchart", (["a", "b"],), {}, ValueError, "exactly 3 tags"),
    ("add_custom_scalars_marginchart", (["a"] * 4,), {}, ValueError, "exactly 3 tags"),
    ("add_custom_scalars_marginchart", ("abc",), {}, TypeError, "tags must be a list"),
    (
        "add_custom_scalars_marginchart",
        (["a", "b", "c"],),
        {"category": None},
        TypeError,
        "category",
    ),
    ("add_summary", (object(),), {}, TypeError, "summary must be a Summary"),
    ("add_summary", (b"\xff\xff",), {}, ValueError, "summary is not a Summary"),
    ("add_summary", (b"",), {"global_step": "x"}, TypeError, "global_step must be an int"),
    ("add_event", (object(),), {}, TypeError, "event must be an Event"),
    ("add_tensor", ("t", [1, 2]), {}, TypeError, "tensor must be a torch tensor or a numpy"),
    ("add_tensor", ("t", np.array(["a"])), {}, TypeError, "tensor: unsupported dtype"),
    ("add_tensor", ("t", np.zeros(2, np.uint16)), {}, TypeError, "tensor: unsupported dtype"),
    ("add_tensor", ("t", torch.zeros(2, dtype=torch.uint32)), {}, TypeError, "tensor: unsup"),
    ("add_tensor", (b"t", torch.zeros(2)), {}, TypeError, "tag must be a str"),
    ("add_tensor", ("t", torch.zeros(2)), {"global_step": "x"}, TypeError, "global_step"),
    ("add_tensor", ("t", torch.zeros(2, device="meta")), {}, ValueError, "meta device"),
]

# add_image, add_images, add_image_with_boxes, add_figure (torch's signatures).
IMG = np.zeros((3, 4, 5), dtype=np.float32)
BOX = np.array([[1.0, 1.0, 3.0, 3.0]])
_NAN_IMG = np.full((3, 2, 2), NAN, dtype=np.float32)
_INF_IMG = np.full((3, 2, 2), INF)
# A 1 x 2**31 view of one byte: too wide for PNG, refused before anything is copied.
_TOO_WIDE = np.broadcast_to(np.zeros(1, dtype=np.uint8), (1, 2**31))
IMAGE: list[Row] = [
    ("add_image", ("i", IMG), {"dataformats": "CHX"}, ValueError, "dataformats"),
    ("add_image", ("i", IMG), {"dataformats": "CCW"}, ValueError, "dataformats"),
    ("add_image", ("i", IMG), {"dataformats": "NCHWX"}, ValueError, "dataformats"),
    ("add_image", ("i", IMG), {"dataformats": 3}, TypeError, "dataformats"),
    ("add_image", ("i", IMG), {"dataformats": "HW"}, ValueError, "img_tensor: shape"),
    ("add_image", ("i", np.zeros((4, 5))), {}, ValueError, "img_tensor: shape"),
    ("add_image", ("i", np.zeros((5, 4, 5))), {}, ValueError, "img_tensor: .*channels"),
    ("add_image", ("i", np.zeros((3, 0, 5))), {}, ValueError, "img_tensor: .*empty"),
    ("add_image", ("i", _NAN_IMG), {}, ValueError, "img_tensor: .*finite"),
    ("add_image", ("i", _INF_IMG), {}, ValueError, "img_tensor: .*finite"),
    ("add_image", ("i", torch.full((3, 2, 2), NAN)), {}, ValueError, "img_tensor: .*finite"),
    (
        "add_image",
        ("i", torch.full((3, 2, 2), INF, dtype=torch.bfloat16)),
        {},
        ValueError,
        "img_tensor: .*finite",
    ),
    ("add_image", ("i", _TOO_WIDE), {"dataformats": "HW"}, ValueError, "img_tensor: .*too large"),
    ("add_image", ("i", np.zeros((3, 2, 2), np.complex64)), {}, TypeError, "img_tensor"),
    ("add_image", ("i", "pixels"), {}, TypeError, "img_tensor"),
    ("add_image", ("i", IMG, "x"), {}, TypeError, "global_step"),
    ("add_images", ("i", np.zeros((2, 4, 3, 3))), {}, ValueError, "img_tensor: .*1 or 3"),
    (
        "add_images",
        ("i", np.zeros((2, 3, 3, 3))),
        {"dataformats": "NCH"},
        ValueError,
        "dataformats",
    ),
    ("add_images", ("i", np.full((2, 3, 2, 2), NAN)), {}, ValueError, "img_tensor: .*finite"),
    ("add_images", ("i", IMG), {}, ValueError, "img_tensor: shape"),
    ("add_image_with_boxes", ("i", IMG, np.zeros(4)), {}, ValueError, r"box_tensor: .*\(N, 4\)"),
    ("add_image_with_boxes", ("i", IMG, np.zeros((2, 3))), {}, ValueError, "box_tensor"),
    ("add_image_with_boxes", ("i", IMG, [[0, NAN, 1, 1]]), {}, ValueError, "box_tensor"),
    ("add_image_with_boxes", ("i", IMG, "boxes"), {}, TypeError, "box_tensor"),
    ("add_image_with_boxes", ("i", IMG, BOX), {"labels": ["a", "b"]}, ValueError, "labels"),
    ("add_image_with_boxes", ("i", IMG, BOX), {"labels": [1]}, TypeError, "labels"),
    ("add_image_with_boxes", ("i", IMG, BOX), {"labels": 5}, TypeError, "labels"),
    ("add_image_with_boxes", ("i", IMG, BOX), {"rescale": 0}, ValueError, "rescale"),
    ("add_image_with_boxes", ("i", IMG, BOX), {"rescale": NAN}, ValueError, "rescale"),
    ("add_image_with_boxes", ("i", IMG, BOX), {"rescale": 1e5}, ValueError, "rescale: .*bytes"),
    ("add_image_with_boxes", ("i", IMG, BOX), {"rescale": "2"}, TypeError, "rescale"),
    ("add_image_with_boxes", ("i", _NAN_IMG, BOX), {}, ValueError, "img_tensor: .*finite"),
    ("add_image_with_boxes", ("i", IMG, BOX), {"dataformats": "XYZ"}, ValueError, "dataformats"),
    ("add_figure", ("f", object()), {}, TypeError, "figure"),
    ("add_figure", ("f", []), {}, ValueError, "figure"),
    ("add_figure", ("f", [object()]), {}, TypeError, "figure"),
]


# add_graph, add_onnx_graph (torch's signatures). A model torch.jit.trace cannot trace is a
# GraphTraceError (a ValueError and a RuntimeError) naming the model's class.
class _ReturnsDict(torch.nn.Module):
    def forward(self, x: Any) -> Any:
        return {"out": x}


class _BadOnnx:
    """Serializes to bytes that are no ONNX model."""

    def SerializeToString(self) -> bytes:
        return b"\xff\xff\xff"


GRAPH: list[Row] = [
    ("add_graph", ("model",), {}, TypeError, "model must be a torch.nn.Module, got str"),
    ("add_graph", (abs, torch.ones(1)), {}, TypeError, "model must be a torch.nn.Module"),
    (
        "add_graph",
        (torch.nn.Linear(3, 2), torch.ones(4)),
        {},
        ValueError,
        "could not trace Linear with torch.jit.trace: RuntimeError: .*shapes",
    ),
    (
        "add_graph",
        (torch.nn.Linear(3, 2), "x"),
        {},
        ValueError,
        "could not trace Linear.*cannot be traced",
    ),
    (
        "add_graph",
        (_ReturnsDict(), torch.ones(2)),
        {},
        ValueError,
        "could not trace _ReturnsDict.*strict",
    ),
    ("add_onnx_graph", (42,), {}, TypeError, "prototxt must be a path"),
    ("add_onnx_graph", (io.StringIO("x"),), {}, TypeError, "prototxt must be opened in binary"),
    ("add_onnx_graph", (_BadOnnx(),), {}, ValueError, "not an ONNX model"),
    ("add_onnx_graph", ("/nonexistent/missing.onnx",), {}, OSError, r"missing\.onnx"),
]

# add_embedding (torch's signature). The family's "after" call is a scalar: embeddings write no
# event; tests/test_embedding.py checks that each of these rows leaves no file and that the
# writer logs the next embedding.
EMB = np.arange(12, dtype=np.float32).reshape(4, 3)
EMB_IMG = np.zeros((4, 3, 2, 2), dtype=np.float32)


def _emb(kw: dict[str, Any]) -> dict[str, Any]:
    return {"mat": EMB, **kw}


EMBEDDING: list[Row] = [
    ("add_embedding", (), _emb({"mat": np.zeros(4)}), ValueError, r"mat: expected a 2-D matrix"),
    ("add_embedding", (), _emb({"mat": np.zeros((2, 2, 2))}), ValueError, "mat: expected a 2-D"),
    ("add_embedding", (), _emb({"mat": np.zeros((0, 3))}), ValueError, "mat: expected at least"),
    ("add_embedding", (), _emb({"mat": "abc"}), TypeError, "mat"),
    ("add_embedding", (), _emb({"mat": np.zeros((2, 2), complex)}), TypeError, "mat"),
    ("add_embedding", (), _emb({"metadata": ["a", "b"]}), ValueError, "metadata: 2 labels for 4"),
    ("add_embedding", (), _emb({"metadata": "abcd"}), TypeError, "metadata"),
    ("add_embedding", (), _emb({"metadata": 7}), TypeError, "metadata"),
    ("add_embedding", (), _emb({"metadata": ["a", "b\tc", "d", "e"]}), ValueError, "metadata"),
    ("add_embedding", (), _emb({"metadata": ["a", "b", "c\nd", "e"]}), ValueError, "metadata"),
    (
        "add_embedding",
        (),
        _emb({"metadata": ["a", "b", "c", "d"], "metadata_header": ["only"]}),
        TypeError,
        "metadata: with metadata_header",
    ),
    (
        "add_embedding",
        (),
        _emb({"metadata": [["a"], ["b"], ["c"], ["d"]], "metadata_header": ["only"]}),
        ValueError,
        "metadata_header: a header names two or more columns",
    ),
    (
        "add_embedding",
        (),
        _emb({"metadata": [["a", 1], ["b", 2], ["c"], ["d", 4]], "metadata_header": ["x", "y"]}),
        ValueError,
        "metadata: row 2 has 1 values",
    ),
    (
        "add_embedding",
        (),
        _emb({"metadata": [["a", 1]] * 3, "metadata_header": ["x", "y"]}),
        ValueError,
        "metadata: 3 labels for 4 points",
    ),
    ("add_embedding", (), _emb({"label_img": EMB_IMG[:3]}), ValueError, "label_img: 3 images"),
    ("add_embedding", (), _emb({"label_img": np.zeros((4, 2, 2))}), ValueError, "label_img"),
    (
        "add_embedding",
        (),
        _emb({"label_img": np.zeros((4, 4, 2, 2))}),
        ValueError,
        "label_img: expected 1 .gray. or 3",
    ),
    (
        "add_embedding",
        (),
        _emb({"label_img": np.zeros((4, 3, 9, 1))}),
        ValueError,
        "label_img: .* do not fit the square sprite",
    ),
    ("add_embedding", (), _emb({"label_img": "img"}), TypeError, "label_img"),
    ("add_embedding", (), _emb({"tag": ".."}), ValueError, "tag"),
    ("add_embedding", (), _emb({"tag": ""}), ValueError, "tag"),
    ("add_embedding", (), _emb({"tag": 5}), TypeError, "tag must be a str"),
    ("add_embedding", (), _emb({"tag": "x" * 300}), ValueError, "tag: names a directory"),
    ("add_embedding", (), _emb({"global_step": 1.5}), ValueError, "global_step"),
    ("add_embedding", (), _emb({"global_step": "one"}), TypeError, "global_step"),
]

FAMILIES: dict[str, list[Row]] = {
    "constructor": CONSTRUCTOR,
    "scalars": SCALARS,
    "histogram": HISTOGRAM,
    "pr_curve": PR_CURVE,
    "media_av": MEDIA_AV,
    "structural": STRUCTURAL,
    "image": IMAGE,
    "graph": GRAPH,
    "embedding": EMBEDDING,
}

# The valid call each family's test makes after a refused one (tag "after"): the writer still
# works for that family.
AFTER: dict[str, tuple[str, tuple[Any, ...]]] = {
    "scalars": ("add_scalar", ("after", 2.0, 2)),
    "histogram": ("add_histogram", ("after", GOOD, 9)),
    "pr_curve": ("add_pr_curve", ("after", L, P, 4)),
    "media_av": ("add_audio", ("after", SND, 2)),
    "structural": ("add_scalar", ("after", 2.0, 2)),
    "image": ("add_image", ("after", IMG, 9)),
    "graph": ("add_scalar", ("after", 2.0, 2)),  # graphs carry no tag to check
    "embedding": ("add_scalar", ("after", 2.0, 2)),
}

# (family, row) for every add_* row.
METHOD_ROWS: list[tuple[str, Row]] = [
    (family, row) for family, rows in FAMILIES.items() if family != "constructor" for row in rows
]


def row_id(row: Row) -> str:
    """A short test id: the call, its arguments cut short."""
    method, args, kwargs = row[0], row[1], row[2]
    shown = [repr(a)[:24] for a in args] + [f"{k}={v!r}"[:32] for k, v in kwargs.items()]
    return f"{method}({', '.join(shown)})"


# Error messages show numbers and strings as Python writes them, not numpy's reprs:
# (call on an open writer, text the ValueError's message must contain).
PLAIN_MESSAGES: list[tuple[Callable[[Any], Any], str]] = [
    (
        lambda w: w.add_histogram("h", np.array([7e19, 1e308]), 0, bins="scott"),
        "range (7e+19 to 1e+308)",
    ),
    (lambda w: w.add_histogram("h", [1.0], 0, bins=np.str_("nope")), "got 'nope'"),
    (lambda w: w.add_histogram("h", np.array([-1e308, 1e308]), 0, bins="stone"), "'stone'"),
    (lambda w: w.add_scalar("a", 1.0, np.float64(1.5)), "got 1.5"),
    (lambda w: w.add_text("t", "x", np.float32(2.5)), "got 2.5"),
    (lambda w: ferroboard.SummaryWriter(w.log_dir, max_queue=np.int64(-1)), "got -1"),
    (lambda w: ferroboard.SummaryWriter(w.log_dir, filename_suffix=np.str_("a/b")), "got 'a/b'"),
]
