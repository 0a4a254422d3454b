"""The shape of what ``NativeReader.poll()`` returns (rust/python/src/reader.rs,
``output_dict``): the one contract between the Rust reader and this package.

TypedDicts (plain dicts at run time), ``Literal`` names of the kinds and encodings that
the integer codes stand for, and type guards that check which payload an item holds, so
that mypy (strict) checks every use without a ``cast``. ``_native.pyi`` types ``poll()``
with :class:`NativeReadOutput` and ``READER_KINDS`` with :data:`ReaderKind`;
:class:`~ferroboard.reader.api.ReadResult` hands the parts out through typed accessors
(``files``, ``raw_scalars``, ``items``, ``hparams_records``), so no code outside
:mod:`ferroboard.reader.api` reads the dict itself. Integer codes (``run``, ``file``,
``tag``) index the ``runs``, ``files`` and ``tags`` lists; ``kind`` codes index ``KINDS``;
``encoding`` codes index ``ENCODINGS``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Optional, TypedDict, Union

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from typing import TypeGuard

#: A kind of record the reader returns: ``READER_KINDS`` (``ferroboard._native``) holds these
#: names in the order of their codes (``ItemColumns.kind``, the counts of ``tag_info``);
#: ``tests/test_stubs.py`` checks that the two agree.
ReaderKind = Literal[
    "scalars", "histograms", "images", "audio", "text", "tensors", "pr_curves", "hparams"
]

#: How a scalar was written (``ScalarColumns.encoding`` codes index ``ENCODINGS``, these
#: names in this order): a ``simple_value``, or a rank-0 float, double or half tensor.
ScalarEncoding = Literal["simple_value", "float", "double", "half"]


class FileReport(TypedDict):
    """One event file read: where it stopped and what was wrong with it."""

    run: int
    path: str
    start_offset: int
    end_offset: int
    records: int
    corrupt: list[int]  # byte offsets of records whose payload CRC failed (skipped)
    malformed: list[int]  # byte offsets of records whose CRC matched but hold no Event
    bad_length_at: Optional[int]  # where the first corrupt length of this read starts
    # (offset, length) of each byte range passed over by resynchronising after a corrupt
    # length (the records in it are lost; reading goes on at the next verified record)
    skipped: list[tuple[int, int]]
    pending: int  # bytes of an incomplete final record, left for the next read


class ScalarColumns(TypedDict):
    """Every scalar, one entry per record (both encodings)."""

    run: npt.NDArray[np.uint32]
    file: npt.NDArray[np.uint32]
    tag: npt.NDArray[np.uint32]
    step: npt.NDArray[np.int64]
    wall_time: npt.NDArray[np.float64]
    value: npt.NDArray[np.float64]
    encoding: npt.NDArray[np.uint8]


class HistogramData(TypedDict):
    """A ``HistogramProto`` (``limits``/``counts`` are its ``bucket_limit``/``bucket``)."""

    min: float
    max: float
    num: float
    sum: float
    sum_squares: float
    limits: npt.NDArray[np.float64]
    counts: npt.NDArray[np.float64]


class ImageData(TypedDict):
    """A ``Summary.Image`` (``encoded``: the PNG/GIF/JPEG bytes as written)."""

    width: int
    height: int
    colorspace: int
    encoded: bytes


class AudioData(TypedDict):
    """A ``Summary.Audio`` (``encoded``: the WAV bytes as written)."""

    sample_rate: float
    num_channels: int
    length_frames: int
    content_type: str
    encoded: bytes


#: A tensor: (numpy dtype name, shape, the raw little-endian bytes or, for ``"object"``
#: (strings), one ``bytes`` per element, TensorFlow's ``DataType`` number).
TensorData = tuple[str, tuple[int, ...], Union[bytes, list[bytes]], int]

#: An item's payload: decoded fields for the legacy protos, a tensor, or None (hparams
#: summaries written without a tensor).
ItemData = Union[HistogramData, ImageData, AudioData, TensorData, None]


class ItemColumns(TypedDict):
    """Every non-scalar record, one entry per record, in reading order."""

    kind: npt.NDArray[np.uint8]
    run: npt.NDArray[np.uint32]
    file: npt.NDArray[np.uint32]
    tag: npt.NDArray[np.uint32]
    step: npt.NDArray[np.int64]
    wall_time: npt.NDArray[np.float64]
    data: list[ItemData]


class RunHParams(TypedDict):
    """One run's hparams plugin data (empty ``hparams`` for a run without any)."""

    hparams: dict[str, Any]  # name -> float, str, bool or None
    metric_tags: list[str]
    status: Optional[int]
    group_name: str
    start_time_secs: float


def is_histogram(data: ItemData) -> TypeGuard[HistogramData]:
    """Whether an item's ``data`` holds a histogram's fields (an item of kind ``histograms``
    not written as a tensor)."""
    return isinstance(data, dict) and "limits" in data


def is_image(data: ItemData) -> TypeGuard[ImageData]:
    """Whether an item's ``data`` holds a ``Summary.Image``'s fields."""
    return isinstance(data, dict) and "colorspace" in data


def is_audio(data: ItemData) -> TypeGuard[AudioData]:
    """Whether an item's ``data`` holds a ``Summary.Audio``'s fields."""
    return isinstance(data, dict) and "sample_rate" in data


class NativeReadOutput(TypedDict):
    """The whole of one ``poll()``."""

    runs: list[str]
    tags: list[str]
    files: list[FileReport]
    scalars: ScalarColumns
    items: ItemColumns
    tag_info: list[tuple[int, int, str, list[int]]]  # run, tag, plugin, records per kind
    has_graph: list[bool]  # per run
    graph_defs: list[Optional[bytes]]  # per run: the last GraphDef's bytes, or None
    run_metadata: list[list[str]]  # per run: tags of its RunMetadata
    hparams: list[RunHParams]  # per run
    purges: list[tuple[int, int, int]]  # run, tag, step
