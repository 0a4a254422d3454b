"""ferroboard: fast, faithful TensorBoard event files from Python, with a Rust core.

``from ferroboard import SummaryWriter`` is a drop-in replacement for
``torch.utils.tensorboard.SummaryWriter``; ``from ferroboard import SummaryReader`` one for
``tbparse.SummaryReader``, and ``ferroboard.read_scalars`` reads scalars straight into numpy.
``ferroboard.patch_torch()`` makes ``torch.utils.tensorboard.SummaryWriter`` ferroboard's, for
libraries that create the writer themselves; so does ``FERROBOARD_PATCH_TORCH=1`` in the
environment, once ferroboard is imported (at torch.utils.tensorboard's import if that comes
later).
"""

import os as _os
import warnings as _warnings

from ._native import __version__
from ._patch import _patch_when_imported, patch_torch, torch_patched, unpatch_torch
from .events import iter_events
from .reader import (
    CorruptRecordError,
    LogTail,
    SummaryReader,
    read,
    read_scalars,
    scalars_arrow,
    scalars_frame,
    scalars_polars,
)
from .rewrite import rewrite
from .writer import SummaryWriter, close_on_sigterm, get_rank

__all__ = [
    "CorruptRecordError",
    "LogTail",
    "SummaryReader",
    "SummaryWriter",
    "__version__",
    "close_on_sigterm",
    "get_rank",
    "iter_events",
    "patch_torch",
    "read",
    "read_scalars",
    "rewrite",
    "scalars_arrow",
    "scalars_frame",
    "scalars_polars",
    "torch_patched",
    "unpatch_torch",
]


def _patch_from_environment() -> None:
    """``FERROBOARD_PATCH_TORCH=1`` (or true/yes/on): ``patch_torch()`` now if
    ``torch.utils.tensorboard`` is imported already, else as soon as something imports it
    (importing ferroboard does not import torch). Any other value but 0/false/no/off/empty
    is a warning, not an import error."""
    value = _os.environ.get("FERROBOARD_PATCH_TORCH", "").strip().lower()
    if value in ("", "0", "false", "no", "off"):
        return
    if value not in ("1", "true", "yes", "on"):
        _warnings.warn(
            f"FERROBOARD_PATCH_TORCH must be 1/true/yes/on or 0/false/no/off, got {value!r}; "
            "torch is not patched",
            RuntimeWarning,
            stacklevel=3,
        )
        return
    _patch_when_imported()


_patch_from_environment()
