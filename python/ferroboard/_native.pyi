# Type stubs for the native module ferroboard._native (checked against it by tests/test_stubs.py).
import os
from collections.abc import Callable, Sequence
from typing import Any, Literal, Optional, Union

import numpy as np
import numpy.typing as npt

from .reader._contract import NativeReadOutput

__version__: str

def set_converters(
    scalar: Callable[[Any, str], float], step: Callable[[Any, str], int]
) -> None: ...
def _interpreter_exiting() -> None: ...

class PendingEvent:
    """An event encoded later, on the writer thread (media summaries build these)."""

    def resolve(self) -> bytes:
        """Encodes now, on this thread, and returns the serialized event (once)."""
        ...

class NativeWriter:
    def __new__(cls, *_args: Any, **_kwargs: Any) -> NativeWriter: ...
    def _configure(
        self,
        log_dir: Union[str, os.PathLike[str]],
        max_queue: int,
        flush_secs: float,
        filename_suffix: str,
        purge_step: Optional[int],
        fsync: bool = False,
        write_to_disk: bool = True,
    ) -> None:
        """Configures the writer and opens its event file; ``write_to_disk=False`` makes it
        encode and validate everything as usual and write nothing (no directory, no file)."""
        ...
    def add_scalar(
        self,
        tag: str,
        scalar_value: Any,
        global_step: Optional[int] = None,
        walltime: Optional[float] = None,
        new_style: bool = False,
        double_precision: bool = False,
    ) -> None: ...
    def add_scalars(
        self,
        main_tag: str,
        tag_scalar_dict: dict[str, Any],
        global_step: Optional[int] = None,
        walltime: Optional[float] = None,
    ) -> None: ...
    def add_text(
        self,
        tag: str,
        text_string: str,
        global_step: Optional[int] = None,
        walltime: Optional[float] = None,
    ) -> None: ...
    def _write_event(self, payload: bytes) -> None: ...
    def _write_event_to(self, run: str, payload: bytes) -> None:
        """Appends one serialized ``Event`` to the event file of the ``add_scalars`` sub-run
        ``run`` (a relative directory under ``log_dir``, created if missing)."""
        ...
    def _open(self) -> None:
        """Opens a closed writer again (a new event file), as torch's ``_get_file_writer()``;
        does nothing while it is open."""
        ...
    def _write_pending(self, pending: PendingEvent) -> None:
        """Appends ``pending`` to the main event file, in order; it is encoded on the writer thread."""
        ...
    def _write_deferred(self, producer: Callable[[], bytes]) -> None: ...
    @staticmethod
    def _event_bytes(
        value: bytes, global_step: Optional[int] = None, walltime: Optional[float] = None
    ) -> bytes: ...
    @staticmethod
    def _summary_event(
        summary: bytes, global_step: Optional[int] = None, walltime: Optional[float] = None
    ) -> bytes: ...
    def flush(self) -> None: ...
    def close(self) -> None: ...
    @property
    def _event_file(self) -> Optional[str]: ...
    @property
    def _closed(self) -> bool: ...
    @property
    def _sub_runs(self) -> list[str]:
        """The ``add_scalars`` sub-runs opened since the writer was last (re)opened, in the
        order they were opened; empty while closed."""
        ...

class EventIterator:
    truncated: Optional[int]
    corrupt_records: int
    def __new__(
        cls, path: Union[str, os.PathLike[str]], check_crc: bool = True
    ) -> EventIterator: ...
    def __iter__(self) -> EventIterator: ...
    def __next__(self) -> dict[str, Any]: ...

# Histograms and PR curves (rust/python/src/histogram.rs): each returns a serialized Event.
def histogram_event(
    tag: str,
    values: Any,
    edges: Optional[Any] = None,
    uniform: bool = False,
    max_bins: Optional[int] = None,
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
    encoding: Optional[str] = None,
) -> bytes: ...
def histogram_raw_event(
    tag: str,
    min: float,
    max: float,
    num: float,
    sum: float,
    sum_squares: float,
    bucket_limits: list[float],
    bucket_counts: list[float],
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
) -> bytes: ...
def pr_curve_event(
    tag: str,
    labels: Any,
    predictions: Any,
    num_thresholds: int = 127,
    weights: Any = None,
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
    predictions_encoding: Optional[str] = None,
) -> bytes: ...
def pr_curve_raw_event(
    tag: str,
    true_positive_counts: list[float],
    false_positive_counts: list[float],
    true_negative_counts: list[float],
    false_negative_counts: list[float],
    precision: list[float],
    recall: list[float],
    num_thresholds: int = 127,
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
) -> bytes: ...

class CorruptRecordError(OSError):
    path: str
    offset: int

class NativeReader:
    def __new__(
        cls,
        path: Union[str, os.PathLike[str]],
        kinds: Optional[list[str]] = None,
        runs: Optional[list[str]] = None,
        tags: Optional[list[str]] = None,
        check_crc: bool = True,
        strict: bool = False,
        purge_restarts: bool = False,
    ) -> NativeReader: ...
    def poll(self) -> NativeReadOutput:
        """The records read since the previous call (everything, the first time): see
        ``ferroboard.reader._contract.NativeReadOutput``."""
        ...

#: The reader's kind names, in the order of their codes (``items["kind"]``, ``tag_info``).
READER_KINDS: tuple[str, ...]

def event_files(path: Union[str, os.PathLike[str]]) -> list[tuple[str, str]]:
    """Every event file under ``path`` (``path`` itself for a file) as ``(run, path)``, in
    the order the reader reads them (OSError if ``path`` cannot be listed)."""
    ...

def storage_kind(path: Union[str, os.PathLike[str]]) -> Literal["file", "dir", "missing"]:
    """What ``path`` (a local path or an ``s3://bucket/prefix`` URL) names (ValueError for a
    URL scheme the core does not support, OSError when the store cannot be asked)."""
    ...

def take_names(table: list[str], codes: npt.NDArray[np.uint32]) -> npt.NDArray[np.object_]:
    """``table[codes]`` as an object array (IndexError for a code past the table)."""
    ...

# ---------------------------------------------------------------- media decoding (codec)
# Each takes a sequence of ``bytes`` (TypeError naming the entry otherwise), decodes the batch
# in parallel with the GIL released, and raises ``ValueError(message, index)`` for the first
# item that fails (``message`` starts with ``item <index>:``).

def decode_images(items: Sequence[bytes]) -> list[npt.NDArray[np.uint8]]:
    """PNG or GIF images as ``tf.image.decode_image`` returns them: uint8 ``(H, W, C)`` with
    the file's channels (gray 1, gray+alpha 2, RGB 3, RGBA 4; palette images RGB, or RGBA with
    a tRNS chunk), or ``(T, H, W, 3)`` for a GIF (every frame, composited as TensorFlow does, on a
    canvas the size of the largest frame).
    JPEG and BMP are not decoded (ValueError)."""
    ...

def decode_wavs(items: Sequence[bytes]) -> list[tuple[npt.NDArray[np.float32], int]]:
    """WAV audio as ``tf.audio.decode_wav`` returns it: ``(float32 (frames, channels),
    sample_rate)``; 16-bit PCM as ``int16 / 32768``. Also 8-bit (``(v - 128) / 128``), 24- and
    32-bit PCM and 32/64-bit float, which TensorFlow refuses."""
    ...

def wav_infos(items: Sequence[bytes]) -> list[Optional[tuple[int, int, int]]]:
    """Each WAV header's ``(sample_rate, channels, frames)`` without decoding samples;
    ``None`` for an item that is not a WAV this module decodes."""
    ...
