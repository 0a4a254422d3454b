"""``add_audio``: the audio method of ``SummaryWriter``.

The clip is copied (the caller may reuse its buffer), checked in Rust, and encoded as a 16-bit
PCM WAV on the writer's thread (``ferroboard_core::summary::audio``): the bytes torch's
``add_audio`` writes for mono input. Where ferroboard differs from torch, on purpose:

* ``(channels, samples)`` input (after dropping dimensions of size 1; at most 8 channels) is
  written as an interleaved multichannel WAV; torch takes mono only.
* NaN or infinite samples, an empty clip, a non-positive ``sample_rate`` are a
  ``ValueError`` (torch writes garbage levels or fails inside ``wave``).
* Out-of-range samples are clipped to [-1, 1] silently (torch prints a warning).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from .._inputs import media_array
from .._native import PendingEvent, audio_event

# dtypes the native side reads as they are; others become float64.
_NATIVE = frozenset(["f4", "f8", "u1", "i1", "i2", "i4", "i8"])


def positive_real(value: Any, name: str) -> float:
    """A real number (not a bool) as a float; the native side checks its range."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a positive number, got {type(value).__name__}")
    return float(value)


class AudioMethods:
    """The audio method of ``SummaryWriter`` (mixed into it)."""

    if TYPE_CHECKING:

        def _write_pending(self, pending: PendingEvent) -> None: ...  # NativeWriter's

    def add_audio(
        self,
        tag: str,
        snd_tensor: Any,
        global_step: Optional[int] = None,
        sample_rate: int = 44100,
        walltime: Optional[float] = None,
    ) -> None:
        """Adds an audio clip, as torch's ``add_audio``.

        Args:
            tag: Data identifier.
            snd_tensor: Samples in [-1, 1] (clipped otherwise): ``(L,)`` or ``(1, L)`` mono,
                or ``(channels, L)`` (ferroboard only; at most 8 channels).
            global_step: Global step value to record.
            sample_rate: Sample rate in Hz.
            walltime: Seconds after the epoch of the event (default: now).

        Raises:
            ValueError: a shape that is not a clip, NaN or infinite samples, a
                non-positive ``sample_rate``.
            TypeError: not an array of real numbers.
        """
        arr = media_array(snd_tensor, "snd_tensor", _NATIVE)
        rate = positive_real(sample_rate, "sample_rate")
        self._write_pending(audio_event(tag, arr, rate, global_step, walltime))
