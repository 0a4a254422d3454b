# Type stubs for the native module ferroboard._native (checked against it by tests/test_stubs.py).
import os
from collections.abc import Callable, Sequence
from typing import Any, Literal, Optional, Union

import numpy as np
import numpy.typing as npt
from typing_extensions import Self

from .reader._contract import NativeReadOutput, ReaderKind

__version__: str

def set_converters(
    scalar: Callable[[Any, str], float],
    step: Callable[[Any, str], int],
    scalar_or_later: Callable[[Any, str], Any],
) -> None:
    """Registers the converters of values the native code does not read itself;
    ``scalar_or_later`` may return a callable that produces the float on the writer thread."""
    ...

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
        *,
        display_name: Optional[str] = "",
        summary_description: Optional[str] = "",
    ) -> None:
        """Adds a scalar, as torch's ``add_scalar``; ``display_name`` and
        ``summary_description`` (tensorboardX's keywords) set the tag's title and description
        in the value's metadata."""
        ...
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
    def _sub_run_file(self, run: str) -> Optional[str]:
        """The path of sub-run ``run``'s event file, or ``None`` when it has none since the
        writer was last (re)opened, while closed, or writing nothing."""
        ...
    @property
    def _closed(self) -> bool: ...
    @property
    def _sub_runs(self) -> list[str]:
        """The ``add_scalars`` sub-runs opened since the writer was last (re)opened, in the
        order they were opened; empty while closed."""
        ...

# The events of one file (rust/python/src/events.rs); ``ferroboard.iter_events`` subclasses it.
class EventIterator:
    """The events of one event file as dicts, with the report of the read so far."""

    def __new__(
        cls, path: Union[str, os.PathLike[str]], check_crc: bool = True, strict: bool = False
    ) -> Self: ...
    def __iter__(self) -> Self: ...
    def __next__(self) -> dict[str, Any]: ...
    @property
    def path(self) -> str: ...
    @property
    def truncated(self) -> Optional[int]:
        """Offset where an incomplete final record starts, once the iteration reached it."""
        ...
    @property
    def corrupt_records(self) -> int: ...
    @property
    def corrupt(self) -> list[int]:
        """Byte offsets of the records skipped for a bad data CRC."""
        ...
    @property
    def malformed(self) -> list[int]:
        """Byte offsets of the records whose CRCs hold but which are not an ``Event``."""
        ...
    @property
    def skipped(self) -> list[tuple[int, int]]:
        """``(offset, length)`` of each byte range passed over after a bad length CRC."""
        ...
    @property
    def bad_length_at(self) -> Optional[int]: ...
    @property
    def records(self) -> int: ...

# Images (rust/python/src/image.rs): the event of one image, encoded on the writer thread.
def image_pending_later(
    tag: str,
    producer: Callable[[], bytes],
    shape: list[int],
    dataformats: str,
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
    compression: str = "fast",
    boxes: Optional[npt.NDArray[np.float64]] = None,
    labels: Optional[list[str]] = None,
    rescale: Optional[float] = None,
) -> PendingEvent:
    """An image whose ``uint8`` levels a device is still producing: ``producer()`` returns
    them (then a non-finite flag byte) on the writer thread; everything else is checked now."""
    ...

def video_event_later(
    tag: str,
    producer: Callable[[], bytes],
    shape: list[int],
    fps: float,
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
) -> PendingEvent:
    """``add_video`` for levels a device is still producing (as ``image_pending_later``)."""
    ...

def image_pending(
    tag: str,
    img_tensor: Any,
    dataformats: str,
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
    encoding: Optional[str] = None,
    compression: str = "fast",
    boxes: Optional[Any] = None,
    labels: Optional[Sequence[str]] = None,
    rescale: Optional[float] = None,
) -> PendingEvent: ...
def _image_queue(limit: Optional[int] = None) -> tuple[int, int]:
    """(bytes of copied pixels waiting for writer threads, the budget); sets the budget first."""
    ...

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
def histogram_counts_pending(
    tag: str,
    producer: Callable[[], Any],
    edges: Optional[list[float]] = None,
    max_bins: Optional[int] = None,
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
) -> PendingEvent:
    """The histogram event for counts a device is still producing: ``producer()``, called on
    the writer thread, returns ``[min, max, num, sum, sum_squares, counts...]``, one count per
    bin of ``edges`` (``None``: the default edges)."""
    ...

def default_histogram_edges() -> Any:
    """TensorBoard's default histogram edges as a float64 numpy array."""
    ...

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
def pr_curve_buckets_pending(
    tag: str,
    producer: Callable[[], Any],
    num_thresholds: int,
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
) -> PendingEvent:
    """The PR-curve event for buckets a device is still producing: ``producer()``, called on
    the writer thread, returns ``[invalid, positive..., negative...]``."""

def graph_events(
    model_name: str,
    module_aliases: list[tuple[str, str]],
    inputs: list[tuple[str, Optional[list[int]]]],
    ops: list[tuple[str, str, list[str], list[tuple[str, Optional[list[int]]]], str]],
    outputs: list[tuple[str, Optional[list[int]]]],
    walltime: Optional[float] = None,
) -> tuple[bytes, bytes]:
    """The serialized ``GraphDef`` event and ``step1`` run-metadata event of ``add_graph``
    for a traced model walked into plain data (``ferroboard.writer._graph.walk``)."""
    ...

def onnx_graph_event(model: Union[bytes, str], walltime: Optional[float] = None) -> bytes:
    """The serialized ``GraphDef`` event of ``add_onnx_graph`` for an ONNX model's bytes or
    the path of its file."""
    ...

def graph_profile_events(
    graph_def: bytes, run_metadata: bytes, walltime: Optional[float] = None
) -> tuple[bytes, bytes]:
    """The two serialized events of torch's ``FileWriter.add_graph``: the serialized
    ``GraphDef`` and the serialized ``RunMetadata`` tagged ``step1``, written as given."""
    ...

def serialized_graph_event(graph_def: bytes, walltime: Optional[float] = None) -> bytes:
    """The serialized event of torch's ``FileWriter.add_onnx_graph``: the serialized
    ``GraphDef``, written as given."""
    ...

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
READER_KINDS: tuple[ReaderKind, ...]

def read_plan(path: Union[str, os.PathLike[str]], partitions: int) -> list[list[str]]:
    """The runs under ``path`` in reading order, in at most ``partitions`` contiguous groups of
    about equal bytes (the core's read plan)."""
    ...

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

# Audio, video and meshes (rust/python/src/media_av.rs): each checks its input (ValueError or
# TypeError naming the argument) and returns a PendingEvent encoded on the writer thread.
def audio_event(
    tag: str,
    snd: Any,
    sample_rate: float,
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
) -> PendingEvent: ...
def video_event(
    tag: str,
    vid: Any,
    fps: float,
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
) -> PendingEvent: ...
def mesh_event(
    tag: str,
    vertices: Any,
    colors: Optional[Any],
    faces: Optional[Any],
    json_config: str,
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
) -> PendingEvent: ...

# Hparams and custom-scalar layouts (rust/python/src/structural.rs).
def hparams_events(
    hparams: list[tuple[str, Union[bool, float, str]]],
    domains: list[tuple[str, list[Union[bool, float, str]]]],
    metrics: list[tuple[str, Any]],
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
) -> list[bytes]:
    """The serialized events of ``add_hparams``: experiment, session start, session end, then
    one scalar per metric whose value is not ``None``."""
    ...

def custom_scalars_event(
    layout: list[tuple[str, list[tuple[str, str, list[str]]]]],
    walltime: Optional[float] = None,
) -> bytes:
    """The serialized event of a custom-scalars layout ``[(category, [(title, kind, tags)])]``."""
    ...

def tensor_event(
    tag: str,
    values: npt.NDArray[Any],
    dtype: str,
    shape: list[int],
    global_step: Optional[int] = None,
    walltime: Optional[float] = None,
) -> bytes:
    """The serialized event of ``add_tensor`` (values flattened in C order, 16-bit floats as
    ``uint16`` bits, bools as ``uint8``, complex numbers as float pairs)."""

# ---------------------------------------------------------------- rewrite
def rewrite_logdir(
    src: str,
    dst: Optional[str],
    keep_tags: Optional[list[str]],
    drop_tags: list[str],
    keep_runs: Optional[list[str]],
    drop_runs: list[str],
    steps: Optional[tuple[int, int]],
    apply_restarts: bool,
    max_media_per_tag: Optional[int],
    max_points_per_tag: Optional[int],
    every: Optional[int],
    merge_runs: list[tuple[str, list[str]]],
    dry_run: bool,
    force: bool,
    live_seconds: float,
) -> tuple[list[dict[str, Any]], list[str]]:
    """Rewrites ``src`` into ``dst`` (in place when None) with the GIL released; returns one
    dict per output run and the interrupted rewrites finished first. OSError (EBUSY) for a
    live run or a logdir another rewrite holds, ValueError for bad options."""

# ---------------------------------------------------------------- embeddings (embedding.rs)

class Projector:
    """One writer's projector: its directory and the embeddings it logged
    (``projector_config.pbtxt``)."""

    def __init__(self, log_dir: Union[str, os.PathLike[str]], fsync: bool = False) -> None: ...
    def add(
        self,
        mat: npt.NDArray[Any],
        mat_encoding: Optional[str] = None,
        metadata: Optional[Union[list[str], list[list[str]]]] = None,
        metadata_header: Optional[list[str]] = None,
        label_img: Optional[npt.NDArray[Any]] = None,
        label_encoding: Optional[str] = None,
        label_scale: bool = True,
        global_step: Optional[int] = None,
        tag: Optional[str] = None,
        write: bool = True,
    ) -> bool:
        """Logs one embedding (checked, encoded and, when ``write``, written with the GIL
        released: asset files first, then the config, each atomically). Returns whether an
        embedding of the same tag and step was logged before (its entry is replaced).
        ValueError naming the argument for bad input; OSError naming the file when a write
        fails (the config then has no entry for it)."""
        ...
    def config_text(self) -> str:
        """``projector_config.pbtxt`` as written so far."""
        ...

def projector_embeddings(dir: Union[str, os.PathLike[str]]) -> Optional[list[dict[str, Any]]]:
    """The embeddings listed by ``dir/projector_config.pbtxt`` (``tensor_name``,
    ``tensor_path``, ``metadata_path``, ``sprite_path``, ``sprite_single_image_dim``, ``shape``:
    the tensor file's ``(rows, columns)`` or ``None``); ``None`` when there is no config;
    ValueError when it cannot be parsed."""
    ...
