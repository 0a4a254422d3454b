"""add_graph of a CNN, side by side: torch.utils.tensorboard, tensorboardX and ferroboard.

Each round gives every contender (in turn, so drift hits all alike; the order rotates from round
to round) a fresh writer and times
``add_graph(model, x)`` plus the ``flush()`` after it; the median over the rounds is reported.
Tracing (``torch.jit.trace`` and inlining: the same for all three) dominates, so the table
also splits one call into its stages, timed separately in the same run:

* trace: ``torch.jit.trace`` + ``_jit_pass_inline`` (what torch's and ours run alike);
* torch after tracing: its ``_pytorch_graph.parse`` and the protobuf ``GraphDef``;
* ferroboard after tracing: the Python walk of the traced graph into plain data, and the
  native encoding of the GraphDef and run-metadata events.

The output is checked: torch's and ferroboard's files decode (TensorBoard's EventAccumulator)
to the same GraphDef and run metadata.

Run: ``.venv/bin/python benches/bench_graph.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import warnings

sys.path.insert(0, os.path.dirname(__file__))
import ferroboard
import torch
from _common import machine
from ferroboard._native import graph_events
from ferroboard.writer._graph import walk
from torch import nn
from torch.nn import functional as F

warnings.filterwarnings("ignore")


class CNN(nn.Module):
    """A LeNet-style CNN for 28x28 images: two conv blocks with batch norm, three linears."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(32)
        self.fc1 = nn.Linear(32 * 7 * 7, 128)
        self.fc2 = nn.Linear(128, 64)
        self.fc3 = nn.Linear(64, 10)
        self.drop = nn.Dropout(0.25)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(F.relu(self.bn2(self.conv2(x))), 2)
        x = self.drop(torch.flatten(x, 1))
        x = F.relu(self.fc2(F.relu(self.fc1(x))))
        return F.log_softmax(self.fc3(x), dim=1)


def writers():
    from tensorboardX import SummaryWriter as XWriter
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    return {"torch": TorchWriter, "tensorboardX": XWriter, "ferroboard": ferroboard.SummaryWriter}


def one_call(cls, root: str, model, x) -> tuple[float, float]:
    """(wall, CPU) seconds of one ``add_graph`` + ``flush()`` on a fresh writer."""
    w = cls(tempfile.mkdtemp(dir=root))
    t, c = time.perf_counter(), time.process_time()
    w.add_graph(model, x)
    w.flush()
    dt, dc = time.perf_counter() - t, time.process_time() - c
    w.close()
    return dt, dc


def trace(model, x):
    model.eval()
    tr = torch.jit.trace(model, x)
    torch._C._jit_pass_inline(tr.graph)
    model.train()
    return tr


def stages(model, x, rounds: int) -> dict[str, float]:
    from tensorboard.compat.proto.graph_pb2 import GraphDef
    from tensorboard.compat.proto.versions_pb2 import VersionDef
    from torch.utils.tensorboard._pytorch_graph import parse

    out: dict[str, list[float]] = {"trace": [], "torch_parse": [], "walk": [], "encode": []}
    for _ in range(rounds):
        t0 = time.perf_counter()
        tr = trace(model, x)
        t1 = time.perf_counter()
        GraphDef(node=parse(tr.graph, tr, x), versions=VersionDef(producer=22)).SerializeToString()
        t2 = time.perf_counter()
        data = walk(torch, tr, tr.graph)
        t3 = time.perf_counter()
        graph_events(*data)
        t4 = time.perf_counter()
        out["trace"].append(t1 - t0)
        out["torch_parse"].append(t2 - t1)
        out["walk"].append(t3 - t2)
        out["encode"].append(t4 - t3)
    return {k: statistics.median(v) for k, v in out.items()}


def check(root: str, model, x) -> int:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    graphs = []
    for cls in (writers()["torch"], ferroboard.SummaryWriter):
        d = tempfile.mkdtemp(dir=root)
        with cls(d) as w:
            w.add_graph(model, x)
        acc = EventAccumulator(d)
        acc.Reload()
        graphs.append((acc.Graph(), acc.RunMetadata("step1")))
    assert graphs[0] == graphs[1], "ferroboard's graph differs from torch's"
    return len(graphs[0][0].node)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--threads", type=int, default=1, help="torch intra-op threads (default 1)")
    args = ap.parse_args()
    rounds = 5 if args.quick else 30
    # one intra-op thread: the model's forward passes (tracing runs two) vary far less on a
    # shared machine, and every contender runs the same passes
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model, x = CNN(), torch.randn(1, 1, 28, 28)
    with tempfile.TemporaryDirectory() as root:
        nodes = check(root, model, x)
        contenders = writers()
        for cls in contenders.values():  # warm-up: imports, first trace
            one_call(cls, root, model, x)
        times: dict[str, list[tuple[float, float]]] = {k: [] for k in contenders}
        names = list(contenders)
        for r in range(rounds):  # each round in a rotated order: no contender always first
            for name in names[r % 3 :] + names[: r % 3]:
                times[name].append(one_call(contenders[name], root, model, x))
        parts = stages(model, x, rounds)
    wall = {k: statistics.median(t[0] for t in v) for k, v in times.items()}
    cpu = {k: statistics.median(t[1] for t in v) for k, v in times.items()}
    print(f"# add_graph of a CNN ({nodes} nodes), median of {rounds} rounds; {machine()}")
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"# torch {torch.__version__}, {torch.get_num_threads()} intra-op threads; load {load}")
    print()
    print("| contender | add_graph + flush, wall | vs torch | CPU time | vs torch |")
    print("|---|---:|---:|---:|---:|")
    for name in contenders:
        print(
            f"| {name} | {wall[name] * 1e3:.1f} ms | {wall['torch'] / wall[name]:.2f}x | "
            f"{cpu[name] * 1e3:.1f} ms | {cpu['torch'] / cpu[name]:.2f}x |"
        )
    print()
    print("| stage (one call) | time | share of ferroboard's call |")
    print("|---|---:|---:|")
    total = parts["trace"] + parts["walk"] + parts["encode"]
    print(
        f"| trace (torch.jit.trace + inline; all three) | {parts['trace'] * 1e3:.2f} ms | "
        f"{parts['trace'] / total:.0%} |"
    )
    print(f"| torch: parse + protobuf GraphDef | {parts['torch_parse'] * 1e3:.2f} ms | - |")
    print(
        f"| ferroboard: walk (Python) | {parts['walk'] * 1e3:.2f} ms | "
        f"{parts['walk'] / total:.0%} |"
    )
    print(
        f"| ferroboard: encode (Rust) | {parts['encode'] * 1e3:.3f} ms | "
        f"{parts['encode'] / total:.0%} |"
    )
    print()
    print(
        f"after tracing: ferroboard {(parts['walk'] + parts['encode']) * 1e3:.2f} ms, "
        f"torch {parts['torch_parse'] * 1e3:.2f} ms "
        f"({parts['torch_parse'] / (parts['walk'] + parts['encode']):.1f}x)"
    )


if __name__ == "__main__":
    main()
