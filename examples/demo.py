"""ferroboard demo: a small real training run logged with ferroboard, then read back.

Trains a two-layer network on scikit-learn's digits (shipped inside the package: nothing is
downloaded), logs every summary type ferroboard writes into ``runs/demo-<time>/``, reads it
back with ``ferroboard.read`` (the names ``ferroboard ls`` shows), plots its curves to a PNG
with ``ferroboard plot`` (``--plot``; ``make demo`` writes README's image,
``docs/images/demo-plot.png``), and prints the line to view it in TensorBoard. ``--epochs``
and ``--logdir`` change the defaults (30 epochs, ``runs``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import ferroboard
import numpy as np
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
        w.add_graph(model, x[:1])  # the model's graph, for TensorBoard's Graphs tab
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
        log_media(w, model, x[val_idx], logits.argmax(1), epochs)
        # The CUSTOM SCALARS dashboard: both curves in one chart.
        w.add_custom_scalars(
            {"training": {"loss and accuracy": ["Multiline", ["train/loss", "val/accuracy"]]}}
        )
        # The HPARAMS dashboard, in this run (run_name="."), its metric the logged accuracy.
        w.add_hparams(
            {"lr": 1e-2, "epochs": epochs, "hidden": 64, "optimizer": "adam", "relu": True},
            {"val/accuracy": None},
            run_name=".",
        )
        log_images(w, x[val_idx[:16]], logits[:16].argmax(1), y[val_idx], logits.argmax(1), epochs)
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


def log_images(
    w: SummaryWriter,
    samples: torch.Tensor,
    predicted: torch.Tensor,
    truth: torch.Tensor,
    all_predicted: torch.Tensor,
    step: int,
) -> None:
    """Images: a batch of validation digits (one grid), the first digit enlarged with a box
    around its ink labelled with the prediction, and a confusion-matrix figure (when
    matplotlib is installed)."""
    digits = samples.reshape(-1, 1, 8, 8)  # float in [0, 1]: scaled by 255, as torch does
    w.add_images("val/samples", digits, step)
    big = np.kron(digits[0, 0].numpy(), np.ones((8, 8)))  # 64x64, nearest neighbour
    ys, xs = np.nonzero(big > 0.2)
    box = np.array([[xs.min(), ys.min(), xs.max(), ys.max()]])
    label = f"pred {int(predicted[0])}"
    w.add_image_with_boxes("val/first_sample", big, box, step, dataformats="HW", labels=[label])
    try:
        from matplotlib.figure import Figure
    except ImportError:
        return
    confusion = np.zeros((10, 10), dtype=int)
    np.add.at(confusion, (truth.numpy(), all_predicted.numpy()), 1)
    fig = Figure(figsize=(4, 4), dpi=80)
    ax = fig.add_subplot()
    ax.imshow(confusion, cmap="Blues")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    w.add_figure("val/confusion", fig, step)


def log_media(
    w: SummaryWriter, model: nn.Sequential, xv: torch.Tensor, pred: torch.Tensor, step: int
) -> None:
    """Audio, video and a point cloud of the trained model's validation run."""
    # A stereo chord, one note per channel: the lowest and highest predicted class.
    t = torch.arange(8000) / 8000.0
    notes = [220.0 * 2 ** (int(c) / 12) for c in (pred.min(), pred.max())]
    w.add_audio(
        "media/chord",
        torch.stack([0.4 * torch.sin(2 * torch.pi * f * t) for f in notes]),
        step,
        sample_rate=8000,
    )
    # Four validation digits fading in over 8 frames: (N, T, C, H, W) floats in [0, 1].
    fade = torch.linspace(0.1, 1.0, 8).view(1, 8, 1, 1, 1)
    w.add_video("media/digits", xv[:4].view(4, 1, 1, 8, 8) * fade, step, fps=4)
    # The first three hidden units of every validation digit, colored by predicted class.
    with torch.no_grad():
        hidden = model[1](model[0](xv))[:, :3]
    palette = torch.tensor(
        [
            [230, 25, 75],
            [60, 180, 75],
            [255, 225, 25],
            [0, 130, 200],
            [245, 130, 48],
            [145, 30, 180],
            [70, 240, 240],
            [240, 50, 230],
            [210, 245, 60],
            [0, 128, 128],
        ]
    )
    w.add_mesh("media/hidden_units", hidden[None], colors=palette[pred][None], global_step=step)


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
    graphs = sorted(run for run, has in res.has_graph.items() if has)
    print(f"runs with a model graph (TensorBoard's Graphs tab): {', '.join(graphs) or 'none'}")


def plot(root: str, out: str) -> None:
    """The run's curves as a PNG, without a browser: ``ferroboard plot`` (README's image)."""
    from ferroboard.cli import main as ferroboard_cli

    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    tags = ["train/loss", "val/accuracy", "loss"]
    argv = ["plot", root, "-o", out, "--smoothing", "0.6", *[f"--tag={t}" for t in tags]]
    print(f"\nferroboard {' '.join(argv)}")
    ferroboard_cli(argv)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logdir", default="runs", help="where to write (default: runs)")
    parser.add_argument("--epochs", type=int, default=30, help="training epochs (default: 30)")
    parser.add_argument(
        "--plot",
        help="where `ferroboard plot` writes the curves (default: LOGDIR/demo-<time>/plot.png; "
        "`make demo` writes docs/images/demo-plot.png, README's image)",
    )
    args = parser.parse_args(argv)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    log_dir = os.path.join(args.logdir, f"demo-{stamp}", "digits-mlp")
    t = time.perf_counter()
    train(log_dir, args.epochs)
    print(f"logged to {log_dir} in {time.perf_counter() - t:.2f} s")
    read_back(os.path.dirname(log_dir))
    plot(os.path.dirname(log_dir), args.plot or os.path.join(os.path.dirname(log_dir), "plot.png"))
    tensorboard = os.path.join(os.path.dirname(sys.executable), "tensorboard")
    print(f"\nview it:  {tensorboard} --logdir {args.logdir}")


if __name__ == "__main__":
    main()
