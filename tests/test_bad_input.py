"""Bad input gets a clear exception naming the argument, and the writer keeps working."""

from __future__ import annotations

import re

import ferroboard
import numpy as np
import pytest
import torch

from tests.support.judges import tb_events
from tests.support.logdirs import event_files

NAN = float("nan")

# (method, args, kwargs, exception type, text the message must contain)
BAD_CALLS = [
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
    ("add_scalars", ("m", [("a", 1.0)]), {}, TypeError, "tag_scalar_dict"),
    ("add_scalars", ("m", {1: 1.0}), {}, TypeError, "tag_scalar_dict key"),
    ("add_scalars", ("m", {"a": "x"}), {}, TypeError, "tag_scalar_dict"),
    ("add_scalars", ("m", {"../../escape": 1.0}), {}, ValueError, "outside log_dir"),
    ("add_scalars", ("m", {"a/../../x": 1.0}), {}, ValueError, "outside log_dir"),
    ("add_scalars", ("m", {"a\x00b": 1.0}), {}, ValueError, "NUL"),
    ("add_scalars", ("m", {"ok": 1.0, "bad": None}), {}, TypeError, "tag_scalar_dict"),
    ("add_scalars", (3, {"a": 1.0}), {}, TypeError, "main_tag"),
    ("add_scalars", ("m", {"a": 1.0}), {"global_step": "x"}, TypeError, "global_step"),
    ("add_text", ("t", 3), {}, TypeError, "text_string"),
    ("add_text", ("t", b"bytes"), {}, TypeError, "text_string"),
    ("add_text", ("t", "bad\udfff"), {}, ValueError, "text_string"),
    ("add_text", (None, "x"), {}, TypeError, "tag"),
    ("add_text", ("t", "x"), {"walltime": NAN}, ValueError, "walltime"),
    ("add_histogram", ("h", [NAN]), {}, ValueError, "values"),
    ("add_histogram", ("h", [1.0]), {"bins": "nope"}, ValueError, "bins"),
    ("add_pr_curve", ("p", [0, 2], [0.5, 0.5]), {}, ValueError, "labels"),
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
]


@pytest.mark.parametrize(("method", "args", "kwargs", "exc", "needle"), BAD_CALLS)
def test_bad_call_raises_and_writer_keeps_working(logdir, method, args, kwargs, exc, needle):
    w = ferroboard.SummaryWriter(str(logdir))
    w.add_scalar("before", 1.0, 1)
    with pytest.raises(exc, match=needle.replace("(", r"\(").replace("[", r"\[")):
        getattr(w, method)(*args, **kwargs)
    w.add_scalar("after", 2.0, 2)
    w.close()
    runs = event_files(logdir)
    tags = [v.tag for e in tb_events(runs["."][0]) for v in e.summary.value]
    assert tags == ["before", "after"]
    # A refused add_scalars wrote nothing at all (no partial sub-runs).
    assert list(runs) == ["."]


@pytest.mark.parametrize(("method", "args", "kwargs", "exc", "needle"), BAD_CALLS)
def test_bad_call_raises_the_same_when_not_writing_to_disk(
    tmp_path, method, args, kwargs, exc, needle
):
    """write_to_disk=False validates exactly as usual (the same exception and message), and
    still writes nothing."""
    normal = ferroboard.SummaryWriter(str(tmp_path / "normal"))
    with pytest.raises(exc) as expected:
        getattr(normal, method)(*args, **kwargs)
    normal.close()
    quiet = ferroboard.SummaryWriter(str(tmp_path / "quiet"), write_to_disk=False)
    quiet.add_scalar("before", 1.0, 1)
    with pytest.raises(exc) as got:
        getattr(quiet, method)(*args, **kwargs)
    assert str(got.value) == str(expected.value)
    quiet.add_scalar("after", 2.0, 2)
    quiet.close()
    assert not (tmp_path / "quiet").exists()


# Error messages show numbers and strings as Python writes them, not numpy's reprs.
PLAIN_MESSAGES = [
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


@pytest.mark.parametrize(("call", "needle"), PLAIN_MESSAGES)
def test_error_messages_show_plain_numbers(logdir, call, needle):
    w = ferroboard.SummaryWriter(str(logdir))
    with pytest.raises(ValueError, match=re.escape(needle)) as info:
        call(w)
    assert "np." not in str(info.value), str(info.value)
    w.close()


def test_numpy_integers_are_accepted_as_max_queue_and_flush_secs(logdir):
    """As torch accepts them (it only stores them)."""
    w = ferroboard.SummaryWriter(str(logdir), max_queue=np.int64(3), flush_secs=np.float32(1))
    w.add_scalar("a", 1.0, 0)
    w.close()
    assert len(tb_events(event_files(logdir)["."][0])) == 2


@pytest.mark.parametrize(
    ("kwargs", "exc", "needle"),
    [
        ({"logdir": "/somewhere/else"}, TypeError, "log_dir and logdir"),
        ({"logdir": 5}, TypeError, "logdir"),
        ({"write_to_disk": "False"}, TypeError, "write_to_disk"),
        ({"write_to_disk": None}, TypeError, "write_to_disk"),
        ({"max_queue": np.int64(-1)}, ValueError, "max_queue"),
        ({"max_queue": -1}, ValueError, "max_queue"),
        ({"max_queue": "10"}, ValueError, "max_queue"),
        ({"flush_secs": "1"}, TypeError, "flush_secs"),
        ({"flush_secs": -1}, ValueError, "flush_secs"),
        ({"flush_secs": NAN}, ValueError, "flush_secs"),
        ({"filename_suffix": 3}, TypeError, "filename_suffix"),
        ({"comment": None}, TypeError, "comment"),
        ({"purge_step": "x"}, TypeError, "purge_step"),
    ],
)
def test_bad_constructor_arguments(logdir, kwargs, exc, needle):
    with pytest.raises(exc, match=needle):
        ferroboard.SummaryWriter(str(logdir), **kwargs)


def test_unwritable_log_dir_raises_oserror(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match="file"):
        ferroboard.SummaryWriter(str(blocker / "sub"))
