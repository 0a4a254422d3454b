"""add_pr_curve and add_pr_curve_raw against torch.

The curve data is stored as float32, computed in float64 exactly as TensorBoard's
``compute_curve`` (which torch copies) computes it, so the stored values must be identical to
torch's, bit for bit, including weighted curves and predictions in float16 or bfloat16.
torch caps ``num_thresholds`` at 127; beyond that the reference is ``compute_curve`` itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ferroboard
import numpy as np
import pytest
import tensorboardX
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorboard.compat.proto import event_pb2
from tensorboard.plugins.pr_curve import plugin_data_pb2
from torch.utils.tensorboard import SummaryWriter as TorchWriter
from torch.utils.tensorboard._convert_np import make_np
from torch.utils.tensorboard.summary import compute_curve, pr_curve

from tests.support.judges import tb_events
from tests.support.logdirs import event_files


class Capture(ferroboard.SummaryWriter):
    """Our writer, keeping the serialized events instead of writing them."""

    def __init__(self, log_dir: str) -> None:
        super().__init__(log_dir)
        self.payloads: list[bytes] = []
        self._write_event = self.payloads.append  # type: ignore[method-assign]

    def value(self, *args: Any, **kwargs: Any):
        self.add_pr_curve("pr", *args, **kwargs)
        ev = event_pb2.Event.FromString(self.payloads.pop())
        return ev.summary.value[0]

    def raw_value(self, *args: Any, **kwargs: Any):
        self.add_pr_curve_raw("pr", *args, **kwargs)
        return event_pb2.Event.FromString(self.payloads.pop()).summary.value[0]


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    w = Capture(str(tmp_path_factory.mktemp("ours")))
    yield w
    w.close()


def float32_list(data: np.ndarray) -> list[float]:
    return np.asarray(data, dtype=np.float64).reshape(-1).astype(np.float32).tolist()


def assert_value(v, expected_data: np.ndarray, n: int) -> None:
    assert v.metadata.plugin_data.plugin_name == "pr_curves"
    content = plugin_data_pb2.PrCurvePluginData.FromString(v.metadata.plugin_data.content)
    assert (content.version, content.num_thresholds) == (0, n)
    assert v.tensor.dtype == 1  # DT_FLOAT
    assert [d.size for d in v.tensor.tensor_shape.dim] == [6, n]
    assert list(v.tensor.float_val) == float32_list(expected_data)


# ---------------------------------------------------------------------------------------------
# Generators


@st.composite
def examples(draw):
    n_examples = draw(st.one_of(st.integers(1, 50), st.integers(1, 3000), st.just(300_000)))
    n = draw(st.one_of(st.integers(2, 127), st.sampled_from([2, 3, 127, 128, 201, 1000, 4097])))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["uniform", "thresholds", "near", "extremes", "beta"]))
    if kind == "uniform":
        p = rng.random(n_examples)
    elif kind == "thresholds":
        p = rng.integers(0, n, n_examples) / (n - 1)
    elif kind == "near":
        t = rng.integers(0, n, n_examples) / (n - 1)
        p = np.clip(np.nextafter(t, rng.choice([-np.inf, np.inf], n_examples)), 0.0, 1.0)
    elif kind == "extremes":
        p = rng.choice([0.0, -0.0, 1.0, 5e-324, 1 - 2**-53, 0.5], n_examples)
    else:
        p = rng.beta(0.5, 0.5, n_examples)
    labels = rng.random(n_examples) < draw(st.floats(0, 1))
    return labels, p, n, rng


LABEL_DTYPES = ["bool", "int64", "int32", "uint8", "int8", "float32", "float64", "uint64"]
PRED_DTYPES = ["float64", "float32", "float16"]


@st.composite
def weights_for(draw, rng, size):
    kind = draw(st.sampled_from(["none", "scalar", "array", "array32", "integers"]))
    if kind == "none":
        return None
    if kind == "scalar":
        return draw(st.sampled_from([0.1, 1.0, 2.5, 0.0, 3]))
    if kind == "array":
        return rng.random(size) * 3
    if kind == "array32":
        return (rng.random(size) * 3).astype(np.float32)
    return rng.integers(0, 5, size)


COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=800, **COMMON)
@given(data=st.data())
def test_numpy_inputs_match_torch(ours, data):
    labels, p, n, rng = data.draw(examples())
    labels = labels.astype(data.draw(st.sampled_from(LABEL_DTYPES)))
    p = p.astype(data.draw(st.sampled_from(PRED_DTYPES)))
    w = data.draw(weights_for(rng, p.size))
    if data.draw(st.booleans()) and p.size % 2 == 0:
        labels, p = labels.reshape(2, -1), p.reshape(2, -1)
        if isinstance(w, np.ndarray):
            w = w.reshape(2, -1)
    v = ours.value(labels, p, num_thresholds=n, weights=w)
    expected = compute_curve(labels, p, num_thresholds=n, weights=w)
    assert_value(v, expected, n)
    if n <= 127:
        t = pr_curve("pr", labels, p, n, w).value[0]
        assert list(v.tensor.float_val) == list(t.tensor.float_val)
        assert v.metadata == t.metadata
        assert v.tensor == t.tensor


TORCH_PRED = [torch.float32, torch.float64, torch.float16, torch.bfloat16]
TORCH_LABEL = [torch.bool, torch.int64, torch.int32, torch.float32, torch.uint8]


@settings(max_examples=300, **COMMON)
@given(data=st.data())
def test_torch_tensors_match_torch(ours, data):
    labels, p, n, _ = data.draw(examples())
    lt = torch.from_numpy(labels).to(data.draw(st.sampled_from(TORCH_LABEL)))
    pt = torch.from_numpy(p).to(data.draw(st.sampled_from(TORCH_PRED)))
    if data.draw(st.booleans()) and pt.numel() >= 2:
        # Non-contiguous views (C-order pairing must be kept).
        lt, pt = lt.repeat_interleave(2)[::2], pt.repeat_interleave(2)[::2]
    if data.draw(st.booleans()) and pt.numel() % 2 == 0:
        lt, pt = lt.reshape(-1, 2).t(), pt.reshape(-1, 2).t()
    v = ours.value(lt, pt, num_thresholds=n)
    expected = compute_curve(make_np(lt), make_np(pt), num_thresholds=n)
    assert_value(v, expected, n)


def test_float16_products_round_like_numpy(ours):
    halves = np.arange(0, 0x3C01, dtype=np.uint16).view(np.float16)  # every float16 in [0, 1]
    labels = np.arange(halves.size) % 3 == 0
    for n in (2, 3, 10, 127, 128, 500, 2049, 4097, 65536):
        v = ours.value(labels, halves, num_thresholds=n)
        with np.errstate(all="ignore"):
            expected = compute_curve(labels, halves, num_thresholds=n)
        if n - 1 <= 65504:
            assert_value(v, expected, n)
    bf = torch.from_numpy(halves.astype(np.float32)).to(torch.bfloat16)
    v = ours.value(torch.from_numpy(labels), bf, num_thresholds=127)
    assert_value(v, compute_curve(labels, make_np(bf), num_thresholds=127), 127)


def test_no_cap_at_127(ours, tmp_path):
    rng = np.random.default_rng(5)
    labels, p = rng.random(1000) < 0.3, rng.random(1000)
    v = ours.value(labels, p, num_thresholds=201)
    assert_value(v, compute_curve(labels, p, num_thresholds=201), 201)
    # torch writes 127 thresholds instead.
    t = pr_curve("pr", labels, p, 201).value[0]
    assert [d.size for d in t.tensor.tensor_shape.dim] == [6, 127]


def test_large_input_parallel_path(ours):
    rng = np.random.default_rng(9)
    labels = rng.random(2_000_003) < 0.4
    p = rng.random(2_000_003).astype(np.float32)
    v = ours.value(labels, p)
    assert_value(v, compute_curve(labels, p, num_thresholds=127), 127)
    w = rng.random(p.size)
    v = ours.value(labels, p, weights=w, num_thresholds=50)
    assert_value(v, compute_curve(labels, p, num_thresholds=50, weights=w), 50)


# ---------------------------------------------------------------------------------------------
# Files, read back by TensorBoard's PR-curve plugin


def _with_walltime(calls):
    return [(m, a, {**kw, "walltime": 1_700_000_000.0 + i}) for i, (m, a, kw) in enumerate(calls)]


def _pr_calls():
    rng = np.random.default_rng(3)
    labels = rng.random(500) < 0.5
    preds = np.clip(labels * 0.3 + rng.random(500) * 0.7, 0, 1)
    return _with_walltime(
        [
            ("add_pr_curve", ("pr", labels, preds), {"global_step": 0}),
            ("add_pr_curve", ("pr", labels, preds**2), {"global_step": 1}),
            (
                "add_pr_curve",
                ("pr_t", torch.from_numpy(labels), torch.from_numpy(preds).float()),
                {"global_step": 0, "num_thresholds": 33, "weights": rng.random(500)},
            ),
            (
                "add_pr_curve_raw",
                ("raw", [5, 3, 0], [4, 1, 0], [0, 3, 4], [0, 2, 5], [0.55, 0.75, 0], [1, 0.6, 0]),
                {"global_step": 2, "num_thresholds": 3},
            ),
        ]
    )


def _write_both(tmp_path: Path, calls) -> tuple[Path, Path]:
    dirs = []
    for name, cls in (("torch", TorchWriter), ("ours", ferroboard.SummaryWriter)):
        d = tmp_path / name
        w = cls(str(d))
        for method, args, kwargs in calls:
            getattr(w, method)(*args, **kwargs)
        w.close()
        dirs.append(d)
    return dirs[0], dirs[1]


def test_events_equal_torch_events(tmp_path):
    t_dir, o_dir = _write_both(tmp_path, _pr_calls())
    t = [e for e in tb_events(event_files(t_dir)["."][0]) if e.HasField("summary")]
    o = [e for e in tb_events(event_files(o_dir)["."][0]) if e.HasField("summary")]
    assert len(t) == len(o) == 4
    assert t == o


# Importing TensorBoard's plugins loads its vendored html5lib, which warns about itself.
@pytest.mark.filterwarnings("ignore:html5lib's sanitizer is deprecated:DeprecationWarning")
def test_tensorboard_pr_curves_plugin_reads_the_same(tmp_path):
    from tensorboard import context
    from tensorboard.backend.event_processing import (
        data_provider,
        event_accumulator,
        plugin_event_multiplexer,
    )
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.pr_curve import pr_curves_plugin

    t_dir, o_dir = _write_both(tmp_path, _pr_calls())
    responses, tensors = [], []
    for d in (t_dir, o_dir):
        mux = plugin_event_multiplexer.EventMultiplexer({"run": str(d)})
        mux.Reload()
        prov = data_provider.MultiplexerDataProvider(mux, str(d))
        plugin = pr_curves_plugin.PrCurvesPlugin(base_plugin.TBContext(data_provider=prov))
        ctx = context.RequestContext()
        responses.append(
            {tag: plugin.pr_curves_impl(ctx, "", ["run"], tag) for tag in ("pr", "pr_t", "raw")}
        )
        acc = event_accumulator.EventAccumulator(str(d), size_guidance={"tensors": 0})
        acc.Reload()
        tensors.append({tag: acc.Tensors(tag) for tag in acc.Tags()["tensors"]})
    assert responses[0] == responses[1]
    assert len(responses[1]["pr"]["run"]) == 2
    assert tensors[0].keys() == tensors[1].keys() == {"pr", "pr_t", "raw"}
    for tag in tensors[0]:
        assert [(e.step, e.wall_time, e.tensor_proto) for e in tensors[0][tag]] == [
            (e.step, e.wall_time, e.tensor_proto) for e in tensors[1][tag]
        ]


# ---------------------------------------------------------------------------------------------
# add_pr_curve_raw


def test_raw_matches_torch_and_validates(ours):
    rows = ([5, 3, 0], [4, 1, 0], [0, 3, 4], [0, 2, 5], [0.55, 0.75, 0.0], [1.0, 0.6, 0.0])
    v = ours.raw_value(*rows, num_thresholds=3)
    from torch.utils.tensorboard.summary import pr_curve_raw

    t = pr_curve_raw("pr", *[np.array(r) for r in rows], num_thresholds=3).value[0]
    assert v == t
    # Tensors and arrays too; weights are ignored as in torch.
    v2 = ours.raw_value(*[torch.tensor(r) for r in rows], num_thresholds=3, weights=[1, 2])
    assert v2 == t


# Five thresholds: 10 positives and 10 negatives; precision at the last is TP / (TP + FP) with
# nothing predicted positive, which TensorBoard's plugin trims.
FIVE = (
    [10, 8, 5, 2, 0],
    [10, 6, 3, 1, 0],
    [0, 4, 7, 9, 10],
    [0, 2, 5, 8, 10],
    [0.5, 8 / 14, 5 / 8, 2 / 3, 0.0],
    [1.0, 0.8, 0.5, 0.2, 0.0],
)


def _write_raw_five(tmp_path: Path) -> dict[str, Path]:
    """add_pr_curve_raw with five points and num_thresholds left at its default, written by
    torch, tensorboardX and ferroboard."""
    dirs = {}
    writers = {
        "torch": TorchWriter,
        "tensorboardX": tensorboardX.SummaryWriter,
        "ours": ferroboard.SummaryWriter,
    }
    for name, cls in writers.items():
        d = tmp_path / name
        w = cls(str(d))
        w.add_pr_curve_raw("raw5", *FIVE, global_step=1, walltime=1_700_000_000.0)
        w.add_pr_curve_raw("raw5", *[np.array(r) for r in FIVE], 2, walltime=1_700_000_001.0)
        w.close()
        dirs[name] = d
    return dirs


def _summary_values(d: Path) -> list:
    return [v for e in tb_events(event_files(d)["."][0]) for v in e.summary.value]


def test_raw_without_num_thresholds_takes_the_arrays_length(tmp_path):
    """torch and tensorboardX write five points under the default num_thresholds; so do we,
    with the same data. The metadata differs on purpose: torch and tensorboardX record 127,
    we record the 5 the data has."""
    dirs = _write_raw_five(tmp_path)
    got = {name: _summary_values(d) for name, d in dirs.items()}
    assert [len(v) for v in got.values()] == [2, 2, 2]
    for name in ("torch", "tensorboardX"):
        for theirs, ours in zip(got[name], got["ours"]):
            assert (ours.tag, ours.tensor) == (theirs.tag, theirs.tensor), name
            assert ours.metadata.plugin_data.plugin_name == theirs.metadata.plugin_data.plugin_name
    counts = {
        name: [
            plugin_data_pb2.PrCurvePluginData.FromString(v.metadata.plugin_data.content)
            for v in values
        ]
        for name, values in got.items()
    }
    assert [c.num_thresholds for c in counts["torch"]] == [127, 127]
    assert [c.num_thresholds for c in counts["tensorboardX"]] == [127, 127]
    assert [c.num_thresholds for c in counts["ours"]] == [5, 5]
    assert [d.size for d in got["ours"][0].tensor.tensor_shape.dim] == [6, 5]


# Importing TensorBoard's plugins loads its vendored html5lib, which warns about itself.
@pytest.mark.filterwarnings("ignore:html5lib's sanitizer is deprecated:DeprecationWarning")
def test_tensorboard_draws_the_five_point_curve_the_same_from_both_files(tmp_path):
    """TensorBoard's PR-curve plugin takes the thresholds from the tensor's shape
    (``np.linspace(0, 1, data.shape[1])`` in ``_make_pr_entry``), not from the metadata's
    num_thresholds: torch's 127 and our 5 give the same curve, with 5 thresholds."""
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins import base_plugin
    from tensorboard.plugins.pr_curve import pr_curves_plugin

    dirs = _write_raw_five(tmp_path)
    responses, contents = [], []
    for name in ("torch", "ours"):
        d = dirs[name]
        mux = plugin_event_multiplexer.EventMultiplexer({"run": str(d)})
        mux.Reload()
        prov = data_provider.MultiplexerDataProvider(mux, str(d))
        plugin = pr_curves_plugin.PrCurvesPlugin(base_plugin.TBContext(data_provider=prov))
        ctx = context.RequestContext()
        responses.append(plugin.pr_curves_impl(ctx, "", ["run"], "raw5"))
        assert list(plugin.tags_impl(ctx, "")["run"]) == ["raw5"]
        series = prov.list_tensors(ctx, experiment_id="", plugin_name="pr_curves")
        contents.append(series["run"]["raw5"].plugin_content)
    assert contents[0] != contents[1]  # the metadata differs ...
    assert responses[0] == responses[1]  # ... and TensorBoard draws the same curve
    entries = responses[1]["run"]
    assert [e["step"] for e in entries] == [1, 2]
    # The last point predicts nothing positive and is trimmed, as for any curve.
    assert entries[0]["thresholds"] == [0.0, 0.25, 0.5, 0.75]
    assert entries[0]["true_positives"] == [10, 8, 5, 2]


def test_raw_default_and_explicit_lengths(ours):
    """An explicit num_thresholds that matches is the same as leaving it out; torch's default
    with 127 values is still 127."""
    assert ours.raw_value(*FIVE) == ours.raw_value(*FIVE, num_thresholds=5)
    rows = [np.linspace(1, 0, 127)] * 6
    v = ours.raw_value(*rows)
    content = plugin_data_pb2.PrCurvePluginData.FromString(v.metadata.plugin_data.content)
    assert content.num_thresholds == 127
    assert v == ours.raw_value(*rows, num_thresholds=127)


# ---------------------------------------------------------------------------------------------
# Bad input: the PR-curve table of tests/support/bad_input.py (run by tests/test_bad_input.py
# and the robustness suite).
