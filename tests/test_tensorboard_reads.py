"""TensorBoard itself reads what we write: EventAccumulator, and a real `tensorboard` server."""

from __future__ import annotations

import sys
from pathlib import Path

import ferroboard
import numpy as np
import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from tests.support.tensorboard_server import TensorBoardServer

N = 25_000  # more than EventAccumulator's default of 10,000 scalars per tag


def _write_run(logdir: Path) -> dict:
    rng = np.random.default_rng(0)
    losses = rng.standard_normal(N)
    with ferroboard.SummaryWriter(str(logdir)) as w:
        for i, v in enumerate(losses):
            w.add_scalar("train/loss", v, i, walltime=1_000_000.0 + i)
            if i % 1000 == 0:
                w.add_scalar("lr", 0.1 / (i + 1), i, walltime=1_000_000.0 + i, new_style=True)
                w.add_text("notes", f"step **{i}**", i, walltime=1_000_000.0 + i)
    return {"losses": losses}


def test_event_accumulator_returns_exactly_what_we_wrote(logdir):
    data = _write_run(logdir)
    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    assert "train/loss" in tags["scalars"]
    got = acc.Scalars("train/loss")
    assert [e.step for e in got] == list(range(N))
    assert [e.wall_time for e in got] == [1_000_000.0 + i for i in range(N)]
    np.testing.assert_array_equal(
        np.array([e.value for e in got]), data["losses"].astype(np.float32).astype(np.float64)
    )
    # new_style scalars and text are tensors to EventAccumulator.
    lr = acc.Tensors("lr")
    assert [e.step for e in lr] == list(range(0, N, 1000))
    assert [float(e.tensor_proto.float_val[0]) for e in lr] == [
        float(np.float32(0.1 / (i + 1))) for i in range(0, N, 1000)
    ]
    text = acc.Tensors("notes/text_summary")
    assert [e.tensor_proto.string_val[0].decode() for e in text] == [
        f"step **{i}**" for i in range(0, N, 1000)
    ]
    assert acc.SummaryMetadata("notes/text_summary").plugin_data.plugin_name == "text"


@pytest.mark.parametrize("load_fast", ["false", "true"])
def test_real_tensorboard_server_serves_our_scalars_and_text(logdir, tmp_path, load_fast):
    """End to end: `tensorboard --logdir` on a loopback port, read back over its HTTP API.
    `load_fast=true` uses TensorBoard's Rust data server, `false` its Python loader."""
    run = logdir / "run1"
    with ferroboard.SummaryWriter(str(run)) as w:
        for i in range(100):
            w.add_scalar("loss", 1.0 / (i + 1), i, walltime=500.0 + i)
        w.add_text("notes", "hello *tensorboard*", 7, walltime=600.0)
    server = TensorBoardServer(logdir, tmp_path / "tb.log", load_fast)
    try:
        scalars = server.wait_for(
            "/data/plugin/scalars/scalars", lambda a: len(a) == 100, run="run1", tag="loss"
        )
        assert [s[1] for s in scalars] == list(range(100))
        assert [s[0] for s in scalars] == [500.0 + i for i in range(100)]
        assert [s[2] for s in scalars] == [float(np.float32(1.0 / (i + 1))) for i in range(100)]
        text = server.get("/data/plugin/text/text", run="run1", tag="notes/text_summary")
        assert len(text) == 1
        assert text[0]["step"] == 7
        assert "hello" in text[0]["text"]
        assert "<em>tensorboard</em>" in text[0]["text"]
    finally:
        server.stop()


def test_tensorboard_serves_the_demo_run(logdir, tmp_path):
    """`make demo`'s training run, as the real TensorBoard server sees it."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
    try:
        import demo
    finally:
        sys.path.pop(0)
    demo.train(str(logdir / "digits-mlp"), epochs=2)
    server = TensorBoardServer(logdir, tmp_path / "tb.log")
    try:
        runs = server.wait_for("/data/runs", lambda r: "digits-mlp/loss_val" in r)
        assert {"digits-mlp", "digits-mlp/loss_train", "digits-mlp/loss_val"} <= set(runs)
        loss = server.wait_for(
            "/data/plugin/scalars/scalars",
            lambda a: len(a) > 0,
            run="digits-mlp",
            tag="train/loss",
        )
        assert [p[1] for p in loss] == list(range(len(loss)))
        acc = server.get("/data/plugin/scalars/scalars", run="digits-mlp", tag="val/accuracy")
        assert [p[1] for p in acc] == [0, 1]
        assert all(0.0 <= p[2] <= 1.0 for p in acc)
    finally:
        server.stop()
