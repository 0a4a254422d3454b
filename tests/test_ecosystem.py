"""Lightning and transformers for real: each trains a tiny model twice, once with torch's
writer and once with ``ferroboard.patch_torch()``, and TensorBoard's ``EventAccumulator``
reads the same tags, steps and values from both logdirs (training is seeded and on the CPU,
so it is deterministic; timing metrics are compared by tag and step only), hparams included.

Whatever these libraries call on the writer (``add_scalar``, ``add_text``, ``_get_file_writer()
.add_summary`` with torch's protobuf objects, ``log_dir``, ``flush``, ``close``, pickling the
logger) runs on ferroboard's writer here."""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import ferroboard
import pytest
import torch

pytestmark = pytest.mark.slow

# Timing metrics differ run to run: compared by tag and step, not value.
_TIMING = ("runtime", "per_second", "total_flos")


@contextlib.contextmanager
def _patched(on: bool) -> Iterator[None]:
    if on:
        ferroboard.patch_torch()
    try:
        yield
    finally:
        if on:
            ferroboard.unpatch_torch()


def _accumulate(logdir: Path) -> dict[str, Any]:
    """Every run under ``logdir`` (relative path -> what EventAccumulator reads from it)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    out = {}
    for dirpath, _dirs, files in os.walk(logdir):
        if any("tfevents" in f for f in files):
            ea = EventAccumulator(dirpath, size_guidance={"scalars": 0, "tensors": 0})
            ea.Reload()
            out[os.path.relpath(dirpath, logdir)] = ea
    return out


def _scalars(ea: Any) -> dict[str, list[tuple[int, float]]]:
    return {t: [(e.step, e.value) for e in ea.Scalars(t)] for t in ea.Tags()["scalars"]}


def _hparams(ea: Any) -> dict[str, Any]:
    from tensorboard.plugins.hparams import plugin_data_pb2

    try:
        contents = ea.PluginTagToContent("hparams")
    except KeyError:  # no hparams in this run
        return {}
    return {
        tag: plugin_data_pb2.HParamsPluginData.FromString(content)
        for tag, content in contents.items()
    }


def _same_pixels(ours: Any, theirs: Any) -> bool:
    import io

    import numpy as np
    from PIL import Image

    def px(e: Any) -> Any:
        return np.asarray(Image.open(io.BytesIO(e.encoded_image_string)))

    return [e.step for e in ours] == [e.step for e in theirs] and all(
        np.array_equal(px(a), px(b)) for a, b in zip(ours, theirs)
    )


def _assert_same(
    theirs: dict[str, Any], ours: dict[str, Any], text_equal: Callable[[str], bool]
) -> None:
    assert sorted(ours) == sorted(theirs)
    for run, t in theirs.items():
        o = ours[run]
        t_tags, o_tags = t.Tags(), o.Tags()
        for kind in ("scalars", "tensors", "images", "histograms"):
            assert sorted(o_tags[kind]) == sorted(t_tags[kind]), (run, kind)
        assert o_tags["graph"] == t_tags["graph"], run
        if t_tags["graph"]:
            assert o.Graph() == t.Graph(), run
        for tag in t_tags["images"]:
            assert [(e.step, e.encoded_image_string) for e in o.Images(tag)] == [
                (e.step, e.encoded_image_string) for e in t.Images(tag)
            ] or _same_pixels(o.Images(tag), t.Images(tag)), (run, tag)
        for tag in t_tags["histograms"]:
            assert [(e.step, e.histogram_value) for e in o.Histograms(tag)] == [
                (e.step, e.histogram_value) for e in t.Histograms(tag)
            ], (run, tag)
        ts, os_ = _scalars(t), _scalars(o)
        for tag, points in ts.items():
            assert [s for s, _ in os_[tag]] == [s for s, _ in points], (run, tag)
            if not any(k in tag for k in _TIMING):
                for (_, a), (_, b) in zip(os_[tag], points):
                    assert math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-7), (run, tag, a, b)
        assert _hparams(o) == _hparams(t), run
        for tag in t_tags["tensors"]:
            te, oe = t.Tensors(tag), o.Tensors(tag)
            assert [e.step for e in oe] == [e.step for e in te], (run, tag)
            if text_equal(tag):
                assert [e.tensor_proto for e in oe] == [e.tensor_proto for e in te], (run, tag)


# ---------------------------------------------------------------- Lightning


def _train_lightning(root: Path, patched: bool) -> Any:
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import TensorBoardLogger

    class Tiny(pl.LightningModule):
        def __init__(self, lr: float = 0.1, hidden: int = 4, use_bias: bool = True) -> None:
            super().__init__()
            self.save_hyperparameters()
            self.net = torch.nn.Sequential(
                torch.nn.Linear(3, hidden, bias=use_bias),
                torch.nn.Tanh(),
                torch.nn.Linear(hidden, 1),
            )
            self.example_input_array = torch.zeros(2, 3)  # for log_graph=True

        def forward(self, x: Any) -> Any:
            return self.net(x)

        def training_step(self, batch: Any, idx: int) -> Any:
            x, y = batch
            loss = torch.nn.functional.mse_loss(self.net(x), y)
            self.log("train/loss", loss)
            if idx == 0:  # what users log through logger.experiment
                tb = self.logger.experiment
                g = torch.Generator().manual_seed(self.current_epoch)
                tb.add_image("sample", torch.rand(3, 8, 8, generator=g), self.global_step)
                tb.add_histogram("weight", self.net[0].weight, self.global_step)
            return loss

        def validation_step(self, batch: Any, _idx: int) -> None:
            x, y = batch
            self.log("val/loss", torch.nn.functional.mse_loss(self.net(x), y))

        def configure_optimizers(self) -> Any:
            return torch.optim.SGD(self.parameters(), lr=self.hparams.lr)

    pl.seed_everything(0, workers=True)
    x = torch.randn(32, 3)
    data = torch.utils.data.TensorDataset(x, x.sum(1, keepdim=True))
    loader = torch.utils.data.DataLoader(data, batch_size=8)
    with _patched(patched):
        logger = TensorBoardLogger(str(root), name="tiny", version=0, log_graph=True)
        trainer = pl.Trainer(
            max_epochs=2,
            logger=logger,
            accelerator="cpu",
            devices=1,
            deterministic=True,
            log_every_n_steps=1,
            enable_progress_bar=False,
            enable_model_summary=False,
            enable_checkpointing=False,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Lightning's advice (workers, logging interval)
            trainer.fit(Tiny(), loader, loader)
        logger.log_hyperparams({"extra": True}, {"hp_metric": 0.5})
        logger.finalize("success")
        assert isinstance(logger.experiment, ferroboard.SummaryWriter) == patched
        assert logger.experiment.log_dir == logger.log_dir
        # Lightning pickles its logger (spawn, checkpoints): a fresh copy works.
        copy = pickle.loads(pickle.dumps(logger))
        copy.log_metrics({"after/pickle": 1.0}, step=99)
        copy.finalize("success")
    return logger


def test_lightning_tensorboard_logger(tmp_path):
    theirs = _train_lightning(tmp_path / "torch", patched=False)
    ours = _train_lightning(tmp_path / "ours", patched=True)
    t, o = _accumulate(tmp_path / "torch"), _accumulate(tmp_path / "ours")
    _assert_same(t, o, lambda tag: True)
    run = os.path.relpath(ours.log_dir, tmp_path / "ours")
    assert os.path.relpath(theirs.log_dir, tmp_path / "torch") == run
    hp = _hparams(o[run])
    start = hp["_hparams_/session_start_info"].session_start_info.hparams
    assert start["lr"].number_value == 0.1
    assert start["hidden"].number_value == 4
    assert "hp_metric" in o[run].Tags()["scalars"]
    tags = o[run].Tags()
    assert tags["graph"]
    assert tags["images"] == ["sample"]
    assert tags["histograms"] == ["weight"]
    assert [s for s, _ in _scalars(o[run])["epoch"]][-1] > 0


# ---------------------------------------------------------------- transformers


def _train_transformers(root: Path, patched: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    monkeypatch.setenv("TENSORBOARD_LOGGING_DIR", str(root / "tb"))
    import transformers

    class Data(torch.utils.data.Dataset):
        def __init__(self) -> None:
            g = torch.Generator().manual_seed(0)
            self.ids = torch.randint(0, 50, (24, 8), generator=g)
            self.labels = self.ids.sum(1) % 2

        def __len__(self) -> int:
            return len(self.ids)

        def __getitem__(self, i: int) -> dict[str, Any]:
            return {
                "input_ids": self.ids[i],
                "attention_mask": torch.ones(8, dtype=torch.long),
                "labels": self.labels[i],
            }

    with _patched(patched):
        transformers.set_seed(0)
        config = transformers.BertConfig(
            vocab_size=50,
            hidden_size=16,
            num_hidden_layers=1,
            num_attention_heads=2,
            intermediate_size=32,
            max_position_embeddings=16,
            num_labels=2,
        )
        model = transformers.BertForSequenceClassification(config)
        args = transformers.TrainingArguments(
            output_dir=str(root / "out"),
            num_train_epochs=2,
            per_device_train_batch_size=8,
            logging_steps=1,
            report_to=["tensorboard"],
            use_cpu=True,
            save_strategy="no",
            seed=0,
            disable_tqdm=True,
            dataloader_num_workers=0,
        )
        trainer = transformers.Trainer(model=model, args=args, train_dataset=Data())
        callback = next(
            c
            for c in trainer.callback_handler.callbacks
            if type(c).__name__ == "TensorBoardCallback"
        )
        trainer.train()
        # The callback closed its writer at the end of training; its class was the patched one.
        from ferroboard._patch import SummaryWriter as Patched

        assert (callback._SummaryWriter is Patched) == patched


def test_transformers_trainer(tmp_path, monkeypatch):
    _train_transformers(tmp_path / "torch", False, monkeypatch)
    _train_transformers(tmp_path / "ours", True, monkeypatch)
    t, o = _accumulate(tmp_path / "torch" / "tb"), _accumulate(tmp_path / "ours" / "tb")
    # The "args" text holds the output paths, which differ between the two runs.
    _assert_same(t, o, lambda tag: not tag.startswith("args"))
    scalars = _scalars(o["."])
    assert [s for s, _ in scalars["train/loss"]] == list(range(1, 7))
    assert {"args/text_summary", "model_config/text_summary"} <= set(o["."].Tags()["tensors"])
