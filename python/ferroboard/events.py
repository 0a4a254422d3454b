"""Iterating the events of one event file (the bulk reader is ``ferroboard.reader``)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any, Union

from ._native import EventIterator


def iter_events(
    path: Union[str, os.PathLike[str]], check_crc: bool = True
) -> Iterator[dict[str, Any]]:
    """Yields every event of the event file at ``path`` as a dict, in file order.

    Each dict has ``offset``, ``wall_time``, ``step`` and ``kind`` (``"file_version"``,
    ``"summary"``, ``"session_log"``, ...); summary events carry ``values``. Records whose
    payload CRC fails are skipped; an incomplete final record (a file still being written)
    ends the iteration quietly; a corrupt record length raises ``OSError`` naming the offset.
    """
    yield from EventIterator(os.fspath(path), check_crc)
