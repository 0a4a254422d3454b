"""Bad input, writer side: a table of invalid calls across every ``add_*`` of ``SummaryWriter``
(and its constructor). Each raises a clear ``TypeError``/``ValueError`` naming the argument;
afterwards the writer still works and earlier data is intact. Directory and file names made
from user strings never point outside ``log_dir``.

Valid edge cases (NaN and infinite values, negative and extreme int64 steps, empty and NUL
tags, huge text) are accepted, as torch accepts them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from ferroboard import SummaryWriter

from tests.support.judges import our_events, tb_loaded_events
from tests.support.logdirs import all_event_files


class NoFloat:
    def __float__(self) -> float:
        raise RuntimeError("no float here")


NAN, INF = float("nan"), float("inf")
HUGE_TAG = "x" * 70_000
SURROGATE = "bad\udc80tag"

# (method, args, kwargs, exception, text the message must contain: the argument's name)
CASES: list[tuple[str, tuple, dict, type[Exception], str]] = [
    # add_scalar: tag
    ("add_scalar", (None, 1.0), {}, TypeError, "tag"),
    ("add_scalar", (b"loss", 1.0), {}, TypeError, "tag"),
    ("add_scalar", (3, 1.0), {}, TypeError, "tag"),
    ("add_scalar", (["loss"], 1.0), {}, TypeError, "tag"),
    ("add_scalar", (SURROGATE, 1.0), {}, ValueError, "tag"),
    ("add_scalar", (HUGE_TAG, 1.0), {}, ValueError, "tag"),
    # add_scalar: value (types, shapes, dtypes, empty)
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
    # add_scalar: global_step (negative steps are valid int64, as in torch)
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
    # add_scalar: walltime
    ("add_scalar", ("v", 1.0, 0, NAN), {}, ValueError, "walltime"),
    ("add_scalar", ("v", 1.0, 0, INF), {}, ValueError, "walltime"),
    ("add_scalar", ("v", 1.0, 0, -INF), {}, ValueError, "walltime"),
    ("add_scalar", ("v", 1.0, 0, "now"), {}, TypeError, "walltime"),
    ("add_scalar", ("v", 1.0, 0, np.float32("nan")), {}, ValueError, "walltime"),
    ("add_scalar", ("v", 1.0, 0, torch.tensor(INF)), {}, ValueError, "walltime"),
    ("add_scalar", ("v", 1.0), {"walltime": np.ones(3)}, ValueError, "walltime"),
    # add_scalars
    ("add_scalars", (None, {"a": 1.0}), {}, TypeError, "main_tag"),
    ("add_scalars", (SURROGATE, {"a": 1.0}), {}, ValueError, "main_tag"),
    ("add_scalars", (HUGE_TAG, {"a": 1.0}), {}, ValueError, "main_tag"),
    ("add_scalars", ("m", [("a", 1.0)]), {}, TypeError, "tag_scalar_dict"),
    ("add_scalars", ("m", None), {}, TypeError, "tag_scalar_dict"),
    ("add_scalars", ("m", {1: 1.0}), {}, TypeError, "tag_scalar_dict key"),
    ("add_scalars", ("m", {SURROGATE: 1.0}), {}, ValueError, "tag_scalar_dict key"),
    ("add_scalars", ("m", {"a": "x"}), {}, TypeError, "tag_scalar_dict"),
    ("add_scalars", ("m", {"a": 1.0, "b": np.ones(2)}), {}, ValueError, 'tag_scalar_dict["b"]'),
    ("add_scalars", ("m", {"a": None}), {}, TypeError, 'tag_scalar_dict["a"]'),
    ("add_scalars", ("m", {"a": 1.0}, NAN), {}, ValueError, "global_step"),
    ("add_scalars", ("m", {"a": 1.0}, 2**64), {}, ValueError, "global_step"),
    ("add_scalars", ("m", {"a": 1.0}, 0, NAN), {}, ValueError, "walltime"),
    # add_scalars: sub-run directories that could leave log_dir, or cannot exist
    ("add_scalars", ("m", {"../../escape": 1.0}), {}, ValueError, "tag_scalar_dict key"),
    ("add_scalars", ("m", {"a/../../../escape": 1.0}), {}, ValueError, "tag_scalar_dict key"),
    ("add_scalars", ("m", {"/..": 1.0}), {}, ValueError, "tag_scalar_dict key"),
    ("add_scalars", ("m", {"a\0b": 1.0}), {}, ValueError, "tag_scalar_dict key"),
    ("add_scalars", ("m", {"..\\..\\escape": 1.0}), {}, ValueError, "tag_scalar_dict key"),
    ("add_scalars", ("bad\0main", {"a": 1.0}), {}, ValueError, "main_tag"),
    ("add_scalars", ("..\\x", {"a": 1.0}), {}, ValueError, "main_tag"),
    ("add_scalars", ("m", {"k" * 300: 1.0}), {}, ValueError, "tag_scalar_dict key"),
    # add_text
    ("add_text", (None, "x"), {}, TypeError, "tag"),
    ("add_text", (SURROGATE, "x"), {}, ValueError, "tag"),
    ("add_text", (HUGE_TAG, "x"), {}, ValueError, "tag"),
    ("add_text", ("t", None), {}, TypeError, "text_string"),
    ("add_text", ("t", b"bytes"), {}, TypeError, "text_string"),
    ("add_text", ("t", 5), {}, TypeError, "text_string"),
    ("add_text", ("t", ["a"]), {}, TypeError, "text_string"),
    ("add_text", ("t", "\udfff"), {}, ValueError, "text_string"),
    ("add_text", ("t", "x", NAN), {}, ValueError, "global_step"),
    ("add_text", ("t", "x", -(2**63) - 1), {}, ValueError, "global_step"),
    ("add_text", ("t", "x", 0, INF), {}, ValueError, "walltime"),
]

# add_histogram (torch's signature: tag, values, global_step, bins, walltime, max_bins), for
# when ferroboard has it.
HISTOGRAM_CASES: list[tuple[str, tuple, dict, type[Exception], str]] = [
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
]
# add_histogram_raw, add_pr_curve, add_pr_curve_raw: validated inputs, torch's signatures.
_LIMITS, _COUNTS = [1.0, 2.0], [1.0, 1.0]
CASES += [
    *HISTOGRAM_CASES,
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
    ("add_pr_curve", ("p", [0, 1], [0.5, 1.5]), {}, ValueError, "predictions"),
    ("add_pr_curve", ("p", [0, 2], [0.5, 0.5]), {}, ValueError, "labels"),
    ("add_pr_curve", ("p", [0, 1], [0.5]), {}, ValueError, "labels and predictions"),
    ("add_pr_curve", ("p", [0, 1], [0.5, NAN]), {}, ValueError, "predictions"),
    ("add_pr_curve", ("p", [0, 1], [0.5, 0.2], None, 0), {}, ValueError, "num_thresholds"),
    ("add_pr_curve", ("p", [], []), {}, ValueError, "labels and predictions"),
    ("add_pr_curve_raw", ("p", *([[1, 2]] * 5), [1]), {}, ValueError, "true_positive_counts"),
    ("add_pr_curve_raw", ("p", "x", *([[1, 2]] * 5)), {}, TypeError, "true_positive_counts"),
    # num_thresholds left out: the arrays' length, which must agree (and be 2 or more).
    ("add_pr_curve_raw", ("p", *([[1, 0]] * 5), [1, 0, 0]), {}, ValueError, "recall"),
    ("add_pr_curve_raw", ("p", *([[1.0]] * 6)), {}, ValueError, "true_positive_counts"),
    ("add_pr_curve_raw", ("p", *([[1, 0]] * 6), 0, 127), {}, ValueError, "num_thresholds"),
]

CTOR_CASES: list[tuple[dict, type[Exception], str]] = [
    ({"max_queue": -1}, ValueError, "max_queue"),
    ({"max_queue": "10"}, ValueError, "max_queue"),
    ({"flush_secs": "1"}, TypeError, "flush_secs"),
    ({"flush_secs": float("inf")}, ValueError, "flush_secs"),
    ({"flush_secs": NAN}, ValueError, "flush_secs"),
    ({"flush_secs": -5}, ValueError, "flush_secs"),
    ({"filename_suffix": 1}, TypeError, "filename_suffix"),
    ({"filename_suffix": "/../../escape"}, ValueError, "filename_suffix"),
    ({"filename_suffix": "a\0"}, ValueError, "filename_suffix"),
    ({"comment": 1}, TypeError, "comment"),
    ({"purge_step": NAN}, ValueError, "purge_step"),
    ({"purge_step": 2**63}, ValueError, "purge_step"),
    ({"log_dir": 5}, TypeError, "log_dir"),
    ({"log_dir": "a\0b"}, ValueError, "log_dir"),
    # tensorboardX's keywords
    ({"logdir": "elsewhere"}, TypeError, "logdir"),
    ({"log_dir": None, "logdir": 5}, TypeError, "logdir"),
    ({"write_to_disk": "no"}, TypeError, "write_to_disk"),
    ({"write_to_disk": None}, TypeError, "write_to_disk"),
    ({"write_to_disk": False, "flush_secs": NAN}, ValueError, "flush_secs"),
    ({"write_to_disk": False, "purge_step": 1.5}, ValueError, "purge_step"),
]


@pytest.fixture(scope="module")
def writer(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("bad_input")
    w = SummaryWriter(root / "run")
    w.add_scalar("before", 1.0, 1)
    w.add_scalars("m", {"a": 1.0}, 1)
    w.add_text("t", "before", 1)
    w.flush()
    yield w
    w.close()


def _id(case: tuple) -> str:
    method, args = case[0], case[1]
    shown = ", ".join(repr(a)[:24] for a in args)
    return f"{method}({shown})"


@pytest.mark.parametrize("case", CASES, ids=[_id(c) for c in CASES])
def test_invalid_call_raises_naming_the_argument(writer: SummaryWriter, case: tuple) -> None:
    method, args, kwargs, exc, name = case
    with pytest.raises(exc) as info:
        getattr(writer, method)(*args, **kwargs)
    assert name in str(info.value), str(info.value)
    assert len(str(info.value)) < 1000  # clear, not a dump of a 70 KB tag


@pytest.mark.parametrize("case", CTOR_CASES, ids=[str(c[0])[:40] for c in CTOR_CASES])
def test_invalid_constructor_argument(tmp_path: Path, case: tuple) -> None:
    kwargs, exc, name = case
    kwargs = {"log_dir": tmp_path / "run", **kwargs}
    with pytest.raises(exc) as info:
        SummaryWriter(**kwargs)
    assert name in str(info.value)
    assert not all_event_files(tmp_path)


def test_table_size() -> None:
    assert len(CASES) + len(CTOR_CASES) >= 60
    methods = {m for m in dir(SummaryWriter) if m.startswith("add_")}
    assert methods <= {c[0] for c in CASES}, "every add_* needs rows in the table"


def test_writer_still_works_and_earlier_data_is_intact(writer: SummaryWriter) -> None:
    # Runs after the table (same module-scoped writer).
    writer.add_scalar("after", 2.0, 2)
    writer.add_scalars("m", {"a": 2.0}, 2)
    writer.add_text("t", "after", 2)
    writer.flush()
    log_dir = Path(writer.log_dir)
    files = all_event_files(log_dir)
    # Nothing was created outside log_dir/run, and only the sub-run the valid calls made.
    assert {f.parent for f in files} == {log_dir, log_dir / "m_a"}
    assert not list(log_dir.parent.glob("escape*"))
    main = [e for e in our_events(log_dir / files[0].name) if e["kind"] == "summary"]
    assert len(tb_loaded_events(files[0])) == len(main) + 1
    got = [(e["values"][0]["tag"], e["step"]) for e in main]
    assert got == [("before", 1), ("t/text_summary", 1), ("after", 2), ("t/text_summary", 2)]
    sub = [e for e in our_events(next(f for f in files if f.parent.name == "m_a"))]
    assert [e["step"] for e in sub if e["kind"] == "summary"] == [1, 2]


def test_absolute_looking_keys_stay_inside_log_dir(tmp_path: Path) -> None:
    # torch joins "{main}_{key}": "/etc/x" becomes the nested directory "m_/etc/x", inside.
    with SummaryWriter(tmp_path / "run") as w:
        w.add_scalars("m", {"/etc/x": 1.0, "./y": 2.0}, 0)
        w.add_scalars("a/b", {"c": 3.0}, 0)
    root = (tmp_path / "run").resolve()
    dirs = {f.parent.resolve() for f in all_event_files(tmp_path)}
    assert all(d == root or root in d.parents for d in dirs), dirs
    assert root / "m_" / "etc" / "x" in dirs
    assert root / "a_b_c" in dirs


VALID: list[tuple[str, tuple]] = [
    ("add_scalar", ("nan", NAN, 0)),
    ("add_scalar", ("inf", INF, 1)),
    ("add_scalar", ("-inf", -INF, 2)),
    ("add_scalar", ("neg_step", 1.0, -5)),
    ("add_scalar", ("min_step", 1.0, -(2**63))),
    ("add_scalar", ("max_step", 1.0, 2**63 - 1)),
    ("add_scalar", ("", 1.0, 3)),
    ("add_scalar", ("nul\0tag", 1.0, 4)),
    ("add_scalar", ("ünïcödé/标签", np.float16(0.5), np.int64(5))),
    ("add_scalar", ("bool", True, torch.tensor(6))),
    ("add_scalar", ("big", 1e308, 7.0)),
    ("add_text", ("huge", "z" * 10_000_000, 8)),
    ("add_text", ("empty", "", 9)),
    ("add_scalars", ("nan", {"a": NAN, "b": -INF}, 10)),
]


def test_valid_edge_cases_are_accepted(tmp_path: Path) -> None:
    with SummaryWriter(tmp_path) as w:
        for method, args in VALID:
            getattr(w, method)(*args)
    (main,) = [f for f in all_event_files(tmp_path) if f.parent == tmp_path]
    events = [e for e in our_events(main) if e["kind"] == "summary"]
    by_tag: dict[str, Any] = {e["values"][0]["tag"]: e for e in events}
    assert math.isnan(by_tag["nan"]["values"][0]["simple_value"])
    assert by_tag["-inf"]["values"][0]["simple_value"] == -INF
    assert by_tag["min_step"]["step"] == -(2**63)
    assert by_tag["max_step"]["step"] == 2**63 - 1
    assert by_tag["neg_step"]["step"] == -5
    assert "nul\0tag" in by_tag
    assert len(by_tag["huge/text_summary"]["values"][0]["tensor"]["values"][0]) == 10_000_000
    assert len(events) == len(VALID) - 1
