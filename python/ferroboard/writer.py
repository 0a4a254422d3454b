"""``SummaryWriter``: a drop-in replacement for ``torch.utils.tensorboard.SummaryWriter``.

Same constructor, defaults and ``add_*`` signatures as torch's, and the same bytes on disk
(TensorBoard renders the files exactly as it renders torch's). The hot methods
(``add_scalar``, ``add_scalars``, ``add_text``) are implemented natively in
``ferroboard._native.NativeWriter``; encoding, CRC and file I/O run in Rust, and events reach
the file through one background thread per writer, in call order.
"""

from __future__ import annotations

import atexit
import os
import socket
import weakref
from datetime import datetime
from typing import Any, Optional, Union

from . import _convert
from ._native import NativeWriter, set_converters

set_converters(_convert.scalar, _convert.step)

_live_writers: weakref.WeakSet[SummaryWriter] = weakref.WeakSet()


@atexit.register
def _close_all_writers() -> None:
    """Closes every writer still open when the interpreter exits, so nothing is lost."""
    for writer in list(_live_writers):
        try:
            writer.close()
        except Exception:  # noqa: BLE001 - exit must go on; the error was already reported
            pass


def _default_log_dir(comment: str) -> str:
    current_time = datetime.now().strftime("%b%d_%H-%M-%S")
    return os.path.join("runs", current_time + "_" + socket.gethostname() + comment)


class SummaryWriter(NativeWriter):
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
    """

    def __init__(
        self,
        log_dir: Optional[Union[str, os.PathLike[str]]] = None,
        comment: str = "",
        purge_step: Optional[int] = None,
        max_queue: int = 10,
        flush_secs: int = 120,
        filename_suffix: str = "",
    ) -> None:
        if not isinstance(comment, str):
            raise TypeError(f"comment must be a str, got {type(comment).__name__}")
        if not isinstance(filename_suffix, str):
            raise TypeError(
                f"filename_suffix must be a str, got {type(filename_suffix).__name__}"
            )
        if isinstance(max_queue, bool) or not isinstance(max_queue, int) or max_queue < 0:
            raise ValueError(f"max_queue must be a non-negative int, got {max_queue!r}")
        if isinstance(flush_secs, bool) or not isinstance(flush_secs, (int, float)):
            raise TypeError(f"flush_secs must be a number, got {type(flush_secs).__name__}")
        if not log_dir:
            log_dir = _default_log_dir(comment)
        self.log_dir = os.fspath(log_dir)
        self.purge_step = purge_step
        self.max_queue = max_queue
        self.flush_secs = flush_secs
        self.filename_suffix = filename_suffix
        self._configure(self.log_dir, max_queue, float(flush_secs), filename_suffix, purge_step)
        _live_writers.add(self)

    def get_logdir(self) -> str:
        """Returns the directory where event files will be written."""
        return self.log_dir

    def __enter__(self) -> SummaryWriter:
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SummaryWriter(log_dir={self.log_dir!r})"
