"""Typical user code type-checks against ferroboard's stubs (mypy, strict), and misuse does not.

The stubs (``_native.pyi``) and the package's annotations are what editors and type checkers
show users; this runs mypy on small scripts written the way people use the writer and the
reader, and on a script with mistakes mypy must report.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.support.paths import PYTHON_DIR

pytest.importorskip("mypy")

GOOD = """
from __future__ import annotations

import numpy as np
import ferroboard
from ferroboard import SummaryWriter

with SummaryWriter("runs/x", flush_secs=5) as w:
    w.add_scalar("loss", 0.5, 1)
    w.add_scalars("group", {"a": 1.0, "b": 2}, 1)
    w.add_histogram("weights", np.zeros(10), 1, bins="tensorflow", max_bins=30)
    w.add_pr_curve("pr", np.array([0, 1]), np.array([0.2, 0.8]), 1)
    w.add_image("img", np.zeros((3, 8, 8)), 1)
    w.add_images("imgs", np.zeros((2, 3, 8, 8)), 1, dataformats="NCHW")
    w.add_audio("clip", np.zeros(100), 1, sample_rate=8000)
    w.add_video("vid", np.zeros((1, 2, 3, 8, 8)), 1, fps=4)
    w.add_text("note", "hello", 1)
    w.add_hparams({"lr": 0.1}, {"acc": 0.9})
    w.add_embedding(np.zeros((4, 3)), metadata=["a", "b", "c", "d"])
    w.flush()
    logdir: str = w.get_logdir()

res = ferroboard.read("runs/x")
runs: list[str] = res.runs
scalars: dict[str, np.ndarray] = ferroboard.read_scalars("runs/x", tags=["loss"])
for event in ferroboard.iter_events("runs/x"):
    step = event["step"]
"""

BAD = """
from ferroboard import SummaryWriter

w = SummaryWriter()
w.add_scalar(1, 0.5, 1)
w.add_scalars("group", [1.0], 1)
w.add_text("note", b"bytes", 1)
w.no_such_method()
"""


def _mypy(tmp_path: Path, name: str, code: str) -> subprocess.CompletedProcess[str]:
    script = tmp_path / name
    script.write_text(textwrap.dedent(code))
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(script)],
        capture_output=True,
        text=True,
        env={"MYPYPATH": str(PYTHON_DIR), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        timeout=300,
    )


def test_typical_user_code_type_checks(tmp_path):
    p = _mypy(tmp_path, "good.py", GOOD)
    assert p.returncode == 0, p.stdout + p.stderr


def test_misuse_is_reported(tmp_path):
    p = _mypy(tmp_path, "bad.py", BAD)
    assert p.returncode == 1, p.stdout + p.stderr
    for line in (5, 6, 7, 8):
        assert f"bad.py:{line}: error" in p.stdout, (line, p.stdout)
