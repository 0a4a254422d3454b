"""Differential tests: the same calls on torch's SummaryWriter and ours give the same events.

Both files are decoded by TensorBoard's protobuf classes; events must be equal except for the
file name and the header's writer metadata (and the wall time of events torch stamps with
"now" itself: the header and the purge_step pair).
"""

from __future__ import annotations

from pathlib import Path

import ferroboard
import numpy as np
import pytest
import torch
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from tests.support.judges import tb_events
from tests.support.logdirs import event_files


def _normalize(events: list) -> list:
    """Drops what legitimately differs: the header's wall time and writer, and the wall time
    of the purge_step events (torch stamps them with the current time)."""
    out = []
    for e in events:
        e = type(e).FromString(e.SerializeToString())
        if e.HasField("file_version") or e.HasField("session_log"):
            e.wall_time = 0
            e.ClearField("source_metadata")
        out.append(e)
    return out


def _run_both(tmp_path: Path, calls, **kwargs) -> tuple[dict, dict]:
    results = []
    for name, cls in (("torch", TorchWriter), ("ours", ferroboard.SummaryWriter)):
        d = tmp_path / name
        w = cls(str(d), **kwargs)
        for method, args, kw in calls:
            getattr(w, method)(*args, **kw)
        w.close()
        runs = event_files(d)
        results.append(
            {run: [_normalize(tb_events(f)) for f in files] for run, files in runs.items()}
        )
    return results[0], results[1]


def _assert_same(torch_runs: dict, our_runs: dict) -> None:
    assert sorted(torch_runs) == sorted(our_runs)
    for run in torch_runs:
        assert len(torch_runs[run]) == len(our_runs[run]) == 1, run
        t, o = torch_runs[run][0], our_runs[run][0]
        assert len(t) == len(o), (run, len(t), len(o))
        for i, (te, oe) in enumerate(zip(t, o)):
            assert te == oe, f"run {run} event {i}:\ntorch:\n{te}\nours:\n{oe}"


SCALAR_VALUES = [
    0.0,
    -0.0,
    1.5,
    -3,
    True,
    2**40,
    1e-45,
    3.4e38,
    1e300,  # overflows float32 to inf, as torch writes it
    float("inf"),
    float("-inf"),
    np.float16(0.1),
    np.float32(0.1),
    np.float64(0.1),
    np.int64(7),
    np.uint8(200),
    np.bool_(True),
    np.array(2.5),
    np.array([3.5]),
    np.array([[4.5]], dtype=np.float32),
    torch.tensor(5.5),
    torch.tensor([6.5], dtype=torch.float64),
    torch.tensor(7, dtype=torch.int32),
    torch.tensor(0.1, dtype=torch.bfloat16),
    torch.tensor([[0.25]], dtype=torch.float16),
]


@pytest.mark.parametrize("new_style", [False, True])
@pytest.mark.parametrize("double_precision", [False, True])
def test_add_scalar_matches_torch(tmp_path, new_style, double_precision):
    calls = [
        (
            "add_scalar",
            (f"scalars/{i}", v),
            {
                "global_step": i,
                "walltime": 1000.0 + i,
                "new_style": new_style,
                "double_precision": double_precision,
            },
        )
        for i, v in enumerate(SCALAR_VALUES)
    ]
    _assert_same(*_run_both(tmp_path, calls))


def test_nan_scalar_matches_torch(tmp_path):
    # NaN != NaN in protobuf equality, so compare the bytes.
    calls = [("add_scalar", ("nan", float("nan")), {"global_step": 1, "walltime": 5.0})]
    torch_runs, our_runs = _run_both(tmp_path, calls)
    t = torch_runs["."][0][1].SerializeToString()
    o = our_runs["."][0][1].SerializeToString()
    assert t == o


def test_steps_and_walltimes_as_torch_treats_them(tmp_path):
    calls = [
        ("add_scalar", ("a", 1.0), {}),  # no step, no walltime: wall time is "now"
        ("add_scalar", ("a", 1.0), {"global_step": None, "walltime": 10.0}),
        ("add_scalar", ("a", 1.0), {"global_step": -5, "walltime": 11.0}),
        ("add_scalar", ("a", 1.0), {"global_step": 2**62, "walltime": 12.0}),
        ("add_scalar", ("a", 1.0), {"global_step": np.int32(9), "walltime": 13.5}),
        ("add_scalar", ("a", 1.0), {"global_step": torch.tensor(10), "walltime": 14}),
        ("add_scalar", ("a", 1.0), {"global_step": 11, "walltime": np.float64(15.25)}),
    ]
    torch_runs, our_runs = _run_both(tmp_path, calls)
    t, o = torch_runs["."][0], our_runs["."][0]
    # The first call's wall time is the current time in both: equal up to the test's duration.
    assert abs(t[1].wall_time - o[1].wall_time) < 60
    t[1].wall_time = o[1].wall_time = 0
    assert t == o


def test_add_text_matches_torch(tmp_path):
    texts = [
        "hello",
        "",
        "ünïcødé ✓ 😀",
        "# Markdown\n\n| a | b |\n|---|---|\n| 1 | 2 |",
        "x" * 100_000,
    ]
    calls = [
        ("add_text", (f"notes/{i}", s), {"global_step": i, "walltime": 50.0 + i})
        for i, s in enumerate(texts)
    ]
    _assert_same(*_run_both(tmp_path, calls))


def test_add_scalars_matches_torch(tmp_path):
    calls = []
    for step in range(5):
        calls.append(
            (
                "add_scalars",
                (
                    "loss/group",
                    {"train": step * 1.0, "val": np.float32(step / 2), "nested/x": step},
                ),
                {"global_step": step, "walltime": 200.0 + step},
            )
        )
        calls.append(
            ("add_scalar", ("main", step), {"global_step": step, "walltime": 300.0 + step})
        )
    torch_runs, our_runs = _run_both(tmp_path, calls)
    assert sorted(our_runs) == [".", "loss_group_nested/x", "loss_group_train", "loss_group_val"]
    _assert_same(torch_runs, our_runs)


def test_purge_step_matches_torch(tmp_path):
    calls = [
        ("add_scalar", ("a", float(s)), {"global_step": s, "walltime": 400.0 + s})
        for s in range(10, 13)
    ]
    _assert_same(*_run_both(tmp_path, calls, purge_step=10))


def test_close_then_add_reopens_like_torch(tmp_path):
    calls = [
        ("add_scalar", ("a", 1.0), {"global_step": 1, "walltime": 1.0}),
        ("close", (), {}),
        ("add_scalar", ("a", 2.0), {"global_step": 2, "walltime": 2.0}),
    ]
    results = []
    for name, cls in (("torch", TorchWriter), ("ours", ferroboard.SummaryWriter)):
        d = tmp_path / name
        w = cls(str(d), purge_step=1)
        for method, args, kw in calls:
            getattr(w, method)(*args, **kw)
        w.close()
        files = event_files(d)["."]
        results.append([_normalize(tb_events(f)) for f in files])
    torch_files, our_files = results
    assert len(torch_files) == len(our_files) == 2
    assert torch_files == our_files


def test_header_and_file_name(tmp_path):
    import os
    import re
    import socket

    w = ferroboard.SummaryWriter(str(tmp_path), filename_suffix=".sfx")
    path = Path(w._event_file)
    w.close()
    host, pid = re.escape(socket.gethostname()), os.getpid()
    pattern = rf"events\.out\.tfevents\.\d{{10}}\.{host}\.{pid}\.\d+\.sfx"
    assert re.fullmatch(pattern, path.name), path.name
    header = tb_events(path)[0]
    assert header.file_version == "brain.Event:2"
    assert header.source_metadata.writer == "ferroboard"
    assert abs(header.wall_time - int(path.name.split(".")[3])) < 2
