"""tbparse decodes images and audio with TensorFlow, which is not installed: tests and benches
give tbparse this stand-in (``tbparse.summary_reader.tensorflow = STANDIN_TF``), which
implements exactly ``tf.image.decode_image`` and ``tf.audio.decode_wav`` with TensorFlow's
documented semantics, using Pillow and numpy (see tests/test_tbparse_compat.py).
"""

from __future__ import annotations

import io
import types
import wave

import numpy as np


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
