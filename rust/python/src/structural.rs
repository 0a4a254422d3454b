//! Hyperparameters and custom-scalar layouts for `SummaryWriter.add_hparams` and
//! `add_custom_scalars*`: already adapted Python values in (see
//! `ferroboard/writer/_structural.py`), serialized `Event`s out, which the Python method hands
//! to `NativeWriter._write_event` (or `_write_event_to` for a sub-run). The summaries and their
//! checks are the core's (`summary::hparams`, `summary::custom_scalars`).

use ferroboard_core::summary::custom_scalars::{self, CategorySpec, ChartSpec};
use ferroboard_core::summary::hparams::{self, HParamValue};
use ferroboard_core::summary::{self as event, Step};
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
