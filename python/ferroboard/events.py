"""Iterating the events of one event file (the bulk reader is ``ferroboard.reader``); it lives
in :mod:`ferroboard.reader.events`, beside the bulk reader whose keys and policy it shares."""

from __future__ import annotations

from .reader.events import EventIterator, iter_events

__all__ = ["EventIterator", "iter_events"]
