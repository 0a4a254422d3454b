"""Every input kind the one input adapter (``ferroboard/_inputs/``) accepts, against torch.

The same values travel as numpy arrays of every real dtype (contiguous, strided, Fortran order,
byte-swapped), torch CPU tensors of every real dtype (views, transposes, ``requires_grad``, the
negative bit), 0-d and one-element arrays, objects exposing ``__array_interface__``,
``__array__`` or only ``__dlpack__``, and nested lists. The judge is torch's writer on the same
values as a float64 numpy array (the exact values: every dtype here widens to float64 without
rounding, so this is what torch computes from the original too, but for bfloat16, which torch
rounds to float16); events are compared as decoded by TensorBoard's classes. Anything else is
one ``TypeError`` naming the argument.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import ferroboard
import numpy as np
import pytest
import torch
from torch.utils.tensorboard import SummaryWriter as TorchWriter

from tests.support.judges import tb_events

BASE = np.array([0.0, 1.0, -2.0, 3.0, 0.5, -0.25, 7.0, 100.0, -64.0, 2.0, 1.0, 0.0])


class ArrayInterface:
    def __init__(self, a: np.ndarray) -> None:
        self.__array_interface__ = a.__array_interface__
        self._keep = a


class ArrayProtocol:
    def __init__(self, a: np.ndarray) -> None:
        self._a = a

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        return self._a if dtype is None else self._a.astype(dtype)


class DlpackOnly:
    def __init__(self, a: Any) -> None:
        self._a = a

    def __dlpack__(self, **kwargs: Any) -> Any:
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self) -> Any:
        return self._a.__dlpack_device__()


def _numpy_kinds() -> dict[str, Callable[[np.ndarray], Any]]:
    kinds: dict[str, Callable[[np.ndarray], Any]] = {}
    for dt in ["int8", "uint8", "int16", "uint16", "int32", "uint32", "int64", "uint64"]:
        kinds[f"np.{dt}"] = lambda a, dt=dt: np.abs(a).astype(dt) if dt[0] == "u" else a.astype(dt)
    for dt in ["float16", "float32", "float64"]:
        kinds[f"np.{dt}"] = lambda a, dt=dt: a.astype(dt)
    kinds["np.bool"] = lambda a: a > 0
    kinds["np.strided"] = lambda a: np.repeat(a, 2)[::2]
    kinds["np.fortran"] = lambda a: np.asfortranarray(a.reshape(3, 4))
    kinds["np.transposed"] = lambda a: a.reshape(4, 3).T
    kinds["np.big-endian"] = lambda a: a.astype(">f8")
    kinds["np.unaligned"] = lambda a: np.frombuffer(b"\0" + a.tobytes(), dtype="f8", offset=1)
    kinds["__array_interface__"] = lambda a: ArrayInterface(a.astype(np.float32))
    kinds["__array__"] = lambda a: ArrayProtocol(a)
    kinds["__dlpack__ (numpy)"] = lambda a: DlpackOnly(a.astype(np.float32))
    kinds["__dlpack__ (torch)"] = lambda a: DlpackOnly(torch.from_numpy(a.copy()))
    kinds["nested list"] = lambda a: a.reshape(3, 4).tolist()
    kinds["list of ints"] = lambda a: [int(x) for x in a]
    return kinds


def _torch_kinds() -> dict[str, Callable[[np.ndarray], Any]]:
    kinds: dict[str, Callable[[np.ndarray], Any]] = {}
    for dt in [torch.int8, torch.int16, torch.int32, torch.int64, torch.float16]:
        kinds[f"torch.{dt}"] = lambda a, dt=dt: torch.from_numpy(a.copy()).to(dt)
    for dt in [torch.float32, torch.float64, torch.bfloat16]:
        kinds[f"torch.{dt}"] = lambda a, dt=dt: torch.from_numpy(a.copy()).to(dt)
    kinds["torch.uint8"] = lambda a: torch.from_numpy(np.abs(a)).to(torch.uint8)
    kinds["torch.bool"] = lambda a: torch.from_numpy(a.copy()) > 0
    kinds["torch.view"] = lambda a: torch.from_numpy(np.repeat(a, 3))[1::3]
    kinds["torch.transposed"] = lambda a: torch.from_numpy(a.reshape(4, 3).copy()).t()
    kinds["torch.requires_grad"] = lambda a: torch.tensor(a, requires_grad=True)
    kinds["torch.neg_bit"] = lambda a: torch.from_numpy(-a)._neg_view()
    kinds["torch.expanded"] = lambda a: torch.from_numpy(a[:1].copy()).expand(12)
    return kinds


KINDS = {**_numpy_kinds(), **_torch_kinds()}


def _exact(value: Any) -> np.ndarray:
    """The values of ``value`` as float64, computed independently of ferroboard."""
    if isinstance(value, DlpackOnly):
        value = value._a
    if isinstance(value, torch.Tensor):
        return value.detach().resolve_neg().to(torch.float64).numpy().reshape(-1)
    if isinstance(value, ArrayInterface):
        return np.asarray(value._keep, dtype=np.float64).reshape(-1)
    return np.asarray(value, dtype=np.float64).reshape(-1)


def _histos(logdir: Path) -> list[Any]:
    (f,) = logdir.glob("events.out.tfevents.*")
    return [v.histo for e in tb_events(f) for v in e.summary.value]


def _tensors(logdir: Path) -> list[Any]:
    (f,) = logdir.glob("events.out.tfevents.*")
    return [v.tensor for e in tb_events(f) for v in e.summary.value]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_histogram_of_every_input_kind_equals_torch(tmp_path, kind):
    value = KINDS[kind](BASE)
    with ferroboard.SummaryWriter(tmp_path / "ours") as w:
        w.add_histogram("h", value, 0)
        w.add_histogram("h", value, 1, bins=5)
    tw = TorchWriter(str(tmp_path / "torch"))
    exact = _exact(value)
    tw.add_histogram("h", exact, 0)
    tw.add_histogram("h", exact, 1, bins=5)
    tw.close()
    for ours, theirs in zip(_histos(tmp_path / "ours"), _histos(tmp_path / "torch")):
        assert list(ours.bucket_limit) == list(theirs.bucket_limit), kind
        assert list(ours.bucket) == list(theirs.bucket), kind
        assert (ours.min, ours.max, ours.num, ours.sum) == (
            theirs.min,
            theirs.max,
            theirs.num,
            theirs.sum,
        )
        assert ours.sum_squares == pytest.approx(theirs.sum_squares, rel=1e-15)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_pr_curve_of_every_input_kind_equals_torch(tmp_path, kind):
    # Labels (0 and 1) in the input kind; torch gets them as booleans in the same C order.
    value = KINDS[kind]((BASE > 0.5).astype(np.float64))
    labels = _exact(value) > 0.5
    predictions = np.linspace(0.0, 1.0, labels.size)
    with ferroboard.SummaryWriter(tmp_path / "ours") as w:
        w.add_pr_curve("pr", value, predictions, 0)
    tw = TorchWriter(str(tmp_path / "torch"))
    tw.add_pr_curve("pr", labels, predictions, 0)
    tw.close()
    (a,) = _tensors(tmp_path / "ours")
    (b,) = _tensors(tmp_path / "torch")
    assert a.tensor_shape == b.tensor_shape
    assert np.array_equal(np.array(a.float_val), np.array(b.float_val)), kind


@pytest.mark.parametrize(
    "bad",
    [
        "text",
        b"bytes",
        {"a": 1},
        object(),
        np.array(["a", "b"]),
        np.array([1 + 2j]),
        torch.tensor([1 + 2j]),
        [1, "a"],
    ],
    ids=repr,
)
def test_anything_else_is_one_type_error_naming_the_argument(tmp_path, bad):
    with ferroboard.SummaryWriter(tmp_path) as w:
        with pytest.raises(TypeError, match="values"):
            w.add_histogram("h", bad, 0)
        w.add_histogram("h", [1.0, 2.0], 0)  # still usable
