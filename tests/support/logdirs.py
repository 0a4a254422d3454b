"""Log directories: written by torch's and tensorboardX's own writers, the one TensorFlow wrote
(vendored), and how the tests find the event files in them."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np

from tests.support.paths import REPO

# Written by TensorFlow itself (see its README); vendored so its tests never skip: the tests
# that need it fail when it is missing, and tests/test_support.py says so.
TF_FIXTURES = REPO / "tests" / "data" / "tf2-written"


def event_files(logdir: str | os.PathLike[str]) -> dict[str, list[Path]]:
    """Run (directory relative to ``logdir``, ``.`` for the root) -> its event files, sorted."""
    root = Path(logdir)
    runs: dict[str, list[Path]] = {}
    for dirpath, _dirs, files in os.walk(root):
        names = sorted(f for f in files if "tfevents" in f)
        if names:
            rel = os.path.relpath(dirpath, root)
            runs[rel] = [Path(dirpath) / f for f in names]
    return runs


def all_event_files(root: str | os.PathLike[str]) -> list[Path]:
    """Every event file under ``root``, at any depth, in one sorted list (runs not told apart)."""
    return sorted(p for p in Path(root).rglob("*") if "tfevents" in p.name and p.is_file())


def write_torch_logdir(root: Path) -> None:
    """Two runs (one nested) of two files each with every summary torch writes, the runs
    `add_scalars` makes, a graph, and an hparams run."""
    import torch
    from torch.utils.tensorboard import SummaryWriter

    rng = np.random.default_rng(0)
    for run in ("a", "b/nested"):
        for part in range(2):
            w = SummaryWriter(os.path.join(root, run), filename_suffix=f".{part}")
            for i in range(5):
                s = part * 5 + i
                w.add_scalar("loss", 1.0 / (s + 1), s)
                w.add_scalar("acc", s * 0.1, s, new_style=True)
                w.add_scalar("acc64", s * 0.1, s, new_style=True, double_precision=True)
                w.add_histogram("w", rng.normal(size=100), s)
                w.add_text("note", f"step {s} héllo", s)
                w.add_scalars("grp", {"x": float(s), "y": 2.0 * s}, s)
            w.add_image("img", rng.integers(0, 255, size=(3, 4, 5), dtype=np.uint8), part)
            w.add_audio(
                "snd",
                torch.tensor(rng.uniform(-1, 1, 800).astype(np.float32)),
                part,
                sample_rate=8000,
            )
            w.add_pr_curve(
                "pr", rng.integers(0, 2, 50), rng.uniform(size=50), part, num_thresholds=11
            )
            if run == "a" and part == 0:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")  # torch.jit.trace's deprecation notice
                    w.add_graph(torch.nn.Linear(3, 2), torch.zeros(1, 3))
            w.close()
    w = SummaryWriter(os.path.join(root, "hp"))
    w.add_hparams({"lr": 0.1, "opt": "sgd", "flag": True}, {"hp/metric": 0.5}, run_name="trial")
    w.close()


def write_tbx_logdir(root: Path) -> None:
    """One run written by tensorboardX with its summaries."""
    from tensorboardX import SummaryWriter

    rng = np.random.default_rng(1)
    w = SummaryWriter(os.path.join(root, "tbx"))
    for s in range(6):
        w.add_scalar("loss", 2.0 / (s + 1), s)
        w.add_histogram("h", rng.normal(size=50), s)
        w.add_text("t", f"x{s}", s)
    w.add_image("img", rng.integers(0, 255, size=(3, 4, 5), dtype=np.uint8), 0)
    w.add_image("gray", rng.integers(0, 255, size=(1, 3, 2), dtype=np.uint8), 1)
    w.add_pr_curve("pr", rng.integers(0, 2, 30), rng.uniform(size=30), 0, num_thresholds=7)
    w.close()


def media_files() -> dict[str, bytes]:
    """Encoded images (PNG of every color type and depth Pillow writes, an animated GIF) and
    WAVs, made by Pillow and the standard library's ``wave`` (test-only encoders)."""
    import io
    import wave

    from PIL import Image

    rng = np.random.default_rng(2)
    out: dict[str, bytes] = {}

    def png(im, **kw) -> bytes:
        b = io.BytesIO()
        im.save(b, format="PNG", **kw)
        return b.getvalue()

    u8 = lambda *shape: rng.integers(0, 256, size=shape, dtype=np.uint8)  # noqa: E731
    out["png/gray"] = png(Image.fromarray(u8(5, 7), "L"))
    out["png/gray_alpha"] = png(Image.fromarray(u8(5, 7, 2), "LA"))
    out["png/rgb"] = png(Image.fromarray(u8(6, 3, 3), "RGB"))
    out["png/rgba"] = png(Image.fromarray(u8(2, 9, 4), "RGBA"))
    out["png/bits1"] = png(Image.fromarray(u8(4, 11) > 127).convert("1"))
    out["png/bits2"] = png(Image.fromarray(u8(3, 5) // 64 * 85, "L"), bits=2)
    out["png/bits4"] = png(Image.fromarray(u8(3, 5) // 16 * 17, "L"), bits=4)
    pal = Image.fromarray(u8(6, 6, 3), "RGB").quantize(7)
    out["png/palette"] = png(pal)
    out["png/palette_trns"] = png(pal, transparency=bytes([0, 128, 255]))
    out["png/gray16"] = png(Image.fromarray(rng.integers(0, 65536, (4, 3)).astype(np.uint16)))
    frames = [Image.fromarray(u8(8, 6, 3), "RGB").quantize(16) for _ in range(3)]
    g = io.BytesIO()
    frames[0].save(g, format="GIF", save_all=True, append_images=frames[1:], disposal=1)
    out["gif/animated"] = g.getvalue()
    g = io.BytesIO()
    frames[0].save(g, format="GIF")
    out["gif/still"] = g.getvalue()

    def wav(samples: np.ndarray, rate: int) -> bytes:
        b = io.BytesIO()
        with wave.open(b, "wb") as w:
            w.setnchannels(samples.shape[1])
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(samples.astype("<i2").tobytes())
        return b.getvalue()

    full = rng.integers(-32768, 32768, size=(500, 1))
    full[:2, 0] = [-32768, 32767]
    out["wav/mono"] = wav(full, 8000)
    out["wav/stereo"] = wav(rng.integers(-32768, 32768, size=(301, 2)), 44100)
    out["wav/six"] = wav(rng.integers(-32768, 32768, size=(17, 6)), 48000)
    return out


def write_media_logdir(root: Path) -> dict[str, bytes]:
    """One run whose image and audio summaries hold :func:`media_files`, framed by torch's
    writer (its protobuf messages); returns the files by tag."""
    from torch.utils.tensorboard import SummaryWriter
    from torch.utils.tensorboard.summary import Summary

    media = media_files()
    w = SummaryWriter(os.path.join(root, "media"))
    for step, (tag, enc) in enumerate(media.items()):
        if tag.startswith("wav/"):
            import io
            import wave

            with wave.open(io.BytesIO(enc)) as r:
                rate, channels, frames = r.getframerate(), r.getnchannels(), r.getnframes()
            audio = Summary.Audio(
                sample_rate=rate,
                num_channels=channels,
                length_frames=frames,
                encoded_audio_string=enc,
                content_type="audio/wav",
            )
            value = Summary.Value(tag=tag, audio=audio)
        else:
            image = Summary.Image(height=1, width=1, colorspace=3, encoded_image_string=enc)
            value = Summary.Value(tag=tag, image=image)
        w._get_file_writer().add_summary(Summary(value=[value]), step)
    w.close()
    return media
