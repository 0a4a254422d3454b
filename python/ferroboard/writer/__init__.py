"""``ferroboard.writer``: ``SummaryWriter``, a drop-in replacement for
``torch.utils.tensorboard.SummaryWriter``, and its helpers.

One module per concern:

* ``_summary_writer``: the ``SummaryWriter`` class (constructor, attributes, ``file_writer`` and
  ``all_writers``, pickling). Its hot methods (``add_scalar``, ``add_scalars``, ``add_text``)
  and the event file itself live in the native base class, ``ferroboard._native.NativeWriter``.
* one mixin per family of ``add_*`` methods, each a small class in its own module that
  ``SummaryWriter`` lists among its bases: ``_histogram`` (``add_histogram``,
  ``add_histogram_raw``), ``_pr_curve`` (``add_pr_curve``, ``add_pr_curve_raw``), ``_image``
  (``add_image``, ``add_images``, ``add_image_with_boxes``, ``add_figure``), ``_audio``,
  ``_video`` and ``_mesh`` (``add_audio``, ``add_video``, ``add_mesh``), ``_structural``
  (``add_hparams``, ``add_custom_scalars*``, ``add_tensor``, ``add_summary``, ``add_event``),
  ``_graph`` (``add_graph``, ``add_onnx_graph``). A mixin adapts its inputs with
  ``ferroboard._inputs``, has the event built natively, and hands the bytes to
  ``_write_event`` (or, for media encoded on the writer thread, a ``PendingEvent`` to
  ``_write_pending``).
* ``_file_writer``: ``FileWriter``, torch's ``writer.file_writer`` for protobuf events.
* ``_lifecycle``: the set of open writers and what closes them (``atexit``, multiprocessing's
  fork children, ``close_on_sigterm``).
* ``_distributed``: ``get_rank``.

A new family of methods (media: ``add_video``, ``add_audio``...; structural: ``add_hparams``,
``add_graph``, ``add_embedding``...) is a new module here with its mixin class, plus one entry
in ``SummaryWriter``'s bases.
"""

from __future__ import annotations

from ._distributed import get_rank
from ._file_writer import FileWriter
from ._graph import GraphTraceError
from ._lifecycle import close_on_sigterm
from ._summary_writer import SummaryWriter
from ._summary_writer import _reopen as _reopen

__all__ = ["FileWriter", "GraphTraceError", "SummaryWriter", "close_on_sigterm", "get_rank"]

# The public names (and ``_reopen``, which pickles of writers name) keep the module they had
# before this package: ``ferroboard.writer``, so that reprs and pickles are unchanged.
for _obj in (FileWriter, GraphTraceError, SummaryWriter, close_on_sigterm, get_rank, _reopen):
    _obj.__module__ = __name__
del _obj
