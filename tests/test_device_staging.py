"""The device path (``ferroboard/_inputs/device.py``) on machines without a GPU.

A stand-in backend runs the same code on CPU tensors, with the CUDA event replaced by a gate the
test opens: a call that waited on the device on the calling thread would hang on the closed
gate (and fail on its timeout). What the device path writes is compared with what torch's
writer writes for the same tensors, decoded by TensorBoard's own classes.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import ferroboard
import numpy as np
import pytest
import torch
from ferroboard._inputs import device
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from tests.support.judges import tb_events

GATE_TIMEOUT = 20.0


class GateEvent:
    def __init__(self, owner: StandIn) -> None:
        self.owner = owner

    def synchronize(self) -> None:
        self.owner.waits.append(threading.current_thread().name)
        if not self.owner.gate.wait(GATE_TIMEOUT):
            raise AssertionError("the stand-in device never finished")


class StandIn:
    """CPU tensors take the device path; copies are plain, events open when ``gate`` is set."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.waits: list[str] = []
        self.staged = 0

    def handles(self, tensor: Any) -> bool:
        return tensor.device.type == "cpu"

    def stage(self, result: Any) -> tuple[Any, GateEvent]:
        self.staged += 1
        return result.clone(), GateEvent(self)


@pytest.fixture
def standin():
    backend = StandIn()
    with device.use_backend(backend):
        yield backend
        backend.gate.set()


def _file(logdir: Path) -> Path:
    (f,) = [p for p in logdir.rglob("events.out.tfevents.*") if p.parent == logdir]
    return f


def _summaries(path: Path) -> list[tuple[int, str, Any]]:
    out = []
    for ev in tb_events(path):
        for v in ev.summary.value:
            out.append((ev.step, v.tag, v))
    return out


def _log(w: Any, tensors: list[torch.Tensor]) -> None:
    for i, t in enumerate(tensors):
        w.add_scalar("loss", t, i)
        w.add_histogram("weights", t.expand(3, 5) * (i + 1), i)


def _inputs() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    out = [torch.randn((), generator=g) for _ in range(12)]
    out.append(torch.tensor(3, dtype=torch.int64))
    out.append(torch.tensor(0.1, dtype=torch.bfloat16))
    out.append(torch.tensor(-2.5, dtype=torch.float16))
    return out


def test_calls_return_without_waiting_and_files_match_torch(tmp_path, standin):
    ours = tmp_path / "ours"
    w = ferroboard.SummaryWriter(ours, flush_secs=3600)
    _log(w, _inputs())
    w.add_scalars("group", {"a": torch.tensor(1.25), "b": 2.0}, 7)
    # Everything above returned with the gate closed: the calling thread never waited.
    assert "MainThread" not in standin.waits
    assert standin.staged == 2 * len(_inputs()) + 1
    standin.gate.set()
    w.close()
    assert device.outstanding_bytes() == 0

    theirs = tmp_path / "theirs"
    tw = TorchWriter(str(theirs))
    _log(tw, _inputs())
    tw.close()
    a, b = _summaries(_file(ours)), _summaries(_file(theirs))
    assert [(s, t) for s, t, _ in a] == [(s, t) for s, t, _ in b]
    for (_, tag, x), (_, _, y) in zip(a, b):
        if tag == "loss":
            assert x.simple_value == y.simple_value
        else:
            hx, hy = x.histo, y.histo
            assert list(hx.bucket_limit) == list(hy.bucket_limit)
            assert list(hx.bucket) == list(hy.bucket)
            assert (hx.min, hx.max, hx.num) == (hy.min, hy.max, hy.num)
            assert hx.sum == pytest.approx(hy.sum, rel=1e-12, abs=1e-12)
            assert hx.sum_squares == pytest.approx(hy.sum_squares, rel=1e-12)
    (sub,) = [p for p in (ours / "group_a").glob("events.out.tfevents.*")]
    assert [(s, t, v.simple_value) for s, t, v in _summaries(sub)] == [(7, "group", 1.25)]


def _host_and_device(tmp_path: Path, values: torch.Tensor, **kwargs: Any) -> tuple[Any, Any]:
    """The histogram written by the host path and by the stand-in device path."""
    out = []
    for name, backend in (("host", None), ("device", StandIn())):
        logdir = tmp_path / name
        with ferroboard.SummaryWriter(logdir) as w:
            if backend is None:
                w.add_histogram("h", values, 0, **kwargs)
            else:
                backend.gate.set()
                with device.use_backend(backend):
                    w.add_histogram("h", values, 0, **kwargs)
                assert backend.staged == 1
        (summary,) = _summaries(_file(logdir))
        out.append(summary[2].histo)
    return out[0], out[1]


EDGES = ferroboard._native.default_histogram_edges()


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int32, torch.bool]
)
@pytest.mark.parametrize("seed", range(4))
def test_device_counts_equal_host_counts(tmp_path, dtype, seed):
    g = torch.Generator().manual_seed(seed)
    v = torch.randn(2000, generator=g, dtype=torch.float64) * 10 ** (seed - 1)
    # Values exactly on default edges, on both sides of zero, and non-finite ones.
    on_edges = torch.from_numpy(EDGES[700 + seed * 10 : 760 + seed * 10].copy())
    v = torch.cat([v, on_edges, -on_edges, torch.tensor([0.0, float("nan"), float("inf")])])
    if dtype == torch.bool:
        v = v > 0
    elif not dtype.is_floating_point:
        v = (v * 100).round()
    v = v.to(dtype)
    for kwargs in ({}, {"max_bins": 40}, {"bins": [-3.0, -1.0, 0.0, 0.5, 1.0, 20.0]}):
        host, dev = _host_and_device(tmp_path / f"{kwargs}", v, **kwargs)
        assert list(dev.bucket_limit) == list(host.bucket_limit)
        assert list(dev.bucket) == list(host.bucket)
        assert (dev.min, dev.max, dev.num) == (host.min, host.max, host.num)
        # Summed in float64 by torch on the device: as accurate, possibly not the same bits.
        scale = float(v[torch.isfinite(v.double())].double().abs().sum()) + 1e-300
        assert abs(dev.sum - host.sum) <= 1e-12 * scale
        assert dev.sum_squares == pytest.approx(host.sum_squares, rel=1e-12, abs=1e-300)


def test_numpy_bin_rules_take_the_host_path(tmp_path, standin):
    standin.gate.set()
    with ferroboard.SummaryWriter(tmp_path) as w:
        w.add_histogram("h", torch.arange(10.0), 0, bins="auto")
        w.add_histogram("h", torch.arange(10.0), 1, bins=4)
    assert standin.staged == 0


def test_device_errors_are_raised_by_the_next_call_and_the_writer_recovers(tmp_path, standin):
    standin.gate.set()
    w = ferroboard.SummaryWriter(tmp_path)
    w.add_histogram("h", torch.tensor([float("nan"), float("inf")]), 0)  # nothing finite
    with pytest.raises(RuntimeError, match="values"):
        w.flush()
    w.add_scalar("after", torch.tensor(1.0), 1)
    w.close()
    assert [(s, t) for s, t, _ in _summaries(_file(tmp_path))] == [(1, "after")]


def test_bad_arguments_raise_now_and_nothing_is_staged(tmp_path, standin):
    with ferroboard.SummaryWriter(tmp_path) as w:
        with pytest.raises(ValueError, match="scalar_value"):
            w.add_scalar("s", torch.ones(2), 0)
        with pytest.raises(TypeError, match="scalar_value"):
            w.add_scalar("s", torch.ones((), dtype=torch.complex64), 0)
        with pytest.raises(ValueError, match="values"):
            w.add_histogram("h", torch.ones(0), 0)
        with pytest.raises(ValueError, match="edges"):
            w.add_histogram("h", torch.ones(3), 0, bins=[1.0, 0.5])
        with pytest.raises(ValueError, match="max_bins"):
            w.add_histogram("h", torch.ones(3), 0, max_bins=0)
        assert standin.staged == 0
        standin.gate.set()


def test_pinned_memory_is_bounded_by_back_pressure(tmp_path, standin, monkeypatch):
    # Room for four staged scalars; the writer thread resolves nothing before close (no flush
    # is due and the queue never fills), so the fifth call must wait for the oldest itself.
    monkeypatch.setattr(device, "PINNED_LIMIT", 4 * 8)
    standin.gate.set()
    w = ferroboard.SummaryWriter(tmp_path, max_queue=1000, flush_secs=3600)
    for i in range(20):
        w.add_scalar("s", torch.tensor(float(i)), i)
        assert device.outstanding_bytes() <= 4 * 8
    assert standin.waits.count("MainThread") == 16
    w.close()
    got = [(s, v.simple_value) for s, _, v in _summaries(_file(tmp_path))]
    assert got == [(i, float(i)) for i in range(20)]


def test_order_is_kept_between_device_and_host_values(tmp_path, standin):
    w = ferroboard.SummaryWriter(tmp_path, max_queue=3)
    for i in range(30):
        w.add_scalar("s", torch.tensor(float(i)) if i % 3 else float(i), i)
    standin.gate.set()
    w.close()
    got = [(s, v.simple_value) for s, _, v in _summaries(_file(tmp_path))]
    assert got == [(i, float(i)) for i in range(30)]


class ForeignArray:
    """An array from another library, reachable only through DLPack."""

    def __init__(self, arr: np.ndarray) -> None:
        self._arr = arr

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self._arr.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> Any:
        return self._arr.__dlpack_device__()


def test_dlpack_objects_are_read_like_arrays(tmp_path):
    values = np.random.RandomState(0).randn(500).astype(np.float32)
    with ferroboard.SummaryWriter(tmp_path / "a") as w:
        w.add_histogram("h", ForeignArray(values), 0)
        w.add_scalar("s", ForeignArray(np.array(2.5)), 0)
    with ferroboard.SummaryWriter(tmp_path / "b") as w:
        w.add_histogram("h", values, 0)
        w.add_scalar("s", 2.5, 0)
    a = [(t, str(v)) for _, t, v in _summaries(_file(tmp_path / "a"))]
    b = [(t, str(v)) for _, t, v in _summaries(_file(tmp_path / "b"))]
    assert a == b


def _pr_tensor(logdir: Path) -> Any:
    (summary,) = _summaries(_file(logdir))
    return summary[2].tensor


@pytest.mark.parametrize(
    "pred_dtype",
    [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.bool, torch.int64],
)
@pytest.mark.parametrize("num_thresholds", [2, 127, 1000])
def test_device_pr_curve_equals_the_host_path(tmp_path, pred_dtype, num_thresholds):
    g = torch.Generator().manual_seed(num_thresholds)
    n = 3000
    if pred_dtype.is_floating_point:
        # Grid points k / (t - 1) land exactly on bucket boundaries; the rest at random.
        grid = torch.arange(num_thresholds, dtype=torch.float64) / (num_thresholds - 1)
        preds = torch.cat([torch.rand(n, generator=g, dtype=torch.float64), grid])
        preds = preds.to(pred_dtype)
    else:
        preds = (torch.rand(n, generator=g) > 0.5).to(pred_dtype)
    labels = torch.rand(preds.numel(), generator=g) > 0.4
    cases = [
        (labels, None),
        (labels.to(torch.int32), 2.0),
        (labels.to(torch.float32), torch.rand(preds.numel(), generator=g, dtype=torch.float64)),
        (labels.numpy(), (torch.rand(preds.numel(), generator=g) * 3).numpy()),
    ]
    for i, (lab, weights) in enumerate(cases):
        out = []
        for name, backend in (("host", None), ("device", StandIn())):
            logdir = tmp_path / f"{i}-{name}"
            with ferroboard.SummaryWriter(logdir) as w:
                if backend is None:
                    w.add_pr_curve("pr", lab, preds, 0, num_thresholds, weights)
                else:
                    backend.gate.set()
                    with device.use_backend(backend):
                        w.add_pr_curve("pr", lab, preds, 0, num_thresholds, weights)
                    assert backend.staged == 1
            out.append(_pr_tensor(logdir))
        host, dev = out
        assert host.tensor_shape == dev.tensor_shape
        if weights is None or isinstance(weights, float):
            assert list(dev.float_val) == list(host.float_val), i
        else:  # weights summed in another order: float64 sums, stored as float32
            np.testing.assert_allclose(dev.float_val, host.float_val, rtol=1e-6, atol=1e-9)


def test_invalid_device_pr_curves_are_raised_by_the_next_call(tmp_path, standin):
    standin.gate.set()
    w = ferroboard.SummaryWriter(tmp_path)
    w.add_pr_curve("pr", torch.tensor([0, 2]), torch.tensor([0.1, 0.9]), 0)
    with pytest.raises(RuntimeError, match="labels, predictions or weights"):
        w.flush()
    with pytest.raises(ValueError, match="labels and predictions"):
        w.add_pr_curve("pr", torch.tensor([0, 1, 1]), torch.tensor([0.1, 0.9]), 0)
    with pytest.raises(ValueError, match="num_thresholds"):
        w.add_pr_curve("pr", torch.tensor([0, 1]), torch.tensor([0.1, 0.9]), 0, 1)
    w.add_pr_curve("pr", torch.tensor([0, 1]), torch.tensor([0.1, 0.9]), 3)
    w.close()
    assert [s for s, _, _ in _summaries(_file(tmp_path))] == [3]


def _host_and_device_events(tmp_path: Path, log: Any) -> tuple[list[Any], list[Any]]:
    """The summaries ``log(writer)`` writes through the host path and the device path."""
    out = []
    for name, backend in (("host", None), ("device", StandIn())):
        logdir = tmp_path / name
        with ferroboard.SummaryWriter(logdir) as w:
            if backend is None:
                log(w)
            else:
                backend.gate.set()
                with device.use_backend(backend):
                    log(w)
                assert backend.staged > 0
        out.append([v for _, _, v in _summaries(_file(logdir))])
    return out[0], out[1]


@pytest.mark.parametrize(
    "dtype",
    [
        torch.uint8,
        torch.float32,
        torch.float64,
        torch.float16,
        torch.bfloat16,
        torch.bool,
        torch.int16,
    ],
)
def test_device_images_and_videos_equal_the_host_path(tmp_path, dtype):
    g = torch.Generator().manual_seed(3)
    raw = torch.rand(2, 3, 3, 9, 11, generator=g, dtype=torch.float64) * 1.2 - 0.1
    if dtype == torch.uint8:
        data = (raw * 255).clamp(0, 255).to(torch.uint8)
    elif dtype == torch.bool:
        data = raw > 0.5
    elif dtype == torch.int16:
        data = (raw * 3).round().to(torch.int16)
    else:
        data = raw.to(dtype)

    def log(w: Any) -> None:
        w.add_image("chw", data[0, 0], 0)
        w.add_image("hwc", data[0, 0].permute(1, 2, 0), 0, dataformats="HWC")
        w.add_image("hw", data[0, 0, 0], 0, dataformats="HW")
        w.add_images("batch", data[0], 0)
        w.add_video("video", data, 0, fps=5)
        w.add_video("video_nthwc", data.permute(0, 1, 3, 4, 2), 0, fps=5, dataformats="NTHWC")

    host, dev = _host_and_device_events(tmp_path, log)
    assert [v.tag for v in dev] == [v.tag for v in host]
    for a, b in zip(dev, host):
        assert a.image.encoded_image_string == b.image.encoded_image_string, a.tag
        assert (a.image.height, a.image.width, a.image.colorspace) == (
            b.image.height,
            b.image.width,
            b.image.colorspace,
        )


def test_device_pixels_that_are_not_finite_are_raised_by_the_next_call(tmp_path, standin):
    standin.gate.set()
    w = ferroboard.SummaryWriter(tmp_path)
    w.add_image("i", torch.tensor([[[0.5, float("nan")]]]), 0)
    with pytest.raises(RuntimeError, match="img_tensor: expected finite"):
        w.flush()
    w.add_video("v", torch.full((1, 1, 1, 2, 2), float("inf")), 0)
    with pytest.raises(RuntimeError, match="vid_tensor: expected finite"):
        w.flush()
    with pytest.raises(ValueError, match="dataformats"):
        w.add_image("i", torch.zeros(3, 4, 4), 0, dataformats="XYZ")
    with pytest.raises(ValueError, match="fps"):
        w.add_video("v", torch.zeros(1, 1, 3, 2, 2), 0, fps=0)
    w.add_image("ok", torch.zeros(3, 4, 4), 5)
    w.close()
    assert [(s, t) for s, t, _ in _summaries(_file(tmp_path))] == [(5, "ok")]
