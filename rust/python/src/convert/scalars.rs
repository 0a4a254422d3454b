//! Argument conversion for the writer's hot paths.
//!
//! Python `float`, `int` and `bool` (and `float` subclasses such as `numpy.float64`) are
//! converted here directly; anything else (numpy arrays and scalars, torch tensors) goes to the
//! Python converters registered by `ferroboard/_inputs/`, which know those libraries and
//! raise errors that name the argument.

use std::borrow::Cow;
use std::sync::OnceLock;

use ferroboard_core::WallTime;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyFloat, PyInt, PyString};

/// Longest tag accepted, in UTF-8 bytes.
pub const MAX_TAG_BYTES: usize = 1 << 16;

struct Converters {
    scalar: Py<PyAny>,
    step: Py<PyAny>,
    scalar_or_later: Py<PyAny>,
}

static CONVERTERS: OnceLock<Converters> = OnceLock::new();

/// Registers the Python fallbacks `scalar(value, name) -> float`, `step(value, name) -> int`
/// and `scalar_or_later(value, name) -> float | Callable[[], float]` (the last for values whose
/// copy from a device may still be in flight).
#[pyfunction]
pub fn set_converters(scalar: Py<PyAny>, step: Py<PyAny>, scalar_or_later: Py<PyAny>) {
    let _ = CONVERTERS.set(Converters {
        scalar,
        step,
        scalar_or_later,
    });
}

fn converters() -> PyResult<&'static Converters> {
    CONVERTERS
        .get()
        .ok_or_else(|| PyTypeError::new_err("ferroboard converters are not registered"))
}

/// A tag: a `str` of at most [`MAX_TAG_BYTES`] UTF-8 bytes.
pub fn tag<'a>(obj: &'a Bound<'_, PyAny>, name: &str) -> PyResult<Cow<'a, str>> {
    let s = obj.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!("{name} must be a str, got {}", type_name(obj)))
    })?;
    let s = s.to_cow().map_err(|_| {
        PyValueError::new_err(format!(
            "{name} must be encodable as UTF-8 (it contains lone surrogates)"
        ))
    })?;
    if s.len() > MAX_TAG_BYTES {
        return Err(PyValueError::new_err(format!(
            "{name} is {} bytes long; at most {MAX_TAG_BYTES} bytes are accepted",
            s.len()
        )));
    }
    Ok(s)
}

/// A string argument (no length limit beyond memory), UTF-8 encodable.
pub fn text<'a>(obj: &'a Bound<'_, PyAny>, name: &str) -> PyResult<Cow<'a, str>> {
    let s = obj.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!("{name} must be a str, got {}", type_name(obj)))
    })?;
    s.to_cow().map_err(|_| {
        PyValueError::new_err(format!(
            "{name} must be encodable as UTF-8 (it contains lone surrogates)"
        ))
    })
}

/// A real number (`scalar_value` and friends). Infinities and NaN are allowed: TensorBoard
/// stores and draws them as torch writes them.
#[inline]
pub fn scalar(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<f64> {
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(f.value());
    }
    if obj.is_exact_instance_of::<PyInt>() || obj.is_exact_instance_of::<PyBool>() {
        return obj
            .extract::<f64>()
            .map_err(|_| PyValueError::new_err(format!("{name} is an int too large for a float")));
    }
    let py = obj.py();
    converters()?
        .scalar
        .call1(py, (obj, name))?
        .extract::<f64>(py)
}

/// A scalar argument: a number now, or one a device is still producing.
pub enum ScalarArg {
    /// The value.
    Now(f64),
    /// A zero-argument callable returning the value as a `float`, to be called on the writer
    /// thread (the Python converter returns one for a CUDA tensor, whose copy to the host is
    /// still in flight: see `ferroboard/_inputs/device.py`).
    Later(Py<PyAny>),
}

/// [`scalar`], except that a device value still being copied comes back as
/// [`ScalarArg::Later`] instead of being waited for.
#[inline]
pub fn scalar_or_later(obj: &Bound<'_, PyAny>, name: &str) -> PyResult<ScalarArg> {
    if let Ok(f) = obj.cast::<PyFloat>() {
        return Ok(ScalarArg::Now(f.value()));
    }
    if obj.is_exact_instance_of::<PyInt>() || obj.is_exact_instance_of::<PyBool>() {
        return scalar(obj, name).map(ScalarArg::Now);
    }
    let py = obj.py();
    let v = converters()?.scalar_or_later.call1(py, (obj, name))?;
    if let Ok(f) = v.extract::<f64>(py) {
        return Ok(ScalarArg::Now(f));
    }
    if v.bind(py).is_callable() {
        return Ok(ScalarArg::Later(v));
    }
    Err(PyTypeError::new_err(format!(
        "{name}: the converter returned {}, expected a float",
        type_name(v.bind(py))
    )))
}

/// A step: `None` (0, as torch leaves it unset) or an integer in the int64 range.
#[inline]
pub fn step(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<i64> {
    let Some(obj) = obj else { return Ok(0) };
    if obj.is_exact_instance_of::<PyInt>() {
        return obj.extract::<i64>().map_err(|_| {
            PyValueError::new_err(format!(
                "{name} must fit in a signed 64-bit integer, got {obj}"
            ))
        });
    }
    let py = obj.py();
    let v = converters()?.step.call1(py, (obj, name))?;
    v.extract::<i64>(py).map_err(|_| {
        PyValueError::new_err(format!(
            "{name} must fit in a signed 64-bit integer, got {v}"
        ))
    })
}

/// A wall time in seconds since the epoch: `None` (now) or a finite real number.
#[inline]
pub fn walltime(obj: Option<&Bound<'_, PyAny>>, name: &str) -> PyResult<WallTime> {
    let Some(obj) = obj else {
        return Ok(WallTime::now());
    };
    let v = scalar(obj, name)?;
    if !v.is_finite() {
        return Err(PyValueError::new_err(format!(
            "{name} must be a finite number of seconds, got {v}"
        )));
    }
    Ok(WallTime(v))
}

/// The qualified type name of `obj`, for error messages.
pub fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string())
}
