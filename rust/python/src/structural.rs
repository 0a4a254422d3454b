//! Hyperparameters and custom-scalar layouts for `SummaryWriter.add_hparams` and
//! `add_custom_scalars*`: already adapted Python values in (see
//! `ferroboard/writer/_structural.py`), serialized `Event`s out, which the Python method hands
//! to `NativeWriter._write_event` (or `_write_event_to` for a sub-run). The summaries and their
//! checks are the core's (`summary::hparams`, `summary::custom_scalars`, `summary::tensor`).

use ferroboard_core::summary::custom_scalars::{self, CategorySpec, ChartSpec};
use ferroboard_core::summary::hparams::{self, HParamValue};
use ferroboard_core::summary::tensor::{self, TensorData};
use ferroboard_core::summary::{self as event, Step};
use numpy::{Element, PyArrayDyn, PyReadonlyArrayDyn};
use prost::Message;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyString};

use crate::convert;

/// `[(chart title, kind, [tags])]` of one category, as Python passes it.
type PyCharts<'py> = Vec<(Bound<'py, PyAny>, String, Vec<Bound<'py, PyAny>>)>;

/// Registers this module's functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(hparams_events, m)?)?;
    m.add_function(wrap_pyfunction!(custom_scalars_event, m)?)?;
    m.add_function(wrap_pyfunction!(tensor_event, m)?)?;
    Ok(())
}

/// A hyperparameter value: `bool`, `str`, or a real number (`int`, `float`).
fn hparam_value(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<HParamValue> {
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(HParamValue::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyString>() {
        return Ok(HParamValue::Str(convert::text(obj, name)?.into_owned()));
    }
    if obj.is_instance_of::<pyo3::types::PyFloat>() || obj.is_instance_of::<pyo3::types::PyInt>() {
        return Ok(HParamValue::Number(convert::scalar(obj, name)?));
    }
    Err(PyTypeError::new_err(format!(
        "{name} must be a bool, str, int or float, got {}",
        convert::type_name(obj)
    )))
}

/// The serialized events of `add_hparams`: the experiment, session start and session end
/// summaries, then one scalar per metric whose value is not `None`, all at `global_step`.
/// `hparams` and `metrics` are `(name, value)` pairs in the caller's order, `domains`
/// `(name, [values])`.
#[pyfunction]
#[pyo3(signature = (hparams, domains, metrics, global_step=None, walltime=None))]
fn hparams_events<'py>(
    py: Python<'py>,
    hparams: Vec<(Bound<'py, PyAny>, Bound<'py, PyAny>)>,
    domains: Vec<(Bound<'py, PyAny>, Vec<Bound<'py, PyAny>>)>,
    metrics: Vec<(Bound<'py, PyAny>, Option<Bound<'py, PyAny>>)>,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    let step = Step(convert::step(global_step, "global_step")?);
    let wall = convert::walltime(walltime, "walltime")?;
    let mut values = Vec::with_capacity(hparams.len());
    for (k, v) in &hparams {
        let key = convert::tag(k, "hparam_dict key")?.into_owned();
        let value = hparam_value(v, &format!("hparam_dict['{key}']"))?;
        values.push((key, value));
    }
    let mut doms = Vec::with_capacity(domains.len());
    for (k, d) in &domains {
        let key = convert::tag(k, "hparam_domain_discrete key")?.into_owned();
        let mut dv = Vec::with_capacity(d.len());
        for (i, v) in d.iter().enumerate() {
            dv.push(hparam_value(
                v,
                &format!("hparam_domain_discrete['{key}'][{i}]"),
            )?);
        }
        doms.push((key, dv));
    }
    let mut tags = Vec::with_capacity(metrics.len());
    let mut scalars = Vec::with_capacity(metrics.len());
    for (k, v) in &metrics {
        let tag = convert::tag(k, "metric_dict key")?.into_owned();
        if let Some(v) = v {
            scalars.push((
                tag.clone(),
                convert::scalar(v, &format!("metric_dict['{tag}']"))?,
            ));
        }
        tags.push(tag);
    }
    let summaries = hparams::hparams(&values, &doms, &tags).map_err(|e| {
        if e.is_type_error() {
            PyTypeError::new_err(e.to_string())
        } else {
            PyValueError::new_err(e.to_string())
        }
    })?;
    let mut out = Vec::with_capacity(3 + scalars.len());
    for value in summaries {
        let ev = event::summary_event(wall, step, vec![value]);
        out.push(PyBytes::new(py, &ev.encode_to_vec()));
    }
    let mut buf = Vec::new();
    for (tag, v) in scalars {
        event::encode_simple_scalar(&mut buf, wall, step, &tag, v);
        out.push(PyBytes::new(py, &buf));
    }
    Ok(out)
}

/// The serialized event of a custom-scalars layout: `layout` is `[(category, [(chart title,
/// kind, [tags])])]`, kind `"Multiline"` or `"Margin"` (torch's names), in the caller's order.
#[pyfunction]
#[pyo3(signature = (layout, walltime=None))]
fn custom_scalars_event<'py>(
    py: Python<'py>,
    layout: Vec<(Bound<'py, PyAny>, PyCharts<'py>)>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let wall = convert::walltime(walltime, "walltime")?;
    let mut categories: Vec<CategorySpec> = Vec::with_capacity(layout.len());
    for (cat, charts) in &layout {
        let cat = convert::text(cat, "layout key (a category title)")?.into_owned();
        let mut specs = Vec::with_capacity(charts.len());
        for (title, kind, tags) in charts {
            let title =
                convert::text(title, &format!("layout['{cat}'] key (a chart title)"))?.into_owned();
            let where_ = format!("layout['{cat}']['{title}']");
            let mut ts = Vec::with_capacity(tags.len());
            for (i, t) in tags.iter().enumerate() {
                ts.push(convert::tag(t, &format!("{where_} tag {i}"))?.into_owned());
            }
            let spec = match kind.as_str() {
                "Multiline" => ChartSpec::Multiline(ts),
                "Margin" => ChartSpec::Margin(ts),
                other => {
                    return Err(PyValueError::new_err(format!(
                        "{where_}: the chart kind must be 'Multiline' or 'Margin', got {other:?}"
                    )))
                }
            };
            specs.push((title, spec));
        }
        categories.push((cat, specs));
    }
    let value = custom_scalars::custom_scalars(&categories)
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let ev = event::summary_event(wall, Step(0), vec![value]);
    Ok(PyBytes::new(py, &ev.encode_to_vec()))
}

fn typed<'py, T: Element>(
    values: &Bound<'py, PyAny>,
    dtype: &str,
) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    let arr = values.cast::<PyArrayDyn<T>>().map_err(|_| {
        PyTypeError::new_err(format!(
            "tensor: expected the {dtype} data as a numpy array of its element type"
        ))
    })?;
    crate::convert::arrays::readonly(arr, "tensor")
}

/// The serialized event of `add_tensor`: `values` the tensor's elements as a numpy array
/// (float16 and bfloat16 as `uint16` bits, bools as `uint8`, complex numbers as float pairs),
/// `dtype` the tensor's dtype name (`float16`, `bfloat16`, `float32`, `float64`, `int8`,
/// `uint8`, `int16`, `int32`, `int64`, `bool`, `complex64`, `complex128`), `shape` its shape.
#[pyfunction]
#[pyo3(signature = (tag, values, dtype, shape, global_step=None, walltime=None))]
fn tensor_event<'py>(
    py: Python<'py>,
    tag: &Bound<'_, PyAny>,
    values: &Bound<'py, PyAny>,
    dtype: &str,
    shape: Vec<i64>,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let tag = convert::tag(tag, "tag")?;
    let step = Step(convert::step(global_step, "global_step")?);
    let wall = convert::walltime(walltime, "walltime")?;
    macro_rules! build {
        ($t:ty, $variant:ident) => {{
            let arr = typed::<$t>(values, dtype)?;
            let data = elements(&arr);
            tensor::tensor(&tag, &shape, TensorData::$variant(&data))
        }};
    }
    let value = match dtype {
        "float16" => build!(u16, Half),
        "bfloat16" => build!(u16, BFloat16),
        "float32" => build!(f32, Float),
        "float64" => build!(f64, Double),
        "int8" => build!(i8, Int8),
        "uint8" => build!(u8, UInt8),
        "int16" => build!(i16, Int16),
        "int32" => build!(i32, Int32),
        "int64" => build!(i64, Int64),
        "bool" => build!(u8, Bool),
        "complex64" => build!(f32, Complex64),
        "complex128" => build!(f64, Complex128),
        other => {
            return Err(PyTypeError::new_err(format!(
                "tensor: unsupported dtype {other:?}"
            )))
        }
    }
    .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let ev = event::summary_event(wall, step, vec![value]);
    Ok(PyBytes::new(py, &ev.encode_to_vec()))
}

/// The elements in C order (borrowed when C-contiguous).
fn elements<'a, T: Element + Copy>(
    arr: &'a PyReadonlyArrayDyn<'_, T>,
) -> std::borrow::Cow<'a, [T]> {
    crate::convert::arrays::elements(arr, false)
}
