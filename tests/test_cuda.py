"""CUDA tensors logged with no host sync per call (runs only where a GPU is present).

``torch.cuda.set_sync_debug_mode("error")`` makes every synchronizing CUDA call raise: a
training loop logging scalars, a histogram and an image every step must run through under it
with our writer (torch's writer raises at its first ``add_scalar`` of a CUDA tensor), and the
files must hold what torch's writer writes for the same tensors.
"""

from __future__ import annotations

from pathlib import Path

import ferroboard
import pytest
import torch
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from tests.support.judges import tb_events

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


def _loop(writer, steps: int, sync_check: bool) -> list[torch.Tensor]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.Flatten(), torch.nn.LazyLinear(10)
    ).cuda()
    x = torch.randn(16, 3, 16, 16, device="cuda")
    y = torch.randint(0, 10, (16,), device="cuda")
    model(x)  # materialize the lazy layer before the optimizer sees it
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    losses = []
    if sync_check:
        torch.cuda.set_sync_debug_mode("error")
    try:
        for step in range(steps):
            loss = torch.nn.functional.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            writer.add_scalar("loss", loss.detach(), step)
            writer.add_histogram("conv/weight", model[0].weight.detach(), step)
            writer.add_image("input", x[0].detach().sigmoid(), step)
            losses.append(loss.detach())
    finally:
        torch.cuda.set_sync_debug_mode("default")
    return losses


def _summaries(logdir: Path):
    (f,) = logdir.glob("events.out.tfevents.*")
    return [(e.step, v.tag, v) for e in tb_events(f) for v in e.summary.value]


def test_logging_cuda_tensors_never_syncs_and_matches_torch(tmp_path):
    with ferroboard.SummaryWriter(tmp_path / "ours") as w:
        _loop(w, 20, sync_check=True)
    tw = TorchWriter(str(tmp_path / "torch"))
    with pytest.raises(RuntimeError):
        _loop(tw, 1, sync_check=True)  # torch's writer syncs at its first add_scalar
    tw.close()
    tw = TorchWriter(str(tmp_path / "torch2"))
    _loop(tw, 20, sync_check=False)
    tw.close()
    ours, theirs = _summaries(tmp_path / "ours"), _summaries(tmp_path / "torch2")
    assert [(s, t) for s, t, _ in ours] == [(s, t) for s, t, _ in theirs]
    for (_, tag, a), (_, _, b) in zip(ours, theirs):
        if tag == "loss":
            assert a.simple_value == pytest.approx(b.simple_value, rel=1e-5)
        elif tag == "input":
            assert (a.image.height, a.image.width) == (b.image.height, b.image.width)
        else:
            assert a.histo.num == b.histo.num
            assert a.histo.min == pytest.approx(b.histo.min, rel=1e-5)


def test_device_counts_equal_host_counts_on_cuda(tmp_path):
    edges = ferroboard._native.default_histogram_edges()
    v = torch.cat([torch.randn(100_000), torch.from_numpy(edges[600:900].copy()).float()])
    for name, values in (("host", v), ("cuda", v.cuda())):
        with ferroboard.SummaryWriter(tmp_path / name) as w:
            w.add_histogram("h", values, 0)
    (h,), (d,) = _summaries(tmp_path / "host"), _summaries(tmp_path / "cuda")
    assert list(d[2].histo.bucket) == list(h[2].histo.bucket)
    assert list(d[2].histo.bucket_limit) == list(h[2].histo.bucket_limit)
