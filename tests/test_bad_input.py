"""Bad input gets a clear exception naming the argument, and the writer keeps working: the
tables of tests/support/bad_input.py, one per method family."""

from __future__ import annotations

import re

import ferroboard
import numpy as np
import pytest

from tests.support.bad_input import AFTER, CONSTRUCTOR, METHOD_ROWS, PLAIN_MESSAGES, row_id
from tests.support.judges import tb_events
from tests.support.logdirs import event_files

_IDS = [row_id(row) for _family, row in METHOD_ROWS]


@pytest.mark.parametrize(("family", "row"), METHOD_ROWS, ids=_IDS)
def test_bad_call_raises_and_writer_keeps_working(logdir, family, row):
    method, args, kwargs, exc, match = row
    w = ferroboard.SummaryWriter(str(logdir))
    w.add_scalar("before", 1.0, 1)
    with pytest.raises(exc, match=match):
        getattr(w, method)(*args, **kwargs)
    after, after_args = AFTER[family]  # the same family still works
    getattr(w, after)(*after_args)
    w.close()
    runs = event_files(logdir)
    tags = [v.tag for e in tb_events(runs["."][0]) for v in e.summary.value]
    assert tags == ["before", "after"]
    # A refused add_scalars wrote nothing at all (no partial sub-runs).
    assert list(runs) == ["."]


@pytest.mark.parametrize(("family", "row"), METHOD_ROWS, ids=_IDS)
def test_bad_call_raises_the_same_when_not_writing_to_disk(tmp_path, family, row):
    """write_to_disk=False validates exactly as usual (the same exception and message), and
    still writes nothing."""
    method, args, kwargs, exc, _match = row
    normal = ferroboard.SummaryWriter(str(tmp_path / "normal"))
    with pytest.raises(exc) as expected:
        getattr(normal, method)(*args, **kwargs)
    normal.close()
    quiet = ferroboard.SummaryWriter(str(tmp_path / "quiet"), write_to_disk=False)
    quiet.add_scalar("before", 1.0, 1)
    with pytest.raises(exc) as got:
        getattr(quiet, method)(*args, **kwargs)
    assert str(got.value) == str(expected.value)
    quiet.add_scalar("after", 2.0, 2)
    quiet.close()
    assert not (tmp_path / "quiet").exists()


@pytest.mark.parametrize(("call", "needle"), PLAIN_MESSAGES)
def test_error_messages_show_plain_numbers(logdir, call, needle):
    w = ferroboard.SummaryWriter(str(logdir))
    with pytest.raises(ValueError, match=re.escape(needle)) as info:
        call(w)
    assert "np." not in str(info.value), str(info.value)
    w.close()


def test_numpy_integers_are_accepted_as_max_queue_and_flush_secs(logdir):
    """As torch accepts them (it only stores them)."""
    w = ferroboard.SummaryWriter(str(logdir), max_queue=np.int64(3), flush_secs=np.float32(1))
    w.add_scalar("a", 1.0, 0)
    w.close()
    assert len(tb_events(event_files(logdir)["."][0])) == 2


@pytest.mark.parametrize("row", CONSTRUCTOR, ids=[row_id(row) for row in CONSTRUCTOR])
def test_bad_constructor_arguments(logdir, row):
    _init, args, kwargs, exc, match = row
    with pytest.raises(exc, match=match):
        ferroboard.SummaryWriter(*args, **{"log_dir": str(logdir), **kwargs})


def test_unwritable_log_dir_raises_oserror(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(OSError, match="file"):
        ferroboard.SummaryWriter(str(blocker / "sub"))
