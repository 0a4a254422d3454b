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
//!   bools), split across threads for large inputs, then torch's layout: the occupied
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

use crate::proto::{summary, HistogramProto};

mod edges;
mod layout;
mod logbin;
mod scan;

pub use edges::{default_bin, default_edges, DEFAULT_BIN_COUNT, DEFAULT_EDGE_COUNT};
pub use scan::Sample;

use edges::{
    default_slot, default_slot32, explicit_bin, uniform_bin, Cell, Cell32, CELLS, CELLS32,
    CELL_COUNT, CELL_COUNT_F32, DEFAULT_SLOTS,
};
use layout::layout;
use scan::{scan_all, Partial};

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
                // SAFETY: every cell's slot, plus one, is below `DEFAULT_SLOTS` (the slots are
                // `reference_slot`s of the edges: at most `DEFAULT_BIN_COUNT + 1`), and the
                // function is `default_slot32` of the value as `f32`, as `true` says.
                unsafe {
                    scan_all(
                        values,
                        DEFAULT_SLOTS,
                        move |v: T| default_slot32(cells, v.to_f32()),
                        true,
                    )
                }
            } else {
                let cells: &[Cell; CELL_COUNT] = &CELLS;
                // SAFETY: as above, for the `f64` table.
                unsafe {
                    scan_all(
                        values,
                        DEFAULT_SLOTS,
                        move |v: T| default_slot(cells, v.to_f64()),
                        false,
                    )
                }
            };
            (p, 1, DEFAULT_BIN_COUNT)
        }
        Bins::Uniform(edges) => {
            check_edges(edges)?;
            let n = edges.len() - 1;
            // SAFETY: `uniform_bin` returns at most `n` (`n` itself for values outside).
            let p = unsafe {
                scan_all(
                    values,
                    n + 1,
                    move |v: T| uniform_bin(edges, v.to_f64()),
                    false,
                )
            };
            (p, 0, n)
        }
        Bins::Edges(edges) => {
            check_edges(edges)?;
            let n = edges.len() - 1;
            // SAFETY: `explicit_bin` returns at most `n` (`n` itself for values outside).
            let p = unsafe {
                scan_all(
                    values,
                    n + 1,
                    move |v: T| explicit_bin(edges, v.to_f64()),
                    false,
                )
            };
            (p, 0, n)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtype::half::F16;
    use scan::PARALLEL_THRESHOLD;

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
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
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
