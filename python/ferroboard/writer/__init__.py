"""``ferroboard.writer``: ``SummaryWriter``, a drop-in replacement for
``torch.utils.tensorboard.SummaryWriter``, and its helpers."""

from __future__ import annotations

from ._summary_writer import FileWriter, SummaryWriter, close_on_sigterm, get_rank
from ._summary_writer import _reopen as _reopen  # pickles made before the package unpickle

__all__ = ["FileWriter", "SummaryWriter", "close_on_sigterm", "get_rank"]
