//! Precision-recall curves with the exact arithmetic of TensorBoard's `pr_curve` summary (the
//! `compute_curve` that `torch.utils.tensorboard` copies), stored as torch stores them.
//!
//! For `n` thresholds, each prediction `p` (within `[0, 1]`) goes to bucket `floor(p * (n - 1))`,
//! computed in the prediction's own float type as numpy does (`float32` predictions multiply in
//! `float32`, `float16` ones round the product to `float16`); each example adds its weight to
//! the true-positive histogram (label 1) or the false-positive one (label 0). Reverse
//! cumulative sums give TP and FP at each threshold `i / (n - 1)`, the totals give
//! `TN = FP[0] - FP` and `FN = TP[0] - TP`, and
//! `precision = TP / max(1e-7, TP + FP)`, `recall = TP / max(1e-7, TP + FN)`.
//!
//! Weighted sums are accumulated in the order numpy's `np.histogram(..., weights=...)` uses
//! (sequential sums over blocks of 65536 examples), so even non-integer weights give the
//! same float64 values as torch before the conversion to `float32`.
//!
//! Unlike torch, which silently lowers `num_thresholds` to 127, any count from 2 to
//! [`MAX_THRESHOLDS`] is kept (TensorBoard's own summary defaults to 201).
//!
//! ```
//! use ferroboard_core::summary::pr_curve::{PrCurve, Weights};
//!
//! let c = PrCurve::compute(&[true, false, true], &[0.9f32, 0.2, 0.6], Weights::Unit, 3)?;
//! assert_eq!(c.true_positives, vec![2.0, 2.0, 0.0]);
//! assert_eq!(c.false_positives, vec![1.0, 0.0, 0.0]);
//! assert_eq!(c.precision, vec![2.0 / 3.0, 1.0, 0.0]);
//! let value = c.to_value("eval/pr".into()); // the summary value torch writes
//! assert_eq!(value.tag, "eval/pr");
//! # Ok::<(), ferroboard_core::summary::pr_curve::PrCurveError>(())
//! ```

use std::fmt;

use prost::Message;

use crate::dtype::half::{BF16, F16};
use crate::format::plugins::{self, PR_CURVE_ROWS};
use crate::proto::{summary, DataType, PrCurvePluginData, TensorProto};

/// The most thresholds a curve may have: bucket indices stay exact in `float32`.
pub const MAX_THRESHOLDS: usize = 1 << 24;

/// torch's and TensorBoard's default number of thresholds.
pub const DEFAULT_THRESHOLDS: usize = 127;

/// The floor of the denominators of precision and recall.
pub const MINIMUM_COUNT: f64 = 1e-7;

/// numpy's block length in `np.histogram`: weights are summed block by block.
const NUMPY_BLOCK: usize = 65536;

/// Unweighted inputs at least this long are counted in parallel.
const PARALLEL_THRESHOLD: usize = 1 << 15;

/// A ground-truth label: `Some(true)` for 1, `Some(false)` for 0, `None` for anything else.
pub trait Label: Copy + Send + Sync {
    /// Whether the example is positive, or `None` when the label is neither 0 nor 1.
    fn positive(self) -> Option<bool>;
    /// The label as `f64`, for error messages.
    fn value(self) -> f64;
    /// Branch-free form of [`Label::positive`]: `(1 if positive else 0, valid)`.
    #[inline(always)]
    fn code(self) -> (u32, bool) {
        match self.positive() {
            Some(p) => (u32::from(p), true),
            None => (0, false),
        }
    }
}

impl Label for bool {
    #[inline(always)]
    fn positive(self) -> Option<bool> {
        Some(self)
    }
    fn value(self) -> f64 {
        f64::from(u8::from(self))
    }
}

macro_rules! label_int {
    ($($t:ty),*) => {$(
        impl Label for $t {
            #[inline(always)]
            fn positive(self) -> Option<bool> {
                match self {
                    0 => Some(false),
                    1 => Some(true),
                    _ => None,
                }
            }
            #[allow(clippy::cast_lossless)]
            fn value(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            #[allow(clippy::cast_lossless, clippy::unnecessary_cast)]
            fn code(self) -> (u32, bool) {
                (self as u32 & 1, (self as u64) <= 1)
            }
        }
    )*};
}
label_int!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! label_float {
    ($($t:ty),*) => {$(
        impl Label for $t {
            #[inline(always)]
            fn positive(self) -> Option<bool> {
                if self == 0.0 {
                    Some(false)
                } else if self == 1.0 {
                    Some(true)
                } else {
                    None
                }
            }
            #[allow(clippy::cast_lossless)]
            fn value(self) -> f64 {
                self as f64
            }
        }
    )*};
}
label_float!(f32, f64);

impl Label for F16 {
    #[inline(always)]
    fn positive(self) -> Option<bool> {
        self.to_f32().positive()
    }
    fn value(self) -> f64 {
        self.to_f64()
    }
}

impl Label for BF16 {
    #[inline(always)]
    fn positive(self) -> Option<bool> {
        self.to_f32().positive()
    }
    fn value(self) -> f64 {
        self.to_f64()
    }
}

/// `n - 1` in each float type, as numpy converts the Python integer to the array's type.
#[derive(Clone, Copy, Debug)]
pub struct Scale {
    last: u32,
    as_f64: f64,
    as_f32: f32,
    /// `n - 1` rounded to `float16` (as `f32`), when finite.
    as_f16: Option<f32>,
}

impl Scale {
    /// The scale for `num_thresholds` thresholds (`2..=MAX_THRESHOLDS`).
    pub fn new(num_thresholds: usize) -> Scale {
        let last = num_thresholds.saturating_sub(1) as u32;
        let h = F16::from_f32(last as f32).to_f32();
        Scale {
            last,
            as_f64: f64::from(last),
            as_f32: last as f32,
            as_f16: h.is_finite().then_some(h),
        }
    }
}

/// A prediction: its bucket `floor(p * (n - 1))`, or `None` when `p` is not within `[0, 1]`.
/// (The product is never negative, so `floor` is the truncation `as u32` performs.)
pub trait Prediction: Copy + Send + Sync {
    /// The bucket of this prediction, computed in its own type.
    fn bucket(self, scale: &Scale) -> Option<u32>;
    /// The prediction as `f64`, for error messages.
    fn value(self) -> f64;
    /// Branch-free form of [`Prediction::bucket`]: `(bucket, valid)`, the bucket 0 when
    /// invalid.
    #[inline(always)]
    fn bucket_code(self, scale: &Scale) -> (u32, bool) {
        match self.bucket(scale) {
            Some(b) => (b, true),
            None => (0, false),
        }
    }
}

impl Prediction for f64 {
    #[inline(always)]
    fn bucket_code(self, scale: &Scale) -> (u32, bool) {
        let valid = (0.0..=1.0).contains(&self);
        let p = if valid { self } else { 0.0 };
        // SAFETY: 0 <= p <= 1 and 0 <= as_f64 < 2^24: the product fits a u32.
        (
            unsafe { (p * scale.as_f64).to_int_unchecked::<u32>() },
            valid,
        )
    }
    #[inline(always)]
    fn bucket(self, scale: &Scale) -> Option<u32> {
        if !(0.0..=1.0).contains(&self) {
            return None;
        }
        // SAFETY: 0 <= self <= 1 and 0 <= as_f64 < 2^24, so the product is finite and within
        // [0, 2^24]: it fits a u32 (truncation is floor for non-negative values).
        Some(unsafe { (self * scale.as_f64).to_int_unchecked::<u32>() })
    }
    fn value(self) -> f64 {
        self
    }
}

impl Prediction for f32 {
    #[inline(always)]
    fn bucket_code(self, scale: &Scale) -> (u32, bool) {
        let valid = (0.0..=1.0).contains(&self);
        let p = if valid { self } else { 0.0 };
        // SAFETY: 0 <= p <= 1 and 0 <= as_f32 <= 2^24: the product fits a u32.
        (
            unsafe { (p * scale.as_f32).to_int_unchecked::<u32>() },
            valid,
        )
    }
    #[inline(always)]
    fn bucket(self, scale: &Scale) -> Option<u32> {
        if !(0.0..=1.0).contains(&self) {
            return None;
        }
        // SAFETY: 0 <= self <= 1 and 0 <= as_f32 <= 2^24, so the product is finite and within
        // [0, 2^24]: it fits a u32 (truncation is floor for non-negative values).
        Some(unsafe { (self * scale.as_f32).to_int_unchecked::<u32>() })
    }
    fn value(self) -> f64 {
        f64::from(self)
    }
}

impl Prediction for F16 {
    #[inline(always)]
    fn bucket(self, scale: &Scale) -> Option<u32> {
        let p = self.to_f32();
        if !(0.0..=1.0).contains(&p) {
            return None;
        }
        Some(match scale.as_f16 {
            // numpy's float16 multiply: the exact float32 product, rounded to float16.
            Some(m) => F16::from_f32(p * m).to_f32() as u32,
            // n - 1 overflows float16 (numpy would give inf): use float32 instead.
            None => (p * scale.as_f32) as u32,
        })
    }
    fn value(self) -> f64 {
        self.to_f64()
    }
}

impl Prediction for BF16 {
    /// torch hands bfloat16 predictions to numpy as float16: the value rounded to float16,
    /// then float16 arithmetic.
    #[inline(always)]
    fn bucket(self, scale: &Scale) -> Option<u32> {
        F16::from_f32(self.to_f32()).bucket(scale)
    }
    fn value(self) -> f64 {
        self.to_f64()
    }
}

impl Prediction for bool {
    #[inline(always)]
    fn bucket(self, scale: &Scale) -> Option<u32> {
        Some(if self { scale.last } else { 0 })
    }
    fn value(self) -> f64 {
        f64::from(u8::from(self))
    }
}

macro_rules! prediction_int {
    ($($t:ty),*) => {$(
        impl Prediction for $t {
            #[inline(always)]
            fn bucket(self, scale: &Scale) -> Option<u32> {
                match self {
                    0 => Some(0),
                    1 => Some(scale.last),
                    _ => None,
                }
            }
            #[allow(clippy::cast_lossless)]
            fn value(self) -> f64 {
                self as f64
            }
        }
    )*};
}
prediction_int!(i8, i16, i32, i64, u8, u16, u32, u64);

/// Example weights.
#[derive(Clone, Copy, Debug)]
pub enum Weights<'a> {
    /// Every example weighs 1 (torch's `weights=None`).
    Unit,
    /// Every example has this weight.
    Scalar(f64),
    /// One weight per example.
    PerExample(&'a [f64]),
}

/// Why a PR curve could not be built. The messages name torch's arguments.
#[derive(Clone, Debug, PartialEq)]
pub enum PrCurveError {
    /// `labels` and `predictions` differ in length.
    LengthMismatch {
        /// Number of labels.
        labels: usize,
        /// Number of predictions.
        predictions: usize,
    },
    /// There were no examples.
    Empty,
    /// Per-example weights not matching the number of examples.
    WeightsLength {
        /// Number of weights.
        weights: usize,
        /// Number of examples.
        examples: usize,
    },
    /// A label that is neither 0 nor 1.
    BadLabel {
        /// Position in the flattened labels.
        index: usize,
        /// The label.
        value: f64,
    },
    /// A prediction outside `[0, 1]` (or NaN).
    BadPrediction {
        /// Position in the flattened predictions.
        index: usize,
        /// The prediction.
        value: f64,
    },
    /// A negative or non-finite weight.
    BadWeight {
        /// Position in the flattened weights (0 for a scalar weight).
        index: usize,
        /// The weight.
        value: f64,
    },
    /// `num_thresholds` outside `2..=MAX_THRESHOLDS`.
    NumThresholds(usize),
    /// Raw curve data that is inconsistent; the text names the argument and the problem.
    InvalidRaw(String),
}

impl fmt::Display for PrCurveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PrCurveError::LengthMismatch {
                labels,
                predictions,
            } => write!(
                f,
                "labels and predictions: expected the same number of elements, got {labels} \
                 labels and {predictions} predictions"
            ),
            PrCurveError::Empty => {
                write!(
                    f,
                    "labels and predictions: expected at least one example, got none"
                )
            }
            PrCurveError::WeightsLength { weights, examples } => write!(
                f,
                "weights: expected a single number or one weight per example ({examples}), got \
                 {weights} weights"
            ),
            PrCurveError::BadLabel { index, value } => write!(
                f,
                "labels: expected booleans or 0/1, got {value} at index {index}"
            ),
            PrCurveError::BadPrediction { index, value } => write!(
                f,
                "predictions: expected probabilities within [0, 1], got {value} at index {index}"
            ),
            PrCurveError::BadWeight { index, value } => write!(
                f,
                "weights: expected finite non-negative weights, got {value} at index {index}"
            ),
            PrCurveError::NumThresholds(n) => write!(
                f,
                "num_thresholds: expected an integer from 2 to {MAX_THRESHOLDS}, got {n}"
            ),
            PrCurveError::InvalidRaw(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for PrCurveError {}

/// A PR curve: one entry per threshold `i / (num_thresholds - 1)`.
#[derive(Clone, Debug, PartialEq)]
pub struct PrCurve {
    /// Weighted true positives at each threshold.
    pub true_positives: Vec<f64>,
    /// Weighted false positives.
    pub false_positives: Vec<f64>,
    /// Weighted true negatives.
    pub true_negatives: Vec<f64>,
    /// Weighted false negatives.
    pub false_negatives: Vec<f64>,
    /// Precision.
    pub precision: Vec<f64>,
    /// Recall.
    pub recall: Vec<f64>,
}

fn check_thresholds(n: usize) -> Result<(), PrCurveError> {
    if (2..=MAX_THRESHOLDS).contains(&n) {
        Ok(())
    } else {
        Err(PrCurveError::NumThresholds(n))
    }
}

/// Per-bucket positive and negative weight (or counts), sized `num_thresholds`.
struct Buckets {
    positive: Vec<f64>,
    negative: Vec<f64>,
}

fn first_bad<L: Label, P: Prediction>(
    labels: &[L],
    predictions: &[P],
    scale: &Scale,
    offset: usize,
) -> PrCurveError {
    for (i, (l, p)) in labels.iter().zip(predictions).enumerate() {
        if l.positive().is_none() {
            return PrCurveError::BadLabel {
                index: offset + i,
                value: l.value(),
            };
        }
        if p.bucket(scale).is_none() {
            return PrCurveError::BadPrediction {
                index: offset + i,
                value: p.value(),
            };
        }
    }
    unreachable!("first_bad is only called on a stretch holding a bad example")
}

/// Per-bucket counts, interleaved: `[negatives of bucket 0, positives of bucket 0, ...]`.
type Counts = Vec<u64>;

/// Examples are handled in blocks this long: slots first (a branch-free loop the compiler
/// vectorizes), then the counts.
const SLOT_BLOCK: usize = 1024;

/// One stretch's examples added to `counts` (unweighted); `Err(())` when some example is
/// invalid.
#[inline(always)]
fn count_stretch<L: Label, P: Prediction>(
    labels: &[L],
    predictions: &[P],
    scale: &Scale,
    counts: &mut Counts,
) -> Result<(), ()> {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: the CPU has AVX2, checked just above.
        return unsafe { count_stretch_avx2(labels, predictions, scale, counts) };
    }
    count_stretch_portable(labels, predictions, scale, counts)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn count_stretch_avx2<L: Label, P: Prediction>(
    labels: &[L],
    predictions: &[P],
    scale: &Scale,
    counts: &mut Counts,
) -> Result<(), ()> {
    count_stretch_portable(labels, predictions, scale, counts)
}

#[inline(always)]
fn count_stretch_portable<L: Label, P: Prediction>(
    labels: &[L],
    predictions: &[P],
    scale: &Scale,
    counts: &mut Counts,
) -> Result<(), ()> {
    let mut slots = [0u32; SLOT_BLOCK];
    for (ls, ps) in labels
        .chunks(SLOT_BLOCK)
        .zip(predictions.chunks(SLOT_BLOCK))
    {
        let mut valid = true;
        for ((slot, l), p) in slots.iter_mut().zip(ls).zip(ps) {
            let (pos, label_ok) = l.code();
            let (b, prediction_ok) = p.bucket_code(scale);
            valid &= label_ok & prediction_ok;
            *slot = 2 * b + pos;
        }
        if !valid {
            return Err(());
        }
        for &slot in &slots[..ls.len()] {
            counts[slot as usize] += 1;
        }
    }
    Ok(())
}

fn unweighted<L: Label, P: Prediction>(
    labels: &[L],
    predictions: &[P],
    scale: &Scale,
) -> Result<Buckets, PrCurveError> {
    let n = scale.last as usize + 1;
    let stretch = if labels.len() < PARALLEL_THRESHOLD {
        labels.len().max(1)
    } else {
        PARALLEL_THRESHOLD.max(labels.len().div_ceil(64))
    };
    let bounds = |i: usize| (i * stretch, ((i + 1) * stretch).min(labels.len()));
    // Each thread counts into one `Counts` of its own (see `runtime::parallel::map_shared`).
    let (parts, per_thread) = crate::runtime::parallel::map_shared(
        labels.len().div_ceil(stretch),
        || vec![0u64; 2 * n],
        |counts, i| {
            let (start, end) = bounds(i);
            count_stretch(&labels[start..end], &predictions[start..end], scale, counts)
        },
    );
    if let Some(i) = parts.iter().position(Result::is_err) {
        let (start, end) = bounds(i);
        return Err(first_bad(
            &labels[start..end],
            &predictions[start..end],
            scale,
            start,
        ));
    }
    let mut counts = vec![0u64; 2 * n];
    for part in per_thread {
        for (a, b) in counts.iter_mut().zip(part) {
            *a += b;
        }
    }
    Ok(Buckets {
        negative: counts.iter().step_by(2).map(|&c| c as f64).collect(),
        positive: counts
            .iter()
            .skip(1)
            .step_by(2)
            .map(|&c| c as f64)
            .collect(),
    })
}

fn weighted<L: Label, P: Prediction>(
    labels: &[L],
    predictions: &[P],
    weight: impl Fn(usize) -> f64,
    scale: &Scale,
) -> Result<Buckets, PrCurveError> {
    let n = scale.last as usize + 1;
    let mut positive = vec![0f64; n];
    let mut negative = vec![0f64; n];
    let mut block_pos = vec![0f64; n];
    let mut block_neg = vec![0f64; n];
    for start in (0..labels.len()).step_by(NUMPY_BLOCK) {
        let end = (start + NUMPY_BLOCK).min(labels.len());
        block_pos.fill(0.0);
        block_neg.fill(0.0);
        for i in start..end {
            let (Some(pos), Some(b)) = (labels[i].positive(), predictions[i].bucket(scale)) else {
                return Err(first_bad(&labels[i..=i], &predictions[i..=i], scale, i));
            };
            let w = weight(i);
            // numpy adds label * w to one histogram and (1 - label) * w to the other; the
            // zero it adds to the other changes nothing.
            if pos {
                block_pos[b as usize] += w;
            } else {
                block_neg[b as usize] += w;
            }
        }
        for (a, b) in positive.iter_mut().zip(&block_pos) {
            *a += b;
        }
        for (a, b) in negative.iter_mut().zip(&block_neg) {
            *a += b;
        }
    }
    Ok(Buckets { positive, negative })
}

impl PrCurve {
    /// The curve for `labels` and `predictions` (same length) with `num_thresholds`
    /// thresholds, as TensorBoard's `compute_curve` computes it.
    pub fn compute<L: Label, P: Prediction>(
        labels: &[L],
        predictions: &[P],
        weights: Weights<'_>,
        num_thresholds: usize,
    ) -> Result<PrCurve, PrCurveError> {
        check_thresholds(num_thresholds)?;
        if labels.len() != predictions.len() {
            return Err(PrCurveError::LengthMismatch {
                labels: labels.len(),
                predictions: predictions.len(),
            });
        }
        if labels.is_empty() {
            return Err(PrCurveError::Empty);
        }
        let scale = Scale::new(num_thresholds);
        let buckets = match weights {
            Weights::Unit => unweighted(labels, predictions, &scale)?,
            Weights::Scalar(w) => {
                if !(w.is_finite() && w >= 0.0) {
                    return Err(PrCurveError::BadWeight { index: 0, value: w });
                }
                weighted(labels, predictions, |_| w, &scale)?
            }
            Weights::PerExample(ws) => {
                if ws.len() != labels.len() {
                    return Err(PrCurveError::WeightsLength {
                        weights: ws.len(),
                        examples: labels.len(),
                    });
                }
                if let Some(i) = ws.iter().position(|w| !(w.is_finite() && *w >= 0.0)) {
                    return Err(PrCurveError::BadWeight {
                        index: i,
                        value: ws[i],
                    });
                }
                weighted(labels, predictions, |i| ws[i], &scale)?
            }
        };
        Ok(PrCurve::from_buckets(&buckets.positive, &buckets.negative))
    }

    /// The curve from per-bucket positive and negative weights made elsewhere (a CUDA device
    /// buckets the predictions as [`Prediction::bucket`] does and sums the weights of each
    /// bucket; only the buckets travel to the host): what [`PrCurve::compute`] gives for the
    /// same buckets. Checked: as many of each (2 to [`MAX_THRESHOLDS`]), finite, non-negative.
    pub fn from_bucket_weights(
        positive: &[f64],
        negative: &[f64],
    ) -> Result<PrCurve, PrCurveError> {
        check_thresholds(positive.len())?;
        if negative.len() != positive.len() {
            return Err(PrCurveError::LengthMismatch {
                labels: positive.len(),
                predictions: negative.len(),
            });
        }
        if let Some(i) = positive
            .iter()
            .chain(negative)
            .position(|w| !(w.is_finite() && *w >= 0.0))
        {
            let value = positive
                .iter()
                .chain(negative)
                .nth(i)
                .copied()
                .unwrap_or(f64::NAN);
            return Err(PrCurveError::BadWeight {
                index: i % positive.len(),
                value,
            });
        }
        Ok(PrCurve::from_buckets(positive, negative))
    }

    /// The curve from per-bucket positive and negative weights (`compute_curve` after its
    /// two histograms).
    fn from_buckets(positive: &[f64], negative: &[f64]) -> PrCurve {
        let n = positive.len();
        let reverse_cumsum = |b: &[f64]| {
            let mut out = vec![0.0; n];
            let mut acc = 0.0;
            for i in (0..n).rev() {
                acc += b[i];
                out[i] = acc;
            }
            out
        };
        let tp = reverse_cumsum(positive);
        let fp = reverse_cumsum(negative);
        let tn: Vec<f64> = fp.iter().map(|f| fp[0] - f).collect();
        let fn_: Vec<f64> = tp.iter().map(|t| tp[0] - t).collect();
        let precision = tp
            .iter()
            .zip(&fp)
            .map(|(t, f)| t / MINIMUM_COUNT.max(t + f))
            .collect();
        let recall = tp
            .iter()
            .zip(&fn_)
            .map(|(t, f)| t / MINIMUM_COUNT.max(t + f))
            .collect();
        PrCurve {
            true_positives: tp,
            false_positives: fp,
            true_negatives: tn,
            false_negatives: fn_,
            precision,
            recall,
        }
    }

    /// A curve from its six rows, as `add_pr_curve_raw` takes them, after checking that
    /// TensorBoard can draw it: `num_thresholds` entries in each row (2 to
    /// [`MAX_THRESHOLDS`]), finite non-negative counts, precision and recall within `[0, 1]`.
    pub fn from_raw(
        true_positives: Vec<f64>,
        false_positives: Vec<f64>,
        true_negatives: Vec<f64>,
        false_negatives: Vec<f64>,
        precision: Vec<f64>,
        recall: Vec<f64>,
        num_thresholds: usize,
    ) -> Result<PrCurve, PrCurveError> {
        check_thresholds(num_thresholds)?;
        let rows: [(&str, &Vec<f64>, bool); PR_CURVE_ROWS] = [
            ("true_positive_counts", &true_positives, false),
            ("false_positive_counts", &false_positives, false),
            ("true_negative_counts", &true_negatives, false),
            ("false_negative_counts", &false_negatives, false),
            ("precision", &precision, true),
            ("recall", &recall, true),
        ];
        for (name, row, ratio) in rows {
            if row.len() != num_thresholds {
                return Err(PrCurveError::InvalidRaw(format!(
                    "{name}: expected num_thresholds ({num_thresholds}) values, got {}",
                    row.len()
                )));
            }
            let bad = if ratio {
                row.iter().position(|v| !(*v >= 0.0 && *v <= 1.0))
            } else {
                row.iter().position(|v| !(v.is_finite() && *v >= 0.0))
            };
            if let Some(i) = bad {
                let expected = if ratio {
                    "values within [0, 1]"
                } else {
                    "finite non-negative counts"
                };
                return Err(PrCurveError::InvalidRaw(format!(
                    "{name}: expected {expected}, got {} at index {i}",
                    row[i]
                )));
            }
        }
        Ok(PrCurve {
            true_positives,
            false_positives,
            true_negatives,
            false_negatives,
            precision,
            recall,
        })
    }

    /// Number of thresholds.
    pub fn num_thresholds(&self) -> usize {
        self.true_positives.len()
    }

    /// The `[6, num_thresholds]` `DT_FLOAT` tensor (rows TP, FP, TN, FN, precision, recall).
    pub fn to_tensor(&self) -> TensorProto {
        let n = self.num_thresholds();
        let mut float_val = Vec::with_capacity(PR_CURVE_ROWS * n);
        for row in [
            &self.true_positives,
            &self.false_positives,
            &self.true_negatives,
            &self.false_negatives,
            &self.precision,
            &self.recall,
        ] {
            float_val.extend(row.iter().map(|&v| v as f32));
        }
        TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: Some(super::shape(&[PR_CURVE_ROWS as i64, n as i64])),
            float_val,
            ..Default::default()
        }
    }

    /// The summary value torch's `add_pr_curve` writes: the tensor with the `pr_curves`
    /// plugin and `PrCurvePluginData{version: 0, num_thresholds}`.
    pub fn to_value(&self, tag: String) -> summary::Value {
        let content = PrCurvePluginData {
            version: 0,
            num_thresholds: self.num_thresholds() as u32,
        }
        .encode_to_vec();
        super::value(
            tag,
            Some(super::plugin_metadata(plugins::PR_CURVES, content)),
            summary::value::Value::Tensor(self.to_tensor()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Buckets made elsewhere give the curve `compute` makes from the examples.
    #[test]
    fn bucket_weights_made_elsewhere_give_the_computed_curve() {
        let labels = [true, false, true, true, false, false, true];
        let preds = [0.9f32, 0.2, 0.6, 0.4, 1.0, 0.0, 0.55];
        let n = 5;
        let scale = Scale::new(n);
        let (mut pos, mut neg) = (vec![0.0; n], vec![0.0; n]);
        for (l, p) in labels.iter().zip(&preds) {
            let b = p.bucket(&scale).unwrap() as usize;
            if *l {
                pos[b] += 1.0;
            } else {
                neg[b] += 1.0;
            }
        }
        let want = PrCurve::compute(&labels, &preds, Weights::Unit, n).unwrap();
        assert_eq!(PrCurve::from_bucket_weights(&pos, &neg).unwrap(), want);
        assert!(PrCurve::from_bucket_weights(&pos[..1], &neg[..1]).is_err());
        assert!(PrCurve::from_bucket_weights(&pos, &neg[1..]).is_err());
        let mut bad = pos.clone();
        bad[2] = f64::NAN;
        assert!(PrCurve::from_bucket_weights(&bad, &neg).is_err());
    }

    #[test]
    fn torch_example() {
        // compute_curve([1, 0, 1, 1], [0.9, 0.2, 0.6, 0.4], 3): buckets floor(p * 2) =
        // [1, 0, 1, 0]; tp buckets [1, 2, 0], fp buckets [1, 0, 0].
        let c = PrCurve::compute(
            &[true, false, true, true],
            &[0.9f64, 0.2, 0.6, 0.4],
            Weights::Unit,
            3,
        )
        .unwrap();
        assert_eq!(c.true_positives, vec![3.0, 2.0, 0.0]);
        assert_eq!(c.false_positives, vec![1.0, 0.0, 0.0]);
        assert_eq!(c.true_negatives, vec![0.0, 1.0, 1.0]);
        assert_eq!(c.false_negatives, vec![0.0, 1.0, 3.0]);
        assert_eq!(c.precision, vec![0.75, 1.0, 0.0]);
        assert_eq!(c.recall, vec![1.0, 2.0 / 3.0, 0.0]);
    }

    #[test]
    fn thresholding_in_the_predictions_type() {
        let s = Scale::new(127);
        // 0.7380952 * 126 rounds up to 93 in float32, not in float64 (numpy agrees).
        let p = 0.738_095_2_f32;
        assert_eq!(p.bucket(&s), Some(93));
        assert_eq!(f64::from(p).bucket(&s), Some(92));
        assert_eq!(1.0f32.bucket(&s), Some(126));
        assert_eq!((-0.0f64).bucket(&s), Some(0));
        assert_eq!(f64::NAN.bucket(&s), None);
        assert_eq!(1.000_000_1f32.bucket(&s), None);
        // float16 0x2010 (0.007935) * 126 = 0.99988 rounds to 1 in float16 (numpy agrees).
        assert_eq!(F16(0x2010).bucket(&s), Some(1));
        assert_eq!(F16(0x2010).to_f32().bucket(&s), Some(0));
        assert_eq!(2u8.bucket(&s), None);
        assert_eq!(1i64.bucket(&s), Some(126));
        assert_eq!(true.bucket(&s), Some(126));
    }

    #[test]
    fn every_threshold_bucket_is_exact() {
        // floor(p * (n - 1)) agrees with the float64 computation wherever float32 holds p.
        for n in [2usize, 3, 10, 127, 201, 1000] {
            let s = Scale::new(n);
            for k in 0..n {
                let p = k as f64 / (n - 1) as f64;
                let b = p.bucket(&s).unwrap() as usize;
                assert!(b == k || b + 1 == k, "n={n} k={k} b={b}");
                assert!(b < n);
            }
        }
    }

    #[test]
    fn weights_follow_numpy_order() {
        let labels = [true, true, true, false];
        let preds = [0.5f32, 0.5, 0.5, 0.5];
        let c = PrCurve::compute(&labels, &preds, Weights::Scalar(0.1), 3).unwrap();
        // Sequential float64 sums: 0.1 + 0.1 + 0.1 = 0.30000000000000004.
        assert_eq!(c.true_positives[0], 0.1 + 0.1 + 0.1);
        assert_eq!(c.false_positives[1], 0.1);
        let w = [1.0, 2.0, 0.0, 4.0];
        let c = PrCurve::compute(&labels, &preds, Weights::PerExample(&w), 3).unwrap();
        assert_eq!(c.true_positives, vec![3.0, 3.0, 0.0]);
        assert_eq!(c.false_positives, vec![4.0, 4.0, 0.0]);
    }

    #[test]
    fn parallel_counts_equal_sequential() {
        let n = 3 * PARALLEL_THRESHOLD + 5;
        let labels: Vec<u8> = (0..n).map(|i| u8::from(i % 3 == 0)).collect();
        let preds: Vec<f32> = (0..n).map(|i| ((i * 7919) % 1000) as f32 / 999.0).collect();
        let a = PrCurve::compute(&labels, &preds, Weights::Unit, 201).unwrap();
        let b = PrCurve::compute(&labels, &preds, Weights::Scalar(1.0), 201).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.true_positives[0] + a.false_positives[0], n as f64);
    }

    #[test]
    fn bad_inputs_are_reported_with_their_index() {
        let e = PrCurve::compute(&[0u8, 2], &[0.5f64, 0.5], Weights::Unit, 127).unwrap_err();
        assert_eq!(
            e,
            PrCurveError::BadLabel {
                index: 1,
                value: 2.0
            }
        );
        assert!(e.to_string().starts_with("labels:"));
        let e = PrCurve::compute(&[0u8, 1], &[0.5f64, 1.5], Weights::Unit, 127).unwrap_err();
        assert_eq!(
            e,
            PrCurveError::BadPrediction {
                index: 1,
                value: 1.5
            }
        );
        // The first bad example is reported, whichever thread met a bad one first.
        let big = vec![0u8; PARALLEL_THRESHOLD * 4];
        let mut preds = vec![0.5f32; PARALLEL_THRESHOLD * 4];
        preds[PARALLEL_THRESHOLD * 3 + 1] = -1.0;
        preds[PARALLEL_THRESHOLD + 3] = f32::NAN;
        preds[PARALLEL_THRESHOLD + 7] = 2.0;
        let e = PrCurve::compute(&big, &preds, Weights::Unit, 127).unwrap_err();
        assert!(
            matches!(e, PrCurveError::BadPrediction { index, .. } if index == PARALLEL_THRESHOLD + 3)
        );
        let e = PrCurve::compute(&[0u8], &[0.5f64], Weights::Scalar(-1.0), 127).unwrap_err();
        assert!(e.to_string().starts_with("weights:"));
        let e = PrCurve::compute(&[0u8], &[0.5f64], Weights::Unit, 1).unwrap_err();
        assert!(e.to_string().starts_with("num_thresholds:"));
        let e = PrCurve::compute(&[0u8], &[0.5f64, 0.1], Weights::Unit, 5).unwrap_err();
        assert!(matches!(e, PrCurveError::LengthMismatch { .. }));
    }

    #[test]
    fn raw_validation_and_tensor() {
        let row = vec![1.0, 0.0];
        let c = PrCurve::from_raw(
            row.clone(),
            row.clone(),
            row.clone(),
            row.clone(),
            row.clone(),
            row.clone(),
            2,
        )
        .unwrap();
        let t = c.to_tensor();
        assert_eq!(t.float_val.len(), 12);
        assert_eq!(t.tensor_shape.unwrap().dim[1].size, 2);
        let e = PrCurve::from_raw(
            row.clone(),
            row.clone(),
            row.clone(),
            row.clone(),
            vec![1.5, 0.0],
            row.clone(),
            2,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("precision:"), "{e}");
        let e = PrCurve::from_raw(
            row.clone(),
            vec![1.0],
            row.clone(),
            row.clone(),
            row.clone(),
            row.clone(),
            2,
        )
        .unwrap_err();
        assert!(e.to_string().starts_with("false_positive_counts:"), "{e}");
    }
}
