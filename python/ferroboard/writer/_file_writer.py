"""``FileWriter``: torch's ``writer.file_writer`` and ``writer.all_writers`` entries, for events
and graphs given as protobuf messages, with their ``event_writer`` (the event file's name)."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING, Any, Optional

from .. import _inputs
from .._native import NativeWriter, graph_profile_events, serialized_graph_event

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
        self.event_writer = EventFileWriter(self)

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

    def add_graph(self, graph_profile: Any, walltime: Optional[float] = None) -> None:
        """Writes ``graph_profile``, a ``(GraphDef, RunMetadata)`` pair of protobuf messages
        (what torch's ``torch.utils.tensorboard._pytorch_graph.graph`` returns), as torch's
        ``FileWriter.add_graph``: the graph event, then the run metadata tagged ``step1``, at
        ``walltime`` (now when ``None``)."""
        try:
            graph, run_metadata = graph_profile[0], graph_profile[1]
        except (TypeError, IndexError, KeyError):
            raise TypeError(
                "graph_profile must be a (GraphDef, RunMetadata) pair of protobuf messages, "
                f"got {type(graph_profile).__name__}"
            ) from None
        events = graph_profile_events(
            _serialized(graph, "graph_profile[0]"),
            _serialized(run_metadata, "graph_profile[1]"),
            walltime,
        )
        for event in events:
            self._write(event)

    def add_onnx_graph(self, graph: Any, walltime: Optional[float] = None) -> None:
        """Writes ``graph``, a ``GraphDef`` protobuf message, as torch's
        ``FileWriter.add_onnx_graph`` (``SummaryWriter.add_onnx_graph`` reads an ONNX file)."""
        self._write(serialized_graph_event(_serialized(graph, "graph"), walltime))

    def flush(self) -> None:
        self._writer.flush()

    def reopen(self) -> None:
        """torch's ``FileWriter.reopen()``: opens the writer again after ``close()`` (a new
        event file); does nothing while it is open."""
        self._writer._open()

    def close(self) -> None:
        self._writer.close()


def _serialized(message: Any, name: str) -> bytes:
    """``message.SerializeToString()``, or a ``TypeError`` naming ``name``."""
    serialize = getattr(message, "SerializeToString", None)
    raw = serialize() if callable(serialize) else None
    if not isinstance(raw, bytes):
        raise TypeError(f"{name} must be a protobuf message, got {type(message).__name__}")
    return raw


class EventFileWriter:
    """torch's ``file_writer.event_writer`` (TensorBoard's ``EventFileWriter``) as code reaches
    it: ``_file_name``, the path of the event file (loggers upload or remove it by that
    name); ``get_logdir()`` and ``_logdir``; ``add_event``, which writes an ``Event`` message
    as given (its own wall time and step); ``flush()`` and ``close()``, of the whole writer as
    the file writer's are."""

    def __init__(self, file_writer: FileWriter) -> None:
        self._file_writer = file_writer

    @property
    def _logdir(self) -> str:
        return self._file_writer.get_logdir()

    def get_logdir(self) -> str:
        return self._file_writer.get_logdir()

    @property
    def _file_name(self) -> Optional[str]:
        """The event file's path; ``None`` while the writer is closed or writes nothing
        (``write_to_disk=False``)."""
        writer, run = self._file_writer._writer, self._file_writer._run
        path = writer._event_file if run is None else writer._sub_run_file(run)
        return None if path is None else os.fspath(path)

    def add_event(self, event: Any) -> None:
        """Writes ``event`` (an ``Event`` message) as given."""
        self._file_writer._write(_serialized(event, "event"))

    def flush(self) -> None:
        self._file_writer.flush()

    def close(self) -> None:
        self._file_writer.close()
