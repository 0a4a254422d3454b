"""ferroboard demo: a small real training run logged with ferroboard, then read back.

Trains a two-layer network on scikit-learn's digits (shipped inside the package: nothing is
downloaded), logs every summary type ferroboard writes into ``runs/``, reads the run back with
ferroboard's reader, and prints the line to view it in TensorBoard.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter

import ferroboard
import torch
from ferroboard import SummaryWriter
from sklearn.datasets import load_digits
from torch import nn


def train(log_dir: str, epochs: int = 30) -> None:
    torch.manual_seed(0)
    digits = load_digits()
    x = torch.tensor(digits.data / 16.0, dtype=torch.float32)
    y = torch.tensor(digits.target)
    perm = torch.randperm(len(x))
    train_idx, val_idx = perm[:1400], perm[1400:]
    model = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-2)
    loss_fn = nn.CrossEntropyLoss()

    with SummaryWriter(log_dir) as w:
        w.add_text("config", f"**model**: `{model}`\n\n**epochs**: {epochs}, **lr**: 1e-2", 0)
        step = 0
        for epoch in range(epochs):
            model.train()
            for batch in train_idx.split(64):
                opt.zero_grad()
                loss = loss_fn(model(x[batch]), y[batch])
                loss.backward()
                opt.step()
                w.add_scalar("train/loss", loss, step)  # a 0-d tensor, as with torch
                step += 1
            model.eval()
            with torch.no_grad():
                logits = model(x[val_idx])
                val_loss = loss_fn(logits, y[val_idx]).item()
                acc = (logits.argmax(1) == y[val_idx]).float().mean().item()
            w.add_scalar("val/accuracy", acc, epoch)
            w.add_scalars("loss", {"train": loss.item(), "val": val_loss}, epoch)
            for name, p in model.named_parameters():
                w.add_histogram(f"weights/{name}", p.detach(), epoch)
                w.add_histogram(f"grads/{name}", p.grad, epoch)
            if epoch % 10 == 9:
                w.add_text("progress", f"epoch {epoch + 1}: accuracy **{acc:.3f}**", epoch)
        probs = torch.softmax(logits, 1)
        for digit in range(3):
            w.add_pr_curve(f"pr/digit_{digit}", y[val_idx] == digit, probs[:, digit], epochs)
    print(f"trained {epochs} epochs, final validation accuracy {acc:.3f}")


def read_back(log_dir: str) -> None:
    """Prints what the run holds, read back with ferroboard."""
    root = os.path.dirname(log_dir)
    if hasattr(ferroboard, "SummaryReader"):
        reader = ferroboard.SummaryReader(root, extra_columns={"dir_name"})
        scalars = reader.scalars
        print(f"\n{len(scalars):,} scalar points in {scalars['dir_name'].nunique()} run(s):")
        print(scalars.groupby(["dir_name", "tag"])["value"].agg(["count", "last"]).to_string())
        for kind in ("text", "histograms", "pr_curves", "tensors"):
            frame = getattr(reader, kind, None)
            if frame is not None and len(frame):
                print(f"{kind}: {len(frame):,} rows, tags {sorted(frame['tag'].unique())}")
        return
    counts: Counter[tuple[str, str]] = Counter()
    for dirpath, _dirs, files in os.walk(root):
        for f in sorted(files):
            if "tfevents" not in f:
                continue
            run = os.path.relpath(dirpath, root)
            for ev in ferroboard.iter_events(os.path.join(dirpath, f)):
                for v in ev.get("values", []):
                    counts[(run, v["tag"])] += 1
    print("\nwhat the logdir holds (run, tag: points):")
    for (run, tag), n in sorted(counts.items()):
        print(f"  {run:40s} {tag:28s} {n:6d}")


def main() -> None:
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = os.path.join("runs", f"demo-{stamp}", "digits-mlp")
    t = time.perf_counter()
    train(log_dir)
    print(f"logged to {log_dir} in {time.perf_counter() - t:.2f} s")
    read_back(log_dir)
    print(
        f"\nview it:  {os.path.join(os.path.dirname(sys.executable), 'tensorboard')} --logdir runs"
    )


if __name__ == "__main__":
    main()
