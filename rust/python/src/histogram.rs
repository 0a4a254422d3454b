//! Histograms and PR curves for `SummaryWriter.add_histogram*` and `add_pr_curve*`.
//!
//! Each function takes numpy arrays (which `ferroboard/_inputs/` makes from whatever the
//! caller passed, without copying contiguous data), computes with the GIL released, and
//! returns the serialized `Event`, which the Python method hands to `NativeWriter._write_event`.
//! Arrays are read in place when their memory is contiguous (any order for histograms, C order
//! for PR curves, which pair labels with predictions); other layouts are gathered first.

use ferroboard_core::proto::summary;
use ferroboard_core::summary::histogram::{self, Bins, Histogram, Sample};
use ferroboard_core::summary::pr_curve::{Label, PrCurve, Prediction, Weights};
use ferroboard_core::summary::{self as event, Step};
use numpy::{PyArrayDyn, PyReadonlyArrayDyn};
use prost::Message;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert;
use crate::convert::arrays::{dispatch, elements, encoding, readonly, Encoding};
use crate::pending::{later_value, PendingEvent};

/// Registers this module's functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(histogram_event, m)?)?;
    m.add_function(wrap_pyfunction!(histogram_raw_event, m)?)?;
    m.add_function(wrap_pyfunction!(histogram_counts_pending, m)?)?;
    m.add_function(wrap_pyfunction!(default_histogram_edges, m)?)?;
    m.add_function(wrap_pyfunction!(pr_curve_event, m)?)?;
    m.add_function(wrap_pyfunction!(pr_curve_raw_event, m)?)?;
    m.add_function(wrap_pyfunction!(pr_curve_buckets_pending, m)?)?;
    Ok(())
}

fn hist_error(e: histogram::HistogramError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn event_bytes<'py>(
    py: Python<'py>,
    value: summary::Value,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let step = convert::step(global_step, "global_step")?;
    let wall = convert::walltime(walltime, "walltime")?;
    let ev = event::summary_event(wall, Step(step), vec![value]);
    Ok(PyBytes::new(py, &ev.encode_to_vec()))
}

fn compute_histogram<T: Sample>(
    py: Python<'_>,
    values: &[T],
    edges: Option<(&[f64], bool)>,
    max_bins: Option<usize>,
) -> PyResult<Histogram> {
    let bins = match edges {
        None => Bins::Default,
        Some((e, true)) => Bins::Uniform(e),
        Some((e, false)) => Bins::Edges(e),
    };
    py.detach(|| histogram::histogram(values, bins, max_bins))
        .map_err(hist_error)
}

/// The serialized `Event` of `add_histogram(tag, values, ...)`: `values` a numpy array (any
/// shape and layout) of a real dtype (`uint16` read as `encoding` when given); `edges`
/// `None` for TensorBoard's default edges, else float64 edges with `uniform` telling whether
/// they came from numpy's equal-width rules.
#[pyfunction]
#[pyo3(signature = (tag, values, edges=None, uniform=false, max_bins=None, global_step=None, walltime=None, encoding=None))]
#[allow(clippy::too_many_arguments)] // torch's arguments plus the bins description
fn histogram_event<'py>(
    py: Python<'py>,
    tag: &Bound<'_, PyAny>,
    values: &Bound<'_, PyAny>,
    edges: Option<PyReadonlyArrayDyn<'_, f64>>,
    uniform: bool,
    max_bins: Option<usize>,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
    encoding: Option<&str>,
) -> PyResult<Bound<'py, PyBytes>> {
    let tag = convert::tag(tag, "tag")?;
    let enc = convert::arrays::encoding(encoding)?;
    let edge_data = edges.as_ref().map(|e| elements(e, false));
    let edges = edge_data.as_deref().map(|e| (e, uniform));
    let h = dispatch!(
        values,
        "values",
        enc,
        true,
        |v| compute_histogram(py, v, edges, max_bins),
        [f32, f64, u8, i8, i16, i32, i64, u32, u64]
    )?;
    event_bytes(py, h.to_value(tag.into_owned()), global_step, walltime)
}

/// The serialized `Event` of `add_histogram_raw(...)`, validated (see
/// `Histogram::from_raw`).
#[pyfunction]
#[pyo3(signature = (tag, min, max, num, sum, sum_squares, bucket_limits, bucket_counts, global_step=None, walltime=None))]
#[allow(clippy::too_many_arguments)] // torch's signature
fn histogram_raw_event<'py>(
    py: Python<'py>,
    tag: &Bound<'_, PyAny>,
    min: f64,
    max: f64,
    num: f64,
    sum: f64,
    sum_squares: f64,
    bucket_limits: Vec<f64>,
    bucket_counts: Vec<f64>,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let tag = convert::tag(tag, "tag")?;
    let h = Histogram::from_raw(
        min,
        max,
        num,
        sum,
        sum_squares,
        bucket_limits,
        bucket_counts,
    )
    .map_err(hist_error)?;
    event_bytes(py, h.to_value(tag.into_owned()), global_step, walltime)
}

/// TensorBoard's default histogram edges (`bins="tensorflow"`), as the core counts with them:
/// what a device must count into for `histogram_counts_pending`.
#[pyfunction]
fn default_histogram_edges(py: Python<'_>) -> Bound<'_, numpy::PyArray1<f64>> {
    numpy::PyArray1::from_slice(py, histogram::default_edges())
}

/// The `add_histogram` event for counts a device is still producing: `producer()`, called on
/// the writer thread, returns a float64 array `[min, max, num, sum, sum_squares, counts...]`
/// with one count per bin of `edges` (`None`: the default edges), counted as
/// `histogram::histogram_from_counts` describes. Step and wall time are taken now.
#[pyfunction]
#[pyo3(signature = (tag, producer, edges=None, max_bins=None, global_step=None, walltime=None))]
fn histogram_counts_pending(
    tag: &Bound<'_, PyAny>,
    producer: Py<PyAny>,
    edges: Option<Vec<f64>>,
    max_bins: Option<usize>,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<PendingEvent> {
    let tag = convert::tag(tag, "tag")?.into_owned();
    let step = convert::step(global_step, "global_step")?;
    let wall = convert::walltime(walltime, "walltime")?;
    if max_bins == Some(0) {
        return Err(hist_error(histogram::HistogramError::InvalidMaxBins));
    }
    if let Some(e) = &edges {
        histogram::check_edges(e).map_err(hist_error)?;
    }
    Ok(PendingEvent::new(move || {
        let data = later_value(producer, "a device histogram", "a float64 array", |out| {
            out.extract::<Vec<f64>>()
        })?;
        if data.len() < 6 {
            return Err(format!(
                "a device histogram resolved to {} numbers",
                data.len()
            ));
        }
        let stats = histogram::Stats {
            min: data[0],
            max: data[1],
            num: data[2],
            sum: data[3],
            sum_squares: data[4],
        };
        // Counts are integers below 2^53 (they count array elements): exact in float64.
        let counts: Vec<u64> = data[5..].iter().map(|&c| c as u64).collect();
        let h = histogram::histogram_from_counts(&counts, edges.as_deref(), stats, max_bins)
            .map_err(|e| format!("values: {e}"))?;
        let ev = event::summary_event(wall, Step(step), vec![h.to_value(tag)]);
        Ok(ev.encode_to_vec())
    }))
}

/// The `add_pr_curve` event for buckets a device is still producing: `producer()`, called on
/// the writer thread, returns a float64 array `[invalid, positive..., negative...]`: the number
/// of invalid examples (labels not 0/1, predictions outside [0, 1], bad weights), then the
/// positive and negative weight of each of the `num_thresholds` buckets.
#[pyfunction]
#[pyo3(signature = (tag, producer, num_thresholds, global_step=None, walltime=None))]
fn pr_curve_buckets_pending(
    tag: &Bound<'_, PyAny>,
    producer: Py<PyAny>,
    num_thresholds: usize,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<PendingEvent> {
    let tag = convert::tag(tag, "tag")?.into_owned();
    let step = convert::step(global_step, "global_step")?;
    let wall = convert::walltime(walltime, "walltime")?;
    Ok(PendingEvent::new(move || {
        let data = later_value(producer, "a device PR curve", "a float64 array", |out| {
            out.extract::<Vec<f64>>()
        })?;
        if data.len() != 1 + 2 * num_thresholds {
            return Err(format!(
                "a device PR curve resolved to {} numbers for {num_thresholds} thresholds",
                data.len()
            ));
        }
        if data[0] != 0.0 {
            return Err(format!(
                "labels, predictions or weights: {} examples are invalid (labels must be 0 or \
                 1, predictions within [0, 1], weights finite and non-negative)",
                data[0]
            ));
        }
        let (positive, negative) = data[1..].split_at(num_thresholds);
        let curve = PrCurve::from_bucket_weights(positive, negative).map_err(|e| e.to_string())?;
        let ev = event::summary_event(wall, Step(step), vec![curve.to_value(tag)]);
        Ok(ev.encode_to_vec())
    }))
}

fn pr_error(e: ferroboard_core::summary::pr_curve::PrCurveError) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn compute_curve<L: Label, P: Prediction>(
    py: Python<'_>,
    labels: &[L],
    predictions: &[P],
    weights: Weights<'_>,
    num_thresholds: usize,
) -> PyResult<PrCurve> {
    py.detach(|| PrCurve::compute(labels, predictions, weights, num_thresholds))
        .map_err(pr_error)
}

fn curve_for_labels<L: Label>(
    py: Python<'_>,
    labels: &[L],
    predictions: &Bound<'_, PyAny>,
    enc: Encoding,
    weights: Weights<'_>,
    num_thresholds: usize,
) -> PyResult<PrCurve> {
    dispatch!(
        predictions,
        "predictions",
        enc,
        false,
        |p| compute_curve(py, labels, p, weights, num_thresholds),
        [f32, f64, u8]
    )
}

/// The serialized `Event` of `add_pr_curve(...)`: `labels` and `predictions` numpy arrays with
/// the same number of elements (paired in C order; `uint16` predictions read as
/// `predictions_encoding`), `weights` `None`, a float, or a float64 array with one weight per
/// example.
#[pyfunction]
#[pyo3(signature = (tag, labels, predictions, num_thresholds=127, weights=None, global_step=None, walltime=None, predictions_encoding=None))]
#[allow(clippy::too_many_arguments)] // torch's signature plus the encoding
fn pr_curve_event<'py>(
    py: Python<'py>,
    tag: &Bound<'_, PyAny>,
    labels: &Bound<'_, PyAny>,
    predictions: &Bound<'_, PyAny>,
    num_thresholds: usize,
    weights: Option<&Bound<'_, PyAny>>,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
    predictions_encoding: Option<&str>,
) -> PyResult<Bound<'py, PyBytes>> {
    let tag = convert::tag(tag, "tag")?;
    let enc = encoding(predictions_encoding)?;
    let weight_array = match weights {
        Some(w) => match w.cast::<PyArrayDyn<f64>>() {
            Ok(a) => Some(readonly(a, "weights")?),
            Err(_) => None,
        },
        None => None,
    };
    let weight_data = weight_array.as_ref().map(|a| elements(a, false));
    let weights = match (weights, &weight_data) {
        (None, _) => Weights::Unit,
        (Some(_), Some(data)) => Weights::PerExample(&data[..]),
        (Some(w), None) => Weights::Scalar(w.extract::<f64>().map_err(|_| {
            PyTypeError::new_err(format!(
                "weights: expected None, a number or a float64 array, got {}",
                convert::type_name(w)
            ))
        })?),
    };
    let curve = dispatch!(
        labels,
        "labels",
        Encoding::Plain,
        false,
        |l| curve_for_labels(py, l, predictions, enc, weights, num_thresholds),
        [u8, i32, i64, f32, f64]
    )?;
    event_bytes(py, curve.to_value(tag.into_owned()), global_step, walltime)
}

/// The serialized `Event` of `add_pr_curve_raw(...)`, validated (see `PrCurve::from_raw`).
#[pyfunction]
#[pyo3(signature = (tag, true_positive_counts, false_positive_counts, true_negative_counts, false_negative_counts, precision, recall, num_thresholds=127, global_step=None, walltime=None))]
#[allow(clippy::too_many_arguments)] // torch's signature
fn pr_curve_raw_event<'py>(
    py: Python<'py>,
    tag: &Bound<'_, PyAny>,
    true_positive_counts: Vec<f64>,
    false_positive_counts: Vec<f64>,
    true_negative_counts: Vec<f64>,
    false_negative_counts: Vec<f64>,
    precision: Vec<f64>,
    recall: Vec<f64>,
    num_thresholds: usize,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let tag = convert::tag(tag, "tag")?;
    let curve = PrCurve::from_raw(
        true_positive_counts,
        false_positive_counts,
        true_negative_counts,
        false_negative_counts,
        precision,
        recall,
        num_thresholds,
    )
    .map_err(pr_error)?;
    event_bytes(py, curve.to_value(tag.into_owned()), global_step, walltime)
}
