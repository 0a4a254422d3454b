"""The judges of what a file holds, and ferroboard's own reading beside them.

- :func:`tb_events`: every event as written, framed by TensorBoard's record loader.
- :func:`tb_loaded_events`: the events as TensorBoard's ``EventFileLoader`` hands them to its
  plugins (after its data migration).
- :func:`our_events`: ferroboard's ``iter_events``, the reader being judged.
"""

from __future__ import annotations

import os
from typing import Any

import ferroboard


def tb_events(path: str | os.PathLike[str]) -> list[Any]:
    """Every event of one file as written (no data migration), framed by TensorBoard's own
    record loader and decoded by its protobuf classes."""
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2

    return [event_pb2.Event.FromString(raw) for raw in RawEventFileLoader(os.fspath(path)).Load()]


def tb_loaded_events(path: str | os.PathLike[str]) -> list[Any]:
    """The events of ``path`` as TensorBoard's ``EventFileLoader`` reads them: protobuf
    ``Event``s after its data migration (``simple_value`` scalars become tensors, and so on)."""
    from tensorboard.backend.event_processing import event_file_loader

    return list(event_file_loader.EventFileLoader(os.fspath(path)).Load())


def our_events(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The events of ``path`` as ``ferroboard.iter_events`` reads them."""
    return list(ferroboard.iter_events(path))
