"""Step time of a small CNN on CUDA: no logging, torch's writer, ferroboard's writer.

Each step logs the loss, two histograms and an image of a CUDA model (what a training loop
does); torch's writer reads each value on the host (``.item()``/``.cpu()``: a stream synchronize
per call), ours stages them (see ``ferroboard/_inputs/device.py``). Prints ms per step and the
overhead over no logging. Needs a GPU: python benches/bench_cuda.py [steps]
"""

from __future__ import annotations

import sys
import tempfile
import time

import torch


def run(make_writer, steps: int) -> float:
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 32, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Conv2d(32, 32, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(32, 10),
    ).cuda()
    x = torch.randn(64, 3, 32, 32, device="cuda")
    y = torch.randint(0, 10, (64,), device="cuda")
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    with tempfile.TemporaryDirectory() as d:
        w = make_writer(d)
        for _phase in ("warmup", "timed"):
            torch.cuda.synchronize()
            t0 = time.perf_counter()
            for step in range(steps):
                loss = torch.nn.functional.cross_entropy(model(x), y)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                if w is not None:
                    w.add_scalar("loss", loss.detach(), step)
                    w.add_histogram("conv1", model[0].weight.detach(), step)
                    w.add_histogram("conv2", model[2].weight.detach(), step)
                    w.add_image("input", x[0].sigmoid(), step)
            if w is not None:
                w.flush()
            torch.cuda.synchronize()
            elapsed = time.perf_counter() - t0
        if w is not None:
            w.close()
    return elapsed / steps * 1e3


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 500
    import ferroboard
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    base = run(lambda d: None, steps)
    torch_ms = run(lambda d: TorchWriter(d), steps)
    ours_ms = run(lambda d: ferroboard.SummaryWriter(d), steps)
    print(f"device: {torch.cuda.get_device_name()}  steps: {steps}")
    print(f"{'writer':<12}{'ms/step':>10}{'overhead':>10}")
    for name, ms in (("none", base), ("torch", torch_ms), ("ferroboard", ours_ms)):
        print(f"{name:<12}{ms:>10.3f}{(ms / base - 1) * 100:>9.1f}%")


if __name__ == "__main__":
    main()
