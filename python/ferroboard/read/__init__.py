"""Reading TensorBoard logdirs in bulk (parsing in Rust): :mod:`.api` (``read``,
``read_scalars``, ``ReadResult``, ``LogTail``), :mod:`.frames` (pandas, Arrow and polars
adapters) and :mod:`.tbparse` (the ``tbparse.SummaryReader`` drop-in); the typed shape
of the native reader's output (``FileReport``, ``ScalarColumns``, ``ItemColumns``, ...) is
in :mod:`._contract`."""

from ._contract import (
    AudioData,
    FileReport,
    HistogramData,
    ImageData,
    ItemColumns,
    ItemData,
    NativeReadOutput,
    RunHParams,
    ScalarColumns,
    TensorData,
)
from .api import CorruptRecordError, LogTail, ReadResult, read, read_scalars
from .frames import scalars_arrow, scalars_frame, scalars_polars
from .tbparse import SummaryReader

__all__ = [
    "AudioData",
    "CorruptRecordError",
    "FileReport",
    "HistogramData",
    "ImageData",
    "ItemColumns",
    "ItemData",
    "LogTail",
    "NativeReadOutput",
    "ReadResult",
    "RunHParams",
    "ScalarColumns",
    "SummaryReader",
    "TensorData",
    "read",
    "read_scalars",
    "scalars_arrow",
    "scalars_frame",
    "scalars_polars",
]
