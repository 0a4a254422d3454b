//! Histograms with the exact semantics of `torch.utils.tensorboard` (and tensorboardX), which
//! build them with `numpy.histogram` on a float64 copy of the values.
//!
//! * [`default_edges`]: TensorBoard's default bucket edges (`0` and `±1e-12·1.1^k` below `1e20`,
//!   1549 edges). [`default_bin`] finds a value's bin directly: one load from a table indexed by
//!   the float's sign, exponent and top 4 mantissa bits (a cell narrower than the gap between
//!   two edges, so it holds at most one), then one comparison against that exact edge. The
//!   result is the bin numpy's `searchsorted` picks (half-open `[a, b)` bins with a closed last
//!   bin), without a binary search. `f32`-exact inputs use an 8192-cell float32 table, others a
//!   65536-cell float64 one; both are built on first use and checked against a binary search
//!   in the tests.
//! * [`Bins`]: the default edges, numpy's equal-width bins (the edges `numpy.histogram_bin_edges`
//!   returns for an integer count or a rule such as `"auto"`, counted with numpy's own
//!   equal-width formula and corrections), or explicit edges (counted as numpy's `searchsorted`).
//! * [`histogram`]: one pass over any slice of [`Sample`]s (floats, 16-bit floats, integers,
//!   bools), split across rayon's threads for large inputs, then torch's layout: the occupied
//!   range of bins, preceded by the empty bucket that marks its left edge.
//!
//! **`sum` and `sum_squares`** are numpy's pairwise sums of the values converted to `f64`
//! (and of their squares), added in exactly numpy's order (`pairwise_sum`: leaves of at most
//! 128 values with 8 running sums, halves split at `n / 2` rounded down to a multiple of 8):
//! `sum` is `values.astype(float).sum()`, torch's, bit for bit, and `sum_squares` is
//! `(v * v).sum()` (torch computes `v.dot(v)`, a BLAS dot product that can differ in the last
//! bits). Threads take whole nodes of that tree, and the AVX2 and portable builds do the same
//! operations in the same order (no fused multiply-add), so neither the thread count nor the
//! CPU changes a bit. Non-finite values are read as 0 there.
//!
//! **Non-finite values** (NaN, ±inf) are left out of everything: buckets, `num`, `min`, `max`,
//! `sum`, `sum_squares`. torch keeps them in the statistics (writing NaN or infinite `min`/`max`
//! that TensorBoard cannot draw) or raises, depending on the bins; ferroboard's rule is the same
//! for every kind of bins. Finite values outside the outermost edges are, as in torch, left out
//! of the buckets but counted in `num`, `min`, `max`, `sum` and `sum_squares`.
//!
//! **`max_bins`**: when there are more bins than `max_bins`, torch merges `n / max_bins`
//! (rounded down) adjacent bins, which can leave more than `max_bins` bins (104 of the 1548
//! default bins for `max_bins = 100`). We merge `ceil(n / max_bins)`, so at most `max_bins`
//! bins remain; where torch's count does not overshoot the two are the same number and the
//! results are identical. As in torch, the bucket list then also begins with the empty bucket
//! that marks the left edge of the occupied range.
//!
//! ```
//! use ferroboard_core::summary::histogram::{histogram, Bins};
//!
//! let h = histogram(&[0.5f32, 1.5, f32::NAN, -2.0], Bins::Default, None)?;
//! assert_eq!((h.num, h.min, h.max, h.sum), (3.0, -2.0, 1.5, 0.0));
//! assert_eq!(h.bucket.iter().sum::<f64>(), 3.0);
//! let e = histogram(&[1.0f64, 2.0, 3.0], Bins::Edges(&[0.0, 2.0, 4.0]), None)?;
//! assert_eq!((e.bucket_limit, e.bucket), (vec![0.0, 2.0, 4.0], vec![0.0, 1.0, 2.0]));
//! # Ok::<(), ferroboard_core::summary::histogram::HistogramError>(())
//! ```

use std::fmt;
use std::sync::LazyLock;

use crate::dtype::half::{BF16, F16};
use crate::proto::{summary, HistogramProto};

/// Number of TensorBoard default edges (774 negative, 0, 774 positive).
pub const DEFAULT_EDGE_COUNT: usize = 1549;

/// Number of bins between the default edges.
pub const DEFAULT_BIN_COUNT: usize = DEFAULT_EDGE_COUNT - 1;

/// Number of positive default edges (`1e-12 * 1.1^k`, `k = 0..774`).
const POSITIVE_EDGES: usize = 774;

/// Index of the edge `0` among the default edges; also the bin `[0, 1e-12)`.
#[cfg(test)]
const ZERO_EDGE: usize = POSITIVE_EDGES;

/// Each lookup cell spans one binary exponent split by this many leading mantissa bits, so a
/// cell is at most `1 + 2^-4` wide (relative), narrower than the `1.1` between two edges: a cell
/// holds at most one edge.
const CELL_MANTISSA_BITS: u32 = 4;
const CELL_SHIFT: u32 = 52 - CELL_MANTISSA_BITS;

/// Inputs at least this long are split across rayon's threads.
pub(crate) const PARALLEL_THRESHOLD: usize = 1 << 16;

/// A number that can go into a histogram: converted to `f64` as numpy's `astype(float)` does
/// (exactly for floats and integers up to 2^53, rounded to nearest beyond).
pub trait Sample: Copy + Send + Sync {
    /// Whether every value of the type is exactly an `f32`: then [`Sample::to_f32`] is exact
    /// and the default bins are found with a float32 lookup table (half the memory traffic).
    const EXACT_IN_F32: bool = false;
    /// The value as `f64`.
    fn to_f64(self) -> f64;
    /// The value as `f32` (exact when [`Sample::EXACT_IN_F32`]).
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self.to_f64() as f32
    }
}

macro_rules! sample_as {
    ($exact:expr => $($t:ty),*) => {$(
        impl Sample for $t {
            const EXACT_IN_F32: bool = $exact;
            #[inline(always)]
            #[allow(clippy::cast_lossless)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            #[allow(clippy::cast_lossless)]
            fn to_f32(self) -> f32 {
                self as f32
            }
        }
    )*};
}
sample_as!(false => f64, i32, i64, u32, u64);
sample_as!(true => f32, i8, i16, u8, u16);

impl Sample for bool {
    const EXACT_IN_F32: bool = true;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(u8::from(self))
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(u8::from(self))
    }
}

impl Sample for F16 {
    const EXACT_IN_F32: bool = true;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        F16::to_f64(self)
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        F16::to_f32(self)
    }
}

impl Sample for BF16 {
    const EXACT_IN_F32: bool = true;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        BF16::to_f64(self)
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        BF16::to_f32(self)
    }
}

/// One lookup cell: its values below `edge` go to slot `below`, the others to `below + 1`.
/// A cell whose values all share one slot has a NaN `edge` (no value compares `>=` to NaN).
#[derive(Clone, Copy, Debug)]
#[repr(C, align(16))]
struct Cell {
    edge: f64,
    below: u32,
}

/// Slots of the default table: 0 for values below `-v_max`, `1 + i` for bin `i`, and
/// `DEFAULT_BIN_COUNT + 1` for values above `v_max` (and, arbitrarily, NaN and infinities,
/// which the statistics pass accounts for).
const DEFAULT_SLOTS: usize = DEFAULT_BIN_COUNT + 2;

/// A lookup cell for `f32` values: as [`Cell`], with the smallest `f32` at or above the edge
/// (for an `f32` value `x`, `x >= edge` exactly when `x >= that f32`).
#[derive(Clone, Copy, Debug)]
#[repr(C, align(8))]
struct Cell32 {
    edge: f32,
    below: u32,
}

/// `f32` cells are keyed by `bits >> CELL_SHIFT_F32` (sign, exponent, 4 mantissa bits).
const CELL_SHIFT_F32: u32 = 23 - CELL_MANTISSA_BITS;

/// The slot numpy's `searchsorted` semantics give `x` (finite or not) among `edges`.
fn reference_slot(edges: &[f64], x: f64) -> u32 {
    let n = edges.len() - 1;
    if x.is_nan() || x > edges[n] {
        return n as u32 + 1;
    }
    if x < edges[0] {
        return 0;
    }
    if x == edges[n] {
        return n as u32;
    }
    edges.partition_point(|&e| e <= x) as u32
}

/// Floats in order as integers (`-0.0` and `0.0` both map to 0).
fn ordered(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    if b < 0 {
        -(b & i64::MAX)
    } else {
        b
    }
}

fn from_ordered(i: i64) -> f64 {
    if i < 0 {
        f64::from_bits(i.unsigned_abs() | (1 << 63))
    } else {
        f64::from_bits(i as u64)
    }
}

/// All 1549 default edges, ascending.
static EDGES: LazyLock<Vec<f64>> = LazyLock::new(|| {
    // Built exactly as torch's writer builds its `default_bins`: repeated multiplication.
    let mut positive = Vec::with_capacity(POSITIVE_EDGES);
    let mut v = 1e-12f64;
    while v < 1e20 {
        positive.push(v);
        v *= 1.1;
    }
    assert_eq!(positive.len(), POSITIVE_EDGES);
    let mut edges: Vec<f64> = positive.iter().rev().map(|v| -v).collect();
    edges.push(0.0);
    edges.extend_from_slice(&positive);
    edges
});

/// One cell per value of an `f64`'s `bits >> CELL_SHIFT` (sign, exponent, 4 mantissa bits):
/// 65536, built on first use (a few milliseconds).
/// Number of cells of the `f64` table (one per `bits >> CELL_SHIFT`).
const CELL_COUNT: usize = 1 << (64 - CELL_SHIFT);

/// Number of cells of the `f32` table (one per `bits >> CELL_SHIFT_F32`).
const CELL_COUNT_F32: usize = 1 << (32 - CELL_SHIFT_F32);

static CELLS: LazyLock<Box<[Cell; CELL_COUNT]>> = LazyLock::new(|| {
    let edges: &[f64] = &EDGES;
    (0..1u64 << (64 - CELL_SHIFT))
        .map(|key| {
            let exponent = (key >> CELL_MANTISSA_BITS) & 0x7ff;
            if exponent == 0x7ff {
                return Cell {
                    edge: f64::NAN,
                    below: DEFAULT_SLOTS as u32 - 1,
                };
            }
            // The cell's values, smallest and largest, in the order of the reals.
            let first = f64::from_bits(key << CELL_SHIFT);
            let last = f64::from_bits(((key + 1) << CELL_SHIFT) - 1);
            let (lo, hi) = if first <= last {
                (first, last)
            } else {
                (last, first)
            };
            let (slot_lo, slot_hi) = (reference_slot(edges, lo), reference_slot(edges, hi));
            if slot_lo == slot_hi {
                return Cell {
                    edge: f64::NAN,
                    below: slot_lo,
                };
            }
            // Slots never decrease with x; a cell is narrower than the gap between two edges,
            // so the slot changes once, by one: find the smallest value taking the upper one.
            assert_eq!(slot_hi, slot_lo + 1, "a lookup cell spans two edges");
            let (mut a, mut b) = (ordered(lo), ordered(hi));
            while a < b {
                let mid = a + (b - a) / 2;
                if reference_slot(edges, from_ordered(mid)) == slot_hi {
                    b = mid;
                } else {
                    a = mid + 1;
                }
            }
            Cell {
                edge: from_ordered(a),
                below: slot_lo,
            }
        })
        .collect::<Box<[Cell]>>()
        .try_into()
        .expect("one cell per key")
});

/// One cell per value of an `f32`'s `bits >> CELL_SHIFT_F32`: 8192, built on first use.
static CELLS32: LazyLock<Box<[Cell32; CELL_COUNT_F32]>> = LazyLock::new(|| {
    let edges: &[f64] = &EDGES;
    (0..1u32 << (32 - CELL_SHIFT_F32))
        .map(|key| {
            let exponent = (key >> CELL_MANTISSA_BITS) & 0xff;
            if exponent == 0xff {
                return Cell32 {
                    edge: f32::NAN,
                    below: DEFAULT_SLOTS as u32 - 1,
                };
            }
            let first = f32::from_bits(key << CELL_SHIFT_F32);
            let last = f32::from_bits(((key + 1) << CELL_SHIFT_F32) - 1);
            let (lo, hi) = if first <= last {
                (first, last)
            } else {
                (last, first)
            };
            let slot = |x: f32| reference_slot(edges, f64::from(x));
            let (slot_lo, slot_hi) = (slot(lo), slot(hi));
            if slot_lo == slot_hi {
                return Cell32 {
                    edge: f32::NAN,
                    below: slot_lo,
                };
            }
            assert_eq!(slot_hi, slot_lo + 1, "a lookup cell spans two edges");
            // The smallest f32 taking the upper slot.
            let (mut a32, mut b32) = (ordered32(lo), ordered32(hi));
            while a32 < b32 {
                let mid = a32 + (b32 - a32) / 2;
                if slot(from_ordered32(mid)) == slot_hi {
                    b32 = mid;
                } else {
                    a32 = mid + 1;
                }
            }
            Cell32 {
                edge: from_ordered32(a32),
                below: slot_lo,
            }
        })
        .collect::<Box<[Cell32]>>()
        .try_into()
        .expect("one cell per key")
});

/// `f32` values in order as integers (`-0.0` and `0.0` both map to 0).
fn ordered32(x: f32) -> i32 {
    let b = x.to_bits() as i32;
    if b < 0 {
        -(b & i32::MAX)
    } else {
        b
    }
}

fn from_ordered32(i: i32) -> f32 {
    if i < 0 {
        f32::from_bits(i.unsigned_abs() | (1 << 31))
    } else {
        f32::from_bits(i as u32)
    }
}

/// TensorBoard's default histogram edges, as torch's `SummaryWriter.default_bins`: `0` and
/// `±1e-12 * 1.1^k` for every `k` with `1e-12 * 1.1^k < 1e20`, built by repeated
/// multiplication. 1549 edges, ascending.
pub fn default_edges() -> &'static [f64] {
    &EDGES
}

/// The default bin (`0..1548`) that `numpy.histogram` puts `x` in, or `None` when `x` lies
/// outside the edges or is not finite. Bin `i` is `[e_i, e_{i+1})`, the last one
/// `[e_1547, e_1548]`; `-0.0` is `0.0`.
#[inline]
pub fn default_bin(x: f64) -> Option<usize> {
    let slot = default_slot(&CELLS, x);
    (x.is_finite() && (1..=DEFAULT_BIN_COUNT).contains(&slot)).then(|| slot - 1)
}

/// The default slot of `x`: one table load and one comparison.
#[inline(always)]
fn default_slot(cells: &[Cell; CELL_COUNT], x: f64) -> usize {
    let cell = cells[(x.to_bits() >> CELL_SHIFT) as usize];
    (cell.below + u32::from(x >= cell.edge)) as usize
}

/// The default slot of the `f32` value `x`, from the float32 table.
#[inline(always)]
fn default_slot32(cells: &[Cell32; CELL_COUNT_F32], x: f32) -> usize {
    let cell = cells[(x.to_bits() >> CELL_SHIFT_F32) as usize];
    (cell.below + u32::from(x >= cell.edge)) as usize
}

/// How values are assigned to bins.
#[derive(Clone, Copy, Debug)]
pub enum Bins<'a> {
    /// TensorBoard's default edges ([`default_edges`]); torch's `bins="tensorflow"`.
    Default,
    /// Equal-width edges as `numpy.histogram_bin_edges` returns them for an integer bin count
    /// or a named rule (`numpy.linspace(first, last, n + 1)`), counted with numpy's equal-width
    /// formula and its one-step corrections against the edges, so every value lands where
    /// `numpy.histogram` with that integer count or rule puts it. (Where that formula is more
    /// than one bin off, at the extremes of the float range, numpy miscounts or raises; those
    /// values are counted by the edges instead.)
    Uniform(&'a [f64]),
    /// Explicit edges, strictly increasing and finite, counted as `numpy.histogram` does with
    /// an array of edges (`searchsorted`: half-open bins, the last one closed).
    Edges(&'a [f64]),
}

/// Why a histogram could not be built.
#[derive(Clone, Debug, PartialEq)]
pub enum HistogramError {
    /// There were no values at all.
    Empty,
    /// Every value was NaN or infinite.
    NoFiniteValues,
    /// No finite value lies within the outermost edges; `min` and `max` of the finite values.
    OutsideEdges {
        /// Smallest finite value.
        min: f64,
        /// Largest finite value.
        max: f64,
        /// First edge.
        first_edge: f64,
        /// Last edge.
        last_edge: f64,
    },
    /// The edges are not usable; the text says why.
    InvalidEdges(String),
    /// `max_bins` was 0.
    InvalidMaxBins,
    /// Raw histogram data that is inconsistent; the text names the field and the problem.
    InvalidRaw(String),
}

impl fmt::Display for HistogramError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistogramError::Empty => write!(f, "values: expected at least one value, got none"),
            HistogramError::NoFiniteValues => write!(
                f,
                "values: every value is NaN or infinite; non-finite values are left out of \
                 histograms, so nothing remains to draw"
            ),
            HistogramError::OutsideEdges {
                min,
                max,
                first_edge,
                last_edge,
            } => write!(
                f,
                "values: every finite value (from {min:e} to {max:e}) lies outside the bin \
                 edges [{first_edge:e}, {last_edge:e}], so no bucket is occupied"
            ),
            HistogramError::InvalidEdges(why) => write!(f, "bins: {why}"),
            HistogramError::InvalidMaxBins => {
                write!(f, "max_bins: expected a positive number of bins, got 0")
            }
            HistogramError::InvalidRaw(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for HistogramError {}

/// A histogram in TensorBoard's legacy layout (`HistogramProto`): bucket `i` holds
/// `bucket[i]` values and ends at `bucket_limit[i]`; the first bucket is the empty one marking
/// the left edge of the occupied range, as torch writes it. The reader decodes every
/// `HistogramProto` into this type too ([`crate::reader::tensor::decode_histogram`]), with the
/// fields as the file holds them, unchecked.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Histogram {
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Number of values.
    pub num: f64,
    /// Sum of the values.
    pub sum: f64,
    /// Sum of the squares of the values.
    pub sum_squares: f64,
    /// Right edge of each bucket, ascending.
    pub bucket_limit: Vec<f64>,
    /// Count in each bucket.
    pub bucket: Vec<f64>,
}

impl Histogram {
    /// A histogram from raw parts, as `add_histogram_raw` takes them, after checking that it
    /// can be drawn: as many limits as counts (at least one), finite strictly increasing
    /// limits, finite non-negative counts, finite `min <= max`, a finite non-negative `num`,
    /// and no NaN in `sum` or `sum_squares`.
    pub fn from_raw(
        min: f64,
        max: f64,
        num: f64,
        sum: f64,
        sum_squares: f64,
        bucket_limit: Vec<f64>,
        bucket: Vec<f64>,
    ) -> Result<Histogram, HistogramError> {
        let bad = |s: String| Err(HistogramError::InvalidRaw(s));
        if bucket_limit.len() != bucket.len() {
            return bad(format!(
                "bucket_limits and bucket_counts: expected the same length, got {} limits and \
                 {} counts",
                bucket_limit.len(),
                bucket.len()
            ));
        }
        if bucket.is_empty() {
            return bad(
                "bucket_limits and bucket_counts: expected at least one bucket, got none".into(),
            );
        }
        if let Some(i) = bucket_limit.iter().position(|v| !v.is_finite()) {
            return bad(format!(
                "bucket_limits: expected finite numbers, got {} at index {i}",
                bucket_limit[i]
            ));
        }
        if let Some(i) = bucket_limit.windows(2).position(|w| w[0] >= w[1]) {
            return bad(format!(
                "bucket_limits: expected strictly increasing limits, got {} at index {i} then \
                 {} at index {}",
                bucket_limit[i],
                bucket_limit[i + 1],
                i + 1
            ));
        }
        if let Some(i) = bucket.iter().position(|c| !(c.is_finite() && *c >= 0.0)) {
            return bad(format!(
                "bucket_counts: expected finite non-negative counts, got {} at index {i}",
                bucket[i]
            ));
        }
        if !min.is_finite() || !max.is_finite() {
            return bad(format!(
                "min and max: expected finite numbers, got min={min}, max={max}"
            ));
        }
        if min > max {
            return bad(format!(
                "min and max: expected min <= max, got min={min}, max={max}"
            ));
        }
        if !(num.is_finite() && num >= 0.0) {
            return bad(format!(
                "num: expected a finite non-negative count, got {num}"
            ));
        }
        if sum.is_nan() {
            return bad("sum: expected a number, got NaN".into());
        }
        if sum_squares.is_nan() || sum_squares < 0.0 {
            return bad(format!(
                "sum_squares: expected a non-negative number, got {sum_squares}"
            ));
        }
        Ok(Histogram {
            min,
            max,
            num,
            sum,
            sum_squares,
            bucket_limit,
            bucket,
        })
    }

    /// The `HistogramProto` message.
    pub fn to_proto(&self) -> HistogramProto {
        HistogramProto {
            min: self.min,
            max: self.max,
            num: self.num,
            sum: self.sum,
            sum_squares: self.sum_squares,
            bucket_limit: self.bucket_limit.clone(),
            bucket: self.bucket.clone(),
        }
    }

    /// The summary value torch's `add_histogram` writes: `tag` and a legacy `histo`.
    pub fn to_value(&self, tag: String) -> summary::Value {
        super::value(tag, None, summary::value::Value::Histo(self.to_proto()))
    }
}

/// Counts and statistics of one stretch of the input: `counts` has one entry per slot of the
/// binning function; the statistics cover finite values only, `sum` and `sum_squares` being
/// the stretch's node of numpy's pairwise summation tree (see [`pairwise_split`]).
struct Partial {
    counts: Vec<u64>,
    nonfinite: u64,
    min: f64,
    max: f64,
    sum: f64,
    sum_squares: f64,
}

impl Partial {
    /// `self` followed by `right`: counts and extremes combined, sums added as numpy adds the
    /// two halves of a node.
    fn merge(mut self, right: &Partial) -> Partial {
        for (a, b) in self.counts.iter_mut().zip(&right.counts) {
            *a += b;
        }
        self.nonfinite += right.nonfinite;
        self.min = self.min.min(right.min);
        self.max = self.max.max(right.max);
        self.sum += right.sum;
        self.sum_squares += right.sum_squares;
        self
    }
}

/// Independent counters per thread: runs of equal slots do not wait on one another's stores.
const LANES: usize = 4;

/// numpy's unrolling: 8 partial sums per leaf of the pairwise tree.
const STAT_LANES: usize = 8;

/// numpy's `PW_BLOCKSIZE`: nodes at most this long are leaves of the pairwise tree.
const PW_BLOCK: usize = 128;

/// Nodes of the pairwise tree at most this long are binned right after their statistics,
/// while they are still in the L1 cache.
const FUSE: usize = 2048;

/// Largest number of values counted in the per-lane `u32` counters before they are added up.
const LANE_LIMIT: usize = u32::MAX as usize - FUSE;

/// Where numpy's pairwise summation splits a node of `n > PW_BLOCK` values: half, rounded
/// down to a multiple of the unrolling (`n2 = n / 2; n2 -= n2 % 8` in numpy's
/// `pairwise_sum`). The sum of a node is the sum of its two halves' sums.
#[inline(always)]
fn pairwise_split(n: usize) -> usize {
    let h = n / 2;
    h - h % STAT_LANES
}

/// Per-lane extremes of the finite values and the count of non-finite ones. Lane `j` sees
/// the values at positions `j mod 8` of each `FUSE` node, whatever the instruction set.
#[derive(Clone, Copy)]
struct Extremes {
    min: [f64; STAT_LANES],
    max: [f64; STAT_LANES],
    nonfinite: u64,
}

impl Extremes {
    fn new() -> Self {
        Extremes {
            min: [f64::INFINITY; STAT_LANES],
            max: [f64::NEG_INFINITY; STAT_LANES],
            nonfinite: 0,
        }
    }

    /// The extremes of `v`, all of them finite.
    #[inline(always)]
    fn add_finite(&mut self, v: &[f64]) {
        let (mn, mx) = (&mut self.min, &mut self.max);
        let mut chunks = v.chunks_exact(STAT_LANES);
        for chunk in &mut chunks {
            for lane in 0..STAT_LANES {
                let x = chunk[lane];
                mn[lane] = if x < mn[lane] { x } else { mn[lane] };
                mx[lane] = if x > mx[lane] { x } else { mx[lane] };
            }
        }
        for (lane, &x) in chunks.remainder().iter().enumerate() {
            mn[lane] = if x < mn[lane] { x } else { mn[lane] };
            mx[lane] = if x > mx[lane] { x } else { mx[lane] };
        }
    }

    /// [`Extremes::add_finite`] with AVX2 instructions: the same lanes, and `vminpd(x, m)` is
    /// `if x < m { x } else { m }` (and `vmaxpd` likewise).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline]
    fn add_finite_avx2(&mut self, v: &[f64]) {
        use std::arch::x86_64::*;
        let full = v.len() - v.len() % STAT_LANES;
        // SAFETY: every load reads 4 values within `v[..full]`; the extremes are [f64; 8].
        unsafe {
            let p = v.as_ptr();
            let mut mn0 = _mm256_loadu_pd(self.min.as_ptr());
            let mut mn1 = _mm256_loadu_pd(self.min.as_ptr().add(4));
            let mut mx0 = _mm256_loadu_pd(self.max.as_ptr());
            let mut mx1 = _mm256_loadu_pd(self.max.as_ptr().add(4));
            let mut i = 0;
            while i < full {
                let x0 = _mm256_loadu_pd(p.add(i));
                let x1 = _mm256_loadu_pd(p.add(i + 4));
                mn0 = _mm256_min_pd(x0, mn0);
                mn1 = _mm256_min_pd(x1, mn1);
                mx0 = _mm256_max_pd(x0, mx0);
                mx1 = _mm256_max_pd(x1, mx1);
                i += STAT_LANES;
            }
            _mm256_storeu_pd(self.min.as_mut_ptr(), mn0);
            _mm256_storeu_pd(self.min.as_mut_ptr().add(4), mn1);
            _mm256_storeu_pd(self.max.as_mut_ptr(), mx0);
            _mm256_storeu_pd(self.max.as_mut_ptr().add(4), mx1);
        }
        self.add_finite(&v[full..]);
    }

    /// The extremes of the finite values of `v`, and the count of the others.
    #[inline(never)]
    fn add_masked(&mut self, v: &[f64]) {
        for (i, &x) in v.iter().enumerate() {
            let lane = i % STAT_LANES;
            if x.is_finite() {
                self.min[lane] = if x < self.min[lane] {
                    x
                } else {
                    self.min[lane]
                };
                self.max[lane] = if x > self.max[lane] {
                    x
                } else {
                    self.max[lane]
                };
            } else {
                self.nonfinite += 1;
            }
        }
    }
}

/// One leaf of numpy's pairwise summation (`n <= 128` values), for the values and for their
/// squares, exactly as numpy's `pairwise_sum` adds them: below 8 values one after another
/// from 0; otherwise 8 running sums started from the first 8 values, combined as
/// `((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))`, then the values left over one by one.
#[inline(always)]
fn leaf_sums(v: &[f64]) -> (f64, f64) {
    let n = v.len();
    if n < STAT_LANES {
        let (mut s, mut q) = (0.0, 0.0);
        for &x in v {
            s += x;
            q += x * x;
        }
        return (s, q);
    }
    let mut r = [0.0f64; STAT_LANES];
    let mut rq = [0.0f64; STAT_LANES];
    for lane in 0..STAT_LANES {
        r[lane] = v[lane];
        rq[lane] = v[lane] * v[lane];
    }
    let full = n - n % STAT_LANES;
    for chunk in v[STAT_LANES..full].chunks_exact(STAT_LANES) {
        for lane in 0..STAT_LANES {
            r[lane] += chunk[lane];
            rq[lane] += chunk[lane] * chunk[lane];
        }
    }
    leaf_finish(v, full, &r, &rq)
}

/// The end of a leaf: the 8 running sums combined as numpy combines them, then the values
/// from `full` on added one by one.
#[inline(always)]
fn leaf_finish(v: &[f64], full: usize, r: &[f64; 8], rq: &[f64; 8]) -> (f64, f64) {
    let mut s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    let mut q = ((rq[0] + rq[1]) + (rq[2] + rq[3])) + ((rq[4] + rq[5]) + (rq[6] + rq[7]));
    for &x in &v[full..] {
        s += x;
        q += x * x;
    }
    (s, q)
}

/// [`leaf_sums`] with AVX2 instructions: the same additions and multiplications in the same
/// order (no fused multiply-add), so the same results.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn leaf_sums_avx2(v: &[f64]) -> (f64, f64) {
    use std::arch::x86_64::*;
    let n = v.len();
    if n < STAT_LANES {
        return leaf_sums(v);
    }
    let full = n - n % STAT_LANES;
    let (mut r, mut rq) = ([0.0f64; 8], [0.0f64; 8]);
    // SAFETY: every load reads 4 values within `v[..full]`; the stores fill the two arrays.
    unsafe {
        let p = v.as_ptr();
        let mut r0 = _mm256_loadu_pd(p);
        let mut r1 = _mm256_loadu_pd(p.add(4));
        let mut q0 = _mm256_mul_pd(r0, r0);
        let mut q1 = _mm256_mul_pd(r1, r1);
        let mut i = STAT_LANES;
        while i < full {
            let x0 = _mm256_loadu_pd(p.add(i));
            let x1 = _mm256_loadu_pd(p.add(i + 4));
            r0 = _mm256_add_pd(r0, x0);
            r1 = _mm256_add_pd(r1, x1);
            q0 = _mm256_add_pd(q0, _mm256_mul_pd(x0, x0));
            q1 = _mm256_add_pd(q1, _mm256_mul_pd(x1, x1));
            i += STAT_LANES;
        }
        _mm256_storeu_pd(r.as_mut_ptr(), r0);
        _mm256_storeu_pd(r.as_mut_ptr().add(4), r1);
        _mm256_storeu_pd(rq.as_mut_ptr(), q0);
        _mm256_storeu_pd(rq.as_mut_ptr().add(4), q1);
    }
    leaf_finish(v, full, &r, &rq)
}

/// numpy's pairwise sums of the node `v` (and of its squares): halves split at
/// [`pairwise_split`] down to leaves of at most `PW_BLOCK` values, each node's sum the sum of
/// its halves'. A leaf is first added as is (the usual case: all values finite); a non-finite
/// sum means a NaN or infinity was among them (or the finite values overflow), and the leaf is
/// added again with non-finite values read as 0 (the same sums for finite values), which
/// clears `*clean`. Walked with explicit stacks rather than recursion, so that it is inlined,
/// leaves included, into the caller's vector code.
#[inline(always)]
fn pairwise_node<const AVX2: bool>(v: &[f64], clean: &mut bool) -> (f64, f64) {
    // A node of `FUSE` values is 5 levels deep: at most 1 + 2 * 4 nodes wait at once.
    const STACK: usize = 16;
    const { assert!(FUSE <= PW_BLOCK << 4) };
    assert!(v.len() <= FUSE);
    // Nodes to visit: (start, len, halves done?).
    let mut todo = [(0usize, 0usize, false); STACK];
    let mut sums = [(0.0f64, 0.0f64); STACK];
    let (mut nt, mut ns) = (1usize, 0usize);
    todo[0] = (0, v.len(), false);
    while nt > 0 {
        nt -= 1;
        let (start, len, halves_done) = todo[nt];
        if len <= PW_BLOCK {
            let leaf = &v[start..start + len];
            #[cfg(target_arch = "x86_64")]
            let (mut s, mut q) = if AVX2 {
                // SAFETY: `AVX2` is true only in `fused_avx2`, called once AVX2 was detected.
                unsafe { leaf_sums_avx2(leaf) }
            } else {
                leaf_sums(leaf)
            };
            #[cfg(not(target_arch = "x86_64"))]
            let (mut s, mut q) = leaf_sums(leaf);
            if !(s.is_finite() && q.is_finite()) {
                *clean = false;
                let mut zeroed = [0.0f64; PW_BLOCK];
                for (z, &x) in zeroed.iter_mut().zip(leaf) {
                    *z = if x.is_finite() { x } else { 0.0 };
                }
                (s, q) = leaf_sums(&zeroed[..len]);
            }
            sums[ns] = (s, q);
            ns += 1;
        } else if halves_done {
            let (s2, q2) = sums[ns - 1];
            let (s1, q1) = sums[ns - 2];
            ns -= 1;
            sums[ns - 1] = (s1 + s2, q1 + q2);
        } else {
            let n2 = pairwise_split(len);
            todo[nt] = (start, len, true);
            todo[nt + 1] = (start + n2, len - n2, false);
            todo[nt + 2] = (start, n2, false);
            nt += 3;
        }
    }
    sums[0]
}

/// The sequential scan of one node of the pairwise tree: statistics, and a count per slot of
/// `bin_of` (which maps every value, finite or not, to a slot below `slots`).
struct Scanner<'f, F> {
    bin_of: &'f F,
    slots: usize,
    /// `LANES` rows of `slots` counters.
    lanes: Vec<u32>,
    /// Values counted in `lanes` since they were last added to `counts`.
    pending: usize,
    counts: Vec<u64>,
    ext: Extremes,
    /// `FUSE` values converted to `f64`.
    buf: Vec<f64>,
    /// Never use the vector-instruction build (the tests compare both).
    portable: bool,
}

impl<F> Scanner<'_, F> {
    fn flush(&mut self) {
        for lane in self.lanes.chunks_exact_mut(self.slots) {
            for (total, c) in self.counts.iter_mut().zip(lane.iter_mut()) {
                *total += u64::from(*c);
                *c = 0;
            }
        }
        self.pending = 0;
    }
}

impl<F> Scanner<'_, F> {
    /// Statistics then bins of a node of at most `FUSE` values: the values are converted to
    /// `f64` once, into a buffer the statistics read while it is in the L1 cache.
    #[inline(always)]
    fn fused_body<T: Sample, const AVX2: bool>(&mut self, v: &[T]) -> (f64, f64)
    where
        F: Fn(T) -> usize + Copy,
    {
        let buf = &mut self.buf[..v.len()];
        for (b, x) in buf.iter_mut().zip(v) {
            *b = x.to_f64();
        }
        let mut clean = true;
        let sums = pairwise_node::<AVX2>(buf, &mut clean);
        if !clean {
            self.ext.add_masked(buf);
        } else {
            #[cfg(target_arch = "x86_64")]
            if AVX2 {
                // SAFETY: `AVX2` is true only in `fused_avx2`, called once AVX2 was detected.
                unsafe { self.ext.add_finite_avx2(buf) };
            } else {
                self.ext.add_finite(buf);
            }
            #[cfg(not(target_arch = "x86_64"))]
            self.ext.add_finite(buf);
        }
        if self.pending + v.len() > LANE_LIMIT {
            self.flush();
        }
        self.pending += v.len();
        let slots = self.slots;
        let (c0, rest) = self.lanes.split_at_mut(slots);
        let (c1, rest) = rest.split_at_mut(slots);
        let (c2, c3) = rest.split_at_mut(slots);
        // A copy in registers: read through `self`, the captured table would be reloaded
        // after every counter store (which the compiler cannot tell apart from it).
        let bin_of = *self.bin_of;
        let mut chunks = v.chunks_exact(LANES);
        for chunk in &mut chunks {
            c0[bin_of(chunk[0])] += 1;
            c1[bin_of(chunk[1])] += 1;
            c2[bin_of(chunk[2])] += 1;
            c3[bin_of(chunk[3])] += 1;
        }
        for x in chunks.remainder() {
            c0[bin_of(*x)] += 1;
        }
        sums
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    fn fused_avx2<T: Sample>(&mut self, v: &[T]) -> (f64, f64)
    where
        F: Fn(T) -> usize + Copy,
    {
        self.fused_body::<T, true>(v)
    }

    #[inline(never)]
    fn fused_portable<T: Sample>(&mut self, v: &[T]) -> (f64, f64)
    where
        F: Fn(T) -> usize + Copy,
    {
        self.fused_body::<T, false>(v)
    }

    /// [`Scanner::fused_body`] with AVX2 instructions where the CPU has them. The result does
    /// not depend on them: every sum is added in numpy's order, with no fused multiply-adds.
    #[inline(always)]
    fn fused<T: Sample>(&mut self, v: &[T]) -> (f64, f64)
    where
        F: Fn(T) -> usize + Copy,
    {
        #[cfg(target_arch = "x86_64")]
        if !self.portable && std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the CPU has AVX2, checked just above.
            return unsafe { self.fused_avx2(v) };
        }
        self.fused_portable(v)
    }

    /// A node of any size: split as numpy splits it down to nodes of at most `FUSE` values.
    fn node<T: Sample>(&mut self, v: &[T]) -> (f64, f64)
    where
        F: Fn(T) -> usize + Copy,
    {
        if v.len() <= FUSE {
            return self.fused(v);
        }
        let (left, right) = v.split_at(pairwise_split(v.len()));
        let (s1, q1) = self.node(left);
        let (s2, q2) = self.node(right);
        (s1 + s2, q1 + q2)
    }
}

/// [`Scanner::node`] over a whole node of the tree, into a [`Partial`].
fn scan<T: Sample, F: Fn(T) -> usize + Copy>(values: &[T], slots: usize, bin_of: &F) -> Partial {
    scan_with(values, slots, bin_of, false)
}

fn scan_with<T: Sample, F: Fn(T) -> usize + Copy>(
    values: &[T],
    slots: usize,
    bin_of: &F,
    portable: bool,
) -> Partial {
    let mut s = Scanner {
        portable,
        bin_of,
        slots,
        lanes: vec![0u32; LANES * slots],
        pending: 0,
        counts: vec![0u64; slots],
        ext: Extremes::new(),
        buf: vec![0.0; values.len().min(FUSE)],
    };
    let (sum, sum_squares) = s.node(values);
    s.flush();
    Partial {
        counts: s.counts,
        nonfinite: s.ext.nonfinite,
        min: s.ext.min.iter().copied().fold(f64::INFINITY, f64::min),
        max: s.ext.max.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        sum,
        sum_squares,
    }
}

/// The scan of a node of the pairwise tree, its halves on rayon's threads while the node is
/// at least `split_from` long. Halves are numpy's, so the sums are numpy's whatever the
/// split and the number of threads.
fn scan_tree<T: Sample, F: Fn(T) -> usize + Sync + Copy>(
    values: &[T],
    slots: usize,
    bin_of: &F,
    split_from: usize,
) -> Partial {
    if values.len() < split_from {
        return scan(values, slots, bin_of);
    }
    let (left, right) = values.split_at(pairwise_split(values.len()));
    let (a, b) = rayon::join(
        || scan_tree(left, slots, bin_of, split_from),
        || scan_tree(right, slots, bin_of, split_from),
    );
    a.merge(&b)
}

/// `scan` over the whole input, in parallel for inputs of `PARALLEL_THRESHOLD` values or more
/// (split into about 4 stretches per thread: each has counters of its own to set up and add
/// up). `sum` and `sum_squares` are numpy's `np.add.reduce` of the values (and of their
/// squares) as float64, with non-finite values read as 0: bit for bit what
/// `values.astype(float).sum()` gives when they are all finite.
fn scan_all<T: Sample, F: Fn(T) -> usize + Sync + Copy>(
    values: &[T],
    slots: usize,
    bin_of: F,
) -> Partial {
    let mut p = if values.len() < PARALLEL_THRESHOLD {
        scan(values, slots, &bin_of)
    } else {
        crate::runtime::parallel::install(|| {
            let stretch = values.len() / (4 * rayon::current_num_threads());
            let split_from = PARALLEL_THRESHOLD.max(2 * stretch);
            scan_tree(values, slots, &bin_of, split_from)
        })
    };
    // numpy's reduction starts from the identity: `0.0 + (-0.0)` is `0.0`.
    p.sum += 0.0;
    p.sum_squares += 0.0;
    p
}

/// numpy's equal-width bin for `x` (see `numpy/lib/_histograms_impl.py`): the index from
/// `(x - first) / (last - first) * n`, truncated, then moved by one where it disagrees with
/// the edges. Values outside `[first, last]` give `n`.
#[inline(always)]
fn uniform_bin(edges: &[f64], x: f64) -> usize {
    let n = edges.len() - 1;
    let first = edges[0];
    let last = edges[n];
    if !(x >= first && x <= last) {
        return n;
    }
    let f = (x - first) / (last - first) * n as f64;
    // `as` saturates (NaN to 0); numpy's index is within 0..=n for any x in range.
    let mut i = (f as usize).min(n - 1);
    if x < edges[i] {
        i = i.saturating_sub(1);
    }
    if i != n - 1 && x >= edges[i + 1] {
        i += 1;
    }
    // The formula lands within one bin of the right one except in extreme cases (widths
    // near the float limits or subnormal), where numpy itself miscounts or fails: there,
    // count by the edges.
    if x < edges[i] || (i != n - 1 && x >= edges[i + 1]) {
        return explicit_bin(edges, x);
    }
    i
}

/// The bin numpy's `searchsorted` path gives `x` for explicit edges, or `n` outside them.
#[inline(always)]
fn explicit_bin(edges: &[f64], x: f64) -> usize {
    let n = edges.len() - 1;
    if !(x >= edges[0] && x <= edges[n]) {
        return n;
    }
    if x == edges[n] {
        return n - 1;
    }
    edges.partition_point(|&e| e <= x) - 1
}

/// Checks explicit bin edges: at least two, finite, strictly increasing.
pub fn check_edges(edges: &[f64]) -> Result<(), HistogramError> {
    if edges.len() < 2 {
        return Err(HistogramError::InvalidEdges(format!(
            "expected at least 2 bin edges, got {}",
            edges.len()
        )));
    }
    if let Some(i) = edges.iter().position(|e| !e.is_finite()) {
        return Err(HistogramError::InvalidEdges(format!(
            "expected finite bin edges, got {} at index {i}",
            edges[i]
        )));
    }
    if let Some(i) = edges.windows(2).position(|w| w[0] >= w[1]) {
        return Err(HistogramError::InvalidEdges(format!(
            "expected strictly increasing bin edges, got {} at index {i} then {} at index {}",
            edges[i],
            edges[i + 1],
            i + 1
        )));
    }
    Ok(())
}

/// The statistics of the finite values and one count per bin (values outside the edges not
/// counted), before torch's trimming: `(partial, first bin's slot, number of bins)`.
fn count<T: Sample>(
    values: &[T],
    bins: &Bins<'_>,
) -> Result<(Partial, usize, usize), HistogramError> {
    Ok(match *bins {
        Bins::Default => {
            let p = if T::EXACT_IN_F32 {
                let cells: &[Cell32; CELL_COUNT_F32] = &CELLS32;
                scan_all(values, DEFAULT_SLOTS, move |v: T| {
                    default_slot32(cells, v.to_f32())
                })
            } else {
                let cells: &[Cell; CELL_COUNT] = &CELLS;
                scan_all(values, DEFAULT_SLOTS, move |v: T| {
                    default_slot(cells, v.to_f64())
                })
            };
            (p, 1, DEFAULT_BIN_COUNT)
        }
        Bins::Uniform(edges) => {
            check_edges(edges)?;
            let n = edges.len() - 1;
            (
                scan_all(values, n + 1, move |v: T| uniform_bin(edges, v.to_f64())),
                0,
                n,
            )
        }
        Bins::Edges(edges) => {
            check_edges(edges)?;
            let n = edges.len() - 1;
            (
                scan_all(values, n + 1, move |v: T| explicit_bin(edges, v.to_f64())),
                0,
                n,
            )
        }
    })
}

/// The histogram torch's `add_histogram` writes for `values` (non-finite values left out, see
/// the module notes), with at most `max_bins` bins when given.
pub fn histogram<T: Sample>(
    values: &[T],
    bins: Bins<'_>,
    max_bins: Option<usize>,
) -> Result<Histogram, HistogramError> {
    if max_bins == Some(0) {
        return Err(HistogramError::InvalidMaxBins);
    }
    if values.is_empty() {
        return Err(HistogramError::Empty);
    }
    let (p, first, n) = count(values, &bins)?;
    let finite = values.len() as u64 - p.nonfinite;
    if finite == 0 {
        return Err(HistogramError::NoFiniteValues);
    }
    let edges: &[f64] = match bins {
        Bins::Default => default_edges(),
        Bins::Uniform(e) | Bins::Edges(e) => e,
    };
    let (limits, counts) = layout(&p.counts[first..first + n], edges, max_bins).ok_or(
        HistogramError::OutsideEdges {
            min: p.min,
            max: p.max,
            first_edge: edges[0],
            last_edge: edges[n],
        },
    )?;
    Ok(Histogram {
        min: p.min,
        max: p.max,
        num: finite as f64,
        sum: p.sum,
        sum_squares: p.sum_squares,
        bucket_limit: limits,
        bucket: counts,
    })
}

/// The statistics of a histogram's values, computed elsewhere (on a device).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Stats {
    /// Smallest finite value.
    pub min: f64,
    /// Largest finite value.
    pub max: f64,
    /// Number of finite values.
    pub num: f64,
    /// Sum of the finite values.
    pub sum: f64,
    /// Sum of their squares.
    pub sum_squares: f64,
}

/// The histogram [`histogram`] writes, from bin counts made elsewhere (a CUDA device counts
/// the values into the same bins, then only the counts and [`Stats`] travel to the host):
/// `counts[i]` values in `[edges[i], edges[i + 1])` (the last bin closed), `edges` as
/// [`Bins::Default`] (`None`: [`default_edges`]) or explicit edges. The same checks and the
/// same layout as [`histogram`].
pub fn histogram_from_counts(
    counts: &[u64],
    edges: Option<&[f64]>,
    stats: Stats,
    max_bins: Option<usize>,
) -> Result<Histogram, HistogramError> {
    if max_bins == Some(0) {
        return Err(HistogramError::InvalidMaxBins);
    }
    let edges = match edges {
        None => default_edges(),
        Some(e) => {
            check_edges(e)?;
            e
        }
    };
    let n = edges.len() - 1;
    if counts.len() != n {
        return Err(HistogramError::InvalidRaw(format!(
            "bucket_counts: expected {n} counts for {} edges, got {}",
            edges.len(),
            counts.len()
        )));
    }
    if !(stats.num.is_finite() && stats.num >= 0.0) {
        return Err(HistogramError::InvalidRaw(format!(
            "num: expected a finite non-negative count, got {}",
            stats.num
        )));
    }
    if stats.num == 0.0 {
        return Err(HistogramError::NoFiniteValues);
    }
    let (limits, bucket) = layout(counts, edges, max_bins).ok_or(HistogramError::OutsideEdges {
        min: stats.min,
        max: stats.max,
        first_edge: edges[0],
        last_edge: edges[n],
    })?;
    Ok(Histogram {
        min: stats.min,
        max: stats.max,
        num: stats.num,
        sum: stats.sum,
        sum_squares: stats.sum_squares,
        bucket_limit: limits,
        bucket,
    })
}

/// The merge factor for `n` bins and at most `max_bins` (torch uses `n / max_bins`, which can
/// leave more than `max_bins` bins; rounding up never does).
pub(crate) fn merge_factor(n: usize, max_bins: Option<usize>) -> usize {
    match max_bins {
        Some(m) if m > 0 && n > m => n.div_ceil(m),
        _ => 1,
    }
}

/// torch's `make_histogram` after `np.histogram`: merge adjacent bins for `max_bins`, then keep
/// the occupied range preceded by one empty bucket (the bin left of it, or a zero-count bucket
/// ending at the first edge when the first bin is occupied). `None` when no bin is occupied.
/// Returns (bucket limits, bucket counts).
pub(crate) fn layout(
    counts: &[u64],
    edges: &[f64],
    max_bins: Option<usize>,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let n = counts.len();
    debug_assert_eq!(edges.len(), n + 1);
    let s = merge_factor(n, max_bins);
    let (counts, edges): (Vec<u64>, Vec<f64>) = if s > 1 {
        let merged = counts.chunks(s).map(|c| c.iter().sum()).collect();
        let mut e: Vec<f64> = edges[..n].iter().step_by(s).copied().collect();
        e.push(edges[n]);
        (merged, e)
    } else {
        (counts.to_vec(), edges.to_vec())
    };
    let start = counts.iter().position(|&c| c > 0)?;
    let last = counts.iter().rposition(|&c| c > 0)?;
    let mut out_counts = Vec::with_capacity(last - start + 2);
    if start == 0 {
        out_counts.push(0.0);
    } else {
        out_counts.push(counts[start - 1] as f64);
    }
    out_counts.extend(counts[start..=last].iter().map(|&c| c as f64));
    let out_limits = edges[start..=last + 1].to_vec();
    Some((out_limits, out_counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: numpy's `searchsorted` semantics by binary search over all edges.
    fn reference_bin(edges: &[f64], x: f64) -> Option<usize> {
        let n = edges.len() - 1;
        if !(x >= edges[0] && x <= edges[n]) {
            return None;
        }
        if x == edges[n] {
            return Some(n - 1);
        }
        Some(edges.partition_point(|&e| e <= x) - 1)
    }

    fn next_up(x: f64) -> f64 {
        if x == 0.0 {
            return f64::from_bits(1);
        }
        if x > 0.0 {
            f64::from_bits(x.to_bits() + 1)
        } else {
            f64::from_bits(x.to_bits() - 1)
        }
    }

    fn next_down(x: f64) -> f64 {
        -next_up(-x)
    }

    #[test]
    fn default_edges_match_torch() {
        let e = default_edges();
        assert_eq!(e.len(), DEFAULT_EDGE_COUNT);
        assert_eq!(e[ZERO_EDGE], 0.0);
        assert_eq!(e[ZERO_EDGE + 1], 1e-12);
        assert_eq!(e[ZERO_EDGE - 1], -1e-12);
        assert!(e.windows(2).all(|w| w[0] < w[1]));
        // The last edge, as Python computes it (repeat `v *= 1.1` while `v < 1e20`).
        assert_eq!(e[DEFAULT_EDGE_COUNT - 1], 9.920_775_621_859_783e19);
        assert_eq!(e[0], -e[DEFAULT_EDGE_COUNT - 1]);
    }

    #[test]
    fn cells_cover_the_edges() {
        // Building the table asserts that no cell holds two edges. Every edge is some cell's
        // switching point (0 between the negative subnormals and -0.0), except v_max, which
        // closes the last bin: the value just above it switches to out of range instead.
        let cells: &[Cell; CELL_COUNT] = &CELLS;
        let mut found: Vec<f64> = cells
            .iter()
            .map(|c| c.edge)
            .filter(|e| !e.is_nan())
            .collect();
        found.sort_by(f64::total_cmp);
        let mut expect = default_edges().to_vec();
        let v_max = expect.pop().unwrap();
        expect.push(next_up(v_max));
        let missing: Vec<f64> = expect
            .iter()
            .filter(|e| !found.contains(e))
            .copied()
            .collect();
        let extra: Vec<f64> = found
            .iter()
            .filter(|e| !expect.contains(e))
            .copied()
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "missing {missing:?} extra {extra:?}"
        );
        assert_eq!(found.len(), expect.len());
    }

    fn interesting_values() -> Vec<f64> {
        let mut xs = vec![
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::MAX,
            f64::MIN,
            1e20,
            -1e20,
            1.0,
            -1.0,
            0.5,
            1e-12,
            -1e-12,
            1e-13,
            1e19,
        ];
        for &e in default_edges() {
            for x in [e, next_up(e), next_down(e), next_up(next_up(e)), e * 1.05] {
                xs.push(x);
                xs.push(-x);
            }
        }
        // Cell boundaries: every power-of-two fraction the lookup splits on.
        for key in 0..1u64 << (64 - CELL_SHIFT) {
            let b = f64::from_bits(key << CELL_SHIFT);
            for x in [b, next_up(b), next_down(b)] {
                if x.is_finite() {
                    xs.push(x);
                }
            }
        }
        // A deterministic spread of magnitudes.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            if x.is_finite() {
                xs.push(x);
            }
            // Magnitudes between 1e-14 and 1e22, both signs.
            let m = (state >> 11) as f64 / (1u64 << 53) as f64;
            let y = 10f64.powf(-14.0 + 36.0 * m);
            xs.push(if state & 1 == 0 { y } else { -y });
        }
        xs
    }

    #[test]
    fn direct_lookup_matches_binary_search() {
        let edges = default_edges();
        for x in interesting_values() {
            assert_eq!(
                default_bin(x),
                reference_bin(edges, x),
                "x = {x:e} ({:#x})",
                x.to_bits()
            );
        }
        assert_eq!(default_bin(f64::NAN), None);
        assert_eq!(default_bin(f64::INFINITY), None);
        assert_eq!(default_bin(-0.0), Some(ZERO_EDGE));
        assert_eq!(default_bin(0.0), Some(ZERO_EDGE));
        assert_eq!(default_bin(-f64::from_bits(1)), Some(ZERO_EDGE - 1));
        assert_eq!(
            default_bin(edges[DEFAULT_EDGE_COUNT - 1]),
            Some(DEFAULT_BIN_COUNT - 1)
        );
        assert_eq!(default_bin(edges[0]), Some(0));
        assert_eq!(default_bin(f64::MAX), None);
    }

    #[test]
    fn float32_lookup_matches_binary_search() {
        let t: &[Cell32; CELL_COUNT_F32] = &CELLS32;
        let edges = default_edges();
        let check = |x: f32| {
            if !x.is_finite() {
                return; // any slot: the statistics pass accounts for these
            }
            assert_eq!(
                default_slot32(t, x) as u32,
                reference_slot(edges, f64::from(x)),
                "x = {x:e} ({:#x})",
                x.to_bits()
            );
        };
        // Around every edge (its nearest f32s and their neighbours), both signs.
        for &e in edges {
            let f = e as f32;
            for d in -3i32..=3 {
                let b = i64::from(f.to_bits()) + i64::from(d);
                if (0..=i64::from(u32::MAX)).contains(&b) {
                    check(f32::from_bits(b as u32));
                    check(-f32::from_bits(b as u32));
                }
            }
        }
        // Every cell boundary and its neighbours, NaNs and infinities included.
        for key in 0..1u32 << (32 - CELL_SHIFT_F32) {
            let b = key << CELL_SHIFT_F32;
            for bits in [b, b.wrapping_add(1), b.wrapping_sub(1)] {
                check(f32::from_bits(bits));
            }
        }
        // A deterministic sample of all bit patterns.
        let mut state = 0x2545_f491u32;
        for _ in 0..2_000_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            check(f32::from_bits(state));
        }
    }

    #[test]
    fn uniform_and_explicit_match_reference_on_linspace_edges() {
        for (first, last, n) in [
            (0.0, 1.0, 10usize),
            (-3.7, 11.2, 37),
            (1e-320, 2e-320, 10),
            (-1e300, 1e300, 7),
        ] {
            let edges: Vec<f64> = (0..=n)
                .map(|i| {
                    if i == n {
                        last
                    } else {
                        first + (last - first) / n as f64 * i as f64
                    }
                })
                .collect();
            let mut xs = vec![first, last, next_up(first), next_down(last)];
            for &e in &edges {
                xs.extend([e, next_up(e), next_down(e)]);
            }
            for i in 0..1000 {
                xs.push(first + (last - first) * (f64::from(i) / 999.0));
            }
            for x in xs {
                let r = reference_bin(&edges, x).unwrap_or(n);
                assert_eq!(uniform_bin(&edges, x), r, "x = {x:e}");
                assert_eq!(explicit_bin(&edges, x), r, "x = {x:e}");
            }
        }
    }

    #[test]
    fn layout_like_torch() {
        // Occupied bins 2..=3 of 5: the bucket left of them comes along.
        let edges = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let (l, c) = layout(&[0, 0, 3, 1, 0], &edges, None).unwrap();
        assert_eq!(l, vec![2.0, 3.0, 4.0]);
        assert_eq!(c, vec![0.0, 3.0, 1.0]);
        // First bin occupied: a zero bucket ending at the first edge.
        let (l, c) = layout(&[2, 0, 0, 0, 1], &edges, None).unwrap();
        assert_eq!(l, edges.to_vec());
        assert_eq!(c, vec![0.0, 2.0, 0.0, 0.0, 0.0, 1.0]);
        assert!(layout(&[0, 0, 0, 0, 0], &edges, None).is_none());
    }

    #[test]
    fn max_bins_is_never_exceeded() {
        for n in 1..200usize {
            for m in 1..n + 3 {
                let s = merge_factor(n, Some(m));
                assert!(n.div_ceil(s) <= m, "n={n} m={m}");
                // Minimal: one less would overshoot (or there was nothing to merge).
                assert!(s == 1 || n.div_ceil(s - 1) > m);
            }
        }
        let counts = vec![1u64; DEFAULT_BIN_COUNT];
        let (l, c) = layout(&counts, default_edges(), Some(100)).unwrap();
        // 100 bins plus the leading empty bucket.
        assert_eq!(c.len(), 97 + 1);
        assert_eq!(l.len(), c.len());
        assert_eq!(c.iter().sum::<f64>(), DEFAULT_BIN_COUNT as f64);
        assert_eq!(l[0], default_edges()[0]);
        assert_eq!(*l.last().unwrap(), default_edges()[DEFAULT_BIN_COUNT]);
    }

    #[test]
    fn histogram_statistics_and_policy() {
        let v = [1.0f64, -2.0, f64::NAN, 3.5, f64::INFINITY, 1e30];
        let h = histogram(&v, Bins::Default, None).unwrap();
        assert_eq!(h.num, 4.0);
        assert_eq!(h.min, -2.0);
        assert_eq!(h.max, 1e30);
        assert_eq!(h.sum, 1.0 - 2.0 + 3.5 + 1e30);
        assert_eq!(h.bucket.iter().sum::<f64>(), 3.0);
        assert_eq!(
            histogram::<f64>(&[], Bins::Default, None),
            Err(HistogramError::Empty)
        );
        assert_eq!(
            histogram(&[f64::NAN, f64::NEG_INFINITY], Bins::Default, None),
            Err(HistogramError::NoFiniteValues)
        );
        assert!(matches!(
            histogram(&[1e21f64], Bins::Default, None),
            Err(HistogramError::OutsideEdges { .. })
        ));
        assert!(matches!(
            histogram(&[1.0f64], Bins::Edges(&[0.0, 0.0, 1.0]), None),
            Err(HistogramError::InvalidEdges(_))
        ));
        assert_eq!(
            histogram(&[1.0f64], Bins::Default, Some(0)),
            Err(HistogramError::InvalidMaxBins)
        );
    }

    #[test]
    fn parallel_equals_sequential_counts_and_dtypes_agree() {
        let n = 3 * PARALLEL_THRESHOLD + 17;
        let mut state = 12345u64;
        let v32: Vec<f32> = (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 8.0
            })
            .collect();
        let v64: Vec<f64> = v32.iter().map(|&x| f64::from(x)).collect();
        let a = histogram(&v32, Bins::Default, None).unwrap();
        let b = histogram(&v64, Bins::Default, None).unwrap();
        assert_eq!(a, b);
        let mut expect = vec![0u64; DEFAULT_BIN_COUNT];
        for &x in &v64 {
            expect[default_bin(x).unwrap()] += 1;
        }
        let (l, c) = layout(&expect, default_edges(), None).unwrap();
        assert_eq!(a.bucket_limit, l);
        assert_eq!(a.bucket, c);
        assert_eq!(a.num, n as f64);
        let halves: Vec<F16> = [1.0f32, -0.5, 2.0]
            .iter()
            .map(|&x| F16::from_f32(x))
            .collect();
        let h = histogram(&halves, Bins::Default, None).unwrap();
        assert_eq!((h.min, h.max, h.sum), (-0.5, 2.0, 2.5));
    }

    /// numpy's `pairwise_sum` (numpy/_core/src/umath/loops_utils.h.src), transcribed as is.
    fn numpy_pairwise(a: &[f64]) -> f64 {
        let n = a.len();
        if n < 8 {
            let mut res = 0.0;
            for &x in a {
                res += x;
            }
            res
        } else if n <= 128 {
            let mut r = [0.0; 8];
            r.copy_from_slice(&a[..8]);
            let mut i = 8;
            while i < n - (n % 8) {
                for j in 0..8 {
                    r[j] += a[i + j];
                }
                i += 8;
            }
            let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            while i < n {
                res += a[i];
                i += 1;
            }
            res
        } else {
            let mut n2 = n / 2;
            n2 -= n2 % 8;
            numpy_pairwise(&a[..n2]) + numpy_pairwise(&a[n2..])
        }
    }

    fn random_values(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.3) * 1e3
            })
            .collect()
    }

    /// `sum` and `sum_squares` are numpy's `np.add.reduce` of the float64 values (and of their
    /// squares), non-finite values read as 0; the vector build and the portable build agree
    /// bit for bit on everything, and so do the sequential and parallel paths.
    #[test]
    fn sums_are_numpys_pairwise_sums_on_every_instruction_set() {
        let sizes = [
            1,
            7,
            8,
            9,
            127,
            128,
            129,
            136,
            255,
            256,
            1000,
            2047,
            2048,
            2049,
            4097,
            10_007,
            2 * PARALLEL_THRESHOLD + 5,
            3 * PARALLEL_THRESHOLD + 17,
        ];
        for (k, &n) in sizes.iter().enumerate() {
            let mut values = random_values(n, 99 + k as u64);
            for with_nonfinite in [false, true] {
                if with_nonfinite && n < 8 {
                    continue;
                }
                if with_nonfinite {
                    for (i, bad) in [
                        (n / 3, f64::NAN),
                        (n - 1, f64::NEG_INFINITY),
                        (n / 2, f64::INFINITY),
                    ] {
                        values[i] = bad;
                    }
                }
                let zeroed: Vec<f64> = values
                    .iter()
                    .map(|&x| if x.is_finite() { x } else { 0.0 })
                    .collect();
                let squares: Vec<f64> = zeroed.iter().map(|x| x * x).collect();
                let h = histogram(&values, Bins::Default, None).unwrap();
                assert_eq!(
                    h.sum.to_bits(),
                    (0.0 + numpy_pairwise(&zeroed)).to_bits(),
                    "n={n}"
                );
                assert_eq!(
                    h.sum_squares.to_bits(),
                    (0.0 + numpy_pairwise(&squares)).to_bits(),
                    "n={n}"
                );
                let finite: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
                assert_eq!(h.num, finite.len() as f64);
                assert_eq!(h.min, finite.iter().copied().fold(f64::INFINITY, f64::min));
                assert_eq!(
                    h.max,
                    finite.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                );
                let cells: &[Cell; CELL_COUNT] = &CELLS;
                let bin = move |x: f64| default_slot(cells, x);
                let a = scan_with(&values, DEFAULT_SLOTS, &bin, false);
                let b = scan_with(&values, DEFAULT_SLOTS, &bin, true);
                assert_eq!(a.sum.to_bits(), b.sum.to_bits(), "n={n}");
                assert_eq!(a.sum_squares.to_bits(), b.sum_squares.to_bits(), "n={n}");
                assert_eq!((a.min, a.max, a.nonfinite), (b.min, b.max, b.nonfinite));
                assert_eq!(a.counts, b.counts);
                // The statistics of float32 input are those of its float64 conversion.
                let v32: Vec<f32> = values.iter().map(|&x| x as f32).collect();
                let v32_64: Vec<f64> = v32.iter().map(|&x| f64::from(x)).collect();
                let (h32, h64) = (
                    histogram(&v32, Bins::Default, None).unwrap(),
                    histogram(&v32_64, Bins::Default, None).unwrap(),
                );
                assert_eq!(h32, h64);
            }
        }
        // An overflowing sum of finite values overflows as numpy's does.
        let big = vec![f64::MAX; 9];
        let h = histogram(&big, Bins::Uniform(&[0.0, f64::MAX]), None).unwrap();
        assert_eq!((h.sum, h.sum_squares), (f64::INFINITY, f64::INFINITY));
        assert_eq!(h.num, 9.0);
    }

    #[test]
    fn raw_validation() {
        let ok = Histogram::from_raw(0.0, 2.0, 3.0, 3.0, 5.0, vec![1.0, 2.0], vec![1.0, 2.0]);
        assert!(ok.is_ok());
        let cases: [(Vec<f64>, Vec<f64>, &str); 5] = [
            (vec![1.0], vec![1.0, 2.0], "same length"),
            (vec![2.0, 1.0], vec![1.0, 2.0], "strictly increasing"),
            (vec![1.0, 2.0], vec![-1.0, 2.0], "non-negative"),
            (vec![1.0, f64::NAN], vec![1.0, 2.0], "finite"),
            (vec![], vec![], "at least one"),
        ];
        for (l, c, msg) in cases {
            let e = Histogram::from_raw(0.0, 2.0, 3.0, 3.0, 5.0, l, c).unwrap_err();
            assert!(e.to_string().contains(msg), "{e}");
        }
        let e = Histogram::from_raw(3.0, 2.0, 3.0, 3.0, 5.0, vec![1.0], vec![1.0]).unwrap_err();
        assert!(e.to_string().contains("min <= max"));
    }
}

#[cfg(test)]
mod from_counts_tests {
    use super::*;

    /// numpy's rule, by linear search: `[e_i, e_{i+1})`, the last bin closed, outside dropped.
    fn naive_counts(values: &[f64], edges: &[f64]) -> Vec<u64> {
        let n = edges.len() - 1;
        let mut c = vec![0u64; n];
        for &v in values.iter().filter(|v| v.is_finite()) {
            if v < edges[0] || v > edges[n] {
                continue;
            }
            let i = (0..n).rev().find(|&i| v >= edges[i]).unwrap();
            c[i] += 1;
        }
        c
    }

    fn stats_of(h: &Histogram) -> Stats {
        Stats {
            min: h.min,
            max: h.max,
            num: h.num,
            sum: h.sum,
            sum_squares: h.sum_squares,
        }
    }

    /// Counts made elsewhere with numpy's rule give the histogram `histogram` writes, for the
    /// default edges (values on edges included) and explicit ones, with and without `max_bins`.
    #[test]
    fn counts_made_elsewhere_give_the_same_histogram() {
        let edges = default_edges();
        let mut values: Vec<f64> = edges[700..760].to_vec(); // exactly on edges
        values.extend((0..500).map(|i| f64::from((i * 7919) % 1000) / 37.0 - 13.0));
        values.push(f64::NAN);
        for max_bins in [None, Some(30)] {
            let want = histogram(&values, Bins::Default, max_bins).unwrap();
            let got = histogram_from_counts(
                &naive_counts(&values, edges),
                None,
                stats_of(&want),
                max_bins,
            )
            .unwrap();
            assert_eq!(got, want);
        }
        let explicit = [-5.0, -1.0, 0.0, 0.5, 2.0, 10.0];
        let want = histogram(&values, Bins::Edges(&explicit), None).unwrap();
        let got = histogram_from_counts(
            &naive_counts(&values, &explicit),
            Some(&explicit),
            stats_of(&want),
            None,
        )
        .unwrap();
        assert_eq!(got, want);
    }

    #[test]
    fn bad_counts_are_errors() {
        let s = Stats {
            min: 0.0,
            max: 1.0,
            num: 1.0,
            sum: 0.0,
            sum_squares: 0.0,
        };
        let e = [0.0, 1.0, 2.0];
        assert!(histogram_from_counts(&[1], Some(&e), s, None).is_err());
        assert!(histogram_from_counts(&[0, 0], Some(&e), s, None).is_err());
        let none = Stats { num: 0.0, ..s };
        assert_eq!(
            histogram_from_counts(&[0, 0], Some(&e), none, None),
            Err(HistogramError::NoFiniteValues)
        );
    }
}
