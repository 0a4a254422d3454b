"""ferroboard demo: a small real training run logged with ferroboard, then read back.

Trains a two-layer network on scikit-learn's digits (shipped inside the package: nothing is
downloaded), logs every summary type ferroboard writes into ``runs/demo-<time>/``, reads it
back with ``ferroboard.read`` (the names ``ferroboard ls`` shows), and prints the line to view
it in TensorBoard. ``--epochs`` and ``--logdir`` change the defaults (30 epochs, ``runs``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

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
        with torch.no_grad():
            hidden = model[1](model[0](x[val_idx]))  # the hidden layer's 64 features
        # The projector tab: each validation digit as a point, labelled, with its 8x8 image.
        w.add_embedding(
            hidden,
            metadata=y[val_idx].tolist(),
            label_img=x[val_idx].reshape(-1, 1, 8, 8),
            global_step=epochs,
            tag="hidden",
        )
    print(f"trained {epochs} epochs, final validation accuracy {acc:.3f}")


def read_back(root: str) -> None:
    """Prints what ``root`` holds, read back with ``ferroboard.read``: tags as written in the
    file (``add_text("config")`` writes ``config/text_summary``), kinds as ferroboard classifies
    them (PR curves are ``pr_curves``, not ``tensors``): the names ``ferroboard ls`` and
    ``ferroboard export --kind`` use."""
    res = ferroboard.read(root)
    scalars = res.scalars
    last: dict[tuple[str, str], float] = {}
    for run, tag, value in zip(scalars["run"], scalars["tag"], scalars["value"]):
        last[(run, tag)] = float(value)
    rows = [
        (row["run"], row["tag"], kind, count)
        for row in res.tag_summary()
        for kind, count in row["counts"].items()
    ]
    print(f"\n{root}, read back with ferroboard.read (`ferroboard ls {root}` lists the same):")
    width = max(len(r[0]) for r in rows)
    tag_width = max(len(r[1]) for r in rows)
    for run, tag, kind, count in sorted(rows):
        tail = f"  last {last[(run, tag)]:.4f}" if kind == "scalars" else ""
        print(f"  {run:<{width}}  {tag:<{tag_width}}  {kind:<10} {count:6d}{tail}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="runs", help="where to write (default: runs)")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default: 30)")
    args = parser.parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = os.path.join(args.logdir, f"demo-{stamp}", "digits-mlp")
    t = time.perf_counter()
    train(log_dir, args.epochs)
    print(f"logged to {log_dir} in {time.perf_counter() - t:.2f} s")
    read_back(os.path.dirname(log_dir))
    tensorboard = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    print(f"\nview it:  {tensorboard} --logdir {args.logdir}")


if __name__ == "__main__":
    main()
