"""add_histogram and add_histogram_raw against torch.

The bulk of the differential cases compare our event (captured before it reaches the file)
with torch's ``make_histogram`` on the same values, decoded by TensorBoard's protobuf
classes: bucket limits, bucket counts, min, max and num must be identical. ``sum`` is torch's
``values.astype(float).sum()`` bit for bit when every value is finite and the array is read in
C order (C-contiguous, or gathered because it is not contiguous); ``sum_squares`` is then
numpy's ``(v * v).sum()`` bit for bit, within rounding (``1e-9 * sum(x**2)``) of torch's
``v.dot(v)`` (a BLAS dot product, whose order of additions numpy does not fix). Otherwise both
may differ by rounding only: ``|ours - torch| <= 1e-9 * sum(|x|)``.
``test_sums_are_at_least_as_accurate_as_numpy`` measures both against the exact sums.

Non-finite values are dropped by our policy, so the reference is torch on the finite values.
``max_bins`` follows our rule (merge ``ceil(n / max_bins)`` bins); where torch's own rule
stays within ``max_bins`` the two are also checked to agree.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Optional

import ferroboard
import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tensorboard.compat.proto import event_pb2
from torch.utils.tensorboard import SummaryWriter as TorchWriter
from torch.utils.tensorboard.summary import make_histogram

from tests.support.bad_input import GOOD
from tests.support.judges import tb_events
from tests.support.logdirs import event_files

SUM_RTOL = 1e-9
RULES = ("auto", "fd", "doane", "scott", "stone", "rice", "sturges", "sqrt")
MAX_TEST_BINS = 100_000


def bin_count(finite: np.ndarray, bins: Any) -> int:
    """How many equal-width bins numpy would make, without making them (numpy's rules can ask
    for billions of bins; so would torch)."""
    if isinstance(bins, int):
        return bins
    if finite.size == 0:
        return 1
    from numpy.lib._histograms_impl import _hist_bin_selectors

    lo, hi = finite.min(), finite.max()
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    with np.errstate(all="ignore"):
        width = _hist_bin_selectors[bins](finite, (lo, hi))
        if not width:
            return 1
        n = np.ceil((hi - lo) / width)
    return int(n) if np.isfinite(n) else 2**62


def rule_edges(finite: np.ndarray, bins: Any) -> Optional[np.ndarray]:
    """numpy's edges for a rule or a bin count, or None where numpy cannot make usable ones
    (it raises, or returns fewer than 2 or non-increasing or infinite edges, on which its own
    ``np.histogram`` raises ``ValueError`` or ``IndexError`` or miscounts)."""
    try:
        with np.errstate(all="ignore"):
            edges = np.histogram_bin_edges(finite, bins)
    except ValueError:
        return None
    if edges.size < 2 or not np.all(np.isfinite(edges)) or not np.all(np.diff(edges) > 0):
        return None
    return edges


@pytest.fixture(scope="module")
def default_bins(tmp_path_factory) -> list[float]:
    w = TorchWriter(str(tmp_path_factory.mktemp("torch_bins")))
    bins = list(w.default_bins)
    w.close()
    return bins


class Capture(ferroboard.SummaryWriter):
    """Our writer, keeping the serialized events instead of writing them."""

    def __init__(self, log_dir: str) -> None:
        super().__init__(log_dir)
        self.payloads: list[bytes] = []
        self._write_event = self.payloads.append  # type: ignore[method-assign]

    def histo(self, values: Any, **kwargs: Any):
        self.add_histogram("h", values, **kwargs)
        ev = event_pb2.Event.FromString(self.payloads.pop())
        assert len(ev.summary.value) == 1
        return ev.summary.value[0].histo


@pytest.fixture(scope="module")
def ours(tmp_path_factory):
    w = Capture(str(tmp_path_factory.mktemp("ours")))
    yield w
    w.close()


@pytest.fixture(autouse=True)
def short_arrays():
    """Hypothesis prints the arrays it drew on a failure: keep them to a few numbers."""
    with np.printoptions(threshold=20, edgeitems=3):
        yield


def reference(
    values: np.ndarray, bins: Any, max_bins: Optional[int], c_order: Optional[bool] = None
):
    """torch's make_histogram on the finite values, with our max_bins rule (ceil).

    ``c_order``: whether ferroboard reads the values in C order (default: when ``values`` is
    C-contiguous); then, if every value is finite, ``sum`` must equal torch's bit for bit.
    """
    with np.errstate(all="ignore"):
        v = values.astype(float).reshape(-1)
        all_finite = bool(np.isfinite(v).all())
        v = v[np.isfinite(v)]
        ref = _reference(v, bins, max_bins)
    if ref is not None:
        c_order = values.flags.c_contiguous if c_order is None else c_order
        ref["exact_sums"] = all_finite and c_order
    return ref


def _reference(v: np.ndarray, bins: Any, max_bins: Optional[int]):
    counts, limits = np.histogram(v, bins=bins)
    n = len(counts)
    if max_bins is not None and n > max_bins:
        s = -(-n // max_bins)
        if n % s:
            counts = np.pad(counts, [[0, s - n % s]])
        counts = counts.reshape(-1, s).sum(axis=-1)
        new_limits = np.empty(counts.size + 1, limits.dtype)
        new_limits[:-1] = limits[:-1:s]
        new_limits[-1] = limits[-1]
        limits = new_limits
    occupied = np.nonzero(counts)[0]
    if occupied.size == 0:
        return None
    start, end = occupied[0], occupied[-1] + 1
    counts = counts[start - 1 : end] if start > 0 else np.concatenate([[0], counts[:end]])
    limits = limits[start : end + 1]
    return {
        "min": v.min(),
        "max": v.max(),
        "num": len(v),
        "sum": v.sum(),
        "sum_squares": v.dot(v),
        "pairwise_sum_squares": (v * v).sum(),
        "abs_sum": np.abs(v).sum(),
        "bucket_limit": limits.tolist(),
        "bucket": counts.astype(float).tolist(),
    }


def same_list(name: str, got, want) -> None:
    """Equal lists, with a short message (the first difference) when not."""
    got, want = list(got), list(want)
    if got != want:
        i = next((i for i, (a, b) in enumerate(zip(got, want)) if a != b), min(len(got), len(want)))
        a = got[i] if i < len(got) else "(end)"
        b = want[i] if i < len(want) else "(end)"
        raise AssertionError(f"{name}: lengths {len(got)} vs {len(want)}; at {i}: {a!r} vs {b!r}")


def same_float(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


def assert_matches(h, ref) -> None:
    same_list("bucket_limit", h.bucket_limit, ref["bucket_limit"])
    same_list("bucket", h.bucket, ref["bucket"])
    assert (h.min, h.max, h.num) == (ref["min"], ref["max"], ref["num"])
    if ref["exact_sums"]:
        # torch's own sum, and numpy's pairwise sum of the squares.
        assert same_float(h.sum, ref["sum"]), (h.sum, float(ref["sum"]))
        assert same_float(h.sum_squares, ref["pairwise_sum_squares"]), (
            h.sum_squares,
            float(ref["pairwise_sum_squares"]),
        )
    close(h.sum, ref["sum"], ref["abs_sum"])
    close(h.sum_squares, ref["sum_squares"], ref["sum_squares"])


def close(a: float, b: float, scale: float) -> None:
    if math.isinf(b) or math.isinf(a):
        # Overflowing sums: both overflow (the order of additions may differ at the edge of
        # the float range only, which the generators below avoid).
        assert a == b
        return
    assert abs(a - b) <= SUM_RTOL * scale + 1e-300, (a, b)


def torch_histo(values: np.ndarray, bins: Any, max_bins: Optional[int]):
    with np.errstate(all="ignore"):
        return make_histogram(values.astype(float), bins, max_bins)


# ---------------------------------------------------------------------------------------------
# Value generators

EDGE_SAMPLE = st.integers(0, 1548)


@st.composite
def distributions(draw, default_edges: list[float], large: bool = True) -> np.ndarray:
    sizes = [st.integers(1, 300), st.integers(1, 3000)] + [st.just(70_000)] * large
    n = draw(st.one_of(*sizes))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    kind = draw(
        st.sampled_from(
            [
                "normal",
                "uniform",
                "cauchy",
                "constant",
                "zeros",
                "edges",
                "tiny",
                "huge",
                "mixed",
                "integers",
            ]
        )
    )
    scale = 10.0 ** draw(st.integers(-8, 8))
    if kind == "normal":
        v = rng.normal(draw(st.floats(-10, 10)) * scale, scale, n)
    elif kind == "uniform":
        v = rng.uniform(-scale, scale * draw(st.floats(0.1, 3)), n)
    elif kind == "cauchy":
        v = rng.standard_cauchy(n) * scale
    elif kind == "constant":
        v = np.full(n, draw(st.sampled_from([1.0, -2.5, 1e-12, 0.5, 7e19, -1e-13])))
    elif kind == "zeros":
        v = np.zeros(n) * draw(st.sampled_from([1.0, -1.0]))
    elif kind == "edges":
        e = np.array(default_edges)[rng.integers(0, len(default_edges), n)]
        nudge = rng.integers(-1, 2, n)
        v = np.where(
            nudge > 0, np.nextafter(e, np.inf), np.where(nudge < 0, np.nextafter(e, -np.inf), e)
        )
    elif kind == "tiny":
        v = rng.choice([5e-324, 1e-320, 2.2e-308, 1e-300, 1e-13, 0.0, -0.0], n) * rng.choice(
            [-1, 1], n
        )
    elif kind == "huge":
        v = rng.choice([1e15, 9.9e19, 1e20, 1e21, 1e200], n)
        v = v * rng.choice([-1, 1], n)
        # One of the largest floats (several could overflow the sum in an order-dependent way).
        v[rng.integers(n)] = rng.choice([-1, 1]) * 1.7976931348623157e308
        v[0] = rng.normal()  # keep one value inside the edges
    elif kind == "integers":
        v = rng.integers(-1000, 1000, n).astype(float)
    else:
        v = np.concatenate([rng.normal(0, 1, n), [np.nan, np.inf, -np.inf, -0.0, 0.0]])
        rng.shuffle(v)
    return v


DTYPES = ["float64", "float32", "float16", "int64", "int32", "int8", "uint8", "uint16", "bool"]


def cast(v: np.ndarray, dtype: str) -> np.ndarray:
    dt = np.dtype(dtype)
    with np.errstate(all="ignore"):
        if dt.kind in "iu":
            info = np.iinfo(dt)
            v = np.nan_to_num(v, nan=0.0, posinf=info.max, neginf=info.min)
            return np.clip(np.round(v), info.min, info.max).astype(dt)
        if dt.kind == "b":
            return v > 0
        return v.astype(dt)


@st.composite
def layouts(draw, v: np.ndarray) -> np.ndarray:
    """The same values in various shapes and memory layouts."""
    how = draw(st.sampled_from(["flat", "2d", "fortran", "strided", "reversed", "transposed"]))
    if how == "flat" or v.size < 4:
        return v
    if how == "2d":
        return v[: v.size // 2 * 2].reshape(2, -1)
    if how == "fortran":
        return np.asfortranarray(v[: v.size // 2 * 2].reshape(-1, 2))
    if how == "strided":
        return np.repeat(v, 2)[::2]
    if how == "reversed":
        return v[::-1]
    return v[: v.size // 2 * 2].reshape(-1, 2).T


def check(ours: Capture, values: np.ndarray, bins: Any, max_bins: Optional[int] = None):
    try:
        ref = reference(values, bins, max_bins)
    except (ValueError, IndexError):
        # numpy's equal-width formula breaks down (extreme widths) and np.histogram fails;
        # ours counts by the edges, as np.histogram does with the same edges given explicitly.
        finite = values.astype(float).reshape(-1)
        finite = finite[np.isfinite(finite)]
        with np.errstate(all="ignore"):
            edges = np.histogram_bin_edges(finite, bins)
        assert_matches(ours.histo(values, bins=bins), reference(values, edges, max_bins))
        return
    if ref is None:
        with pytest.raises(ValueError, match="values"):
            ours.histo(values, bins=bins, max_bins=max_bins)
        return
    h = ours.histo(values, bins=bins, max_bins=max_bins)
    assert_matches(h, ref)
    finite = values.astype(float).reshape(-1)
    finite = finite[np.isfinite(finite)]
    with np.errstate(all="ignore"):
        n = len(np.histogram_bin_edges(finite, bins)) - 1
    if max_bins is None or n <= max_bins or n % max_bins == 0:
        # torch's own max_bins rule agrees here: compare with torch itself.
        t = torch_histo(finite, bins, max_bins)
        same_list("bucket_limit", h.bucket_limit, t.bucket_limit)
        same_list("bucket", h.bucket, t.bucket)
        assert (h.min, h.max, h.num) == (t.min, t.max, t.num)


# ---------------------------------------------------------------------------------------------
# Differential tests


COMMON = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
}


@settings(max_examples=1200, **COMMON)
@given(data=st.data())
def test_default_bins_match_torch(ours, default_bins, data):
    v = data.draw(distributions(default_bins))
    v = cast(v, data.draw(st.sampled_from(DTYPES)))
    v = data.draw(layouts(v))
    tf = data.draw(st.sampled_from(["tensorflow", "list"]))
    ref_bins = default_bins
    ref = reference(v, ref_bins, None)
    if ref is None:
        with pytest.raises(ValueError, match="values"):
            ours.histo(v)
        return
    h = ours.histo(v) if tf == "tensorflow" else ours.histo(v, bins=default_bins)
    assert_matches(h, ref)
    finite = v.astype(float).reshape(-1)
    finite = finite[np.isfinite(finite)]
    t = torch_histo(finite, default_bins, None)
    same_list("bucket_limit", h.bucket_limit, t.bucket_limit)
    same_list("bucket", h.bucket, t.bucket)


STONE = "ignore:The number of bins estimated may be suboptimal:RuntimeWarning"


@pytest.mark.filterwarnings(STONE)
@settings(max_examples=500, **COMMON)
@given(data=st.data())
def test_numpy_rules_and_counts_match_torch(ours, default_bins, data):
    # Small inputs only: numpy's "stone" rule alone builds hundreds of histograms.
    v = data.draw(distributions(default_bins, large=False))
    v = cast(v, data.draw(st.sampled_from(DTYPES)))
    finite = v.astype(float)[np.isfinite(v.astype(float))]
    if finite.size and (np.ptp(finite) > 1e300 or np.abs(finite).max() > 1e300):
        v = np.clip(v, -1e300, 1e300) if v.dtype.kind == "f" else v
    bins = data.draw(st.one_of(st.sampled_from(RULES), st.integers(1, 300)))
    f = v.astype(float).reshape(-1)
    if bin_count(f[np.isfinite(f)], bins) > MAX_TEST_BINS:
        return
    edges = rule_edges(f[np.isfinite(f)], bins)
    ok = edges is not None and edges.size < 100_000
    if not ok:
        with pytest.raises(ValueError, match=r"bins|values"):
            ours.histo(v, bins=bins)
        return
    check(ours, data.draw(layouts(v)), bins)


@settings(max_examples=300, **COMMON)
@given(data=st.data())
def test_explicit_edges_match_torch(ours, default_bins, data):
    v = data.draw(distributions(default_bins))
    v = cast(v, data.draw(st.sampled_from(["float64", "float32", "int32"])))
    k = data.draw(st.integers(2, 60))
    seed = data.draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    f = v.astype(float)
    f = f[np.isfinite(f)]
    lo, hi = (max(f.min(), -1e300), min(f.max(), 1e300)) if f.size else (0.0, 1.0)
    span = max(hi - lo, 1e-300)
    edges = np.unique(rng.uniform(lo - 0.1 * span, hi + 0.1 * span, k))
    # Some edges exactly on values.
    if f.size:
        edges = np.unique(np.concatenate([edges, rng.choice(f, min(3, f.size))]))
    if edges.size < 2 or not np.all(np.isfinite(edges)):
        return
    check(ours, v, edges.tolist())


@pytest.mark.filterwarnings(STONE)
@settings(max_examples=400, **COMMON)
@given(data=st.data())
def test_max_bins(ours, default_bins, data):
    v = data.draw(distributions(default_bins, large=False))
    max_bins = data.draw(st.integers(1, 2000))
    bins = data.draw(st.one_of(st.just("tensorflow"), st.integers(1, 500), st.sampled_from(RULES)))
    f = v[np.isfinite(v)]
    if bins != "tensorflow":
        v = np.clip(f, -1e300, 1e300) if f.size else v
        if bin_count(v[np.isfinite(v)], bins) > MAX_TEST_BINS:
            return
        e = rule_edges(v[np.isfinite(v)], bins)
        if e is None:
            # numpy itself cannot bin these values (torch raises ValueError or IndexError, or
            # miscounts): a ValueError naming the argument.
            with pytest.raises(ValueError, match=r"bins|values"):
                ours.histo(v, bins=bins, max_bins=max_bins)
            return
        if e.size > 100_000:
            return
    ref_bins = default_bins if bins == "tensorflow" else bins
    try:
        ref = reference(v, ref_bins, max_bins)
        numpy_ok = True
    except (ValueError, IndexError):
        # numpy's equal-width formula breaks down here (see check()): count by the edges.
        with np.errstate(all="ignore"):
            edges = np.histogram_bin_edges(v[np.isfinite(v)], ref_bins)
        ref, numpy_ok = reference(v, edges, max_bins), False
    if ref is None:
        with pytest.raises(ValueError, match="values"):
            ours.histo(v, bins=bins, max_bins=max_bins)
        return
    h = ours.histo(v, bins=bins, max_bins=max_bins)
    assert_matches(h, ref)
    finite = v[np.isfinite(v)]
    with np.errstate(all="ignore"):
        n = len(np.histogram_bin_edges(finite, ref_bins)) - 1
    merged = -(-n // max_bins) if n > max_bins else 1
    assert -(-n // merged) <= max_bins
    if numpy_ok and (n <= max_bins or n % max_bins == 0):
        t = torch_histo(finite, ref_bins, max_bins)
        same_list("bucket", h.bucket, t.bucket)
        same_list("bucket_limit", h.bucket_limit, t.bucket_limit)


def test_max_bins_never_exceeded_where_torch_overshoots(ours, default_bins):
    v = np.concatenate([-np.logspace(-12, 19.9, 5000), np.logspace(-12, 19.9, 5000)])
    t = torch_histo(v, default_bins, 100)
    h = ours.histo(v, max_bins=100)
    # torch: 1548 // 100 = 15 bins merged, 104 bins remain (all occupied: 104 + the left one).
    assert len(t.bucket) == 105
    # ours: ceil(1548 / 100) = 16 merged, 97 bins; the written list adds the left-edge bucket.
    assert len(h.bucket) == 98
    assert sum(h.bucket) == sum(t.bucket) == v.size
    assert_matches(h, reference(v, default_bins, 100))


TORCH_DTYPES = [
    torch.float32,
    torch.float64,
    torch.float16,
    torch.bfloat16,
    torch.int64,
    torch.bool,
]


@settings(max_examples=300, **COMMON)
@given(data=st.data())
def test_torch_tensors_match_torch(ours, default_bins, data):
    v = data.draw(distributions(default_bins))
    dtype = data.draw(st.sampled_from(TORCH_DTYPES))
    with np.errstate(all="ignore"):
        if dtype in (torch.int64,):
            t = torch.from_numpy(cast(v, "int64"))
        elif dtype == torch.bool:
            t = torch.from_numpy(v > 0)
        else:
            # Values float16 can hold, so that torch's bfloat16 -> float16 step is exact.
            t = torch.from_numpy(np.clip(np.nan_to_num(v), -6e4, 6e4)).to(dtype)
    how = data.draw(st.sampled_from(["plain", "strided", "transposed", "grad"]))
    if how == "strided":
        t = t.repeat_interleave(2)[::2]
    elif how == "transposed" and t.numel() % 2 == 0:
        t = t.reshape(2, -1).t()
    elif how == "grad" and t.is_floating_point():
        t = t.clone().requires_grad_(True)
    from torch.utils.tensorboard._convert_np import make_np

    exact = t.detach().double().numpy()
    ref = reference(exact, default_bins, None, c_order=t.is_contiguous())
    if ref is None:
        with pytest.raises(ValueError, match="values"):
            ours.histo(t)
        return
    assert_matches(ours.histo(t), ref)
    torch_values = make_np(t).astype(float)
    if np.array_equal(torch_values, exact):
        # torch reads the same values (its bfloat16 -> float16 step is exact here).
        check(ours, torch_values, default_bins)


def test_bfloat16_is_read_exactly_where_torch_overflows(ours, default_bins):
    t = torch.tensor([1e5, -3e38, 1.0, 2.0], dtype=torch.bfloat16)
    h = ours.histo(t)
    exact = t.float().numpy().astype(float)
    assert_matches(h, reference(exact, default_bins, None))
    assert h.max == float(t.float()[0])
    # torch's float16 step makes these infinite.
    assert np.isinf(t.to(torch.float16).numpy()).sum() == 2


@pytest.mark.parametrize(
    "x",
    [
        0.0,
        -0.0,
        5e-324,
        -5e-324,
        2.2250738585072014e-308,
        1e-12,
        -1e-12,
        9.920775621859783e19,
        -9.920775621859783e19,
        1.7976931348623157e308,
        -1.7976931348623157e308,
    ],
)
def test_single_edge_case_values(ours, default_bins, x):
    v = np.array([x, 1.0])
    assert_matches(ours.histo(v), reference(v, default_bins, None))


def test_every_default_edge_and_its_neighbours(ours, default_bins):
    e = np.array(default_bins)
    v = np.concatenate([e, np.nextafter(e, np.inf), np.nextafter(e, -np.inf), [0.0, -0.0]])
    for arr in (v, v.astype(np.float32)):
        h = ours.histo(arr)
        assert_matches(h, reference(arr, default_bins, None))
        t = torch_histo(arr, default_bins, None)
        same_list("bucket", h.bucket, t.bucket)


def test_every_float16_and_many_float32(ours, default_bins):
    halves = np.arange(2**16, dtype=np.uint16).view(np.float16)
    assert_matches(ours.histo(halves), reference(halves, default_bins, None))
    rng = np.random.default_rng(7)
    f32 = rng.integers(0, 2**32, 1_000_000, dtype=np.uint64).astype(np.uint32).view(np.float32)
    assert_matches(ours.histo(f32), reference(f32, default_bins, None))


# ---------------------------------------------------------------------------------------------
# Non-finite policy


@pytest.mark.parametrize("bins", ["tensorflow", "auto", "fd", 10, [-1.0, 0.0, 1.0, 2.0]])
def test_non_finite_values_are_left_out_for_every_bins(ours, default_bins, bins):
    v = np.array([np.nan, 1.0, np.inf, -np.inf, 0.5, -0.25, np.nan])
    h = ours.histo(v, bins=bins)
    assert (h.num, h.min, h.max, h.sum) == (3, -0.25, 1.0, 1.25)
    assert h.sum_squares == 1.0 + 0.25 + 0.0625
    ref_bins = default_bins if bins == "tensorflow" else bins
    assert_matches(h, reference(v, ref_bins, None))


@pytest.mark.parametrize("bins", ["tensorflow", "auto", 5, [0.0, 1.0]])
@pytest.mark.parametrize(
    "values", [[np.nan], [np.inf, -np.inf], np.full(100, np.nan, dtype=np.float32)]
)
def test_nothing_finite_raises(ours, bins, values):
    with pytest.raises(ValueError, match=r"values: every value is NaN or infinite"):
        ours.histo(np.asarray(values), bins=bins)


def test_nothing_inside_the_edges_raises(ours):
    with pytest.raises(ValueError, match=r"values: every finite value .* outside the bin edges"):
        ours.histo(np.array([1e21, -1e25]))
    with pytest.raises(ValueError, match="outside the bin edges"):
        ours.histo(np.array([5.0]), bins=[0.0, 1.0])


# ---------------------------------------------------------------------------------------------
# Files: ours and torch's, read back by TensorBoard


def _write_both(tmp_path: Path, calls) -> tuple[Path, Path]:
    dirs = []
    for name, cls in (("torch", TorchWriter), ("ours", ferroboard.SummaryWriter)):
        d = tmp_path / name
        w = cls(str(d))
        for method, args, kwargs in calls:
            getattr(w, method)(*args, **kwargs)
        w.close()
        dirs.append(d)
    return dirs[0], dirs[1]


HIST_CALLS = [
    ("add_histogram", ("w", np.random.default_rng(1).normal(size=5000)), {"global_step": 0}),
    ("add_histogram", ("w", np.random.default_rng(2).normal(3, 2, 5000)), {"global_step": 1}),
    ("add_histogram", ("w", torch.randn(64, 32)), {"global_step": 2}),
    ("add_histogram", ("b", np.arange(100.0)), {"global_step": 0, "bins": "auto"}),
    ("add_histogram", ("b", np.arange(50)), {"global_step": 1, "bins": 7}),
    ("add_histogram", ("c", np.zeros(10)), {"global_step": 0}),
    ("add_histogram", ("d", np.random.default_rng(3).standard_cauchy(999)), {"global_step": 0}),
    (
        "add_histogram_raw",
        ("raw", -1.0, 3.0, 6, 4.0, 14.0, [0.0, 1.0, 2.0, 3.0], [1, 2, 2, 1]),
        {"global_step": 5},
    ),
]


def _with_walltime(calls):
    out = []
    for i, (m, a, kw) in enumerate(calls):
        out.append((m, a, {**kw, "walltime": 1_700_000_000.0 + i}))
    return out


def test_events_equal_torch_events(tmp_path):
    t_dir, o_dir = _write_both(tmp_path, _with_walltime(HIST_CALLS))
    (t_file,) = event_files(t_dir)["."]
    (o_file,) = event_files(o_dir)["."]
    t_events = [e for e in tb_events(t_file) if e.HasField("summary")]
    o_events = [e for e in tb_events(o_file) if e.HasField("summary")]
    assert len(t_events) == len(o_events) == len(HIST_CALLS)
    for te, oe in zip(t_events, o_events):
        assert (te.wall_time, te.step) == (oe.wall_time, oe.step)
        th, oh = te.summary.value[0].histo, oe.summary.value[0].histo
        assert te.summary.value[0].tag == oe.summary.value[0].tag
        same_list("bucket_limit", th.bucket_limit, oh.bucket_limit)
        same_list("bucket", th.bucket, oh.bucket)
        assert (th.min, th.max, th.num) == (oh.min, oh.max, oh.num)
        # Finite values in C-contiguous arrays: torch's sum bit for bit.
        assert oh.sum == th.sum
        close(oh.sum_squares, th.sum_squares, th.sum_squares)


def test_tensorboard_renders_the_same_histograms_and_distributions(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import (
        COMPRESSED_HISTOGRAMS,
        HISTOGRAMS,
        EventAccumulator,
    )

    t_dir, o_dir = _write_both(tmp_path, _with_walltime(HIST_CALLS))
    accs = []
    for d in (t_dir, o_dir):
        acc = EventAccumulator(str(d), size_guidance={HISTOGRAMS: 0, COMPRESSED_HISTOGRAMS: 0})
        acc.Reload()
        accs.append(acc)
    t_acc, o_acc = accs
    assert sorted(t_acc.Tags()["histograms"]) == sorted(o_acc.Tags()["histograms"])
    for tag in t_acc.Tags()["histograms"]:
        th, oh = t_acc.Histograms(tag), o_acc.Histograms(tag)
        assert [(e.wall_time, e.step) for e in th] == [(e.wall_time, e.step) for e in oh]
        for a, b in zip(th, oh):
            assert a.histogram_value.bucket_limit == b.histogram_value.bucket_limit
            assert a.histogram_value.bucket == b.histogram_value.bucket
            assert (a.histogram_value.min, a.histogram_value.max) == (
                b.histogram_value.min,
                b.histogram_value.max,
            )
        tc, oc = t_acc.CompressedHistograms(tag), o_acc.CompressedHistograms(tag)
        assert len(tc) == len(oc)
        for a, b in zip(tc, oc):
            assert (a.wall_time, a.step) == (b.wall_time, b.step)
            assert list(a.compressed_histogram_values) == list(b.compressed_histogram_values)


def test_histogram_plugin_data_provider_reads_the_same(tmp_path):
    from tensorboard import context
    from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
    from tensorboard.plugins.distribution import compressor

    t_dir, o_dir = _write_both(tmp_path, _with_walltime(HIST_CALLS))
    results = []
    for d in (t_dir, o_dir):
        mux = plugin_event_multiplexer.EventMultiplexer({"run": str(d)})
        mux.Reload()
        provider = data_provider.MultiplexerDataProvider(mux, str(d))
        data = provider.read_tensors(
            context.RequestContext(), experiment_id="", plugin_name="histograms", downsample=1000
        )
        results.append(
            {
                tag: [(d.step, d.wall_time, d.numpy.tolist()) for d in series]
                for tag, series in data["run"].items()
            }
        )
    assert results[0].keys() == results[1].keys()
    for tag in results[0]:
        assert results[0][tag] == results[1][tag], tag
        for _, _, buckets in results[1][tag]:
            # The distributions plugin's view of it.
            compressed = compressor.compress_histogram(buckets)
            assert len(compressed) == len(compressor.NORMAL_HISTOGRAM_BPS)


# ---------------------------------------------------------------------------------------------
# add_histogram_raw


def test_raw_matches_torch(tmp_path):
    calls = _with_walltime(
        [
            ("add_histogram_raw", ("a", 0, 10, 5, 20, 100, [1.0, 5.0, 10.0], [0, 3, 2]), {}),
            (
                "add_histogram_raw",
                ("b", -1.5, 2.5, 3, 1.0, 8.5, np.array([0.0, 2.5]), torch.tensor([1.0, 2.0])),
                {"global_step": 3},
            ),
        ]
    )
    t_dir, o_dir = _write_both(tmp_path, calls)
    t = [e for e in tb_events(event_files(t_dir)["."][0]) if e.HasField("summary")]
    o = [e for e in tb_events(event_files(o_dir)["."][0]) if e.HasField("summary")]
    assert t == o


# ---------------------------------------------------------------------------------------------
# Bad input: the histogram table of tests/support/bad_input.py (run by tests/test_bad_input.py
# and the robustness suite).


def test_closed_writer_raises_then_reopens_like_torch(logdir):
    w = ferroboard.SummaryWriter(str(logdir))
    w.close()
    # torch reopens a closed writer on the next add; ferroboard's writer does the same or
    # raises a clear error, as it does for add_scalar.
    try:
        w.add_scalar("s", 1.0)
    except Exception as e:
        with pytest.raises(type(e)):
            w.add_histogram("h", GOOD)
    else:
        w.add_histogram("h", GOOD)
        w.close()


def test_large_input_uses_the_parallel_path_and_agrees(ours, default_bins):
    rng = np.random.default_rng(11)
    v = rng.normal(size=3_000_001).astype(np.float32)
    v[::1000] = np.nan
    assert_matches(ours.histo(v), reference(v, default_bins, None))
    assert_matches(ours.histo(v[::3]), reference(v[::3], default_bins, None))


def test_rule_numpy_cannot_apply_raises_a_clear_value_error(ours):
    # numpy's "scott" rule gives a single edge for these values: torch's make_histogram
    # raises IndexError from inside np.histogram; we raise a ValueError naming bins.
    v = np.full(69, 7e19)
    assert rule_edges(v, "scott") is None
    with pytest.raises(IndexError):
        torch_histo(v, "scott", None)
    for max_bins in (None, 5):
        with pytest.raises(ValueError, match=r"bins='scott'"):
            ours.histo(v, bins="scott", max_bins=max_bins)


# ---------------------------------------------------------------------------------------------
# Accuracy of sum and sum_squares against the exact sums

ACCURACY_SIZES = [1, 2, 7, 8, 9, 100, 127, 128, 129, 1000, 4097, 10_000, 65_537, 131_073, 1_000_000]


def exact_sum_squares(v: np.ndarray) -> float:
    """The exactly rounded sum of the exact squares of the float64 values ``v`` (Veltkamp's
    split: ``x * x == hi * hi + 2 * hi * lo + lo * lo`` exactly, each term a float64, for the
    magnitudes used here)."""
    c = v * 134217729.0
    hi = c - (c - v)
    lo = v - hi
    return math.fsum(np.concatenate([hi * hi, 2 * hi * lo, lo * lo]).tolist())


def ulps(got: float, exact: float) -> float:
    return abs(got - exact) / math.ulp(exact) if exact else abs(got) / math.ulp(0.0)


def accuracy_inputs(dtype: str, nonfinite: bool):
    """(name, array) for every size and three distributions, seeded: the same numbers on every
    machine (numpy's float64 ``power``, ``exp`` and ``log`` take other code paths on CPUs with
    AVX-512 and differ from the others in the last bit, so the magnitudes are made with the
    exact ``ldexp``: the inputs, and so the errors compared, were not those of CI's machine)."""
    rng = np.random.default_rng(20261201)
    for n in ACCURACY_SIZES:
        for kind in ("uniform", "normal", "magnitudes"):
            if kind == "uniform":
                v = rng.random(n)
            elif kind == "normal":
                v = rng.normal(0.5, 1.0, n)
            else:  # both signs, magnitudes 2^-10 to 2^10
                v = np.ldexp(1.0 + rng.random(n), rng.integers(-10, 10, n))
                v *= rng.choice([-1.0, 1.0], n)
            v = v.astype(dtype)
            if nonfinite and n > 1:
                bad = rng.integers(0, n, max(1, n // 100))
                v[bad] = rng.choice([np.nan, np.inf, -np.inf], bad.size)
                v[0] = 0.5  # at least one finite value
            yield f"{kind} n={n}", v


def pairwise_bound(n: int) -> float:
    """numpy's pairwise summation error bound for ``n`` values, in units of
    ``eps * sum(|x|)``: a value passes through at most 15 additions in one of a leaf's 8
    running sums, 3 to combine them, 7 more for the values after the last 8, and one per level
    of the tree over leaves of 128 (Higham's ``gamma_k`` with ``u = eps / 2``: ``k u`` is below
    1e-12 here, so ``k`` in units of ``eps`` bounds it with room to spare)."""
    return 15 + 3 + 7 + math.ceil(math.log2(max(1.0, n / 128)))


@pytest.mark.parametrize("nonfinite", [False, True], ids=["finite", "with-nan-inf"])
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_sums_are_at_least_as_accurate_as_numpy(ours, dtype, nonfinite):
    """``sum`` and ``sum_squares`` against the exact sums (``math.fsum``), beside numpy's
    pairwise ``np.sum`` of the finite values (torch's ``sum``) and of their squares, and
    torch's ``v.dot(v)``, on the same inputs. Without NaN and infinities ours are numpy's sums
    bit for bit. With them (read as 0, where numpy sums the finite values alone: the same
    additions on other operands) each of ours is within the pairwise summation bound, and on
    average as accurate as numpy's, the error measured in units of ``eps * sum(|x|)`` (what
    the bound is in: in units in the last place of the result, one input with cancellation
    weighs more than all the others)."""
    keys = ("sum", "np_sum", "sq", "np_sq", "dot")
    err: dict[str, list[float]] = {k: [] for k in keys}
    ulp_err: dict[str, list[float]] = {k: [] for k in keys}
    eps = float(np.finfo(float).eps)
    for name, v in accuracy_inputs(dtype, nonfinite):
        f = v.astype(float)
        f = f[np.isfinite(f)]
        h = ours.histo(v)
        exact, exact_sq = math.fsum(f.tolist()), exact_sum_squares(f)
        magnitude = math.fsum(np.abs(f).tolist())
        np_sum, np_sq, dot = float(f.sum()), float((f * f).sum()), float(f.dot(f))
        if not nonfinite:
            assert (h.sum, h.sum_squares) == (np_sum, np_sq), name
        for key, got, ref, scale in (
            ("sum", h.sum, exact, magnitude),
            ("np_sum", np_sum, exact, magnitude),
            ("sq", h.sum_squares, exact_sq, exact_sq),
            ("np_sq", np_sq, exact_sq, exact_sq),
            ("dot", dot, exact_sq, exact_sq),
        ):
            e = abs(got - ref) / (eps * scale) if scale else abs(got)
            err[key].append(e)
            ulp_err[key].append(ulps(got, ref))
            if key in ("sum", "sq"):
                assert e <= pairwise_bound(len(v)), (name, key, e)
    mean = {k: sum(e) / len(e) for k, e in err.items()}
    print(
        f"\n{dtype} {'with NaN/inf' if nonfinite else 'finite'}, {len(err['sum'])} inputs, "
        "error in eps * sum(|x|) mean/max: "
        + ", ".join(f"{k} {mean[k]:.3f}/{max(err[k]):.3f}" for k in keys)
        + "; in ulps of the result mean/max: "
        + ", ".join(f"{k} {sum(u) / len(u):.2f}/{max(u):.1f}" for k, u in ulp_err.items())
    )
    # Exact float16 and float32 sums of few values leave numpy and us no error at all.
    for ours_key, numpy_key in (("sum", "np_sum"), ("sq", "np_sq")):
        assert mean[ours_key] <= mean[numpy_key] + 0.05, (ours_key, mean)


def test_sums_of_gathered_arrays_are_torchs(ours, default_bins):
    # Not contiguous: gathered in C order, so the sum is torch's bit for bit.
    v = np.random.default_rng(5).normal(size=(300, 40))[:, ::3]
    assert not v.flags.c_contiguous
    ref = reference(v, default_bins, None, c_order=True)
    assert ref["exact_sums"]
    assert_matches(ours.histo(v), ref)
    assert ours.histo(v).sum == torch_histo(v, default_bins, None).sum
