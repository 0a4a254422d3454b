"""``add_tensor`` against torch's writer: the same events byte for byte (but the wall time)
for every dtype torch writes, except the documented fixes: float16 and bfloat16 as 16-bit
patterns in ``half_val``, uint8 in ``int_val`` (where TensorBoard's ``make_ndarray`` reads
them; torch's float16 and uint8 tensors do not read back)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import ferroboard
import numpy as np
import pytest
import torch
from tensorboard.util import tensor_util
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from tests.support.judges import tb_events
from tests.support.logdirs import event_files

BASE = torch.tensor([[0.0, -1.5, 3.25], [1e3, -0.0, 7.5]])
EXACT = [
    torch.float32,
    torch.float64,
    torch.int8,
    torch.int16,
    torch.int32,
    torch.int64,
    torch.bool,
    torch.complex64,
    torch.complex128,
]


def _values(cls: type, logdir: Path, tensors: list[Any]) -> list[Any]:
    w = cls(str(logdir))
    for i, t in enumerate(tensors):
        w.add_tensor(f"t{i}", t, i)
    w.close()
    (f,) = event_files(logdir)["."]
    return [e for e in tb_events(f) if e.HasField("summary")]


@pytest.mark.parametrize("dtype", EXACT, ids=str)
def test_events_equal_torchs(tmp_path, dtype):
    tensors = [BASE.to(dtype), BASE[0, 1].to(dtype), BASE.to(dtype).t(), BASE[:0].to(dtype)]
    if dtype.is_complex:
        tensors.append(torch.complex(BASE, -BASE).to(dtype))
    t = _values(TorchWriter, tmp_path / "torch", tensors)
    o = _values(ferroboard.SummaryWriter, tmp_path / "ours", tensors)
    assert len(o) == len(t) == len(tensors)
    for te, oe, x in zip(t, o, tensors):
        te.wall_time = oe.wall_time
        assert oe.SerializeToString() == te.SerializeToString()
        got = tensor_util.make_ndarray(oe.summary.value[0].tensor)
        np.testing.assert_array_equal(got, x.numpy())


def test_float16_reads_back_and_bfloat16_holds_its_bits(tmp_path):
    """The documented fix: torch's half_val holds float32 bit patterns."""
    h, b = BASE.to(torch.float16), BASE.to(torch.bfloat16)
    o = _values(ferroboard.SummaryWriter, tmp_path / "ours", [h, b, np.float16([1.5, 2])])
    t = _values(TorchWriter, tmp_path / "torch", [h, b])
    np.testing.assert_array_equal(tensor_util.make_ndarray(o[0].summary.value[0].tensor), h.numpy())
    assert list(o[1].summary.value[0].tensor.half_val) == (
        b.reshape(-1).view(torch.int16).numpy().view(np.uint16).tolist()
    )
    np.testing.assert_array_equal(
        tensor_util.make_ndarray(o[2].summary.value[0].tensor), np.float16([1.5, 2])
    )
    for te, oe in zip(t, o):
        tv, ov = te.summary.value[0], oe.summary.value[0]
        assert (tv.tag, tv.metadata, tv.tensor.dtype, tv.tensor.tensor_shape) == (
            ov.tag,
            ov.metadata,
            ov.tensor.dtype,
            ov.tensor.tensor_shape,
        )
        assert tv.tensor.half_val != ov.tensor.half_val


def test_uint8_is_in_int_val(tmp_path):
    """The documented fix: torch puts uint8 values in ``uint32_val``, where TensorBoard's
    ``make_ndarray`` does not look (it raises); the rest of the event is torch's."""
    x = BASE.abs().to(torch.uint8)
    (o,) = _values(ferroboard.SummaryWriter, tmp_path / "ours", [x])
    (t,) = _values(TorchWriter, tmp_path / "torch", [x])
    np.testing.assert_array_equal(tensor_util.make_ndarray(o.summary.value[0].tensor), x.numpy())
    with pytest.raises(ValueError, match="cannot reshape"):
        tensor_util.make_ndarray(t.summary.value[0].tensor)
    tt = t.summary.value[0].tensor
    assert list(tt.uint32_val) == list(o.summary.value[0].tensor.int_val)
    tt.int_val.extend(tt.uint32_val)
    del tt.uint32_val[:]
    t.wall_time = o.wall_time
    assert o.SerializeToString() == t.SerializeToString()


def test_numpy_arrays_are_written_as_the_same_tensor(tmp_path):
    arrays = [BASE.numpy(), BASE.numpy().astype(np.int64), np.array(True)]
    o = _values(ferroboard.SummaryWriter, tmp_path / "ours", arrays)
    t = _values(TorchWriter, tmp_path / "torch", [torch.from_numpy(np.asarray(a)) for a in arrays])
    for te, oe in zip(t, o):
        te.wall_time = oe.wall_time
        assert oe.SerializeToString() == te.SerializeToString()


def test_readers_read_the_values_back(tmp_path):
    """``SummaryReader.tensors`` (ours) gives back every dtype's values, float16 included
    (from torch's file it cannot: torch's ``half_val`` holds float32 bit patterns)."""
    tensors = [BASE.to(d) for d in [*EXACT, torch.float16] if not d.is_complex]
    w = ferroboard.SummaryWriter(str(tmp_path))
    for i, t in enumerate(tensors):
        w.add_tensor(f"t{i:02d}", t, 1)
    w.close()
    frame = ferroboard.SummaryReader(str(tmp_path)).tensors
    got = dict(zip(frame["tag"], frame["value"]))
    for i, t in enumerate(tensors):
        np.testing.assert_array_equal(np.asarray(got[f"t{i:02d}"]).reshape(t.shape), t.numpy())
