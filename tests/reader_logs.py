"""Logdirs for the reader tests, written by torch's and tensorboardX's own writers, and helpers
that frame event files by hand (for truncated, corrupted and growing files)."""

from __future__ import annotations

import io
import os
import struct
import types
import warnings
import wave
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
# Written by TensorFlow itself (see its README); vendored so its tests never skip.
TF_FIXTURES = REPO / "tests" / "data" / "tf2-written"


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


# ----------------------------------------------------------------------- stand-in TensorFlow
# tbparse decodes images and audio with TensorFlow, which is not installed: tests and benches
# give tbparse this stand-in (``tbparse.summary_reader.tensorflow = STANDIN_TF``), which
# implements exactly ``tf.image.decode_image`` and ``tf.audio.decode_wav`` with TensorFlow's
# documented semantics, using Pillow and numpy (see tests/test_tbparse_compat.py).


class _Eager:
    """What ``tf.Tensor.numpy()`` gives, and nothing else."""

    def __init__(self, value):
        self._value = value

    def numpy(self):
        return self._value


def standin_decode_image(contents, channels=None, dtype=None, name=None, expand_animations=True):
    from PIL import Image, ImageSequence

    im = Image.open(io.BytesIO(contents))
    if im.format == "GIF":
        frames = [np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(im)]
        return _Eager(np.stack(frames).astype(np.uint8))
    if im.format != "PNG":
        raise ValueError(f"the stand-in decodes PNG and GIF only, not {im.format}")
    if im.mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif im.mode == "1":
        im = im.convert("L")
    a = np.asarray(im)
    if a.dtype != np.uint8:  # 16-bit gray: the high byte
        a = (a.astype(np.uint32) >> 8).astype(np.uint8)
    if a.ndim == 2:
        a = a[..., None]
    return _Eager(a)


def standin_decode_wav(contents, desired_channels=-1, desired_samples=-1, name=None):
    with wave.open(io.BytesIO(contents)) as w:
        if w.getsampwidth() != 2:
            raise ValueError(f"Can only read 16-bit WAV files, but received {8 * w.getsampwidth()}")
        channels, rate = w.getnchannels(), w.getframerate()
        raw = w.readframes(w.getnframes())
    a = np.frombuffer(raw, dtype="<i2").reshape(-1, channels).astype(np.float32) / 32768.0
    return _Eager(a), _Eager(np.int32(rate))


STANDIN_TF = types.SimpleNamespace(
    image=types.SimpleNamespace(decode_image=standin_decode_image),
    audio=types.SimpleNamespace(decode_wav=standin_decode_wav),
)


# ----------------------------------------------------------------------- hand framing


def _crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def _masked(data: bytes) -> int:
    c = _crc32c(data)
    return ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


def frame(payload: bytes) -> bytes:
    """One TFRecord record holding ``payload``."""
    n = struct.pack("<Q", len(payload))
    return n + struct.pack("<I", _masked(n)) + payload + struct.pack("<I", _masked(payload))


def scalar_event(tag: str, step: int, value: float, wall_time: float = 1.0) -> bytes:
    """A serialized ``Event{wall_time, step, summary{value{tag, simple_value}}}``."""

    def varint(x: int) -> bytes:
        x &= (1 << 64) - 1
        out = bytearray()
        while True:
            b = x & 0x7F
            x >>= 7
            if x:
                out.append(b | 0x80)
            else:
                out.append(b)
                return bytes(out)

    def ld(field: int, body: bytes) -> bytes:
        return varint(field << 3 | 2) + varint(len(body)) + body

    value = ld(1, tag.encode()) + bytes([0x15]) + struct.pack("<f", value)
    return (
        bytes([0x09])
        + struct.pack("<d", wall_time)
        + varint(2 << 3)
        + varint(step)
        + ld(5, ld(1, value))
    )


def header_event(wall_time: float = 1.0) -> bytes:
    """``Event{wall_time, file_version: "brain.Event:2"}``."""
    v = b"brain.Event:2"
    return bytes([0x09]) + struct.pack("<d", wall_time) + bytes([0x1A, len(v)]) + v


def scalar_file(tag: str, steps: range, value=lambda s: s * 0.5) -> tuple[bytes, list[int]]:
    """Bytes of an event file of scalars, and the byte offset of every record."""
    out = bytearray()
    offsets = []
    for p in [header_event()] + [scalar_event(tag, s, value(s)) for s in steps]:
        offsets.append(len(out))
        out += frame(p)
    return bytes(out), offsets
