"""Audio and video, side by side: torch.utils.tensorboard, tensorboardX and ferroboard.

Each timing is a fresh writer, ``calls`` identical calls and ``close()`` (so every event is
encoded and on its way to disk: ferroboard encodes on its writer thread, and ``close()``
waits for it), divided by ``calls``; the median of several such batches is reported, after a
warm-up batch per contender (first-use costs: torch's ``moviepy`` import, thread start). For
ferroboard the time the calling thread spends in the calls alone (before ``close()``) is
reported too.

Inputs: ``add_audio`` one second of float32 noise in [-1, 1] at 44.1 kHz; ``add_video`` a
``(1, 16, 3, 64, 64)`` float32 video of smooth moving gradients (many colors per frame).
Afterwards every contender's last event is decoded (WAV with ``wave``, GIF with Pillow) and
compared with torch's (audio: the largest level difference, at most one for ferroboard;
video: the mean difference of decoded frames). tensorboardX's ``add_audio`` needs
``soundfile`` (not in requirements-test.txt: ``pip install --target DIR soundfile`` and put
DIR on ``PYTHONPATH`` for this run).

Run: ``.venv/bin/python benches/bench_audio_video.py`` (``--quick`` for a short run).
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
import wave

sys.path.insert(0, os.path.dirname(__file__))
import ferroboard
import numpy as np
from _common import machine


def writers():
    from tensorboardX import SummaryWriter as XWriter
    from torch.utils.tensorboard import SummaryWriter as TorchWriter

    return {"torch": TorchWriter, "tensorboardX": XWriter, "ferroboard": ferroboard.SummaryWriter}


def last_value(logdir: str, tag: str):
    from tensorboard.backend.event_processing.event_file_loader import RawEventFileLoader
    from tensorboard.compat.proto import event_pb2

    last = None
    for name in sorted(os.listdir(logdir)):
        if "tfevents" not in name:
            continue
        for raw in RawEventFileLoader(os.path.join(logdir, name)).Load():
            for v in event_pb2.Event.FromString(raw).summary.value:
                if v.tag == tag:
                    last = v
    return last


def batch(cls, call, calls: int) -> tuple[float, float, str]:
    """(seconds per call through close(), seconds per call in the calls alone, logdir)."""
    d = tempfile.mkdtemp(prefix="bench-av-")
    w = cls(d)
    t0 = time.perf_counter()
    for i in range(calls):
        call(w, i)
    t1 = time.perf_counter()
    w.close()
    t2 = time.perf_counter()
    return (t2 - t0) / calls, (t1 - t0) / calls, d


def wav_levels(b: bytes) -> np.ndarray:
    with wave.open(io.BytesIO(b)) as w:
        return np.frombuffer(w.readframes(w.getnframes()), "<i2")


def gif_frames(b: bytes) -> np.ndarray:
    from PIL import Image, ImageSequence

    im = Image.open(io.BytesIO(b))
    return np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]).astype(int)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    calls, batches = (3, 2) if args.quick else (10, 5)

    rng = np.random.default_rng(0)
    clip = rng.uniform(-1, 1, 44100).astype(np.float32)
    y, x = np.mgrid[0:64, 0:64].astype(np.float32) / 63
    video = np.stack([np.stack([y, x, (x + y + k / 16) % 1]) for k in range(16)])[None]

    cases = {
        "add_audio, 1 s at 44.1 kHz": (
            "snd",
            lambda w, i: w.add_audio("snd", clip, i, sample_rate=44100),
        ),
        "add_video, 1x16x3x64x64 float32": (
            "vid",
            lambda w, i: w.add_video("vid", video, i, fps=4),
        ),
    }
    print(f"# {machine()}; {calls} calls per batch, median of {batches} batches, ms per call")
    print(
        "| call | torch | tensorboardX | ferroboard | ferroboard, calling thread "
        "| vs torch | vs tensorboardX |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, (tag, call) in cases.items():
        res: dict[str, tuple[float, float]] = {}
        dirs: dict[str, str] = {}
        for who, cls in writers().items():
            batch(cls, call, 1)  # warm-up
            runs = [batch(cls, call, calls) for _ in range(batches)]
            res[who] = (
                statistics.median(r[0] for r in runs),
                statistics.median(r[1] for r in runs),
            )
            dirs[who] = runs[-1][2]
        t, x, f = res["torch"][0], res["tensorboardX"][0], res["ferroboard"][0]
        print(
            f"| {name} | {t * 1e3:.3f} | {x * 1e3:.3f} | {f * 1e3:.3f} | "
            f"{res['ferroboard'][1] * 1e3:.3f} | {t / f:.1f}x | {x / f:.1f}x |"
        )
        ref = last_value(dirs["torch"], tag)
        for who in ("tensorboardX", "ferroboard"):
            v = last_value(dirs[who], tag)
            if tag == "snd":
                diff = np.abs(
                    wav_levels(v.audio.encoded_audio_string).astype(int)
                    - wav_levels(ref.audio.encoded_audio_string)
                ).max()
                print(f"#   {who}: max |level - torch's level| = {diff}")
                assert who != "ferroboard" or diff <= 1, (who, diff)
            else:
                a = gif_frames(v.image.encoded_image_string)
                b = gif_frames(ref.image.encoded_image_string)
                assert a.shape == b.shape, (who, a.shape, b.shape)
                mean = np.abs(a - b).mean()
                print(f"#   {who}: mean |frame - torch's frame| = {mean:.2f} levels")


if __name__ == "__main__":
    main()
