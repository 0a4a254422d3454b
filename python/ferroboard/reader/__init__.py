"""Reading TensorBoard logdirs in bulk (parsing in Rust): :mod:`.api` (``read``,
``read_scalars``, ``ReadResult``, ``LogTail``), :mod:`.frames` (pandas, Arrow and polars
adapters) and :mod:`.tbparse` (the ``tbparse.SummaryReader`` drop-in); the typed shape
of the native reader's output (``FileReport``, ``ScalarColumns``, ``ItemColumns``, ...) is
in :mod:`._contract`."""

# Names importable from ``ferroboard.reader`` before it was a package, outside ``__all__`` as
# they were: re-exported explicitly (``X as X``).
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
from .api import (
    AUDIO as AUDIO,
)
from .api import (
    ENCODINGS as ENCODINGS,
)
from .api import (
    HISTOGRAMS as HISTOGRAMS,
)
from .api import (
    HPARAMS as HPARAMS,
)
from .api import (
    IMAGES as IMAGES,
)
from .api import (
    KINDS as KINDS,
)
from .api import (
    PR_CURVES as PR_CURVES,
)
from .api import (
    SCALARS as SCALARS,
)
from .api import (
    TENSORS as TENSORS,
)
from .api import (
    TEXT as TEXT,
)
from .api import (
    CorruptRecordError,
    LogTail,
    ReadResult,
    read,
    read_scalars,
)
from .api import (
    PathLike as PathLike,
)
from .frames import scalars_arrow, scalars_frame, scalars_polars
from .tbparse import (
    ALL_EVENT_TYPES as ALL_EVENT_TYPES,
)
from .tbparse import (
    ALL_EXTRA_COLUMNS as ALL_EXTRA_COLUMNS,
)
from .tbparse import (
    RAW_KINDS as RAW_KINDS,
)
from .tbparse import (
    TBPARSE_KINDS as TBPARSE_KINDS,
)
from .tbparse import (
    TEXT_SUFFIX as TEXT_SUFFIX,
)
from .tbparse import (
    ScalarEvent as ScalarEvent,
)
from .tbparse import (
    SummaryReader,
)
from .tbparse import (
    TensorEvent as TensorEvent,
)

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
