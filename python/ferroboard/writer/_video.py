"""``add_video``: the video method of ``SummaryWriter``.

The video is copied (the caller may reuse its buffer), checked in Rust, then tiled and
encoded as an animated GIF on the writer's thread (``ferroboard_core::summary::video``): no
``moviepy`` or ``imageio``. Frames are tiled as torch tiles them. Where ferroboard differs
from torch, on purpose:

* ``uint8`` levels are written as given (torch's float round trip can lower one by a level);
  GIF colors are chosen by the ``gif`` crate (exact for frames of at most 256 colors,
  NeuQuant otherwise), so decoded frames are within a few levels of torch's, not equal.
* NaN or infinite pixels, a non-positive ``fps``, a channel count other than 1, 3 or 4, a
  shape other than ``(N, T, C, H, W)`` are a ``ValueError`` (torch prints a message and
  writes nothing when ``moviepy`` is missing, and fails in various ways otherwise).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from .. import _inputs
from .._inputs import device, media_array
from .._native import PendingEvent, video_event, video_event_later
from ._audio import positive_real

_NATIVE = frozenset(["u1", "f4", "f8", "i1", "i2", "i4", "i8", "u2", "u4", "u8"])


class VideoMethods:
    """The video method of ``SummaryWriter`` (mixed into it)."""

    if TYPE_CHECKING:

        def _write_pending(self, pending: PendingEvent) -> None: ...  # NativeWriter's

    def add_video(
        self,
        tag: str,
        vid_tensor: Any,
        global_step: Optional[int] = None,
        fps: float = 4,
        walltime: Optional[float] = None,
        *,
        dataformats: str = "NTCHW",
    ) -> None:
        """Adds a video, as torch's ``add_video``.

        Args:
            tag: Data identifier.
            vid_tensor: ``(N, T, C, H, W)``: ``uint8`` levels, or floats in [0, 1] (scaled
                by 255, clipped and truncated as torch does). The batch is tiled into each
                frame as torch tiles it.
            global_step: Global step value to record.
            fps: Frames per second.
            walltime: Seconds after the epoch of the event (default: now).
            dataformats: The axes of ``vid_tensor``, a permutation of ``NTCHW`` (the
                default) in any case: tensorboardX's option (keyword only; torch has none).

        Raises:
            ValueError: a bad shape or ``dataformats``, NaN or infinite pixels, a
                non-positive ``fps``.
            TypeError: not an array of real numbers.
        """
        if _inputs.is_foreign_array(vid_tensor):
            vid_tensor = _inputs.from_dlpack(vid_tensor, "vid_tensor")
        vid_tensor = _inputs.video_axes(vid_tensor, dataformats)
        if device.handles(vid_tensor):
            _inputs.check_real(vid_tensor, "vid_tensor")
            shape, rate = list(vid_tensor.shape), positive_real(fps, "fps")
            later = device.after_checks(
                lambda producer: video_event_later(
                    tag, producer, shape, rate, global_step, walltime
                ),
                lambda: device.pixels(vid_tensor),
            )
            self._write_pending(later)
            return
        arr = media_array(vid_tensor, "vid_tensor", _NATIVE)
        if str(getattr(vid_tensor, "dtype", "")) in ("bool", "torch.bool"):
            arr = arr.astype(np.float32)  # as torch: not uint8, so scaled by 255
        rate = positive_real(fps, "fps")
        self._write_pending(video_event(tag, arr, rate, global_step, walltime))
