"""``FileWriter``: torch's ``writer.file_writer`` and ``writer.all_writers`` entries, for events
given as protobuf messages."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Optional

from .. import _inputs
from .._native import NativeWriter

if TYPE_CHECKING:
    from ._summary_writer import SummaryWriter


class FileWriter:
    """The part of torch's ``FileWriter`` that user code reaches through
    ``writer.file_writer`` and ``writer.all_writers``: events given as protobuf messages
    (anything with ``SerializeToString``, such as TensorBoard's or tensorboardX's ``Event``
    and ``Summary``), written to the main event file or, for ``run``, to the event file of
    that ``add_scalars`` sub-run (a directory under ``log_dir``).

    ``flush()`` and ``close()`` act on the whole ``SummaryWriter`` (torch's act on this one
    file): closing every writer of ``all_writers`` leaves the same result."""

    def __init__(self, writer: SummaryWriter, run: Optional[str] = None) -> None:
        self._writer = writer
        self._run = run

    def get_logdir(self) -> str:
        if self._run is None:
            return self._writer.log_dir
        return self._writer.log_dir + "/" + self._run

    def _write(self, payload: bytes) -> None:
        if self._run is None:
            self._writer._write_event(payload)
        else:
            self._writer._write_event_to(self._run, payload)

    def add_event(
        self, event: Any, step: Optional[int] = None, walltime: Optional[float] = None
    ) -> None:
        """Writes ``event`` (an ``Event`` message), setting its wall time (now unless given)
        and step (when given), as torch's ``FileWriter.add_event`` does."""
        if not hasattr(event, "SerializeToString"):
            raise TypeError(f"event must be an Event protobuf message, got {type(event).__name__}")
        event.wall_time = time.time() if walltime is None else walltime
        if step is not None:
            event.step = _inputs.step(step, "step")
        self._write(event.SerializeToString())

    def add_summary(
        self, summary: Any, global_step: Optional[int] = None, walltime: Optional[float] = None
    ) -> None:
        """Writes ``summary`` (a ``Summary`` message, or its serialized bytes) as one event,
        at ``global_step`` (0 when ``None``) and ``walltime`` (now when ``None``), as torch's
        ``FileWriter.add_summary``."""
        if isinstance(summary, (bytes, bytearray, memoryview)):
            raw = bytes(summary)
        elif hasattr(summary, "SerializeToString"):
            raw = summary.SerializeToString()
        else:
            raise TypeError(
                f"summary must be a Summary protobuf message (or its serialized bytes), "
                f"got {type(summary).__name__}"
            )
        self._write(NativeWriter._summary_event(raw, global_step, walltime))

    def flush(self) -> None:
        self._writer.flush()

    def reopen(self) -> None:
        """torch's ``FileWriter.reopen()``: opens the writer again after ``close()`` (a new
        event file); does nothing while it is open."""
        self._writer._open()

    def close(self) -> None:
        self._writer.close()
