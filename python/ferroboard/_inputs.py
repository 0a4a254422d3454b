"""All input adaptation: what callers pass (numbers, steps, numpy arrays, torch tensors, lists)
turned into what the native code reads. Errors name the argument and what was expected.

Numbers and steps: the native hot path converts Python ``float``, ``int`` and ``bool`` directly.
Everything else (numpy scalars and arrays, torch tensors, other ``numbers.Real``) comes to
``scalar`` and ``step`` (registered with ``set_converters``), which raise ``TypeError`` or
``ValueError`` naming the argument and what was expected.

Arrays, for the native histogram and PR-curve code, which reads them in place: contiguous numpy
arrays and CPU tensors are passed on without copying: float16 and bfloat16 data travel as
``uint16`` views with an encoding name, bools as ``uint8`` views. Only dtypes the native code
does not read (for example ``int16`` labels or ``longdouble``) are converted, always exactly for
the values that are valid.
"""

from __future__ import annotations

import math
import numbers
import sys
from typing import Any, Optional, Union

import numpy as np

# ---------------------------------------------------------------- torch, and messages


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a torch tensor (never imports torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def describe(value: Any) -> str:
    """``value``'s type for error messages, with the shape and dtype of arrays and tensors."""
    if is_tensor(value) or isinstance(value, np.ndarray):
        return f"{type(value).__name__} of shape {tuple(value.shape)} and dtype {value.dtype}"
    return type(value).__name__


def plain(value: Any) -> str:
    """``repr(value)`` for error messages, numpy scalars shown as the Python number or string
    they hold (``7e+19``, not ``np.float64(7e+19)``)."""
    if isinstance(value, np.generic):
        value = value.item()
    return repr(value)


# ---------------------------------------------------------------- numbers and steps

_SCALAR_KINDS = "biuf"


def scalar(value: Any, name: str) -> float:
    """``value`` as a Python float, if it is a real number with exactly one element."""
    if isinstance(value, (str, bytes, bytearray)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if is_tensor(value):
        if value.numel() != 1:
            raise ValueError(f"{name} must have exactly one element, got a {describe(value)}")
        if value.is_complex():
            raise TypeError(f"{name} must be real, got a {describe(value)}")
        return float(value.detach().reshape(()).item())
    if isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        if arr.size != 1:
            raise ValueError(f"{name} must have exactly one element, got a {describe(arr)}")
        if arr.dtype.kind not in _SCALAR_KINDS:
            raise TypeError(f"{name} must be a real number, got dtype {arr.dtype}")
        return float(arr.reshape(()).item())
    if isinstance(value, numbers.Real):
        return float(value)
    raise TypeError(
        f"{name} must be a real number (int, float, a numpy scalar or one-element array, "
        f"or a one-element torch tensor), got {describe(value)}"
    )


def step(value: Any, name: str) -> int:
    """``value`` as a Python int, if it is an integer (or an integral float)."""
    if isinstance(value, (str, bytes, bytearray)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if isinstance(value, numbers.Integral):
        return int(value)
    if is_tensor(value) or isinstance(value, np.ndarray):
        if int(np.prod(value.shape)) != 1:
            raise ValueError(f"{name} must have exactly one element, got a {describe(value)}")
        item = value.reshape(()).item() if not is_tensor(value) else value.detach().item()
        return step(item, name)
    if isinstance(value, numbers.Real):
        f = float(value)
        if not math.isfinite(f) or not f.is_integer():
            raise ValueError(f"{name} must be an integer, got {plain(value)}")
        return int(f)
    raise TypeError(f"{name} must be an int, got {describe(value)}")


def int_arg(value: Any, name: str, minimum: int, maximum: Optional[int] = None) -> int:
    """An integer argument within ``[minimum, maximum]``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an int, got {type(value).__name__}")
    v = int(value)
    if v < minimum or (maximum is not None and v > maximum):
        bound = f"from {minimum} to {maximum}" if maximum is not None else f">= {minimum}"
        raise ValueError(f"{name}: expected an int {bound}, got {v}")
    return v


# ---------------------------------------------------------------- arrays

# dtypes the native histogram reads directly ("u2" only with an encoding or as plain uint16).
_HIST_DTYPES = frozenset(["f4", "f8", "u1", "i1", "i2", "i4", "i8", "u2", "u4", "u8"])
_LABEL_DTYPES = frozenset(["u1", "i4", "i8", "f4", "f8"])
_PREDICTION_DTYPES = frozenset(["f4", "f8", "u1"])


def _key(dtype: np.dtype) -> str:
    return f"{dtype.kind}{dtype.itemsize}"


def _tensor_to_numpy(t: Any, name: str) -> tuple[np.ndarray, Optional[str]]:
    """A CPU tensor as a numpy array sharing its memory where possible, with the encoding of
    16-bit float data."""
    torch = sys.modules["torch"]  # imported: ``t`` is a tensor
    if t.device.type == "meta":
        raise ValueError(f"{name}: a tensor on the meta device holds no data")
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    if t.is_complex():
        raise TypeError(f"{name}: expected real numbers, got a {describe(t)}")
    t = t.resolve_conj().resolve_neg()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.uint16), "bfloat16"
    if t.dtype == torch.float16:
        return t.numpy().view(np.uint16), "float16"
    if t.dtype == torch.bool:
        return t.numpy().view(np.uint8), None
    try:
        return t.numpy(), None
    except (TypeError, RuntimeError) as e:
        raise TypeError(f"{name}: unsupported tensor dtype {t.dtype}") from e


def to_numpy(value: Any, name: str) -> tuple[np.ndarray, Optional[str]]:
    """``value`` as a numpy array of real numbers (float16 and bfloat16 as ``uint16`` bits, with
    the encoding's name; bools as ``uint8``), sharing its memory where possible."""
    if is_tensor(value):
        return _tensor_to_numpy(value, name)
    if isinstance(value, np.ndarray):
        arr = value if type(value) is np.ndarray else np.asarray(value)
    elif isinstance(value, (str, bytes, bytearray)):
        raise TypeError(f"{name}: expected an array of real numbers, got {type(value).__name__}")
    else:
        try:
            arr = np.asarray(value)
        except (TypeError, ValueError) as e:
            raise TypeError(
                f"{name}: expected a numpy array, a torch tensor or a sequence of real numbers, "
                f"got {describe(value)} ({e})"
            ) from e
    kind = arr.dtype.kind
    if kind == "b":
        return _native_layout(arr).view(np.uint8), None
    if kind not in "iuf":
        what = "complex numbers" if kind == "c" else f"dtype {arr.dtype}"
        raise TypeError(f"{name}: expected real numbers, got {what} ({describe(value)})")
    arr = _native_layout(arr)
    if arr.dtype == np.float16:
        return arr.view(np.uint16), "float16"
    return arr, None


def _native_layout(arr: np.ndarray) -> np.ndarray:
    """``arr`` itself unless its byte order or alignment keeps native code from reading it."""
    if not arr.dtype.isnative:
        arr = arr.astype(arr.dtype.newbyteorder("="))
    if not arr.flags.aligned:
        arr = arr.copy()
    return arr


def _bf16_to_f32(bits: np.ndarray) -> np.ndarray:
    return (bits.astype(np.uint32) << 16).view(np.float32)


def _decode16(bits: np.ndarray, enc: Optional[str]) -> np.ndarray:
    """16-bit float data (``uint16`` bits) as the values they encode: float16 for
    ``"float16"``, float32 (exact) for ``"bfloat16"``."""
    return bits.view(np.float16) if enc == "float16" else _bf16_to_f32(bits)


def histogram_values(values: Any) -> tuple[np.ndarray, Optional[str]]:
    """``values`` for the native histogram: an array of a dtype it reads, and the encoding of
    ``uint16`` data (``"float16"``, ``"bfloat16"`` or ``None``)."""
    arr, enc = to_numpy(values, "values")
    if _key(arr.dtype) not in _HIST_DTYPES:
        # longdouble and other floats numpy has: as torch does, float64.
        arr = arr.astype(np.float64)
    return arr, enc


def as_float64(arr: np.ndarray, enc: Optional[str]) -> np.ndarray:
    """The values of ``histogram_values``' result as float64, flattened (a copy)."""
    if enc in ("float16", "bfloat16"):
        return _decode16(arr, enc).astype(np.float64).reshape(-1)
    return arr.astype(np.float64).reshape(-1)


def labels_array(labels: Any) -> np.ndarray:
    """``labels`` for the native PR curve (``uint8``, ``int32``, ``int64``, ``float32`` or
    ``float64``); other dtypes are converted exactly for labels that are 0 or 1."""
    arr, enc = to_numpy(labels, "labels")
    if enc is not None:
        # 16-bit floats widen exactly to float32.
        return _decode16(arr, enc).astype(np.float32)
    if _key(arr.dtype) in _LABEL_DTYPES:
        return arr
    if arr.dtype.kind == "i" or (arr.dtype.kind == "u" and arr.dtype.itemsize < 8):
        return arr.astype(np.int64)
    return arr.astype(np.float64)


def predictions_array(predictions: Any) -> tuple[np.ndarray, Optional[str]]:
    """``predictions`` for the native PR curve (``float32``, ``float64``, ``uint8``, or
    ``uint16`` with an encoding); integer dtypes become float64 (exact for 0 and 1)."""
    arr, enc = to_numpy(predictions, "predictions")
    if enc is not None or _key(arr.dtype) in _PREDICTION_DTYPES:
        return arr, enc
    return arr.astype(np.float64), None


def weights_arg(weights: Any, examples: int) -> Any:
    """``None``, a float (one weight for every example), or a float64 array of one weight per
    example, flattened in C order."""
    if weights is None:
        return None
    if isinstance(weights, (bool, np.bool_)):
        raise TypeError("weights: expected None, a number or an array of numbers, got bool")
    if isinstance(weights, numbers.Real):
        return float(weights)
    arr, enc = to_numpy(weights, "weights")
    if enc is not None:
        arr = as_float64(arr, enc)
    if arr.size == 1 and examples != 1:
        return float(arr.reshape(-1)[0])
    return np.ascontiguousarray(arr, dtype=np.float64).reshape(-1)


def float_vector(value: Any, name: str) -> list[float]:
    """A one-dimensional sequence of real numbers as a list of floats."""
    arr, enc = to_numpy(value, name)
    if enc is not None:
        arr = as_float64(arr, enc)
    if arr.ndim != 1:
        raise ValueError(f"{name}: expected a one-dimensional sequence, got {describe(arr)}")
    values: list[float] = arr.astype(np.float64).tolist()
    return values


# ---------------------------------------------------------------- embeddings

_EMBEDDING_DTYPES = frozenset(["f4", "f8", "u1", "i1", "i2", "i4", "i8", "u2", "u4", "u8"])


def embedding_matrix(mat: Any) -> tuple[np.ndarray, Optional[str]]:
    """``add_embedding``'s ``mat`` for the native code: an array of a dtype it reads (float16
    and bfloat16 as ``uint16`` bits with their encoding, bools as ``uint8``); the shape is
    checked there."""
    arr, enc = to_numpy(mat, "mat")
    if _key(arr.dtype) not in _EMBEDDING_DTYPES:
        arr = arr.astype(np.float64)
    return arr, enc


def _is_uint8(value: Any) -> bool:
    if is_tensor(value):
        return bool(value.dtype == sys.modules["torch"].uint8)
    return isinstance(value, np.ndarray) and value.dtype == np.uint8


def label_images(label_img: Any) -> tuple[np.ndarray, Optional[str], bool]:
    """``add_embedding``'s ``label_img`` ``(N, C, H, W)``: the array, the encoding of ``uint16``
    bits, and whether values are scaled by 255 (everything but ``uint8``, as torch's
    ``add_image``)."""
    scale = not _is_uint8(label_img)
    arr, enc = to_numpy(label_img, "label_img")
    if _key(arr.dtype) not in _EMBEDDING_DTYPES:
        arr = arr.astype(np.float64)
    return arr, enc, scale


def _label_items(value: Any, name: str) -> list[Any]:
    if isinstance(value, (str, bytes, bytearray)):
        raise TypeError(f"{name}: expected a sequence of labels, got {type(value).__name__}")
    if is_tensor(value):
        t = value.detach().cpu()
        if t.dtype == sys.modules["torch"].bfloat16:
            t = t.float()
        value = t.numpy()
    try:
        return list(value)
    except TypeError as e:
        raise TypeError(
            f"{name}: expected a sequence of labels (a list, tuple, numpy array or tensor), "
            f"got {describe(value)}"
        ) from e


def embedding_metadata(
    metadata: Any, header: Any
) -> tuple[Union[list[str], list[list[str]]], Optional[list[str]]]:
    """``add_embedding``'s labels as torch turns them into text: ``str()`` of each label, or,
    with a (non-empty) header, of each value of each row. Tensors' values are shown as numpy
    shows them (``3``, not torch's ``tensor(3)``)."""
    items = _label_items(metadata, "metadata")
    if header is None or len(header) == 0:
        return [str(x) for x in items], None
    names = [str(h) for h in _label_items(header, "metadata_header")]
    rows: list[list[str]] = []
    for i, row in enumerate(items):
        if isinstance(row, (str, bytes, bytearray)) or not hasattr(row, "__len__"):
            raise TypeError(
                f"metadata: with metadata_header, each label is a row of {len(names)} values; "
                f"row {i} is a {type(row).__name__}"
            )
        rows.append([str(e) for e in _label_items(row, "metadata")])
    return rows, names
