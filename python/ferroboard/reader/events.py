"""Iterating the events of one event file, read as the bulk reader reads them (the core's
``reader::events``): the values carry the keys of :meth:`ReadResult.records
<ferroboard.reader.api.ReadResult.records>`, and damage is handled by the same policy."""

from __future__ import annotations

import os
from typing import Any, Union

from .. import _native
from .api import _tensor_array

__all__ = ["EventIterator", "iter_events"]


class EventIterator(_native.EventIterator):
    """The events of one file as dicts, in file order (see :func:`iter_events`); the report
    of the read so far is on the iterator: ``corrupt``, ``malformed``, ``skipped``,
    ``bad_length_at``, ``truncated``, ``corrupt_records``, ``records``, ``path``."""

    def __next__(self) -> dict[str, Any]:
        ev = super().__next__()
        for v in ev.get("values", ()):
            t = v.get("tensor")
            if t is not None:
                v["tensor"] = _tensor_array(t)
        return ev


def iter_events(
    path: Union[str, os.PathLike[str]], check_crc: bool = True, *, strict: bool = False
) -> EventIterator:
    """Every event of the event file at ``path`` as a dict, in file order.

    Each dict has ``offset``, ``wall_time``, ``step`` and ``kind`` (``"file_version"``,
    ``"summary"``, ``"session_log"``, ``"graph_def"``, ...); a summary event carries
    ``values``, one dict per value with ``tag``, ``plugin`` (its tag's, or None), ``kind`` (the
    bulk reader's kind: ``"scalars"``, ``"histograms"``, ``"images"``, ``"audio"``,
    ``"text"``, ``"tensors"``, ``"pr_curves"``, ``"hparams"``, or None) and the data under the
    keys :meth:`ferroboard.reader.ReadResult.records` uses: ``value`` (a scalar, either
    encoding), ``min``/``max``/``num``/``sum``/``sum_squares``/``limits``/``counts`` (a
    histogram proto), ``width``/``height``/``colorspace``/``encoded`` (an image),
    ``sample_rate``/``num_channels``/``length_frames``/``content_type``/``encoded`` (audio),
    ``tensor`` (a numpy array, for every tensor-encoded value).

    Damage, as the bulk reader: a record whose data CRC fails is skipped and counted
    (``corrupt``); a record that is not an ``Event`` is skipped and listed (``malformed``);
    after a bad length CRC the iteration resynchronises on the next verified record and the
    bytes passed over are listed as ``(offset, length)`` in ``skipped``; an incomplete final
    record ends the iteration (``truncated`` says where it starts). ``strict=True`` raises
    :class:`~ferroboard.reader.CorruptRecordError` (with ``path`` and ``offset``) at the first
    damage instead. The returned iterator carries those reports.
    """
    return EventIterator(os.fspath(path), check_crc, strict)
