"""``add_hparams`` against torch's writer: the events decoded with TensorBoard's own classes
(``plugin_data_pb2``, ``api_pb2``), equal to torch's but for the documented fixes (booleans
typed as booleans; values torch cannot take); TensorBoard's HTTP server shows the same session
groups for both; and the readers (ours, tbparse) read both."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Callable

import ferroboard
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from tensorboard.plugins.hparams import api_pb2, plugin_data_pb2
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from tests.support.judges import tb_events
from tests.support.logdirs import event_files

Call = Callable[[Any], None]


def _runs(logdir: Path) -> dict[str, list[Any]]:
    """Run -> its events after the file header, every file of the run in name order. Sub-runs
    named by time become ``sub0``, ``sub1``, ... in time order."""
    out: dict[str, list[Any]] = {}
    subs = 0
    for run, files in sorted(event_files(logdir).items(), key=lambda kv: _time_key(kv[0])):
        name = run
        if _is_time(run):
            name, subs = f"sub{subs}", subs + 1
        out[name] = [e for f in files for e in tb_events(f) if not e.HasField("file_version")]
    return out


def _is_time(run: str) -> bool:
    try:
        float(run)
    except ValueError:
        return False
    return True


def _time_key(run: str) -> tuple[int, float, str]:
    return (1, float(run), "") if _is_time(run) else (0, 0.0, run)


def _write(cls: type, logdir: Path, call: Call) -> dict[str, list[Any]]:
    w = cls(str(logdir))
    call(w)
    w.close()
    return _runs(logdir)


def _content(value: Any) -> Any:
    assert value.metadata.plugin_data.plugin_name == "hparams"
    return plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)


def _view(events: list[Any]) -> list[tuple[Any, ...]]:
    """What an event says, decoded: (step, tag, the hparams data or the scalar)."""
    out = []
    for e in events:
        assert len(e.summary.value) == 1
        v = e.summary.value[0]
        if v.tag.startswith("_hparams_/"):
            assert v.WhichOneof("value") is None
            out.append((e.step, v.tag, _content(v)))
        else:
            assert v.WhichOneof("value") == "simple_value"
            out.append((e.step, v.tag, v.simple_value))
    return out


def _both(tmp_path: Path, call: Call, torch_call: Call | None = None) -> tuple[Any, Any]:
    t = _write(TorchWriter, tmp_path / "torch", torch_call or call)
    o = _write(ferroboard.SummaryWriter, tmp_path / "ours", call)
    return t, o


def _typed_as_bools(torch_runs: dict[str, list[Any]], keys: set[str]) -> dict[str, list[Any]]:
    """torch's events with the documented fix: the hyperparameters ``keys`` (booleans, which
    torch writes as numbers) typed as booleans, in the experiment and session start."""
    for events in torch_runs.values():
        for e in events:
            v = e.summary.value[0]
            if not v.tag.startswith("_hparams_/"):
                continue
            data = _content(v)
            if data.HasField("experiment"):
                for info in data.experiment.hparam_infos:
                    if info.name in keys:
                        info.type = api_pb2.DATA_TYPE_BOOL
                        if info.HasField("domain_discrete"):
                            for d in info.domain_discrete.values:
                                d.bool_value = bool(d.number_value)
            if data.HasField("session_start_info"):
                for k, hv in data.session_start_info.hparams.items():
                    if k in keys:
                        hv.bool_value = bool(hv.number_value)
            v.metadata.plugin_data.content = data.SerializeToString()
    return torch_runs


CASES: dict[str, Call] = {
    "numbers-strings": lambda w: w.add_hparams(
        {"lr": 0.1, "batch": 32, "opt": "adam", "drop": None}, {"hp/acc": 0.9, "hp/loss": 0.25}
    ),
    "domains-step": lambda w: w.add_hparams(
        {"opt": "sgd", "layers": 3, "lr": 1e-3},
        {"hp/acc": 0.5},
        hparam_domain_discrete={"opt": ["adam", "sgd"], "layers": [1, 2, 3]},
        global_step=7,
    ),
    "tensors": lambda w: w.add_hparams(
        {"t": torch.tensor([0.1]), "i": torch.tensor([5])},
        {"m": torch.tensor(1.5), "n": np.float32(2.0)},
    ),
    "several-calls-named": lambda w: [
        w.add_hparams({"lr": lr, "name": "é/ü"}, {"hp/acc": lr * 2}, run_name=f"trial{i}")
        for i, lr in enumerate([0.1, 0.01])
    ],
    "several-calls-timed": lambda w: [
        w.add_hparams({"lr": lr}, {"hp/acc": lr * 2}) for lr in [0.1, 0.01, 0.001]
    ],
    "no-metrics": lambda w: w.add_hparams({"a": 1.5}, {}),
    "nothing": lambda w: w.add_hparams({}, {}),
}


@pytest.mark.parametrize("case", list(CASES))
def test_events_equal_torchs(tmp_path, case):
    t, o = _both(tmp_path, CASES[case])
    assert list(t) == list(o)
    for run in t:
        assert _view(o[run]) == _view(t[run]), run


def test_experiment_and_session_end_bytes_equal_torchs(tmp_path):
    """Byte for byte, but the wall time; the session start too, once both are serialized with
    sorted map keys (protobuf map order is unspecified; ours is sorted)."""
    call = CASES["domains-step"]
    t, o = _both(tmp_path, call)
    for te, oe in zip(t["sub0"], o["sub0"]):
        te.wall_time = oe.wall_time
        tv = te.summary.value[0]
        if tv.tag == "_hparams_/session_start_info":
            tv.metadata.plugin_data.content = _content(tv).SerializeToString(deterministic=True)
        assert te.SerializeToString(deterministic=True) == oe.SerializeToString()
    # Ours is written sorted by key: byte-identical to a deterministic serialization.
    raw = o["sub0"][1].summary.value[0].metadata.plugin_data.content
    assert raw == _content(o["sub0"][1].summary.value[0]).SerializeToString(deterministic=True)


def test_booleans_are_typed_as_booleans(tmp_path):
    """Documented fix: torch writes True as the number 1.0 (DATA_TYPE_FLOAT64)."""

    def call(w: Any) -> None:
        w.add_hparams(
            {"bn": True, "aug": False, "lr": 0.1},
            {"hp/acc": 1.0},
            hparam_domain_discrete={"bn": [True, False]},
        )

    t, o = _both(tmp_path, call)
    assert _view(o["sub0"]) == _view(_typed_as_bools(t, {"bn", "aug"})["sub0"])
    start = _content(o["sub0"][1].summary.value[0]).session_start_info.hparams
    assert start["bn"].WhichOneof("kind") == start["aug"].WhichOneof("kind") == "bool_value"
    assert (start["bn"].bool_value, start["aug"].bool_value) == (True, False)


@pytest.mark.parametrize(
    ("value", "torch_value"),
    [
        (torch.tensor(0.5), 0.5),  # torch: IndexError
        (np.float32(0.25), 0.25),  # torch: ValueError
        (np.array(3), 3),
        (np.array([[4.0]]), 4.0),
        (np.int64(9), 9),
        (torch.tensor(True), True),
        (np.bool_(False), False),
        (np.str_("adam"), "adam"),
    ],
    ids=repr,
)
def test_values_torch_cannot_take(tmp_path, value, torch_value):
    """Documented: numpy scalars and 0-d or one-element tensors and arrays are accepted; they
    are written as torch writes the plain Python value (booleans typed as booleans)."""
    t, o = _both(
        tmp_path,
        lambda w: w.add_hparams({"v": value}, {"m": 1.0}),
        lambda w: w.add_hparams({"v": torch_value}, {"m": 1.0}),
    )
    if isinstance(torch_value, bool):
        t = _typed_as_bools(t, {"v"})
    assert _view(o["sub0"]) == _view(t["sub0"])


def test_run_name_dot_writes_into_the_writers_own_run(tmp_path):
    """Documented option: ``run_name="."``, no extra run; the same events torch writes into
    its sub-run, after the writer's own, in its one event file."""

    def call(run_name: str | None) -> Call:
        def f(w: Any) -> None:
            w.add_scalar("loss", 1.0, 0)
            w.add_hparams({"lr": 0.1}, {"hp/acc": 0.5}, run_name=run_name, global_step=2)

        return f

    t = _write(TorchWriter, tmp_path / "torch", call(None))
    o = _write(ferroboard.SummaryWriter, tmp_path / "ours", call("."))
    assert list(o) == ["."]
    assert len(event_files(tmp_path / "ours")["."]) == 1
    assert _view(o["."]) == _view(t["."]) + _view(t["sub0"])


def test_a_refused_call_writes_nothing(tmp_path):
    w = ferroboard.SummaryWriter(str(tmp_path))
    with pytest.raises(ValueError, match=r"hparam_dict\['n'\]: 5 is not in its domain"):
        w.add_hparams({"n": 5}, {"m": 1.0}, hparam_domain_discrete={"n": [1, 2]})
    with pytest.raises(TypeError, match=r"metric_dict\['m'\]"):
        w.add_hparams({"n": 5}, {"m": "high"})
    w.close()
    assert list(event_files(tmp_path)) == ["."]
    assert len(tb_events(event_files(tmp_path)["."][0])) == 1  # the header only


def test_write_to_disk_false_writes_no_sub_run(tmp_path):
    w = ferroboard.SummaryWriter(str(tmp_path / "q"), write_to_disk=False)
    w.add_hparams({"a": 1}, {"m": 1.0})
    w.close()
    assert not (tmp_path / "q").exists()


# ---------------------------------------------------------------- TensorBoard's server


def _session_groups(server: Any) -> dict[str, Any]:
    import json

    req = json.dumps(
        {
            "startIndex": 0,
            "sliceSize": 100,
            "allowedStatuses": ["STATUS_UNKNOWN", "STATUS_SUCCESS", "STATUS_FAILURE"],
        }
    )
    groups = server.wait_for(
        "/data/plugin/hparams/session_groups",
        lambda g: len(g.get("sessionGroups", [])) >= 4,
        request=req,
    )
    return {g["name"]: g for g in groups["sessionGroups"]}


def _metrics(values: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """Metric values but their wall times."""
    return [(m["name"]["tag"], m["value"], m["trainingStep"]) for m in values]


def test_tensorboard_lists_the_same_session_groups(tmp_path):
    from tests.support.tensorboard_server import TensorBoardServer

    def call(w: Any) -> None:
        for i, (lr, opt) in enumerate([(0.1, "adam"), (0.01, "sgd")]):
            w.add_hparams(
                {"lr": lr, "opt": opt, "layers": 2 + i},
                {"hp/acc": 0.5 + i / 10, "hp/loss": 1.0 - i / 10},
                hparam_domain_discrete={"opt": ["adam", "sgd"]},
                run_name=f"trial{i}",
                global_step=3,
            )

    _both(tmp_path, call)
    server = TensorBoardServer(tmp_path, tmp_path.parent / "tb-hparams.log")
    try:
        groups = _session_groups(server)
        experiment = server.get("/data/plugin/hparams/experiment", request="{}")
    finally:
        server.stop()
    for i in range(2):
        t, o = groups[f"torch/trial{i}"], groups[f"ours/trial{i}"]
        assert o["hparams"] == t["hparams"]
        assert _metrics(o["metricValues"]) == _metrics(t["metricValues"])
        assert [s["name"].split("/", 1)[1] for s in o["sessions"]] == [
            s["name"].split("/", 1)[1] for s in t["sessions"]
        ]
        assert o["sessions"][0]["status"] == t["sessions"][0]["status"] == "STATUS_SUCCESS"
    names = {h["name"]: h for h in experiment["hparamInfos"]}
    assert set(names) == {"lr", "opt", "layers"}
    assert names["opt"]["domainDiscrete"] == ["adam", "sgd"]
    assert {m["name"]["tag"] for m in experiment["metricInfos"]} == {"hp/acc", "hp/loss"}


# ---------------------------------------------------------------- reading back


def _hparams_call(w: Any) -> None:
    for i in range(2):
        w.add_hparams(
            {"lr": 0.1 / (i + 1), "opt": "adam", "bn": i == 0},
            {"hp/acc": 0.5 + i / 4},
            run_name=f"t{i}",
        )
    w.add_scalar("loss", 2.0, 1)
    w.add_hparams({"lr": 0.5, "bn": False}, {"hp/acc": 0.75}, run_name=".")


@pytest.fixture(scope="module")
def written_both_ways(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("hparams-read")
    for name, cls in (("torch", TorchWriter), ("ours", ferroboard.SummaryWriter)):
        w = cls(str(root / name))
        _hparams_call(w)
        w.close()
    return root


@pytest.mark.parametrize("writer", ["torch", "ours"])
def test_tbparse_frames_equal(written_both_ways, writer):
    """``SummaryReader.hparams``: the same frame as tbparse's, on files written by torch
    (booleans as 1.0/0.0) and by us (booleans as booleans); rows in tbparse's order up to its
    map-order listing of names within a run."""
    tbparse = pytest.importorskip("tbparse")
    path = str(written_both_ways / writer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tbparse's own pandas deprecations
        theirs = tbparse.SummaryReader(path, extra_columns={"dir_name"}).hparams
    ours = ferroboard.SummaryReader(path, extra_columns={"dir_name"}).hparams
    key = ["dir_name", "tag"]
    theirs = theirs.sort_values(key).reset_index(drop=True)
    ours = ours.sort_values(key).reset_index(drop=True)
    assert list(ours.columns) == list(theirs.columns)
    assert ours.to_dict("records") == theirs.to_dict("records")
    bn = ours[(ours["tag"] == "bn") & (ours["dir_name"] == "t0")]["value"].item()
    assert bn is True if writer == "ours" else bn == 1.0


def test_hparams_table_and_read(written_both_ways):
    """``hparams_table()`` and ``ferroboard.read(...).hparams()``: one row per run, the values
    as written (torch's booleans are numbers), the metrics' last values."""
    tables = {
        w: ferroboard.SummaryReader(str(written_both_ways / w)).hparams_table()
        for w in ("torch", "ours")
    }
    for w, table in tables.items():
        rows = {r["dir_name"]: r for r in table.to_dict("records")}
        assert set(rows) == {"", "t0", "t1"}
        assert (rows["t0"]["lr"], rows["t1"]["lr"]) == (0.1, 0.05)
        assert (rows["t0"]["hp/acc"], rows["t1"]["hp/acc"]) == (0.5, 0.75)
        assert rows["t0"]["opt"] == "adam"
        expected_bn = [True, False] if w == "ours" else [1.0, 0.0]
        assert [rows["t0"]["bn"], rows["t1"]["bn"]] == expected_bn
        assert isinstance(rows["t0"]["bn"], bool) == (w == "ours")
    read = ferroboard.read(str(written_both_ways / "ours")).hparams()
    assert read["."] == {"lr": 0.5, "bn": False}
    assert read["t0"] == {"lr": 0.1, "opt": "adam", "bn": True}
    assert os.path.isdir(written_both_ways / "torch" / "t0")


def test_a_metric_without_value_is_named_but_not_written(tmp_path):
    """Documented: ``metric_dict`` value ``None`` names the metric (its scalars are the ones
    logged under that tag) and writes no scalar: torch's events less that scalar."""
    t = _write(TorchWriter, tmp_path / "torch", lambda w: w.add_hparams({"a": 1}, {"m": 1.0}))
    o = _write(
        ferroboard.SummaryWriter, tmp_path / "ours", lambda w: w.add_hparams({"a": 1}, {"m": None})
    )
    assert _view(o["sub0"]) == [x for x in _view(t["sub0"]) if x[1] != "m"]
    assert len(o["sub0"]) == 3


def test_add_summary_takes_torchs_protobuf_objects(tmp_path):
    """What Lightning does: torch's own ``hparams()`` summaries through ``add_summary``, on the
    file writer and on the writer itself; the same events as torch's file writer writes."""
    from torch.utils.tensorboard.summary import hparams

    def call(w: Any) -> None:
        exp, ssi, sei = hparams({"lr": 0.1, "bn": True}, {"hp_metric": -1})
        w._get_file_writer().add_summary(exp, 3)
        w.file_writer.add_summary(ssi, 3)
        if isinstance(w, ferroboard.SummaryWriter):
            w.add_summary(sei, 3)
        else:
            w.file_writer.add_summary(sei, 3)

    t, o = _both(tmp_path, call)
    assert list(o) == ["."]
    for te, oe in zip(t["."], o["."]):
        te.wall_time = oe.wall_time
        assert oe.SerializeToString() == te.SerializeToString()


# ---------------------------------------------------------------- generated inputs

_KEYS = st.text(st.characters(exclude_categories=("Cs",)), min_size=1, max_size=8)
_VALUES = st.one_of(
    st.floats(allow_nan=False, width=64),
    st.integers(-(2**53), 2**53),
    st.booleans(),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=8),
    st.none(),
)


@st.composite
def _hparams_inputs(draw: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    hp = draw(st.dictionaries(_KEYS, _VALUES, max_size=6))
    metrics = draw(st.dictionaries(_KEYS, st.floats(allow_nan=False, width=32), max_size=3))
    domains = {}
    for k, v in hp.items():
        if v is not None and draw(st.booleans()):
            same = st.from_type(type(v)).filter(lambda d, v=v: type(d) is type(v))
            if isinstance(v, float):
                same = st.floats(allow_nan=False)
            extras = draw(st.lists(same, max_size=3))
            domains[k] = [*extras, v]
    return hp, metrics, domains


@settings(max_examples=150)
@given(_hparams_inputs())
def test_generated_inputs_give_torchs_summaries(inputs):
    """The three summaries of our core against torch's ``summary.hparams`` for generated
    dicts of floats, ints, booleans, strings and ``None``, with discrete domains: equal once
    torch's booleans are typed as booleans (the documented fix)."""
    from ferroboard import _inputs
    from ferroboard._native import hparams_events
    from tensorboard.compat.proto import event_pb2
    from torch.utils.tensorboard.summary import hparams

    hp, metrics, domains = inputs
    theirs = [s.value[0] for s in hparams(hp, metrics, domains)]
    events = hparams_events(
        _inputs.hparam_items(hp),
        _inputs.hparam_domains(domains),
        _inputs.metric_items(metrics),
    )
    assert len(events) == 3 + len(metrics)
    ours = [event_pb2.Event.FromString(b).summary.value[0] for b in events[:3]]
    bools = {k for k, v in hp.items() if isinstance(v, bool)}
    fixed = _typed_as_bools(
        {".": [event_pb2.Event(summary={"value": [v]}) for v in theirs]}, bools
    )["."]
    assert _view([event_pb2.Event(summary={"value": [v]}) for v in ours]) == _view(fixed)
    for b, (k, v) in zip(events[3:], metrics.items()):
        (value,) = event_pb2.Event.FromString(b).summary.value
        assert value.tag == k
        assert value.simple_value == v  # float32 values: exact


# ---------------------------------------------------------------- tensorboardX's spelling


def test_tensorboardx_name_is_run_name(tmp_path):
    """tensorboardX's ``add_hparams(..., name=...)`` is torch's ``run_name``: the same run and
    the same events as torch's with ``run_name``, as tensorboardX names its sub-run."""
    from tensorboardX import SummaryWriter as XWriter

    def torch_call(w: Any) -> None:
        w.add_hparams({"lr": 0.1, "opt": "adam"}, {"hp/acc": 0.5}, run_name="trial", global_step=3)

    t, o = _both(
        tmp_path,
        lambda w: w.add_hparams(
            {"lr": 0.1, "opt": "adam"}, {"hp/acc": 0.5}, name="trial", global_step=3
        ),
        torch_call,
    )
    assert list(o) == list(t) == [".", "trial"]
    assert _view(o["trial"]) == _view(t["trial"])
    x = _write(
        XWriter, tmp_path / "x", lambda w: w.add_hparams({"lr": 0.1}, {"m": 1.0}, name="trial")
    )
    assert list(x) == list(
        _write(
            ferroboard.SummaryWriter,
            tmp_path / "o2",
            lambda w: w.add_hparams({"lr": 0.1}, {"m": 1.0}, name="trial"),
        )
    )
    w = ferroboard.SummaryWriter(str(tmp_path / "both"))
    w.add_hparams({"lr": 0.1}, {"m": 1.0}, run_name="same", name="same")
    with pytest.raises(TypeError, match=r"run_name and name .*'a'.*'b'"):
        w.add_hparams({"lr": 0.1}, {"m": 1.0}, run_name="a", name="b")
    # A str where torch has the discrete domains (always a dict) is tensorboardX's positional
    # name, and the next argument its global_step; with a name given twice, an error.
    with pytest.raises(TypeError, match=r"hparam_domain_discrete .*got str.*conflicts"):
        w.add_hparams({"lr": 0.1}, {"m": 1.0}, "trial2", name="trial2")
    with pytest.raises(TypeError, match=r"hparam_domain_discrete .*got str.*conflicts"):
        w.add_hparams({"lr": 0.1}, {"m": 1.0}, "trial2", "trial3")
    w.close()
    assert sorted(event_files(tmp_path / "both")) == [".", "same"]


def test_tensorboardx_positional_name_and_step(tmp_path):
    """tensorboardX's ``add_hparams(hp, metrics, "trial", 3)`` (its positional order: name,
    then global_step) writes what torch's ``run_name="trial", global_step=3`` writes."""
    hp, metrics = {"lr": 0.1, "opt": "adam"}, {"hp/acc": 0.5}
    t, o = _both(
        tmp_path,
        lambda w: w.add_hparams(hp, metrics, "trial", 3),
        lambda w: w.add_hparams(hp, metrics, run_name="trial", global_step=3),
    )
    assert list(o) == list(t) == [".", "trial"]
    assert _view(o["trial"]) == _view(t["trial"])
