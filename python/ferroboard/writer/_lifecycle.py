"""Writers outlive nothing they were given: the set of open writers, and the hooks that close
them when the process ends (``atexit``; multiprocessing's fork/forkserver children, which skip
``atexit``; SIGTERM, opt-in through ``close_on_sigterm``)."""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing.util
import os
import signal
import weakref
from typing import TYPE_CHECKING, Any

from .._native import _interpreter_exiting

if TYPE_CHECKING:
    from ._summary_writer import SummaryWriter

#: Every writer open in this process (added by ``SummaryWriter.__init__``).
_live_writers: weakref.WeakSet[SummaryWriter] = weakref.WeakSet()


def track(writer: SummaryWriter) -> None:
    """Adds ``writer`` to the writers closed at exit (held weakly: it is dropped when
    collected)."""
    _live_writers.add(writer)


def _close_live_writers() -> None:
    for writer in list(_live_writers):
        # Exit must go on; an error here was already reported or has no one to see it.
        with contextlib.suppress(Exception):
            writer.close()


@atexit.register
def _close_all_writers() -> None:
    """Closes every writer still open when the interpreter exits, so nothing is lost."""
    _close_live_writers()
    # From here on the interpreter may be finalizing: background threads must not call into it.
    _interpreter_exiting()


class _ForkHook:
    """multiprocessing's fork/forkserver children leave through ``os._exit()``, which skips
    ``atexit``; their ``_bootstrap`` runs multiprocessing's finalizers instead. This registers,
    in every such child, a finalizer that closes the writers the child logged to."""


_fork_hook = _ForkHook()


def _register_child_finalizer(_: object) -> None:
    multiprocessing.util.Finalize(None, _close_live_writers, exitpriority=0)


multiprocessing.util.register_after_fork(_fork_hook, _register_child_finalizer)


def close_on_sigterm() -> None:
    """Makes SIGTERM close every open writer (writing everything added so far) before the
    process dies of it.

    Opt-in, because it changes the process's signal handling: by default ferroboard installs
    no signal handler (like torch), and a SIGTERM kills the process at once, losing at most the
    records added within the last drain interval (50 ms). This installs a Python handler for
    SIGTERM that closes every writer, then calls the handler that was there before (a Python
    callable), or restores the default action and re-sends SIGTERM, so the process still ends
    with the same status. Python runs signal handlers in the main thread between bytecodes, so
    a main thread blocked in a long native call delays the exit until that call returns.
    Call it from the main thread.
    """
    previous = signal.getsignal(signal.SIGTERM)

    def _handler(signum: int, frame: Any) -> None:
        _close_live_writers()
        if callable(previous):
            previous(signum, frame)
            return
        if previous == signal.SIG_IGN:
            return
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)

    signal.signal(signal.SIGTERM, _handler)
