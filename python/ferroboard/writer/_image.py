"""``add_image``, ``add_images``, ``add_image_with_boxes`` and ``add_figure``: the image
methods of ``SummaryWriter``.

The call checks its arguments, copies the pixels (the caller may reuse its buffer as soon as
it returns) and hands the rest to the writer's background thread, in call order: laying the
image out as torch does (``dataformats``, the ``add_images`` grid), scaling floats to 8 bits,
drawing boxes and PNG encoding all run in Rust (``ferroboard_core::summary::image``). An error
there (none is expected once the arguments passed their checks) is raised by the writer's next
call, as write errors are.

The decoded pixels and the ``Summary.Image`` fields are torch's for the same input. Where
ferroboard differs from torch, on purpose:

* **Bad input raises** ``ValueError``/``TypeError`` naming the argument, and nothing is
  written: NaN or infinite pixels (torch writes whatever its cast makes of them), a
  ``dataformats`` that is not a permutation of ``HW``, ``HWC`` or ``NCHW`` (torch accepts some
  other strings and transposes by accident), boxes that are not ``(N, 4)`` or not finite, a
  ``rescale`` that leaves no pixel, and a ``labels`` list of another length than the boxes
  (torch silently drops the labels).
* **Labels** are drawn with a small built-in 5x7 bitmap font, not PIL's default font: the boxes
  are at torch's pixels, the label backgrounds are sized to this font.
* **PNG compression** is ``writer.png_compression``: ``"fast"`` (the default) is several times
  faster than PIL's zlib level but makes larger files; ``"balanced"`` is about PIL's size,
  ``"high"`` smaller and slower, ``"none"`` the fastest and largest. The pixels are the same at
  every level.
* **bfloat16** is read exactly (torch rounds it to float16 first; the pixels are the same).
"""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from .. import _inputs
from .._inputs import device
from .._native import PendingEvent, image_pending, image_pending_later

#: The PNG compression levels ``writer.png_compression`` accepts.
PNG_COMPRESSION_LEVELS = ("none", "fast", "balanced", "high")


def _dataformats(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(
            f"dataformats: expected a str such as 'CHW', 'HWC', 'HW' or 'NCHW', got "
            f"{type(value).__name__}"
        )
    return value


def _labels(labels: Any) -> Optional[list[str]]:
    if labels is None:
        return None
    if isinstance(labels, str):
        return [labels]
    try:
        items = list(labels)
    except TypeError:
        raise TypeError(
            f"labels: expected None, a str or a sequence of str, got {type(labels).__name__}"
        ) from None
    for i, item in enumerate(items):
        if not isinstance(item, str):
            raise TypeError(f"labels: item {i} is a {type(item).__name__}, expected a str")
    return items


def _boxes(box_tensor: Any) -> np.ndarray:
    arr, enc = _inputs.to_numpy(box_tensor, "box_tensor")
    if enc is not None:
        return _inputs.as_float64(arr, enc).reshape(arr.shape)
    return np.ascontiguousarray(arr, dtype=np.float64)


def _rescale(value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"rescale: expected a positive number, got {type(value).__name__}")
    return float(value)


def _figure_pixels(figure: Any, close: bool) -> np.ndarray:
    """One figure rendered as torch's ``figure_to_image`` renders it: the Agg canvas's RGBA
    buffer without alpha, ``(H, W, 3)``; closed with ``close``."""
    try:
        import matplotlib.pyplot as plt
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError(
            "add_figure needs matplotlib, which is not installed: pip install matplotlib"
        ) from e
    if not isinstance(figure, Figure):
        raise TypeError(
            f"figure: expected a matplotlib Figure or a list of them, got {type(figure).__name__}"
        )
    canvas: Any = FigureCanvasAgg(figure)
    canvas.draw()
    data = np.frombuffer(canvas.buffer_rgba(), dtype=np.uint8)
    w, h = figure.canvas.get_width_height()
    image = data.reshape([h, w, 4])[:, :, 0:3]
    if close:
        plt.close(figure)
    return image


class ImageMethods:
    """The image methods of ``SummaryWriter`` (mixed into it)."""

    #: PNG compression of every image this writer logs (see the module doc): ``"fast"``,
    #: ``"balanced"``, ``"high"`` or ``"none"``. Set it on a writer or on the class.
    png_compression: str = "fast"

    if TYPE_CHECKING:

        def _write_pending(self, pending: PendingEvent) -> None: ...  # NativeWriter's

    def _image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: Optional[int],
        walltime: Optional[float],
        dataformats: Any,
        boxes: Optional[np.ndarray] = None,
        labels: Optional[list[str]] = None,
        rescale: Optional[float] = None,
    ) -> None:
        fmt = _dataformats(dataformats)
        level = self.png_compression
        if not isinstance(level, str):
            raise TypeError(
                f"png_compression: expected one of {PNG_COMPRESSION_LEVELS}, got "
                f"{type(level).__name__}"
            )
        if _inputs.is_foreign_array(img_tensor):
            img_tensor = _inputs.from_dlpack(img_tensor, "img_tensor")
        if device.handles(img_tensor):
            _inputs.check_real(img_tensor, "img_tensor")
            # Checked now; the levels are made on the device and encoded when they land.
            shape = list(img_tensor.shape)
            later = device.after_checks(
                lambda producer: image_pending_later(
                    tag,
                    producer,
                    shape,
                    fmt,
                    global_step,
                    walltime,
                    level,
                    boxes,
                    labels,
                    rescale,
                ),
                lambda: device.pixels(img_tensor),
            )
            self._write_pending(later)
            return
        arr, enc = _inputs.image_array(img_tensor)
        pending = image_pending(
            tag,
            arr,
            fmt,
            global_step,
            walltime,
            enc,
            level,
            boxes,
            labels,
            rescale,
        )
        self._write_pending(pending)

    def add_image(
        self,
        tag: str,
        img_tensor: Any,
        global_step: Optional[int] = None,
        walltime: Optional[float] = None,
        dataformats: str = "CHW",
    ) -> None:
        """Adds an image, as torch's ``add_image``.

        Args:
            tag: Data identifier.
            img_tensor: A numpy array or torch tensor of any real dtype: ``uint8`` values are
                pixels as they are; other dtypes are scaled by 255 and clipped to [0, 255]
                (floats in [0, 1]). 1 channel (gray), 3 (RGB), 4 (RGBA) or 2 (gray + alpha).
            global_step: Global step value to record.
            walltime: Seconds after the epoch of the event (default: now).
            dataformats: The axes of ``img_tensor``: a permutation of ``CHW`` (the default),
                ``HWC`` or ``HW``, in any case; ``NCHW`` and its permutations tile a batch.

        Raises:
            ValueError: ``dataformats`` or the shape is invalid, a pixel is NaN or infinite,
                or the image is too large for PNG.
            TypeError: an argument has an unsupported type.
        """
        self._image(tag, img_tensor, global_step, walltime, dataformats)

    def add_images(
        self,
        tag: str,
        img_tensor: Any,
        global_step: Optional[int] = None,
        walltime: Optional[float] = None,
        dataformats: str = "NCHW",
    ) -> None:
        """Adds a batch of images tiled into one (torch's grid: up to 8 per row), as torch's
        ``add_images``.

        Args:
            tag: Data identifier.
            img_tensor: A numpy array or torch tensor (see ``add_image``); a batch has 1 or 3
                channels.
            global_step: Global step value to record.
            walltime: Seconds after the epoch of the event (default: now).
            dataformats: A permutation of ``NCHW`` (the default), in any case; 3- and 2-letter
                formats log a single image, as in ``add_image``.

        Raises:
            ValueError: as ``add_image``.
            TypeError: as ``add_image``.
        """
        self._image(tag, img_tensor, global_step, walltime, dataformats)

    def add_image_with_boxes(
        self,
        tag: str,
        img_tensor: Any,
        box_tensor: Any,
        global_step: Optional[int] = None,
        walltime: Optional[float] = None,
        rescale: float = 1,
        dataformats: str = "CHW",
        labels: Optional[Any] = None,
    ) -> None:
        """Adds an image with bounding boxes drawn on it, as torch's ``add_image_with_boxes``.

        Args:
            tag: Data identifier.
            img_tensor: The image (see ``add_image``).
            box_tensor: ``(N, 4)`` boxes, each ``(x1, y1, x2, y2)`` in pixels (numpy array,
                torch tensor or nested sequence).
            global_step: Global step value to record.
            walltime: Seconds after the epoch of the event (default: now).
            rescale: The written image is ``int(H * rescale) x int(W * rescale)`` (boxes drawn
                first, then resized with PIL's Lanczos filter, as torch does).
            dataformats: As in ``add_image``.
            labels: A str, or one str per box, drawn at the box's lower left corner.

        Raises:
            ValueError: as ``add_image``; boxes not ``(N, 4)`` or not finite; a label count
                other than the box count; a ``rescale`` that leaves no pixel.
            TypeError: an argument has an unsupported type.
        """
        boxes = _boxes(box_tensor)
        self._image(
            tag,
            img_tensor,
            global_step,
            walltime,
            dataformats,
            boxes,
            _labels(labels),
            _rescale(rescale),
        )

    def add_figure(
        self,
        tag: str,
        figure: Any,
        global_step: Optional[int] = None,
        close: bool = True,
        walltime: Optional[float] = None,
    ) -> None:
        """Renders a matplotlib figure (or a list of them) into an image and adds it, as
        torch's ``add_figure``: the Agg canvas's RGB pixels; a list is tiled as
        ``add_images`` tiles a batch (the figures must have the same size).

        Args:
            tag: Data identifier.
            figure: A ``matplotlib.figure.Figure`` or a list of them.
            global_step: Global step value to record.
            close: Close the figure(s) after rendering.
            walltime: Seconds after the epoch of the event (default: now).

        Raises:
            ImportError: matplotlib is not installed.
            TypeError: ``figure`` is not a figure or a list of figures.
            ValueError: the figures of a list differ in size.
        """
        if isinstance(figure, list):
            images = [_figure_pixels(f, close) for f in figure]
            if not images:
                raise ValueError("figure: expected at least one figure, got an empty list")
            if len({im.shape for im in images}) > 1:
                raise ValueError(
                    "figure: the figures of a list must have the same size in pixels, got "
                    f"{sorted({im.shape[:2] for im in images})}"
                )
            self._image(tag, np.stack(images), global_step, walltime, "NHWC")
        else:
            self._image(tag, _figure_pixels(figure, close), global_step, walltime, "HWC")
