"""Shared test helpers: TensorBoard's own reader is the judge of what a file holds."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def event_files(logdir: str | os.PathLike[str]) -> dict[str, list[Path]]:
    """Run (directory relative to ``logdir``, ``.`` for the root) -> its event files, sorted."""
    root = Path(logdir)
    runs: dict[str, list[Path]] = {}
    for dirpath, _dirs, files in os.walk(root):
        names = sorted(f for f in files if "tfevents" in f)
        if names:
            rel = os.path.relpath(dirpath, root)
            runs[rel] = [Path(dirpath) / f for f in names]
    return runs


def tb_events(path: str | os.PathLike[str]) -> list:
    """Every event of one file as written (no data migration), framed by TensorBoard's own
    record loader and decoded by its protobuf classes."""
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2

    return [event_pb2.Event.FromString(raw) for raw in RawEventFileLoader(os.fspath(path)).Load()]


@pytest.fixture
def logdir(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d
