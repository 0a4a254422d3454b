"""ferroboard: fast, faithful TensorBoard event files from Python, with a Rust core.

``from ferroboard import SummaryWriter`` is a drop-in replacement for
``torch.utils.tensorboard.SummaryWriter``.
"""

from ._native import __version__
from .events import iter_events
from .writer import SummaryWriter

__all__ = ["SummaryWriter", "__version__", "iter_events"]
