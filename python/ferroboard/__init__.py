"""ferroboard: fast, faithful TensorBoard event files from Python, with a Rust core.

``from ferroboard import SummaryWriter`` is a drop-in replacement for
``torch.utils.tensorboard.SummaryWriter``; ``from ferroboard import SummaryReader`` one for
``tbparse.SummaryReader``, and ``ferroboard.read_scalars`` reads scalars straight into numpy.
"""

from ._native import __version__
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
from .writer import SummaryWriter, close_on_sigterm

__all__ = [
    "CorruptRecordError",
    "LogTail",
    "SummaryReader",
    "SummaryWriter",
    "__version__",
    "close_on_sigterm",
    "iter_events",
    "read",
    "read_scalars",
    "scalars_arrow",
    "scalars_frame",
    "scalars_polars",
]
