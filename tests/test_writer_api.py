"""The writer's API is torch's: signatures, defaults, default log_dir, lifecycle."""

from __future__ import annotations

import inspect
import os
import re
import socket

import ferroboard
import pytest
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from tests.conftest import event_files, tb_events

METHODS = ["add_scalar", "add_scalars", "add_text", "flush", "close", "get_logdir"]


def _params(fn) -> list[tuple[str, object]]:
    sig = inspect.signature(fn)
    return [(p.name, p.default) for p in sig.parameters.values() if p.name != "self"]


@pytest.mark.parametrize("name", METHODS)
def test_method_signatures_match_torch(name):
    assert _params(getattr(ferroboard.SummaryWriter, name)) == _params(getattr(TorchWriter, name))


def test_constructor_signature_matches_torch():
    assert _params(ferroboard.SummaryWriter.__init__) == _params(TorchWriter.__init__)


def test_default_log_dir_like_torch(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = ferroboard.SummaryWriter(comment="_exp")
    w.close()
    stamp = r"[A-Z][a-z]{2}\d{2}_\d{2}-\d{2}-\d{2}"
    pattern = rf"runs{re.escape(os.sep)}{stamp}_{re.escape(socket.gethostname())}_exp"
    assert re.fullmatch(pattern, w.get_logdir()), w.get_logdir()
    assert (tmp_path / w.get_logdir()).is_dir()


def test_context_manager_closes_and_close_is_idempotent(logdir):
    with ferroboard.SummaryWriter(str(logdir)) as w:
        w.add_scalar("a", 1.0, 0)
    assert w._closed
    w.close()
    w.close()
    w.flush()  # flushing a closed writer is a no-op, as in torch
    (files,) = event_files(logdir).values()
    assert len(files) == 1
    assert len(tb_events(files[0])) == 2


def test_add_after_close_opens_a_new_file(logdir):
    w = ferroboard.SummaryWriter(str(logdir))
    w.add_scalar("a", 1.0, 0)
    w.close()
    w.add_scalar("a", 2.0, 1)
    w.close()
    (files,) = event_files(logdir).values()
    assert len(files) == 2
    steps = [[e.step for e in tb_events(f) if e.HasField("summary")] for f in files]
    assert sorted(steps) == [[0], [1]]


def test_log_dir_accepts_pathlike(logdir):
    w = ferroboard.SummaryWriter(logdir / "p")
    assert w.get_logdir() == str(logdir / "p")
    w.close()


def test_deferred_values_keep_their_place(logdir):
    """The queue carries values resolved later, on the writer thread, in call order."""
    w = ferroboard.SummaryWriter(str(logdir))
    w.add_scalar("a", 1.0, 1)
    resolved_on = []

    def later() -> bytes:
        import threading

        resolved_on.append(threading.current_thread().name)
        # Build the event with torch-independent protobuf classes from TensorBoard.
        from tensorboard.compat.proto import event_pb2, summary_pb2

        ev = event_pb2.Event(step=2, wall_time=3.0)
        ev.summary.value.append(summary_pb2.Summary.Value(tag="a", simple_value=2.0))
        return ev.SerializeToString()

    w._write_deferred(later)
    w.add_scalar("a", 3.0, 3)
    w.close()
    (files,) = event_files(logdir).values()
    assert [e.step for e in tb_events(files[0])[1:]] == [1, 2, 3]
    assert resolved_on
    assert resolved_on[0] != "MainThread"


def test_deferred_failure_is_raised_on_next_call(logdir):
    w = ferroboard.SummaryWriter(str(logdir))

    def broken() -> bytes:
        raise RuntimeError("device copy failed")

    w._write_deferred(broken)
    with pytest.raises(RuntimeError, match="device copy failed"):
        w.flush()
    w.add_scalar("a", 1.0, 1)  # still usable
    w.close()


def test_file_writer_view_takes_protobuf_events_and_summaries(logdir):
    """Code written for torch reaches the file through writer.file_writer."""
    from tensorboard.compat.proto import event_pb2, summary_pb2

    w = ferroboard.SummaryWriter(str(logdir))
    assert w.file_writer.get_logdir() == str(logdir)
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="s", simple_value=1.5)])
    w.file_writer.add_summary(summary, global_step=7, walltime=9.0)
    ev = event_pb2.Event(summary=summary)
    w._get_file_writer().add_event(ev, step=8, walltime=10.0)
    w.close()
    (files,) = event_files(logdir).values()
    got = tb_events(files[0])[1:]
    assert [(e.step, e.wall_time, e.summary) for e in got] == [
        (7, 9.0, summary),
        (8, 10.0, summary),
    ]


def test_flush_secs_zero_is_accepted_like_torch(logdir):
    w = ferroboard.SummaryWriter(str(logdir), flush_secs=0)
    w.add_scalar("a", 1.0, 0)
    w.close()


def test_get_file_writer_after_close_reopens_on_first_event(logdir):
    from tensorboard.compat.proto import summary_pb2

    w = ferroboard.SummaryWriter(str(logdir))
    w.close()
    summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag="s", simple_value=1.0)])
    w._get_file_writer().add_summary(summary, global_step=3, walltime=4.0)
    w.close()
    (files,) = event_files(logdir).values()
    assert len(files) == 2
    assert [e.step for f in files for e in tb_events(f) if e.HasField("summary")] == [3]
