"""add_graph and add_onnx_graph, judged against torch's writer on the same models: the GraphDef
and run metadata decoded by TensorBoard's EventAccumulator, node by node, and TensorBoard's
own server listing and serving the graph."""

from __future__ import annotations

import contextlib
import glob
import io
import warnings
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

import ferroboard  # noqa: E402
from ferroboard.writer import GraphTraceError  # noqa: E402

from tests.support.judges import tb_events  # noqa: E402
from tests.support.tensorboard_server import TensorBoardServer  # noqa: E402

pytestmark = pytest.mark.filterwarnings(
    "ignore::FutureWarning",
    "ignore::UserWarning",
    "ignore::DeprecationWarning",
    "ignore::torch.jit.TracerWarning",
)


# ---------------------------------------------------------------- models


class CNN(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.fc1 = nn.Linear(8 * 3 * 3, 16)
        self.fc2 = nn.Linear(16, 10)
        self.drop = nn.Dropout(0.5)

    def forward(self, x: Any) -> Any:
        x = F.relu(self.bn(self.conv1(x)))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = self.drop(torch.flatten(x, 1))
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


class TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Linear(3, 4)
        self.b = nn.Linear(5, 4)

    def forward(self, x: Any, y: Any) -> Any:
        return self.a(x) + self.b(y), x.sum()


class PairInput(nn.Module):
    """One argument that is a tuple of tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.l = nn.Linear(3, 3)

    def forward(self, pair: Any) -> Any:
        return self.l(pair[0]) * pair[1]


class ControlFlow(nn.Module):
    """Data-dependent Python control flow: the tracer warns and records one branch."""

    def __init__(self) -> None:
        super().__init__()
        self.l = nn.Linear(3, 3)

    def forward(self, x: Any) -> Any:
        if x.sum() > 0:
            return self.l(x)
        return -x


class Scriptable(nn.Module):
    """ControlFlow with the annotations TorchScript reads (both branches are kept)."""

    def __init__(self) -> None:
        super().__init__()
        self.l = nn.Linear(3, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if bool(x.sum() > 0):
            return self.l(x)
        return -x


class Shared(nn.Module):
    """One submodule reached under two names, a parameter used directly, a constant tensor."""

    def __init__(self) -> None:
        super().__init__()
        self.enc = nn.Linear(4, 4)
        self.dec = self.enc
        self.scale = nn.Parameter(torch.ones(4))

    def forward(self, x: Any) -> Any:
        return self.dec(self.enc(x)) * self.scale + torch.tensor([1.0, 2.0, 3.0, 4.0])


def nested() -> Any:
    return nn.Sequential(
        nn.Linear(4, 8),
        nn.Sequential(nn.ReLU(), nn.Sequential(nn.Linear(8, 2), nn.Tanh())),
    )


MODELS = {
    "cnn": (CNN, lambda: torch.randn(2, 1, 8, 8)),
    "two_inputs": (TwoInputs, lambda: (torch.ones(2, 3), torch.ones(2, 5))),
    "list_inputs": (TwoInputs, lambda: [torch.ones(2, 3), torch.ones(2, 5)]),
    "tuple_argument": (PairInput, lambda: ((torch.ones(2, 3), torch.ones(2, 3)),)),
    "nested_sequential": (nested, lambda: torch.ones(3, 4)),
    "control_flow": (ControlFlow, lambda: torch.ones(2, 3)),
    "shared_module": (Shared, lambda: torch.ones(2, 4)),
    "lstm": (lambda: nn.LSTM(3, 4, batch_first=True), lambda: torch.ones(1, 2, 3)),
    "scripted": (lambda: torch.jit.script(Scriptable()), lambda: torch.ones(2, 3)),
}


# ---------------------------------------------------------------- helpers


def _accumulated(logdir: Path) -> tuple[Any, Any]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir))
    acc.Reload()
    tags = acc.Tags()["run_metadata"]
    return acc.Graph(), (acc.RunMetadata("step1") if "step1" in tags else None)


def _node_fields(node: Any) -> dict[str, Any]:
    return {
        "name": node.name,
        "op": node.op,
        "input": list(node.input),
        "device": node.device,
        "attr": {k: v.SerializeToString(deterministic=True) for k, v in node.attr.items()},
    }


def _assert_same_graph(ours: Any, theirs: Any) -> None:
    assert len(ours.node) == len(theirs.node)
    for mine, torchs in zip(ours.node, theirs.node):
        assert _node_fields(mine) == _node_fields(torchs)
    assert ours.versions == theirs.versions
    assert ours == theirs


def _write_both(tmp_path: Path, call: Any) -> tuple[Path, Path]:
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    out = []
    for name, cls in (("torch", TorchWriter), ("ours", ferroboard.SummaryWriter)):
        logdir = tmp_path / name
        w = cls(str(logdir))
        with contextlib.redirect_stdout(io.StringIO()):
            call(w)
        w.close()
        out.append(logdir)
    return out[0], out[1]


def _event_file(logdir: Path) -> str:
    (path,) = glob.glob(str(logdir / "events.out.tfevents.*"))
    return path


# ---------------------------------------------------------------- add_graph


@pytest.mark.parametrize("case", sorted(MODELS))
def test_graph_matches_torch_node_by_node(tmp_path: Path, case: str) -> None:
    make_model, make_input = MODELS[case]
    torch.manual_seed(0)
    model = make_model()
    inputs = make_input()
    torch_dir, our_dir = _write_both(tmp_path, lambda w: w.add_graph(model, inputs))
    their_graph, their_meta = _accumulated(torch_dir)
    our_graph, our_meta = _accumulated(our_dir)
    _assert_same_graph(our_graph, their_graph)
    assert our_meta == their_meta
    # scope names as torch shows them, not merely equal: the models' modules appear
    names = {n.name for n in our_graph.node}
    assert any(n.startswith("input/") for n in names)
    if case not in ("lstm", "scripted"):  # modules with submodules show them in brackets
        assert any("[" in n for n in names)


def test_graph_events_are_torchs_events(tmp_path: Path) -> None:
    """The same two events after the header (graph at step 0, then the step1 metadata)."""
    model = CNN()
    x = torch.randn(1, 1, 8, 8)
    torch_dir, our_dir = _write_both(tmp_path, lambda w: w.add_graph(model, x))
    theirs = tb_events(_event_file(torch_dir))[1:]
    ours = tb_events(_event_file(our_dir))[1:]
    assert [e.WhichOneof("what") for e in ours] == ["graph_def", "tagged_run_metadata"]
    assert [e.WhichOneof("what") for e in theirs] == ["graph_def", "tagged_run_metadata"]
    assert [e.step for e in ours] == [e.step for e in theirs] == [0, 0]
    assert ours[1].tagged_run_metadata == theirs[1].tagged_run_metadata


def test_control_flow_warns_as_torch_does(tmp_path: Path) -> None:
    with (
        ferroboard.SummaryWriter(str(tmp_path)) as w,
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        w.add_graph(ControlFlow(), torch.ones(2, 3))
    assert any(issubclass(c.category, torch.jit.TracerWarning) for c in caught)


class ReturnsDict(nn.Module):
    def forward(self, x: Any) -> Any:
        return {"out": x * 2}


class Fails(nn.Module):
    def forward(self, x: Any) -> Any:
        raise RuntimeError("no forward for you")


@pytest.mark.parametrize(
    ("model", "reason"),
    [(ReturnsDict(), "strict"), (Fails(), "no forward for you"), (CNN(), "")],
)
def test_untraceable_model_raises_and_writer_keeps_working(
    tmp_path: Path, model: Any, reason: str
) -> None:
    # CNN with a 1-D input fails inside forward: the reason is torch's shape error
    x = torch.ones(3) if isinstance(model, CNN) else torch.ones(2, 3)
    model.train()
    with ferroboard.SummaryWriter(str(tmp_path)) as w:
        with pytest.raises(GraphTraceError, match=type(model).__name__) as info:
            w.add_graph(model, x)
        assert isinstance(info.value, RuntimeError)
        assert isinstance(info.value, ValueError)
        assert reason in str(info.value)
        assert info.value.__cause__ is not None
        w.add_scalar("after", 1.0, 0)
    assert model.training  # restored after the failed trace
    kinds = [e.WhichOneof("what") for e in tb_events(_event_file(tmp_path))]
    assert kinds == ["file_version", "summary"]


def test_strict_false_traces_what_torch_traces(tmp_path: Path) -> None:
    model = ReturnsDict()
    x = torch.ones(2, 3)
    torch_dir, our_dir = _write_both(
        tmp_path, lambda w: w.add_graph(model, x, use_strict_trace=False)
    )
    _assert_same_graph(_accumulated(our_dir)[0], _accumulated(torch_dir)[0])


def test_verbose_prints_the_traced_graph(tmp_path: Path, capsys: Any) -> None:
    with ferroboard.SummaryWriter(str(tmp_path)) as w:
        w.add_graph(nested(), torch.ones(3, 4), verbose=True)
    assert "aten::linear" in capsys.readouterr().out


def test_eval_mode_while_tracing_and_restored_after(tmp_path: Path) -> None:
    seen = []

    class Spy(nn.Module):
        def forward(self, x: Any) -> Any:
            seen.append(self.training)
            return x + 1

    model = Spy()
    with ferroboard.SummaryWriter(str(tmp_path)) as w:
        w.add_graph(model, torch.ones(1))
    assert seen
    assert not any(seen)
    assert model.training


# ---------------------------------------------------------------- add_onnx_graph


def _exported_cnn(path: Path) -> Path:
    class Exported(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv2d(1, 4, 3)
            self.fc = nn.Linear(4 * 3 * 3, 5)

        def forward(self, x: Any) -> Any:
            x = F.max_pool2d(F.relu(self.conv(x)), 2)
            return F.softmax(self.fc(x.reshape(x.shape[0], -1) * 0.5), dim=1)

    out = path / "cnn.onnx"
    torch.onnx.export(
        Exported(),
        (torch.zeros(2, 1, 8, 8),),
        str(out),
        dynamo=False,
        input_names=["x"],
        output_names=["y"],
        dynamic_axes={"x": {0: "batch"}},
    )
    return out


def _handmade(path: Path) -> Path:
    """Every kind of attribute torch's conversion prints (and a symbolic dimension)."""
    onnx = pytest.importorskip("onnx")
    helper, tp = onnx.helper, onnx.TensorProto
    floats = helper.make_tensor("w", tp.FLOAT, [3], [0.1, 3e-7, -2.5])
    strings = helper.make_tensor("s", tp.STRING, [2], [b"a\x01'", "é".encode()])
    raw = helper.make_tensor("r", tp.INT64, [2], b'\x00\x01\xff\x7f"\\\n\t' * 2, raw=True)
    node = helper.make_node(
        "Custom",
        ["x", "k"],
        ["y"],
        alpha=0.1,
        big=1e20,
        zero=0,
        ks=[1, -2],
        st=b"q'\"\n\x00",
        fl=[0.5, 1e-5],
        ss=[b"a'b", b'c"d'],
        tv=floats,
        tvs=[floats, strings],
        doc_string="doc",
    )
    const = helper.make_node("Constant", [], ["k"], value=raw)
    graph = helper.make_graph(
        [const, node],
        "g",
        [helper.make_tensor_value_info("x", tp.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info("y", tp.INT64, [2, 3])],
    )
    out = path / "handmade.onnx"
    onnx.save(helper.make_model(graph), str(out))
    return out


@pytest.mark.parametrize("make", [_exported_cnn, _handmade])
def test_onnx_graph_matches_torch_node_by_node(tmp_path: Path, make: Any) -> None:
    pytest.importorskip("onnx")
    model_file = make(tmp_path)
    torch_dir, our_dir = _write_both(tmp_path, lambda w: w.add_onnx_graph(str(model_file)))
    their_graph, their_meta = _accumulated(torch_dir)
    our_graph, our_meta = _accumulated(our_dir)
    _assert_same_graph(our_graph, their_graph)
    assert our_meta is their_meta is None
    theirs = tb_events(_event_file(torch_dir))[1:]
    ours = tb_events(_event_file(our_dir))[1:]
    assert [e.WhichOneof("what") for e in ours] == [e.WhichOneof("what") for e in theirs]


def test_onnx_graph_from_file_object_and_model_proto(tmp_path: Path) -> None:
    onnx = pytest.importorskip("onnx")
    model_file = _handmade(tmp_path)
    with ferroboard.SummaryWriter(str(tmp_path / "path")) as w:
        w.add_onnx_graph(model_file)
    with ferroboard.SummaryWriter(str(tmp_path / "file")) as w, open(model_file, "rb") as f:
        w.add_onnx_graph(f)
    with ferroboard.SummaryWriter(str(tmp_path / "proto")) as w:
        w.add_onnx_graph(onnx.load(str(model_file)))
    graphs = [_accumulated(tmp_path / d)[0] for d in ("path", "file", "proto")]
    assert graphs[0] == graphs[1] == graphs[2]
    assert len(graphs[0].node) == 4


def test_onnx_graph_bad_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.onnx"
    junk.write_bytes(b"\xff\xff\xff\xff")
    with ferroboard.SummaryWriter(str(tmp_path / "run")) as w:
        with pytest.raises(ValueError, match=r"junk\.onnx"):
            w.add_onnx_graph(str(junk))
        with pytest.raises(OSError, match=r"missing\.onnx"):
            w.add_onnx_graph(str(tmp_path / "missing.onnx"))
        with pytest.raises(TypeError, match="binary"):
            w.add_onnx_graph(io.StringIO("text"))
        w.add_scalar("after", 1.0, 0)
    kinds = [e.WhichOneof("what") for e in tb_events(_event_file(tmp_path / "run"))]
    assert kinds == ["file_version", "summary"]


# ---------------------------------------------------------------- TensorBoard's server


def test_tensorboard_serves_our_graph_as_torchs(tmp_path: Path) -> None:
    """The graph dashboard's routes answer the same for our run as for torch's."""
    model = CNN()
    x = torch.randn(2, 1, 8, 8)
    logdir = tmp_path / "logs"
    _torch_dir, _our_dir = _write_both(logdir, lambda w: w.add_graph(model, x))
    server = TensorBoardServer(logdir, tmp_path / "tb.log")
    try:
        info = server.wait_for("/data/plugin/graphs/info", lambda a: {"torch", "ours"} <= set(a))
        theirs, ours = info["torch"], info["ours"]
        assert theirs["run_graph"]
        assert ours["run_graph"]
        assert {**ours, "run": "torch"} == theirs
        bodies = [
            server.get_bytes("/data/plugin/graphs/graph", run=run, conceptual="false")
            for run in ("torch", "ours")
        ]
        assert bodies[0] == bodies[1]
        assert b"Conv2d[conv1]" in bodies[0]
        metadata = [
            server.get_bytes("/data/plugin/graphs/run_metadata", run=run, tag="step1")
            for run in ("torch", "ours")
        ]
        assert metadata[0] == metadata[1]
        assert b"/device:CPU:0" in metadata[0]
    finally:
        server.stop()


# ---------------------------------------------------------------- reading


def test_reader_returns_the_graph_tensorboard_shows(tmp_path: Path) -> None:
    """ferroboard.read: ``has_graph`` per run and ``graph_defs`` (the last GraphDef's bytes),
    judged by EventAccumulator's Graph() on files written by torch and by us."""
    from tensorboard.compat.proto.graph_pb2 import GraphDef

    model, x = nested(), torch.ones(3, 4)
    logdir = tmp_path / "logs"

    def twice(w: Any) -> None:  # the last graph of a run is the one TensorBoard shows
        w.add_graph(CNN(), torch.randn(1, 1, 8, 8))
        w.add_graph(model, x)
        w.add_scalar("loss", 1.0, 0)

    torch_dir, our_dir = _write_both(logdir, twice)
    with ferroboard.SummaryWriter(str(logdir / "plain")) as w:
        w.add_scalar("loss", 1.0, 0)
    result = ferroboard.read(logdir)
    assert result.has_graph == {"torch": True, "ours": True, "plain": False}
    assert set(result.graph_defs) == {"torch", "ours"}
    for run, run_dir in (("torch", torch_dir), ("ours", our_dir)):
        shown, _ = _accumulated(run_dir)
        assert GraphDef.FromString(result.graph_defs[run]) == shown


# ---------------------------------------------------------------- properties


def _torch_onnx_graph(model_bytes: bytes) -> Any:
    """torch's conversion of an ONNX model (its ``_onnx_graph.parse``, prints silenced)."""
    onnx = pytest.importorskip("onnx")
    from torch.utils.tensorboard._onnx_graph import parse

    with contextlib.redirect_stdout(io.StringIO()):
        return parse(onnx.load_from_string(model_bytes).graph)


def _our_onnx_graph(model_bytes: bytes) -> Any:
    from ferroboard._native import onnx_graph_event
    from tensorboard.compat.proto import event_pb2
    from tensorboard.compat.proto.graph_pb2 import GraphDef

    return GraphDef.FromString(event_pb2.Event.FromString(onnx_graph_event(model_bytes)).graph_def)


_f32 = st.floats(width=32)
_text = st.text(max_size=6)


@settings(max_examples=60, deadline=None)
@given(
    f=_f32,
    floats=st.lists(_f32, min_size=1, max_size=4),
    ints=st.lists(st.integers(-(2**63), 2**63 - 1), min_size=1, max_size=3),
    raw=st.binary(max_size=12),
    strings=st.lists(st.binary(max_size=6), min_size=1, max_size=3),
    name=_text,
    dims=st.lists(st.one_of(st.integers(0, 2**40), _text), max_size=3),
    doubles=st.lists(st.floats(), max_size=3),
)
def test_onnx_attribute_text_is_torchs(
    f: float,
    floats: list[float],
    ints: list[int],
    raw: bytes,
    strings: list[bytes],
    name: str,
    dims: list[Any],
    doubles: list[float],
) -> None:
    """Floats (Python's repr of float32 values, protobuf's shortest float32 text), bytes
    (Python's repr, protobuf's octal escapes) and names as torch's conversion prints them."""
    onnx = pytest.importorskip("onnx")
    helper, tp = onnx.helper, onnx.TensorProto
    tensor = helper.make_tensor(name, tp.FLOAT, [len(floats)], floats)
    tensor.raw_data = raw
    tensor.double_data.extend(doubles)
    tensor.doc_string = name
    node = helper.make_node(
        "Op", ["x"], [name or "y"], f=f, fs=floats, i=ints, s=raw, ss=strings, t=tensor
    )
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", tp.FLOAT, dims)], [])
    model = helper.make_model(graph).SerializeToString()
    assert _our_onnx_graph(model) == _torch_onnx_graph(model)


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=64))
def test_onnx_garbage_is_a_value_error_never_a_crash(data: bytes) -> None:
    from ferroboard._native import onnx_graph_event

    try:
        onnx_graph_event(data)
    except ValueError as e:  # anything else (a panic, a SystemError) fails the test
        message = str(e)
    else:
        message = "an ONNX model after all"
    assert "ONNX" in message


@pytest.mark.parametrize("name", ["add_graph", "add_onnx_graph"])
def test_signatures_are_torchs(name: str) -> None:
    import inspect

    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    def params(fn: Any) -> list[tuple[str, Any]]:
        ps = inspect.signature(fn).parameters.values()
        return [(p.name, p.default) for p in ps if p.name != "self"]

    assert params(getattr(ferroboard.SummaryWriter, name)) == params(getattr(TorchWriter, name))
