"""Compatibility module: the reader now lives in the :mod:`ferroboard.read` package.

``from ferroboard.reader import X`` keeps working for every public name it offered before
(the functions, classes and constants re-exported below); new code should import from
``ferroboard`` or ``ferroboard.read``. Nothing is defined here.
"""

from .read import api as _api
from .read import tbparse as _tbr
from .read.api import CorruptRecordError, LogTail, ReadResult, read, read_scalars
from .read.frames import scalars_arrow, scalars_frame, scalars_polars
from .read.tbparse import SummaryReader

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

# Importable from here before, outside ``__all__``: still importable, still outside it.
PathLike = _api.PathLike
KINDS = _api.KINDS
ENCODINGS = _api.ENCODINGS
SCALARS, HISTOGRAMS, IMAGES, AUDIO = _api.SCALARS, _api.HISTOGRAMS, _api.IMAGES, _api.AUDIO
TEXT, TENSORS, PR_CURVES, HPARAMS = _api.TEXT, _api.TENSORS, _api.PR_CURVES, _api.HPARAMS
ALL_EVENT_TYPES = _tbr.ALL_EVENT_TYPES
ALL_EXTRA_COLUMNS = _tbr.ALL_EXTRA_COLUMNS
TEXT_SUFFIX = _tbr.TEXT_SUFFIX
TBPARSE_KINDS = _tbr.TBPARSE_KINDS
RAW_KINDS = _tbr.RAW_KINDS
ScalarEvent = _tbr.ScalarEvent
TensorEvent = _tbr.TensorEvent
