"""The parts of ``tbparse.SummaryReader``'s public surface that are not DataFrames: its static
helpers, the lazy tree of child readers, and raw tags and events without protobuf.

Written from tbparse's documented behaviour (0.0.9), tested against tbparse itself; used by
:class:`ferroboard.reader.SummaryReader`, which exposes everything here.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator, Mapping
from typing import Any, Callable, Optional

import numpy as np

from ..._native import decode_images, decode_wavs

# ------------------------------------------------------------------ raw events
# Mirrors of TensorBoard's ``event_accumulator`` event classes (frozen dataclasses: same
# names, fields and order), except that a tensor is a numpy array (``tensor``), where
# TensorBoard's holds a ``TensorProto`` (``tensor_proto``).


@dataclasses.dataclass(frozen=True)
class ScalarEvent:
    """A ``simple_value`` scalar, as TensorBoard's ``ScalarEvent``."""

    wall_time: float
    step: int
    value: float


@dataclasses.dataclass(frozen=True)
class TensorEvent:
    """A tensor summary; ``tensor`` is what ``tensor_util.make_ndarray(tensor_proto)`` gives
    (``None`` for torch's hparams summaries, whose value holds no tensor)."""

    wall_time: float
    step: int
    tensor: Optional[np.ndarray]


@dataclasses.dataclass(frozen=True)
class HistogramValue:
    """A ``HistogramProto``, as TensorBoard's ``HistogramValue``."""

    min: float
    max: float
    num: float
    sum: float
    sum_squares: float
    bucket_limit: list[float]
    bucket: list[float]


@dataclasses.dataclass(frozen=True)
class HistogramEvent:
    """A legacy histogram, as TensorBoard's ``HistogramEvent``."""

    wall_time: float
    step: int
    histogram_value: HistogramValue


@dataclasses.dataclass(frozen=True)
class ImageEvent:
    """A legacy image, as TensorBoard's ``ImageEvent``."""

    wall_time: float
    step: int
    encoded_image_string: bytes
    width: int
    height: int


@dataclasses.dataclass(frozen=True)
class AudioEvent:
    """A legacy audio clip, as TensorBoard's ``AudioEvent``."""

    wall_time: float
    step: int
    encoded_audio_string: bytes
    content_type: str
    sample_rate: float
    length_frames: int


# ------------------------------------------------------------------ static helpers


def tensor_to_histogram(tensor: Any) -> dict[str, Any]:
    """A ``[k, 3]`` histogram tensor of ``(left edge, right edge, count)`` rows as tbparse's
    histogram dict: ``limits`` (the first left edge, then every right edge), ``counts`` (0,
    then every count), ``min`` (first left edge), ``max`` (last right edge), ``num`` (sum of
    counts), ``sum`` and ``sum_squares`` (NaN: a tensor does not carry them)."""
    rows = np.asarray(tensor)
    if rows.ndim != 2 or rows.shape[1] < 3 or len(rows) == 0:
        raise ValueError(
            f"tensor: expected a non-empty [k, 3] histogram tensor, got shape {rows.shape}"
        )
    first, last = tensor[0][0], tensor[len(tensor) - 1][1]
    limits = np.array([first, *rows[:, 1]])
    counts = np.array([0, *rows[:, 2]])
    return {
        "limits": limits,
        "counts": counts,
        "min": first,
        "max": last,
        "num": np.sum(counts),
        "sum": np.nan,
        "sum_squares": np.nan,
    }


def buckets_to_histogram_dict(lst: Any) -> dict[str, Any]:
    """Deprecated in tbparse in favour of :func:`tensor_to_histogram`; the same."""
    return tensor_to_histogram(lst)


def tensor_to_image(tensor: Any) -> dict[str, Any]:
    """A TensorFlow image tensor ``[width, height, encoded, encoded, ...]`` as tbparse's image
    dict: ``image`` (the decoded images stacked, uint8 ``(k, H, W, C)``, or ``(H, W, C)`` for
    one), ``width`` and ``height`` (ints). Decoded in Rust, as ``tf.image.decode_image``."""
    encoded = [bytes(b) for b in list(tensor)[2:]]
    if not encoded:
        raise ValueError("tensor: expected [width, height, encoded image, ...] with an image")
    image = np.stack(decode_images(encoded), axis=0)
    if image.shape[0] == 1:
        image = image.squeeze(axis=0)
    return {"image": image, "width": int(tensor[0]), "height": int(tensor[1])}


def tensor_to_audio(tensor: Any) -> dict[str, Any]:
    """A TensorFlow audio tensor ``[k, 2]`` of ``(encoded WAV, label)`` rows (labels empty)
    as tbparse's audio dict: ``audio`` (float32 ``(k, frames, channels)``, or ``(frames,
    channels)`` for one clip), ``content_type`` (``"audio/wav"``), ``length_frames`` and
    ``sample_rate`` (int32, an array of ``k`` for several clips). Decoded in Rust, as
    ``tf.audio.decode_wav``."""
    rows = np.asarray(tensor, dtype=object)
    if rows.ndim != 2 or rows.shape[1] != 2 or len(rows) == 0:
        raise ValueError(f"tensor: expected a non-empty [k, 2] audio tensor, got {rows.shape}")
    if any(label != b"" for label in rows[:, 1]):
        raise ValueError("tensor: every audio label (second column) should be b''")
    decoded = decode_wavs([bytes(b) for b in rows[:, 0]])
    audio = np.stack([a for a, _ in decoded], axis=0)
    sample_rate = np.array([r for _, r in decoded], dtype=np.int32)
    length = audio.shape[1]
    if audio.shape[0] == 1:
        audio = audio.squeeze(axis=0)
        sample_rate = sample_rate.squeeze(axis=0)
    return {
        "audio": audio,
        "content_type": "audio/wav",
        "length_frames": length,
        "sample_rate": sample_rate,
    }


def histogram_to_cdf(counts: Any, limits: Any, x: Any) -> np.ndarray:
    """The cumulative probability at each of the increasing values ``x``: linear between
    bucket edges (``limits``, the first one the left edge of the first bucket; ``counts[0]``
    is 0), 0 at or below the first edge, 1 above the last."""
    if len(counts) != len(limits):
        raise ValueError(
            f"counts and limits should have the same length, not {len(counts)} and {len(limits)}"
        )
    counts, limits, x = np.array(counts), np.array(limits), np.array(x)
    if not np.all(np.diff(x) > 0):
        raise ValueError("x: values should be strictly increasing")
    cum = np.cumsum(counts)
    n = np.sum(counts)
    y = np.zeros(len(x), dtype=np.result_type(cum.dtype, np.float64))
    inside = (x > limits[0]) & (x <= limits[-1])
    # The bucket of each inside x: the first right edge at or above it.
    right = np.searchsorted(limits, x[inside], side="left")
    lower, upper = limits[right - 1], limits[right]
    xi = x[inside]
    y[inside] = (cum[right - 1] * (upper - xi) + cum[right] * (xi - lower)) / (upper - lower)
    y[x > limits[-1]] = n
    out: np.ndarray = y / n
    return out


def histogram_to_pdf(counts: Any, limits: Any, x: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(centers, density)``: the midpoints of consecutive ``x`` and the slope of
    :func:`histogram_to_cdf` between them."""
    x = np.asarray(x)
    y = histogram_to_cdf(counts, limits, x)
    return (x[1:] + x[:-1]) / 2, (y[1:] - y[:-1]) / (x[1:] - x[:-1])


def histogram_to_bins(
    counts: Any,
    limits: Any,
    lower_bound: Optional[float] = None,
    upper_bound: Optional[float] = None,
    n_bins: int = 30,
) -> tuple[list[float], list[float]]:
    """Re-buckets a histogram into ``n_bins`` equal bins over ``[lower_bound, upper_bound]``
    as TensorBoard's histogram dashboard does: each bucket's count is spread over the bins it
    overlaps in proportion to the overlap; a zero-width bucket counts in the bin holding it.
    Without bounds (or with equal ones) the range is ``[b / 1.1 - 1, b * 1.1 + 1]`` around
    the bound ``b`` (0 without bounds). Returns ``(bin centers, bin counts)`` as lists."""
    if len(counts) != len(limits):
        raise ValueError(
            f"counts and limits should have the same length, not {len(counts)} and {len(limits)}"
        )
    if counts[0] != 0:
        raise ValueError("counts: the first count should be 0")
    lo, hi = (0, 0) if lower_bound is None or upper_bound is None else (lower_bound, upper_bound)
    if lo == hi:
        lo, hi = lo / 1.1 - 1, lo * 1.1 + 1
    width = (hi - lo) / n_bins
    centers: list[float] = []
    bins: list[float] = []
    b = 1  # the first bucket not yet wholly spent
    for i in range(n_bins):
        left = lo + i * width
        right = left + width
        total: Any = 0
        while b < len(counts):
            b_right = min(hi, limits[b])
            b_left = max(lo, limits[b - 1])
            if b_right - b_left > 0:
                overlap = min(b_right, right) - max(b_left, left)
                share = overlap / (b_right - b_left) * counts[b]
                total += share if overlap > 0 else 0
            else:
                last_bin = right >= hi
                holds = b_left >= left and (b_right <= right if last_bin else b_right < right)
                total += counts[b] if holds else 0
            if b_right > right:
                break  # this bucket goes on into the next bin
            b += 1
        centers.append(left + width / 2)
        bins.append(total)
    return centers, bins


# ------------------------------------------------------------------ children


class Children(Mapping[str, Any]):
    """tbparse's ``children``: entry name -> reader of that entry, for every entry of a
    directory in sorted order (an event file has none). Readers are built on first access."""

    def __init__(self, path: str, make: Callable[[str], Any]):
        self._path = path
        self._make = make
        self._names = sorted(os.listdir(path)) if os.path.isdir(path) else []
        self._built: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._built:
            if name not in self._names:
                raise KeyError(name)
            self._built[name] = self._make(os.path.join(self._path, name))
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __repr__(self) -> str:
        return f"Children({self._names!r})"
