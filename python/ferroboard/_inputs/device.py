"""Device tensors (CUDA) logged with no host sync on the calling thread.

Reading a CUDA tensor on the host (``.item()``, ``.cpu()``, ``.numpy()``) waits for every kernel
queued before it on the stream: a full stream synchronize per logged value, which stalls the
training loop's pipeline. So for a tensor on a device, ``add_scalar``, ``add_scalars`` and
``add_histogram`` instead:

1. reduce on the device what shrinks the data (a histogram becomes its bin counts and five
   statistics, counted into the same bins the host code uses);
2. copy the small result ``non_blocking`` into pinned host memory, on the tensor's current
   stream;
3. record a CUDA event after the copy, and return.

The writer thread then waits on that event (``Staged.__call__``), reads the pinned memory, and
encodes the event in Rust; events keep their place in the file, ``flush()`` returns after them,
and a device error is raised by the writer's next call, as write errors are.

Pinned memory is bounded: at most ``PINNED_LIMIT`` bytes of staged results are outstanding (the
blocks come from torch's caching host allocator, which reuses them). Past the bound, the calling
thread waits for the oldest staged copy to land and keeps its value (back-pressure: the wait
happens only when the writer thread is that far behind).

What the device path covers is chosen by a ``Backend``: ``CudaBackend`` for CUDA tensors (the
default when torch is imported and CUDA is available), or a stand-in that runs the same code on
CPU tensors with the event wait replaced, for tests on machines without a GPU
(``tests/test_device_staging.py``). Other devices (MPS, XPU, ...) are copied to the host as
before.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Callable, Optional, Protocol, TypeVar

#: Most bytes of pinned host memory held by staged results not yet written.
PINNED_LIMIT = 64 << 20


class Event(Protocol):
    """What the writer thread waits on: a CUDA event, or a stand-in's."""

    def synchronize(self) -> None: ...


class Backend(Protocol):
    """Which tensors take the device path, and how their results reach the host."""

    def handles(self, tensor: Any) -> bool:
        """Whether ``tensor`` (a torch tensor) takes the device path."""
        ...

    def stage(self, result: Any) -> tuple[Any, Event]:
        """Starts copying ``result`` (a small tensor on the device) to host memory; returns the
        host tensor and the event after which it holds the data."""
        ...


class CudaBackend:
    """CUDA tensors: pinned host buffers, ``non_blocking`` copies, CUDA events."""

    def handles(self, tensor: Any) -> bool:
        return bool(tensor.is_cuda)

    def stage(self, result: Any) -> tuple[Any, Event]:
        torch = sys.modules["torch"]
        host = torch.empty(result.shape, dtype=result.dtype, pin_memory=True)
        stream = torch.cuda.current_stream(result.device)
        host.copy_(result, non_blocking=True)
        event = torch.cuda.Event()
        event.record(stream)
        return host, event


_backend: Optional[Backend] = None
_backend_checked = False
_lock = threading.Lock()


def _current() -> Optional[Backend]:
    """The backend in use: an installed one, else CUDA when torch has it, else none."""
    global _backend, _backend_checked
    if _backend is None and not _backend_checked:
        torch = sys.modules.get("torch")
        if torch is not None:
            _backend_checked = True
            try:
                if torch.cuda.is_available():
                    _backend = CudaBackend()
            except (RuntimeError, AssertionError):  # a CPU-only build, a broken driver
                _backend = None
    return _backend


@contextmanager
def use_backend(backend: Optional[Backend]) -> Iterator[None]:
    """Uses ``backend`` for the device path while in the ``with`` block (tests: a stand-in)."""
    global _backend, _backend_checked
    saved = (_backend, _backend_checked)
    _backend, _backend_checked = backend, True
    try:
        yield
    finally:
        _backend, _backend_checked = saved


def handles(value: Any) -> bool:
    """Whether ``value`` is a tensor that takes the device path (never imports torch)."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(value, torch.Tensor):
        return False
    backend = _current()
    return backend is not None and backend.handles(value)


class Staged:
    """A result on its way from the device to pinned host memory. Calling it (on the writer
    thread) waits for the copy and returns ``convert(host tensor)``, once; the pinned memory is
    released then."""

    __slots__ = ("_convert", "_event", "_host", "_lock", "_nbytes", "_value")

    def __init__(self, host: Any, event: Event, nbytes: int, convert: Callable[[Any], Any]):
        self._host: Any = host
        self._event: Optional[Event] = event
        self._nbytes = nbytes
        self._convert = convert
        self._value: Any = None
        self._lock = threading.Lock()

    def __call__(self) -> Any:
        with self._lock:
            if self._event is not None:
                self._event.synchronize()
                self._value = self._convert(self._host)
                self._host = self._event = None
                _released(self)
            return self._value


# Staged results still holding pinned memory, oldest first (a dict keeps insertion order).
_outstanding: dict[Staged, None] = {}
_outstanding_bytes = 0


def _released(staged: Staged) -> None:
    global _outstanding_bytes
    with _lock:
        if staged in _outstanding:
            del _outstanding[staged]
            _outstanding_bytes -= staged._nbytes


def outstanding_bytes() -> int:
    """Pinned bytes held by staged results not yet written (for tests and diagnostics)."""
    return _outstanding_bytes


def _admit(nbytes: int) -> None:
    """Back-pressure: waits for the oldest staged results until ``nbytes`` more fit."""
    while True:
        with _lock:
            if _outstanding_bytes + nbytes <= PINNED_LIMIT or not _outstanding:
                return
            oldest = next(iter(_outstanding))
        oldest()  # waits for its copy, keeps its value, releases its memory


def _stage(result: Any, convert: Callable[[Any], Any]) -> Staged:
    global _outstanding_bytes
    backend = _current()
    assert backend is not None
    nbytes = result.numel() * result.element_size()
    _admit(nbytes)
    host, event = backend.stage(result)
    staged = Staged(host, event, nbytes, convert)
    with _lock:
        _outstanding[staged] = None
        _outstanding_bytes += nbytes
    return staged


P = TypeVar("P")


def after_checks(make: Callable[[Callable[[], Any]], P], stage: Callable[[], Staged]) -> P:
    """The pending event ``make(producer)`` builds, its producer the device result ``stage()``
    starts. ``make`` runs first, so every argument is checked (and a bad one raised) before any
    device work is queued or pinned memory taken."""
    staged: list[Staged] = []
    pending = make(lambda: staged[0]())
    staged.append(stage())
    return pending


def _to_float(host: Any) -> float:
    return float(host.numpy().reshape(-1)[0])


def _to_list(host: Any) -> list[float]:
    values: list[float] = host.numpy().tolist()
    return values


def scalar(tensor: Any) -> Staged:
    """A one-element device tensor's value, as the host would read it (``float(t.item())``):
    converted to float64 on the device (exact for every real dtype but int64 beyond 2^53, which
    rounds as ``float()`` does)."""
    torch = sys.modules["torch"]
    t = tensor.detach().reshape(())
    if t.dtype == torch.bool:
        t = t.to(torch.uint8)
    return _stage(t.to(torch.float64).reshape(1), _to_float)


# Edges copied to each device, most recent last: (device, the edges' bytes) -> tensor.
_edges_on_device: dict[tuple[str, bytes], Any] = {}
_EDGES_CACHED = 8


def _device_edges(edges: Any, device: Any) -> Any:
    """``edges`` (a float64 numpy array) as a tensor on ``device``: copied without a sync
    (from pinned memory, ``non_blocking``) the first time, then reused."""
    torch = sys.modules["torch"]
    key = (str(device), edges.tobytes())
    with _lock:
        hit = _edges_on_device.pop(key, None)
        if hit is not None:
            _edges_on_device[key] = hit
            return hit
    host = torch.from_numpy(edges.copy())
    if device.type == "cuda":
        host = host.pin_memory()
    on_device = host.to(device, non_blocking=True)
    with _lock:
        _edges_on_device[key] = on_device
        while len(_edges_on_device) > _EDGES_CACHED:
            del _edges_on_device[next(iter(_edges_on_device))]
    return on_device


def histogram(tensor: Any, edges: Any) -> Staged:
    """Bin counts of ``tensor``'s finite values over ``edges`` (float64, increasing), counted on
    the device as the host code counts (numpy's rule: ``[e[i], e[i+1])``, the last bin closed,
    values outside left out), with their min, max, count, sum and sum of squares. The staged
    value is ``[min, max, num, sum, sum_squares, counts...]`` as floats."""
    torch = sys.modules["torch"]
    v = tensor.detach().reshape(-1)
    if v.dtype == torch.bool:
        v = v.to(torch.uint8)
    v = v.to(torch.float64)  # exact for every real dtype torch has (int64 as float() rounds)
    e = _device_edges(edges, v.device)
    n = e.numel() - 1
    finite = torch.isfinite(v)
    # bucketize(right=True) - 1: the i with e[i] <= v < e[i + 1] (-1 below, n at or above e[n]).
    idx = torch.bucketize(v, e, right=True) - 1
    idx = torch.where(v == e[n], n - 1, idx)  # the last bin is closed
    idx = torch.where(finite & (idx >= 0) & (idx < n), idx, n)  # bin n collects the rest
    counts = torch.zeros(n + 1, dtype=torch.int64, device=v.device)
    counts.scatter_add_(0, idx, torch.ones_like(idx))  # no bincount: it syncs for its size
    inf = torch.tensor(float("inf"), dtype=torch.float64, device=v.device)
    kept = torch.where(finite, v, 0.0)
    stats = torch.stack(
        [
            torch.where(finite, v, inf).min(),
            torch.where(finite, v, -inf).max(),
            finite.sum(dtype=torch.float64),
            kept.sum(),
            (kept * kept).sum(),
        ]
    )
    return _stage(torch.cat([stats, counts[:n].to(torch.float64)]), _to_list)


def _pr_bucket(predictions: Any, num_thresholds: int) -> tuple[Any, Any]:
    """Each prediction's bucket ``floor(p * (n - 1))`` computed in the prediction's own type, as
    the host code (and numpy, for torch's writer) computes it, and whether it is valid."""
    torch = sys.modules["torch"]
    p = predictions.detach().reshape(-1)
    last = num_thresholds - 1
    if p.dtype == torch.bool:
        return torch.where(p, last, 0).to(torch.int64), torch.ones_like(p)
    if not p.is_floating_point():
        valid = (p == 0) | (p == 1)
        return torch.where(p == 1, last, 0).to(torch.int64), valid
    if p.dtype == torch.bfloat16:
        p = p.to(torch.float16)  # as torch hands bfloat16 to numpy: rounded to float16 first
    if p.dtype == torch.float16:
        pf = p.to(torch.float32)
        scale16 = torch.tensor(float(last), dtype=torch.float16)
        if torch.isfinite(scale16):  # a host tensor: no device sync
            # numpy's float16 multiply: the exact float32 product, rounded to float16.
            product = (pf * float(scale16)).to(torch.float16).to(torch.float32)
        else:
            product = pf * float(last)
    else:
        pf = p
        product = p * last  # in p's dtype (float32 or float64)
    valid = (pf >= 0) & (pf <= 1)
    bucket = torch.where(valid, product, 0).floor().to(torch.int64)
    return bucket, valid


def _to_device(t: Any, dev: Any) -> Any:
    """``t`` on ``dev``; a host tensor goes through pinned memory without a sync."""
    if t.device == dev:
        return t
    if dev.type == "cuda" and t.device.type == "cpu":
        return t.pin_memory().to(dev, non_blocking=True)
    return t.to(dev)


def pr_buckets(labels: Any, predictions: Any, num_thresholds: int, weights: Any) -> Staged:
    """The positive and negative weight of each of ``num_thresholds`` buckets, made on the
    predictions' device as the host code makes them, with the number of invalid examples
    (labels not 0/1, predictions outside [0, 1], weights negative or not finite). The staged
    value is ``[invalid, positive..., negative...]`` as floats. ``weights`` is ``None``, a
    float, or a tensor of one weight per example."""
    torch = sys.modules["torch"]
    dev = predictions.device
    bucket, valid = _pr_bucket(predictions, num_thresholds)
    lab = _to_device(labels.detach().reshape(-1), dev)
    if lab.dtype == torch.bool:
        lab = lab.to(torch.float64)
    else:
        lab = lab.to(torch.float64)
        valid = valid & ((lab == 0) | (lab == 1))
    if weights is None:
        w = torch.ones_like(lab)
    elif isinstance(weights, float):
        w = torch.full_like(lab, weights)
    else:
        w = _to_device(weights.detach().reshape(-1), dev).to(torch.float64)
        if w.numel() == 1:
            w = w.expand(lab.numel())
    valid = valid & torch.isfinite(w) & (w >= 0)
    w = torch.where(valid, w, 0.0)
    bucket = torch.where(valid, bucket, 0)
    positive = torch.zeros(num_thresholds, dtype=torch.float64, device=dev)
    negative = torch.zeros(num_thresholds, dtype=torch.float64, device=dev)
    positive.scatter_add_(0, bucket, lab * w)
    negative.scatter_add_(0, bucket, (1 - lab) * w)
    invalid = (~valid).sum(dtype=torch.float64).reshape(1)
    return _stage(torch.cat([invalid, positive, negative]), _to_list)


def _to_bytes(host: Any) -> bytes:
    data: bytes = host.numpy().tobytes()
    return data


def pixels(tensor: Any) -> Staged:
    """A device image's or video's ``uint8`` levels, made on the device as the host code makes
    them (``uint8`` as given; every other dtype, bools included, times 255 in float32, clipped
    to [0, 255] and truncated), in C order, then one byte that is 1 when a value was NaN or
    infinite. The staged value is those bytes."""
    torch = sys.modules["torch"]
    t = tensor.detach()
    if t.dtype == torch.uint8:
        levels = t.reshape(-1)
        flag = torch.zeros(1, dtype=torch.uint8, device=t.device)
    else:
        f = t.to(torch.float32)
        flag = (~torch.isfinite(f)).any().to(torch.uint8).reshape(1)
        f = torch.where(torch.isfinite(f), f, 0.0)  # flagged above; keeps the cast defined
        levels = (f * 255).clamp(0, 255).to(torch.uint8).reshape(-1)
    return _stage(torch.cat([levels, flag]), _to_bytes)
