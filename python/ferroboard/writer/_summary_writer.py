"""``SummaryWriter``: a drop-in replacement for ``torch.utils.tensorboard.SummaryWriter``.

Same constructor, defaults and ``add_*`` signatures as torch's, and the same bytes on disk
(TensorBoard renders the files exactly as it renders torch's). The hot methods
(``add_scalar``, ``add_scalars``, ``add_text``) are implemented natively in
``ferroboard._native.NativeWriter``; encoding, CRC and file I/O run in Rust, and events reach
the file through one background thread per writer, in call order.
"""

from __future__ import annotations

import numbers
import os
import socket
from datetime import datetime
from typing import Any, Callable, Optional, Union, cast

import numpy as np

from .. import _inputs
from .._inputs import plain
from .._native import NativeWriter, set_converters
from ._audio import AudioMethods
from ._embedding import EmbeddingMethods
from ._file_writer import FileWriter
from ._graph import GraphMethods
from ._histogram import TORCH_DEFAULT_BINS, HistogramMethods
from ._image import ImageMethods
from ._lifecycle import track
from ._mesh import MeshMethods
from ._pr_curve import PrCurveMethods
from ._structural import StructuralMethods
from ._video import VideoMethods

set_converters(_inputs.scalar, _inputs.step, _inputs.scalar_or_later)


def _reopen(cls: type[SummaryWriter], settings: dict[str, Any]) -> SummaryWriter:
    """Unpickles a writer: a new writer with the same settings and its own event file."""
    writer = cast("SummaryWriter", cls.__new__(cls))
    SummaryWriter.__init__(writer, **settings)
    return writer


def _path_str(path: Any, name: str) -> str:
    """``path`` as a plain ``str`` (``os.fspath``, bytes decoded as the OS does)."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise TypeError(f"{name} must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    return str(path) if isinstance(path, str) else os.fsdecode(path)


def _default_log_dir(comment: str) -> str:
    current_time = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", current_time + "_" + socket.gethostname() + comment)


class SummaryWriter(
    HistogramMethods,
    PrCurveMethods,
    AudioMethods,
    VideoMethods,
    MeshMethods,
    StructuralMethods,
    ImageMethods,
    GraphMethods,
    EmbeddingMethods,
    NativeWriter,
):
    """Writes entries directly to event files in ``log_dir`` for TensorBoard to read.

    Args:
        log_dir: Save directory. Default ``runs/CURRENT_DATETIME_HOSTNAME{comment}``.
        comment: Suffix appended to the default ``log_dir``; ignored when ``log_dir`` is given.
        purge_step: When logging resumes after a crash at step ``T + X`` from a checkpoint at
            step ``T``, events with ``global_step >= T`` are hidden by TensorBoard. Written as
            torch writes it.
        max_queue: Capacity of the queue to the background writer, in batches of events
            (each batch holds up to 1024 events or 1 MiB). Bounds memory; a full queue makes
            ``add_*`` wait.
        flush_secs: Longest time, in seconds, an event stays in memory before it is handed to
            the operating system (events are handed over every 50 ms when that is shorter).
        filename_suffix: Suffix added to every event file name in ``log_dir``.
        logdir: tensorboardX's name for ``log_dir`` (keyword only); giving both, with
            different values, is a ``TypeError``.
        write_to_disk: tensorboardX's option (keyword only). ``False`` writes nothing (no
            directory, no file): every call is validated and encoded as usual, raising the
            same exceptions for bad input, and the result is dropped. For the non-zero ranks
            of distributed training (see :func:`get_rank`).
        fsync: ``True`` makes ``flush()`` and ``close()`` return only after the data is on the
            storage device (``fdatasync`` on every event file), not merely handed to the
            operating system, so a power loss or kernel crash loses nothing flushed. Keyword
            only; ``False`` (the default) is what torch and tensorboardX do. It costs one
            device round trip per file at each ``flush()`` and ``close()``; the periodic
            hand-over to the operating system (every 50 ms or ``flush_secs``) does not sync.

    Attributes, as torch's: ``log_dir``, ``purge_step``, ``max_queue``, ``flush_secs``,
    ``filename_suffix``, ``default_bins`` (the edges of ``bins="tensorflow"``),
    ``file_writer`` (``None`` after ``close()``), ``all_writers`` (``log_dir`` and each
    ``add_scalars`` sub-run to its file writer; ``None`` after ``close()``); ``logdir`` as
    tensorboardX's.
    """

    log_dir: str
    purge_step: Optional[int]
    max_queue: int
    flush_secs: float
    filename_suffix: str
    default_bins: list[float]
    _stock_bins: list[float]
    _write_to_disk: bool
    _fsync: bool
    _main_file_writer: FileWriter

    def __init__(
        self,
        log_dir: Optional[Union[str, os.PathLike[str]]] = None,
        comment: str = "",
        purge_step: Optional[int] = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
        *,
        logdir: Optional[Union[str, os.PathLike[str]]] = None,
        write_to_disk: bool = True,
        fsync: bool = False,
    ) -> None:
        if not isinstance(fsync, (bool, np.bool_)):
            raise TypeError(f"fsync must be a bool, got {type(fsync).__name__}")
        fsync = bool(fsync)
        if logdir is not None:
            if log_dir and _path_str(log_dir, "log_dir") != _path_str(logdir, "logdir"):
                raise TypeError(
                    "log_dir and logdir (tensorboardX's name for it) were both given, with "
                    f"different values: {plain(log_dir)} and {plain(logdir)}"
                )
            log_dir = logdir
        if isinstance(write_to_disk, (bool, np.bool_)) or (
            isinstance(write_to_disk, numbers.Integral) and write_to_disk in (0, 1)
        ):
            write_to_disk = bool(write_to_disk)
        else:
            raise TypeError(f"write_to_disk must be a bool, got {type(write_to_disk).__name__}")
        if not isinstance(comment, str):
            raise TypeError(f"comment must be a str, got {type(comment).__name__}")
        if not isinstance(filename_suffix, str):
            raise TypeError(f"filename_suffix must be a str, got {type(filename_suffix).__name__}")
        if (
            isinstance(max_queue, (bool, np.bool_))
            or not isinstance(max_queue, numbers.Integral)
            or max_queue < 0
        ):
            raise ValueError(f"max_queue must be a non-negative int, got {plain(max_queue)}")
        if isinstance(flush_secs, (bool, np.bool_)) or not isinstance(flush_secs, numbers.Real):
            raise TypeError(f"flush_secs must be a number, got {type(flush_secs).__name__}")
        if any(c in filename_suffix for c in "/\\\0"):
            raise ValueError(
                f"filename_suffix must not contain path separators or NUL (it is part of a file "
                f"name in log_dir), got {plain(filename_suffix)}"
            )
        if not log_dir:
            log_dir = _default_log_dir(comment)
        log_dir = _path_str(log_dir, "logdir" if logdir is not None else "log_dir")
        if "\0" in log_dir:
            raise ValueError(f"log_dir must not contain NUL, got {log_dir!r}")
        self.log_dir = log_dir
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self.default_bins = self._stock_bins = list(TORCH_DEFAULT_BINS)
        self._write_to_disk = write_to_disk
        self._fsync = fsync
        self._main_file_writer = FileWriter(self)
        self._configure(
            self.log_dir,
            int(max_queue),
            float(flush_secs),
            filename_suffix,
            purge_step,
            fsync=fsync,
            write_to_disk=write_to_disk,
        )
        track(self)

    def get_logdir(self) -> str:
        """Returns the directory where event files will be written."""
        return self.log_dir

    @property
    def logdir(self) -> str:
        """tensorboardX's name for ``log_dir``."""
        return self.log_dir

    @property
    def file_writer(self) -> Optional[FileWriter]:
        """torch's ``writer.file_writer``: the main event file, for ``add_event`` and
        ``add_summary`` with protobuf messages built elsewhere; ``None`` while closed (after
        ``close()``, until an ``add_*`` or ``_get_file_writer()`` reopens the writer)."""
        return None if self._closed else self._main_file_writer

    @property
    def all_writers(self) -> Optional[dict[str, FileWriter]]:
        """torch's ``writer.all_writers``: ``{log_dir: file_writer}`` plus, for every sub-run
        ``add_scalars`` opened, ``{log_dir + "/" + sub-run: its file writer}`` (torch's keys);
        ``None`` while closed. A new dict on each access."""
        if self._closed:
            return None
        writers = {self.log_dir: self._main_file_writer}
        for run in self._sub_runs:
            writers[self.log_dir + "/" + run] = FileWriter(self, run)
        return writers

    def _get_file_writer(self) -> FileWriter:
        """torch's ``_get_file_writer()``: the main file writer, reopening a closed writer
        (a new event file) as torch does."""
        self._open()
        return self._main_file_writer

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        if not self._write_to_disk:
            return f"SummaryWriter(log_dir={self.log_dir!r}, write_to_disk=False)"
        return f"SummaryWriter(log_dir={self.log_dir!r})"

    def __reduce__(
        self,
    ) -> tuple[Callable[..., SummaryWriter], tuple[type[SummaryWriter], dict[str, Any]]]:
        """Pickling keeps the settings, not the file: unpickling (in a ``spawn`` worker, say)
        opens a new writer on the same ``log_dir`` with its own event file (its pid in the
        name). ``purge_step`` is not carried over: it applies once, to the original writer.
        ``write_to_disk=False`` and ``fsync`` are kept. torch's writer
        cannot be pickled at all."""
        settings = {
            "log_dir": self.log_dir,
            "max_queue": self.max_queue,
            "flush_secs": self.flush_secs,
            "filename_suffix": self.filename_suffix,
            "write_to_disk": self._write_to_disk,
            "fsync": self._fsync,
        }
        return _reopen, (type(self), settings)
