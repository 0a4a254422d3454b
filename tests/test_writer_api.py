"""The writer's API is torch's: signatures, defaults, default log_dir, lifecycle."""

from __future__ import annotations

import inspect
import os
import pickle
import re
import socket
import warnings
from pathlib import Path

import ferroboard
import numpy as np
import pytest
import tensorboardX
from tensorboard.compat.proto import summary_pb2
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from tests.support.judges import tb_events
from tests.support.logdirs import event_files

METHODS = [
    "add_scalar",
    "add_scalars",
    "add_text",
    "add_histogram",
    "add_histogram_raw",
    "add_pr_curve",
    "add_pr_curve_raw",
    "flush",
    "close",
    "get_logdir",
]


def _params(fn) -> list[tuple[str, object]]:
    sig = inspect.signature(fn)
    return [(p.name, p.default) for p in sig.parameters.values() if p.name != "self"]


# tensorboardX's keywords some methods take after torch's parameters (keyword only).
TENSORBOARDX_KEYWORDS = {"add_scalar": ["display_name", "summary_description"]}


@pytest.mark.parametrize("name", METHODS)
def test_method_signatures_match_torch(name):
    ours = _params(getattr(ferroboard.SummaryWriter, name))
    extra = TENSORBOARDX_KEYWORDS.get(name, [])
    assert ours[: len(ours) - len(extra)] == _params(getattr(TorchWriter, name))
    if not extra:
        return
    sig = inspect.signature(getattr(ferroboard.SummaryWriter, name)).parameters
    tbx = inspect.signature(getattr(tensorboardX.SummaryWriter, name)).parameters
    for keyword in extra:
        assert sig[keyword].kind == inspect.Parameter.KEYWORD_ONLY
        assert sig[keyword].default == tbx[keyword].default


def test_constructor_signature_matches_torch_then_tensorboardx_keywords():
    """torch's six parameters in torch's order; tensorboardX's ``logdir`` and
    ``write_to_disk`` after them, keyword only (tensorboardX's own order is ``logdir, comment,
    purge_step, max_queue, flush_secs, filename_suffix, write_to_disk, log_dir, comet_config,
    **kwargs``: its first six line up with torch's, so positional calls mean the same)."""
    ours = inspect.signature(ferroboard.SummaryWriter.__init__).parameters
    torch_params = _params(TorchWriter.__init__)
    assert _params(ferroboard.SummaryWriter.__init__)[:6] == torch_params
    extra = list(ours.values())[7:]
    assert [(p.name, p.kind) for p in extra] == [
        ("logdir", inspect.Parameter.KEYWORD_ONLY),
        ("write_to_disk", inspect.Parameter.KEYWORD_ONLY),
        ("fsync", inspect.Parameter.KEYWORD_ONLY),  # ferroboard's own, last
    ]
    tbx = inspect.signature(tensorboardX.SummaryWriter.__init__).parameters
    assert [p.default for p in extra[:2]] == [tbx["logdir"].default, tbx["write_to_disk"].default]
    assert "fsync" not in tbx
    assert extra[2].default is False
    tbx_names = [n for n in tbx if n != "self"]
    assert tbx_names[1:7] == [n for n, _ in torch_params[1:]] + ["write_to_disk"]


def test_add_hparams_is_torchs_then_tensorboardx_name():
    """torch's parameters in torch's order, then tensorboardX's ``name`` (its spelling of
    ``run_name``), keyword only: tensorboardX's third position is ``name``, torch's is
    ``hparam_domain_discrete``."""
    ours = inspect.signature(ferroboard.SummaryWriter.add_hparams).parameters
    assert _params(ferroboard.SummaryWriter.add_hparams)[:-1] == _params(TorchWriter.add_hparams)
    assert (ours["name"].kind, ours["name"].default) == (inspect.Parameter.KEYWORD_ONLY, None)
    assert "name" in inspect.signature(tensorboardX.SummaryWriter.add_hparams).parameters


def test_pr_curve_raw_default_is_shown_as_torchs():
    ours = inspect.signature(ferroboard.SummaryWriter.add_pr_curve_raw)
    theirs = inspect.signature(TorchWriter.add_pr_curve_raw)
    default = ours.parameters["num_thresholds"].default
    assert default == theirs.parameters["num_thresholds"].default == 127
    assert repr(default) == "127"
    plain = ours.parameters["num_thresholds"].replace(annotation=inspect.Parameter.empty)
    assert str(plain) == str(theirs.parameters["num_thresholds"]) == "num_thresholds=127"


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


def _torch_graph_profile():
    """A ``(GraphDef, RunMetadata)`` pair built by torch's own helper, as code that draws a
    graph itself (or torch's ``add_graph``) hands it to ``FileWriter.add_graph``."""
    import torch
    from torch.utils.tensorboard._pytorch_graph import graph

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 2))
    with warnings.catch_warnings():
        # torch.jit.trace's deprecation notice, from inside torch's helper
        warnings.simplefilter("ignore", FutureWarning)
        return graph(model, torch.zeros(1, 4))


def test_file_writer_add_graph_and_add_onnx_graph_write_torchs_events(tmp_path):
    """``writer._get_file_writer().add_graph((graph_def, run_metadata))`` and
    ``file_writer.add_onnx_graph(graph_def)`` write what torch's FileWriter writes."""
    profile = _torch_graph_profile()
    results = []
    for name, cls in (("torch", TorchWriter), ("ours", ferroboard.SummaryWriter)):
        d = tmp_path / name
        w = cls(str(d))
        w._get_file_writer().add_graph(profile, walltime=5.0)
        w.file_writer.add_onnx_graph(profile[0], walltime=6.0)
        w.add_scalars("m", {"p": 1.0}, 0, walltime=7.0)
        w.all_writers[str(d) + "/m_p"].add_graph(profile, walltime=8.0)
        w.close()
        results.append({run: [tb_events(f)[1:] for f in fs] for run, fs in event_files(d).items()})
    assert results[0] == results[1]
    main = results[1]["."][0]
    assert [e.WhichOneof("what") for e in main] == ["graph_def", "tagged_run_metadata", "graph_def"]
    assert main[0].graph_def == profile[0].SerializeToString()
    assert main[1].tagged_run_metadata.tag == "step1"
    assert [e.wall_time for e in main] == [5.0, 5.0, 6.0]


def test_file_writer_add_graph_refuses_what_is_not_a_graph_profile(logdir):
    w = ferroboard.SummaryWriter(str(logdir))
    with pytest.raises(TypeError, match="graph_profile"):
        w.file_writer.add_graph("not a graph")
    with pytest.raises(TypeError, match="graph"):
        w.file_writer.add_onnx_graph(42)
    w.add_scalar("a", 1.0, 0)  # still usable
    w.close()


def _event_writer_view(cls, d: Path) -> tuple[dict, list]:
    """What code reaches through ``file_writer.event_writer`` (loggers upload or remove the
    event file by ``_file_name``), on torch's writer or ours."""
    from tensorboard.compat.proto import event_pb2

    w = cls(str(d))
    w.add_scalars("m", {"p": 1.0}, 0, walltime=1.0)
    main, sub = w.file_writer.event_writer, w.all_writers[str(d) + "/m_p"].event_writer
    seen = {
        "main_file": os.path.relpath(main._file_name, d),
        "sub_file": os.path.relpath(sub._file_name, d),
        "main_logdir": (main.get_logdir(), main._logdir),
        "sub_logdir": (sub.get_logdir(), sub._logdir),
        "main_file_is_str": isinstance(main._file_name, str),
    }
    # EventFileWriter.add_event writes the event as given (its own wall time and step).
    main.add_event(event_pb2.Event(wall_time=3.0, step=2, summary=_summary("direct", 4.0)))
    main.flush()
    w.close()
    events = [(e.step, e.wall_time, e.summary) for e in tb_events(d / seen["main_file"])[1:]]
    seen["main_file"] = re.sub(r"\d{10}\..*$", "NAME", seen["main_file"])
    seen["sub_file"] = re.sub(r"\d{10}\..*$", "NAME", seen["sub_file"])
    seen["main_logdir"] = tuple(os.path.relpath(p, d) for p in seen["main_logdir"])
    seen["sub_logdir"] = tuple(os.path.relpath(p, d) for p in seen["sub_logdir"])
    return seen, events


def test_event_writer_names_the_event_files_as_torchs(tmp_path):
    torch_seen = _event_writer_view(TorchWriter, tmp_path / "torch")
    our_seen = _event_writer_view(ferroboard.SummaryWriter, tmp_path / "ours")
    assert our_seen == torch_seen
    assert our_seen[0]["main_file"] == "events.out.tfevents.NAME"
    assert our_seen[0]["sub_file"] == "m_p/events.out.tfevents.NAME"
    assert our_seen[1] == [(2, 3.0, _summary("direct", 4.0))]


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


# ---------------------------------------------------------------------------------------------
# torch's writer attributes, side by side with torch's writer


def _rel_keys(writer) -> list[str] | None:
    """``all_writers``' keys relative to the writer's log_dir (None while closed)."""
    if writer.all_writers is None:
        return None
    root = str(writer.get_logdir())
    assert all(k.startswith(root) for k in writer.all_writers)
    return [k[len(root) :] for k in writer.all_writers]


def _observe(writer) -> dict:
    fw = writer.file_writer
    aw = writer.all_writers
    return {
        "file_writer_is_none": fw is None,
        "all_writers_keys": _rel_keys(writer),
        "main_entry_is_file_writer": None if aw is None else aw[writer.get_logdir()] is fw,
        "file_writer_logdir": None if fw is None else fw.get_logdir() == writer.get_logdir(),
    }


def _summary(tag: str, value: float):
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])


def _run_lifecycle(cls, d: Path) -> tuple[list, dict]:
    """The same calls on torch's writer and ours; what code can observe after each."""
    w = cls(str(d))
    seen = [("init", _observe(w), w.get_logdir() == str(d))]
    w.add_scalar("a", 1.0, 0, walltime=1.0)
    w.add_scalars("m/x", {"p": 1.0, "q": 2.0}, 0, walltime=2.0)
    w.add_scalars("m/x", {"r": 3.0}, 1, walltime=3.0)
    seen.append(("add_scalars", _observe(w)))
    # Writing through all_writers' sub-run entry lands in that sub-run.
    w.all_writers[str(d) + "/m_x_q"].add_summary(_summary("via_all_writers", 4.0), 2, 4.0)
    w.all_writers[str(d) + "/m_x_q"].flush()
    w.flush()
    w.close()
    seen.append(("close", _observe(w)))
    w.flush()  # no-op on a closed writer
    w.close()  # idempotent
    seen.append(("close twice", _observe(w)))
    fw = w._get_file_writer()
    seen.append(("_get_file_writer", _observe(w), fw is w.file_writer, fw is not None))
    fw.add_summary(_summary("after_reopen", 5.0), 3, 5.0)
    w.close()
    seen.append(("closed again", _observe(w)))
    w.add_scalar("b", 6.0, 4, walltime=6.0)  # reopens, as torch's add_* does
    seen.append(("add after close", _observe(w)))
    w.close()
    files = {
        run: sorted(
            (
                [(e.step, e.wall_time, e.summary) for e in tb_events(f) if e.HasField("summary")]
                for f in paths
            ),
            key=lambda events: [(step, wall) for step, wall, _ in events],
        )
        for run, paths in event_files(d).items()
    }
    return seen, files


def test_lifecycle_attributes_match_torch(tmp_path):
    """file_writer, all_writers, _get_file_writer() and get_logdir() through open, add_scalars,
    close, reopen: the same observations and the same files as torch's writer."""
    t_seen, t_files = _run_lifecycle(TorchWriter, tmp_path / "torch")
    o_seen, o_files = _run_lifecycle(ferroboard.SummaryWriter, tmp_path / "ours")
    assert o_seen == t_seen
    assert o_files == t_files
    # The observations are not vacuous: closed means None, and sub-runs are listed.
    assert dict((s[0], s[1]) for s in t_seen)["close"]["file_writer_is_none"]
    assert dict((s[0], s[1]) for s in t_seen)["add_scalars"]["all_writers_keys"] == [
        "",
        "/m_x_p",
        "/m_x_q",
        "/m_x_r",
    ]
    assert len(t_files["."]) == 3  # torch opened a new file at _get_file_writer() and add_*


def test_default_bins_equal_torchs(tmp_path):
    t = TorchWriter(str(tmp_path / "t"))
    o = ferroboard.SummaryWriter(str(tmp_path / "o"))
    try:
        assert type(o.default_bins) is type(t.default_bins) is list
        assert o.default_bins == t.default_bins
        assert len(o.default_bins) > 1000
        # Each writer has its own list, as each torch writer does.
        o2 = ferroboard.SummaryWriter(str(tmp_path / "o2"))
        assert o2.default_bins is not o.default_bins
        o2.close()
    finally:
        t.close()
        o.close()


def test_assigned_default_bins_are_the_default_edges_as_in_torch(tmp_path):
    """torch's add_histogram(bins="tensorflow") uses writer.default_bins; so does ours when a
    new list is assigned to it."""
    # Multiples of 1/8: every order of summation gives the same sum, bit for bit.
    values = np.random.default_rng(5).integers(-24, 32, size=1000) / 8.0
    edges = [-3.5, -1.0, -0.5, 0.0, 0.25, 1.0, 2.0, 4.0]
    out = []
    for name, cls in (("torch", TorchWriter), ("ours", ferroboard.SummaryWriter)):
        w = cls(str(tmp_path / name))
        w.add_histogram("stock", values, 0, walltime=1.0)
        w.default_bins = edges
        w.add_histogram("assigned", values, 1, walltime=2.0)
        w.close()
        (f,) = event_files(tmp_path / name)["."]
        out.append([e.summary for e in tb_events(f) if e.HasField("summary")])
    assert out[0] == out[1]
    assert len(out[1][1].value[0].histo.bucket_limit) < 10


def test_get_logdir_matches_torch_for_paths(tmp_path):
    for arg in (str(tmp_path / "s"), tmp_path / "p"):
        t = TorchWriter(arg)
        o = ferroboard.SummaryWriter(arg)
        assert o.get_logdir() == str(t.get_logdir())
        assert o.file_writer.get_logdir() == t.file_writer.get_logdir()
        t.close()
        o.close()


# ---------------------------------------------------------------------------------------------
# tensorboardX's spellings: logdir= and write_to_disk=


def test_logdir_alias_like_tensorboardx(tmp_path):
    x = tensorboardX.SummaryWriter(logdir=str(tmp_path / "x"))
    o = ferroboard.SummaryWriter(logdir=str(tmp_path / "o"))
    for w in (x, o):
        w.add_scalar("a", 1.0, 0)
        w.close()
    assert o.logdir == o.get_logdir() == o.log_dir == str(tmp_path / "o")
    assert x.logdir == str(tmp_path / "x")
    assert list(event_files(tmp_path / "o")) == list(event_files(tmp_path / "x")) == ["."]
    # Both names, the same directory: accepted.
    same = ferroboard.SummaryWriter(str(tmp_path / "o"), logdir=tmp_path / "o")
    assert same.get_logdir() == str(tmp_path / "o")
    same.close()


def test_add_scalar_display_name_and_description_like_tensorboardx(tmp_path):
    """tensorboardX's ``add_scalar(..., display_name=, summary_description=)``: the same values
    with the same metadata (title and description, no plugin) as tensorboardX writes; without
    them (or empty) the plain value torch and tensorboardX write."""

    def calls(w) -> None:
        w.add_scalar("loss", 0.5, 0, walltime=1.0, display_name="Loss", summary_description="d")
        w.add_scalar("loss", 0.25, 1, walltime=2.0, display_name="Loss")
        w.add_scalar("acc", 0.75, 0, walltime=3.0, summary_description="only a description")
        w.add_scalar("plain", 1.0, 0, walltime=4.0, display_name="", summary_description="")

    x = tensorboardX.SummaryWriter(logdir=str(tmp_path / "x"))
    o = ferroboard.SummaryWriter(str(tmp_path / "o"))
    for w in (x, o):
        calls(w)
        w.close()

    def values(root):
        ((path,),) = [files for files in event_files(root).values()]
        return [
            (e.step, e.wall_time, e.summary.value[0].SerializeToString())
            for e in tb_events(path)
            if e.HasField("summary")
        ]

    ours, theirs = values(tmp_path / "o"), values(tmp_path / "x")
    assert ours == theirs
    assert len(ours) == 4


def test_add_scalar_display_name_must_be_a_str(tmp_path):
    w = ferroboard.SummaryWriter(str(tmp_path))
    with pytest.raises(TypeError, match="display_name must be a str, got int"):
        w.add_scalar("a", 1.0, 0, display_name=3)
    with pytest.raises(TypeError, match="summary_description must be a str"):
        w.add_scalar("a", 1.0, 0, summary_description=b"x")
    w.add_scalar("a", 1.0, 1, display_name=None)  # None: not given
    w.close()
    ((path,),) = [files for files in event_files(tmp_path).values()]
    assert [e.step for e in tb_events(path) if e.HasField("summary")] == [1]


def test_logdir_and_log_dir_disagreeing_is_an_error(tmp_path):
    with pytest.raises(TypeError, match="log_dir and logdir"):
        ferroboard.SummaryWriter(str(tmp_path / "a"), logdir=str(tmp_path / "b"))
    with pytest.raises(TypeError, match="logdir must be a str"):
        ferroboard.SummaryWriter(logdir=5)
    assert not list(tmp_path.iterdir())


def _every_call(w) -> None:
    """One valid call of every add_* ferroboard has and every lifecycle method."""
    rng = np.random.default_rng(1)
    labels, preds = rng.random(50) < 0.5, rng.random(50)
    w.add_scalar("s", 1.0, 0)
    w.add_scalar("s", np.float32(2.0), 1)
    w.add_scalars("m", {"a": 1.0, "b": 2.0}, 0)
    w.add_text("t", "hello", 0)
    w.add_histogram("h", rng.normal(size=100), 0)
    w.add_histogram_raw("hr", 0, 1, 2, 1, 1, [0.5, 1.0], [1, 1], 0)
    w.add_pr_curve("pr", labels, preds, 0)
    w.add_pr_curve_raw("prr", [3, 1], [2, 0], [0, 2], [0, 2], [0.6, 1.0], [1.0, 0.3], 0)
    w.file_writer.add_summary(_summary("fw", 1.0), 0)
    w.flush()
    w.close()
    w.add_scalar("after_close", 1.0, 1)
    w._get_file_writer()
    w.close()


def test_write_to_disk_false_writes_nothing_like_tensorboardx(tmp_path):
    """The idiom for non-zero ranks: every call works, nothing reaches the disk (no directory,
    no file), as with tensorboardX's write_to_disk=False."""
    x = tensorboardX.SummaryWriter(str(tmp_path / "x" / "run"), write_to_disk=False)
    _every_call(x)
    o = ferroboard.SummaryWriter(str(tmp_path / "o" / "run"), write_to_disk=False)
    _every_call(o)
    assert o.get_logdir() == str(tmp_path / "o" / "run")
    assert o._event_file is None
    o.add_scalar("s", 1.0, 2, new_style=True, double_precision=True)  # torch's, not tensorboardX's
    o.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    # The same calls with write_to_disk=True do write (the calls above are not no-ops).
    w = ferroboard.SummaryWriter(str(tmp_path / "on"))
    _every_call(w)
    assert len(event_files(tmp_path / "on")) == 3  # ".", "m_a", "m_b"


def test_write_to_disk_false_default_log_dir_creates_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    w = ferroboard.SummaryWriter(write_to_disk=False)
    w.add_scalar("a", 1.0, 0)
    w.close()
    assert w.get_logdir().startswith("runs")
    assert not list(tmp_path.iterdir())


def test_write_to_disk_false_keeps_the_attributes(tmp_path):
    w = ferroboard.SummaryWriter(str(tmp_path / "run"), write_to_disk=False)
    w.add_scalars("m", {"a": 1.0}, 0)
    assert w.file_writer is not None
    assert _rel_keys(w) == ["", "/m_a"]
    w.close()
    assert w.file_writer is None
    assert w.all_writers is None
    assert not tmp_path.joinpath("run").exists()


def test_write_to_disk_is_validated(tmp_path):
    for bad in ("False", None, 2, 0.0):
        with pytest.raises(TypeError, match="write_to_disk"):
            ferroboard.SummaryWriter(str(tmp_path / "run"), write_to_disk=bad)
    assert not list(tmp_path.iterdir())
    for ok in (np.False_, 0):
        ferroboard.SummaryWriter(str(tmp_path / "run"), write_to_disk=ok).close()
    assert not list(tmp_path.iterdir())


def test_pickling_keeps_write_to_disk(tmp_path):
    w = ferroboard.SummaryWriter(str(tmp_path / "run"), write_to_disk=False)
    copy = pickle.loads(pickle.dumps(w))
    assert copy._write_to_disk is False
    assert copy.get_logdir() == w.get_logdir()
    copy.add_scalar("a", 1.0, 0)
    copy.close()
    w.close()
    assert not list(tmp_path.iterdir())
    on = ferroboard.SummaryWriter(str(tmp_path / "on"))
    copy_on = pickle.loads(pickle.dumps(on))
    copy_on.add_scalar("a", 1.0, 0)
    copy_on.close()
    on.close()
    assert len(event_files(tmp_path / "on")["."]) == 2
