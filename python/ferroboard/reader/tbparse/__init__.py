"""tbparse emulation: :class:`SummaryReader` (:mod:`._reader`) and the parts of
``tbparse.SummaryReader``'s surface that are not DataFrames (:mod:`._helpers`: static helpers,
the tree of child readers, TensorBoard's raw event classes)."""

from ._helpers import (
    AudioEvent,
    HistogramEvent,
    HistogramValue,
    ImageEvent,
    ScalarEvent,
    TensorEvent,
)
from ._reader import (
    ALL_EVENT_TYPES,
    ALL_EXTRA_COLUMNS,
    RAW_KINDS,
    TBPARSE_KINDS,
    TEXT_SUFFIX,
    SummaryReader,
)

__all__ = [
    "ALL_EVENT_TYPES",
    "ALL_EXTRA_COLUMNS",
    "RAW_KINDS",
    "TBPARSE_KINDS",
    "TEXT_SUFFIX",
    "AudioEvent",
    "HistogramEvent",
    "HistogramValue",
    "ImageEvent",
    "ScalarEvent",
    "SummaryReader",
    "TensorEvent",
]
