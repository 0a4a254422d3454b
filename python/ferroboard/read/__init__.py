"""Reading TensorBoard logdirs in bulk (parsing in Rust): :mod:`.api` (``read``,
``read_scalars``, ``ReadResult``, ``LogTail``), :mod:`.frames` (pandas, Arrow and polars
adapters) and :mod:`.tbparse` (the ``tbparse.SummaryReader`` drop-in)."""

from .api import CorruptRecordError, LogTail, ReadResult, read, read_scalars
from .frames import scalars_arrow, scalars_frame, scalars_polars
from .tbparse import SummaryReader

__all__ = [
    "CorruptRecordError",
    "LogTail",
    "ReadResult",
    "SummaryReader",
    "read",
    "read_scalars",
    "scalars_arrow",
    "scalars_frame",
    "scalars_polars",
]
