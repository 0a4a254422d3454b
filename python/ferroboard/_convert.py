"""Conversions the native writer delegates for values it does not handle itself.

The native hot path converts Python ``float``, ``int`` and ``bool`` directly. Everything else
(numpy scalars and arrays, torch tensors, other ``numbers.Real``) comes here. Each function
raises ``TypeError`` or ``ValueError`` naming the argument and what was expected.
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any

import numpy as np

_SCALAR_KINDS = "biuf"


def _torch_tensor(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _describe(value: Any) -> str:
    if _torch_tensor(value) or isinstance(value, np.ndarray):
        return f"{type(value).__name__} of shape {tuple(value.shape)} and dtype {value.dtype}"
    return type(value).__name__


def plain(value: Any) -> str:
    """``repr(value)`` for error messages, numpy scalars shown as the Python number or string
    they hold (``7e+19``, not ``np.float64(7e+19)``)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


def scalar(value: Any, name: str) -> float:
    """``value`` as a Python float, if it is a real number with exactly one element."""
    if isinstance(value, (str, bytes, bytearray)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if _torch_tensor(value):
        if value.numel() != 1:
            raise ValueError(f"{name} must have exactly one element, got a {_describe(value)}")
        if value.is_complex():
            raise TypeError(f"{name} must be real, got a {_describe(value)}")
        return float(value.detach().reshape(()).item())
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.size != 1:
            raise ValueError(f"{name} must have exactly one element, got a {_describe(arr)}")
        if arr.dtype.kind not in _SCALAR_KINDS:
            raise TypeError(f"{name} must be a real number, got dtype {arr.dtype}")
        return float(arr.reshape(()).item())
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(
        f"{name} must be a real number (int, float, a numpy scalar or one-element array, "
        f"or a one-element torch tensor), got {_describe(value)}"
    )


def step(value: Any, name: str) -> int:
    """``value`` as a Python int, if it is an integer (or an integral float)."""
    if isinstance(value, (str, bytes, bytearray)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if _torch_tensor(value) or isinstance(value, np.ndarray):
        if int(np.prod(value.shape)) != 1:
            raise ValueError(f"{name} must have exactly one element, got a {_describe(value)}")
        item = value.reshape(()).item() if not _torch_tensor(value) else value.detach().item()
        return step(item, name)
    if isinstance(value, numbers.Real):
        f = float(value)
        if not math.isfinite(f) or not f.is_integer():
            raise ValueError(f"{name} must be an integer, got {plain(value)}")
        return int(f)
    raise TypeError(f"{name} must be an int, got {_describe(value)}")
