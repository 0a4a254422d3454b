"""``add_custom_scalars`` and its shorthands against torch's writer: the events equal byte for
byte but the wall time, the layout decoded with TensorBoard's ``layout_pb2``; TensorBoard's
server serves the same layout for both files."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import ferroboard
import pytest
from tensorboard.plugins.custom_scalar import layout_pb2
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from tests.support.judges import tb_events
from tests.support.logdirs import event_files

Call = Callable[[Any], None]

LAYOUT = {
    "Taiwan": {"twse": ["Multiline", ["twse/0050", "twse/2330"]]},
    "USA": {
        "dow": ["Margin", ["dow/aaa", "dow/bbb", "dow/ccc"]],
        "nasdaq": ["Margin", ["nasdaq/aaa", "nasdaq/bbb", "nasdaq/ccc"]],
    },
    "ünï/cödé": {"a.*": ["Multiline", ["loss.*", "acc"]], "empty": ["Multiline", []]},
}

CASES: dict[str, Call] = {
    "layout": lambda w: w.add_custom_scalars(LAYOUT),
    "empty-layout": lambda w: w.add_custom_scalars({}),
    "multiline": lambda w: w.add_custom_scalars_multilinechart(["a", "b/c"]),
    "multiline-titled": lambda w: w.add_custom_scalars_multilinechart(
        ("x",), category="cat", title="t"
    ),
    "margin": lambda w: w.add_custom_scalars_marginchart(["v", "lo", "hi"]),
    "margin-titled": lambda w: w.add_custom_scalars_marginchart(
        ["v", "lo", "hi"], category="c", title="m"
    ),
    "with-scalars": lambda w: [
        w.add_scalar("loss", 1.0, 0),
        w.add_custom_scalars_multilinechart(["loss"]),
        w.add_scalar("loss", 0.5, 1),
    ],
}


def _events(cls: type, logdir: Path, call: Call) -> list[Any]:
    w = cls(str(logdir))
    call(w)
    w.close()
    runs = event_files(logdir)
    assert list(runs) == ["."]
    return [e for f in runs["."] for e in tb_events(f) if not e.HasField("file_version")]


@pytest.mark.parametrize("case", list(CASES))
def test_events_equal_torchs(tmp_path, case):
    t = _events(TorchWriter, tmp_path / "torch", CASES[case])
    o = _events(ferroboard.SummaryWriter, tmp_path / "ours", CASES[case])
    assert len(o) == len(t)
    for te, oe in zip(t, o):
        te.wall_time = oe.wall_time
        assert oe.SerializeToString() == te.SerializeToString()
        v = oe.summary.value[0]
        if v.tag == "custom_scalars__config__":
            assert v.metadata.plugin_data.plugin_name == "custom_scalars"
            assert v.tensor.dtype == 7  # DT_STRING
            assert v.tensor.HasField("tensor_shape")
            assert not v.tensor.tensor_shape.dim
            layout = layout_pb2.Layout.FromString(v.tensor.string_val[0])
            tv = te.summary.value[0]
            assert layout == layout_pb2.Layout.FromString(tv.tensor.string_val[0])


def test_layout_as_given(tmp_path):
    """The decoded layout says what the dict says, in its order."""
    (event,) = _events(ferroboard.SummaryWriter, tmp_path, CASES["layout"])
    layout = layout_pb2.Layout.FromString(event.summary.value[0].tensor.string_val[0])
    assert [c.title for c in layout.category] == list(LAYOUT)
    for cat in layout.category:
        assert [ch.title for ch in cat.chart] == list(LAYOUT[cat.title])
        for ch in cat.chart:
            kind, tags = LAYOUT[cat.title][ch.title]
            if kind == "Margin":
                (s,) = ch.margin.series
                assert [s.value, s.lower, s.upper] == tags
            else:
                assert list(ch.multiline.tag) == tags


@pytest.mark.parametrize(
    ("call", "exc", "match"),
    [
        (lambda w: w.add_custom_scalars_marginchart(["a", "b"]), ValueError, "exactly 3 tags"),
        (
            lambda w: w.add_custom_scalars({"c": {"t": ["Margin", ["a"] * 4]}}),
            ValueError,
            r"layout\['c'\]\['t'\]: a Margin chart needs exactly 3 tags",
        ),
        (
            lambda w: w.add_custom_scalars({"c": {"t": ["Lines", ["a"]]}}),
            ValueError,
            "'Multiline' or 'Margin'",
        ),
        (lambda w: w.add_custom_scalars({"c": {"t": "Multiline"}}), TypeError, r"\[kind, tags\]"),
        (lambda w: w.add_custom_scalars({"c": {"t": ["Multiline", "ab"]}}), TypeError, "tags"),
        (lambda w: w.add_custom_scalars([("c", {})]), TypeError, "layout must be a dict"),
        (lambda w: w.add_custom_scalars_multilinechart("loss"), TypeError, "tags must be a list"),
        (lambda w: w.add_custom_scalars_multilinechart([1]), TypeError, "tag 0 must be a str"),
        (lambda w: w.add_custom_scalars_multilinechart(["a"], category=1), TypeError, "category"),
    ],
)
def test_bad_layouts_write_nothing(tmp_path, call, exc, match):
    w = ferroboard.SummaryWriter(str(tmp_path))
    with pytest.raises(exc, match=match):
        call(w)
    w.add_custom_scalars_multilinechart(["ok"])
    w.close()
    (event,) = [e for e in tb_events(event_files(tmp_path)["."][0]) if e.HasField("summary")]
    layout = layout_pb2.Layout.FromString(event.summary.value[0].tensor.string_val[0])
    assert list(layout.category[0].chart[0].multiline.tag) == ["ok"]


def test_tensorboard_serves_the_same_layout(tmp_path):
    from tests.support.tensorboard_server import TensorBoardServer

    def call(w: Any) -> None:
        for i in range(3):
            w.add_scalar("dow/aaa", i, i)
            w.add_scalar("twse/0050", 2 * i, i)
        w.add_custom_scalars(LAYOUT)

    servers = {}
    for name, cls in (("torch", TorchWriter), ("ours", ferroboard.SummaryWriter)):
        _events(cls, tmp_path / name, call)
        servers[name] = TensorBoardServer(tmp_path / name, tmp_path / f"{name}.log")
    try:
        got = {
            name: s.wait_for("/data/plugin/custom_scalars/layout", lambda a: bool(a))
            for name, s in servers.items()
        }
        scalars = {
            name: s.get("/data/plugin/custom_scalars/scalars", run=".", tag="twse/.*")
            for name, s in servers.items()
        }
    finally:
        for s in servers.values():
            s.stop()
    assert got["ours"] == got["torch"]
    assert [c["title"] for c in got["ours"]["category"]] == list(LAYOUT)
    ours, theirs = (scalars[n]["tag_to_events"] for n in ("ours", "torch"))
    assert list(ours) == list(theirs) == ["twse/0050"]
    assert [p[1:] for p in ours["twse/0050"]] == [p[1:] for p in theirs["twse/0050"]]
    assert [p[1:] for p in ours["twse/0050"]] == [[i, 2.0 * i] for i in range(3)]
