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
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Optional, Union

import numpy as np

from . import device

# ---------------------------------------------------------------- torch, and messages


def is_tensor(value: Any) -> bool:
    """Whether ``value`` is a torch tensor (never imports torch)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def is_foreign_array(value: Any) -> bool:
    """Whether ``value`` is an array of another library reachable through DLPack (JAX, CuPy,
    TensorFlow, ...): it has ``__dlpack__`` and is neither a torch tensor nor a numpy value."""
    return (
        not isinstance(value, (np.ndarray, np.generic))
        and hasattr(value, "__dlpack__")
        and not is_tensor(value)
    )


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
    if is_foreign_array(value):
        return scalar(from_dlpack(value, name), name)
    raise TypeError(
        f"{name} must be a real number (int, float, a numpy scalar or one-element array, "
        f"or a one-element torch tensor), got {describe(value)}"
    )


def scalar_or_later(value: Any, name: str) -> Any:
    """``scalar(value, name)``, except for a tensor on a device (see ``device``): its value is
    staged for the writer thread and a ``device.Staged`` (a callable returning the float) comes
    back, with no wait here."""
    if is_foreign_array(value):
        value = from_dlpack(value, name)
    if device.handles(value):
        if value.numel() != 1:
            raise ValueError(f"{name} must have exactly one element, got a {describe(value)}")
        if value.is_complex():
            raise TypeError(f"{name} must be real, got a {describe(value)}")
        return device.scalar(value)
    return scalar(value, name)


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


def check_real(t: Any, name: str) -> None:
    """``TypeError`` naming ``name`` when the tensor ``t`` holds complex numbers."""
    if t.is_complex():
        raise TypeError(f"{name}: expected real numbers, got a {describe(t)}")


def _tensor_to_numpy(t: Any, name: str) -> tuple[np.ndarray, Optional[str]]:
    """A CPU tensor as a numpy array sharing its memory where possible, with the encoding of
    16-bit float data."""
    torch = sys.modules["torch"]  # imported: ``t`` is a tensor
    if t.device.type == "meta":
        raise ValueError(f"{name}: a tensor on the meta device holds no data")
    t = t.detach()
    if t.device.type != "cpu":
        t = t.cpu()
    check_real(t, name)
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
    elif is_foreign_array(value) and not hasattr(value, "__array_interface__"):
        return to_numpy(from_dlpack(value, name), name)
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


def from_dlpack(value: Any, name: str) -> Any:
    """An object exposing ``__dlpack__`` (JAX, CuPy, TensorFlow, ...) as a numpy array when its
    memory is on the host, else as a torch tensor on its device (torch then needed)."""
    try:
        return np.from_dlpack(value)
    except (BufferError, RuntimeError, TypeError, ValueError) as host_error:
        try:
            import torch.utils.dlpack
        except ImportError:
            raise TypeError(
                f"{name}: a {type(value).__name__} whose memory numpy cannot read "
                f"({host_error}); install torch to log device arrays"
            ) from host_error
        try:
            return torch.utils.dlpack.from_dlpack(value)
        except (BufferError, RuntimeError, TypeError, ValueError) as e:
            raise TypeError(
                f"{name}: cannot read a {type(value).__name__} through DLPack ({e})"
            ) from e


def torch_from_host(arr: np.ndarray, enc: Optional[str]) -> Any:
    """A host array of ``to_numpy``'s result as a torch CPU tensor of the same values (for
    device code that pairs it with device tensors)."""
    torch = sys.modules["torch"]
    if enc == "float16":
        return torch.from_numpy(np.ascontiguousarray(arr).view(np.float16))
    if enc == "bfloat16":
        return torch.from_numpy(np.ascontiguousarray(arr).view(np.int16)).view(torch.bfloat16)
    if arr.dtype.kind == "u" and arr.dtype.itemsize > 1:
        arr = arr.astype(np.int64) if arr.dtype.itemsize < 8 else arr.astype(np.float64)
    return torch.from_numpy(np.ascontiguousarray(arr))


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


def media_array(value: Any, name: str, native: frozenset[str]) -> np.ndarray:
    """``value`` as a numpy array of a dtype in ``native`` (``"f4"``, ``"u1"``, ...: kind and
    item size), read in place when it is one; 16-bit floats as float32 (exact), other real
    dtypes as float64."""
    arr, enc = to_numpy(value, name)
    if enc is not None:
        return _decode16(arr, enc).astype(np.float32)
    if _key(arr.dtype) not in native:
        return arr.astype(np.float64)
    return arr


def video_axes(value: Any, dataformats: Any) -> Any:
    """``vid_tensor`` with its axes in ``NTCHW`` order: ``dataformats`` (tensorboardX's
    ``add_video`` option) names its axes, a permutation of ``NTCHW`` in any case. A torch
    tensor stays a tensor (a permuted view, on its device); anything else becomes a numpy
    array (a transposed view)."""
    if not isinstance(dataformats, str):
        raise TypeError(
            f"dataformats: expected a str, a permutation of 'NTCHW', got {describe(dataformats)}"
        )
    fmt = dataformats.upper()
    if sorted(fmt) != sorted("NTCHW"):
        raise ValueError(
            f"dataformats: expected a permutation of 'NTCHW' (any case), got {dataformats!r}"
        )
    if fmt == "NTCHW":
        return value
    shape = tuple(getattr(value, "shape", np.shape(value)))
    if len(shape) != 5:
        raise ValueError(
            f"vid_tensor: expected 5 dimensions ({dataformats}), got shape {list(shape)}"
        )
    order = [fmt.index(c) for c in "NTCHW"]
    if is_tensor(value):
        return value.permute(*order)
    return np.transpose(np.asarray(value), order)


# The dtypes of `_HIST_DTYPES` in native byte order: a plain, aligned numpy array of one of
# them is read as it is (the common case, checked first).
_HIST_NATIVE = frozenset(np.dtype(k) for k in _HIST_DTYPES)


def histogram_values(values: Any) -> tuple[np.ndarray, Optional[str]]:
    """``values`` for the native histogram: an array of a dtype it reads, and the encoding of
    ``uint16`` data (``"float16"``, ``"bfloat16"`` or ``None``)."""
    if type(values) is np.ndarray and values.dtype in _HIST_NATIVE and values.flags.aligned:
        return values, None
    arr, enc = to_numpy(values, "values")
    if _key(arr.dtype) not in _HIST_DTYPES:
        # longdouble and other floats numpy has: as torch does, float64.
        arr = arr.astype(np.float64)
    return arr, enc


# dtypes the native image code reads ("u2" also as float16 or bfloat16 bits).
_IMAGE_DTYPES = frozenset(["u1", "i1", "i2", "i4", "i8", "u2", "u4", "u8", "f4", "f8"])


def _is_bool(value: Any) -> bool:
    if is_tensor(value):
        return bool(value.dtype == sys.modules["torch"].bool)
    return isinstance(value, np.ndarray) and value.dtype.kind == "b"


def image_array(value: Any, name: str = "img_tensor") -> tuple[np.ndarray, Optional[str]]:
    """``value`` for the native image code, read in place when it can be: an array of a dtype
    it reads, and the encoding of ``uint16`` data. Booleans become float32 (torch scales every
    dtype but ``uint8`` by 255, so ``True`` is 255); other dtypes (``longdouble``) float64."""
    arr, enc = to_numpy(value, name)
    if _is_bool(value):
        return arr.astype(np.float32), None
    if enc is None and _key(arr.dtype) not in _IMAGE_DTYPES:
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


# ---------------------------------------------------------------- hparams and layouts

#: A hyperparameter value, adapted: the ``bool``, ``float`` or ``str`` the native code types
#: as such (``None`` values are skipped, as torch skips them).
HParam = Union[bool, float, str]


def _mapping(value: Any, name: str, what: str) -> Mapping[Any, Any]:
    if not isinstance(value, Mapping):
        raise TypeError(f"{name} must be a dict of {what}, got {describe(value)}")
    return value


def _str_key(key: Any, name: str) -> str:
    if isinstance(key, np.str_):
        return str(key)
    if not isinstance(key, str):
        raise TypeError(f"{name} keys must be str, got {type(key).__name__} ({plain(key)})")
    return key


def hparam(value: Any, name: str) -> Optional[HParam]:
    """A hyperparameter value: ``None``; ``bool`` (numpy's too, and a one-element bool tensor
    or array); ``str``; a real number (``int``, ``float``, numpy scalars, one-element tensors
    and arrays of any shape, 0-d included) as ``float``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.str_):
        return str(value)
    if is_tensor(value) or isinstance(value, (np.ndarray, np.generic)):
        if int(np.prod(value.shape)) != 1:
            raise ValueError(f"{name} must have exactly one element, got a {describe(value)}")
        if is_tensor(value):
            if value.is_complex():
                raise TypeError(f"{name} must be real, got a {describe(value)}")
            item = value.detach().reshape(()).item()
        else:
            arr = np.asarray(value)
            if arr.dtype.kind not in _SCALAR_KINDS:
                raise TypeError(f"{name} must be a bool, str or real number, got {describe(arr)}")
            item = arr.reshape(()).item()
        return item if isinstance(item, bool) else float(item)
    if isinstance(value, numbers.Real):
        try:
            return float(value)
        except OverflowError:
            raise ValueError(f"{name} is too large for a float, got {plain(value)}") from None
    raise TypeError(
        f"{name} must be a bool, str, int, float, None, or a one-element torch tensor or "
        f"numpy array, got {describe(value)}"
    )


def hparam_items(hparam_dict: Any) -> list[tuple[str, HParam]]:
    """``hparam_dict``'s items with adapted values, in its order, ``None`` values left out."""
    d = _mapping(hparam_dict, "hparam_dict", "str to bool, str, number or None")
    out = []
    for k, v in d.items():
        key = _str_key(k, "hparam_dict")
        value = hparam(v, f"hparam_dict[{key!r}]")
        if value is not None:
            out.append((key, value))
    return out


def hparam_domains(domains: Any) -> list[tuple[str, list[HParam]]]:
    """``hparam_domain_discrete`` as ``[(key, [values])]`` (``None``: no domains)."""
    if domains is None:
        return []
    d = _mapping(domains, "hparam_domain_discrete", "str to list of values")
    out = []
    for k, values in d.items():
        key = _str_key(k, "hparam_domain_discrete")
        name = f"hparam_domain_discrete[{key!r}]"
        if not isinstance(values, (list, tuple)):
            raise TypeError(f"{name} must be a list of values, got {describe(values)}")
        adapted = []
        for i, v in enumerate(values):
            a = hparam(v, f"{name}[{i}]")
            if a is None:
                raise TypeError(f"{name}[{i}] must be a bool, str or number, got None")
            adapted.append(a)
        out.append((key, adapted))
    return out


def metric_items(metric_dict: Any) -> list[tuple[str, Any]]:
    """``metric_dict``'s items, in its order (values are checked natively, as scalars)."""
    d = _mapping(metric_dict, "metric_dict", "str to number")
    return [(_str_key(k, "metric_dict"), v) for k, v in d.items()]


def _tags(tags: Any, name: str) -> list[Any]:
    if isinstance(tags, (str, bytes)) or not isinstance(tags, Iterable):
        raise TypeError(f"{name} must be a list of str tags, got {describe(tags)}")
    return list(tags)


def custom_scalars_layout(layout: Any) -> list[tuple[Any, list[tuple[Any, str, list[Any]]]]]:
    """torch's ``{category: {chart title: [kind, [tags]]}}`` as
    ``[(category, [(title, kind, [tags])])]``, in the dicts' order (the kind, ``"Multiline"``
    or ``"Margin"``, and the tags are checked natively)."""
    cats = _mapping(layout, "layout", "category title to {chart title: [kind, tags]}")
    out = []
    for cat, charts in cats.items():
        charts = _mapping(charts, f"layout[{cat!r}]", "chart title to [kind, tags]")
        specs = []
        for title, spec in charts.items():
            name = f"layout[{cat!r}][{title!r}]"
            if isinstance(spec, (str, bytes)) or not isinstance(spec, Sequence) or len(spec) != 2:
                raise TypeError(
                    f"{name} must be a [kind, tags] pair (kind 'Multiline' or 'Margin'), got "
                    f"{describe(spec)}"
                )
            kind, tags = spec
            if not isinstance(kind, str):
                raise TypeError(
                    f"{name}: the kind must be 'Multiline' or 'Margin', got {describe(kind)}"
                )
            specs.append((title, kind, _tags(tags, f"{name} tags")))
        out.append((cat, specs))
    return out


def chart_tags(tags: Any, name: str = "tags") -> list[Any]:
    """The ``tags`` of ``add_custom_scalars_multilinechart`` and ``...marginchart``."""
    return _tags(tags, name)


# ---------------------------------------------------------------- whole tensors (add_tensor)

_NUMPY_TENSOR_DTYPES = {
    "f2": "float16",
    "f4": "float32",
    "f8": "float64",
    "i1": "int8",
    "u1": "uint8",
    "i2": "int16",
    "i4": "int32",
    "i8": "int64",
    "b1": "bool",
    "c8": "complex64",
    "c16": "complex128",
}


def tensor_data(value: Any, name: str = "tensor") -> tuple[np.ndarray, str, list[int]]:
    """A torch tensor (or numpy array) for ``add_tensor``: its elements in C order as the
    native code reads them (float16 and bfloat16 as ``uint16`` bits, bools as ``uint8``,
    complex numbers as float pairs), its dtype name, its shape. The dtypes torch's
    ``add_tensor`` writes; others are a ``TypeError``."""
    if is_tensor(value):
        torch = sys.modules["torch"]
        t = value.detach()
        if t.device.type == "meta":
            raise ValueError(f"{name}: a tensor on the meta device holds no data")
        t = t.cpu().resolve_conj().resolve_neg().contiguous()
        shape = list(t.shape)
        special = {torch.bfloat16: "bfloat16", torch.float16: "float16", torch.bool: "bool"}
        if t.dtype in special:
            dtype = special[t.dtype]
            bits = torch.int16 if t.dtype != torch.bool else torch.uint8
            arr = t.view(bits).numpy()
            arr = arr.view(np.uint16) if bits is torch.int16 else arr
            return arr.reshape(-1), dtype, shape
        if t.is_quantized or t.dtype == torch.complex32:
            raise TypeError(f"{name}: unsupported tensor dtype {t.dtype}")
        try:
            arr = t.numpy()
        except (TypeError, RuntimeError) as e:
            raise TypeError(f"{name}: unsupported tensor dtype {t.dtype}") from e
    elif isinstance(value, (np.ndarray, np.generic)):
        arr = np.asarray(value)
        shape = list(arr.shape)
    else:
        raise TypeError(f"{name} must be a torch tensor or a numpy array, got {describe(value)}")
    dtype_name = _NUMPY_TENSOR_DTYPES.get(_key(arr.dtype))
    if dtype_name is None:
        raise TypeError(f"{name}: unsupported dtype {arr.dtype}")
    arr = np.ascontiguousarray(_native_layout(arr)).reshape(-1)
    if dtype_name == "bool":
        arr = arr.view(np.uint8)
    elif dtype_name == "float16":
        arr = arr.view(np.uint16)
    elif dtype_name.startswith("complex"):
        arr = arr.view(np.float32 if dtype_name == "complex64" else np.float64)
    return arr, dtype_name, shape


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
