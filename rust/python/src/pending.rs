//! `PendingEvent`: an event whose bytes are produced later, on the writer's background thread.
//!
//! Media summaries (PNG, GIF, WAV encoding) are too slow for the training thread. Their binding
//! functions check the arguments and copy what they need from the caller's buffers (the caller
//! may reuse them as soon as the call returns), then return a `PendingEvent` holding the Rust
//! closure that encodes the event; `NativeWriter._write_pending` puts it in the event file's
//! order, and the writer thread runs it in that place. An error in the closure is raised by the
//! writer's next call, as write errors are.
//!
//! A `PendingEvent` is written at most once; `resolve()` runs it on the calling thread instead
//! (GIL released), for tests and for callers that want the bytes.

use std::sync::atomic::Ordering;
use std::sync::Mutex;

use ferroboard_core::writer::DeferredPayload;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::writer::EXITING;

/// An event to be encoded on the writer thread (see the module doc).
#[pyclass(frozen, module = "ferroboard._native")]
pub struct PendingEvent(Mutex<Option<Box<dyn DeferredPayload>>>);

impl PendingEvent {
    /// Wraps `produce`, which returns one serialized `Event` (or an error message).
    pub fn new(produce: impl FnOnce() -> Result<Vec<u8>, String> + Send + 'static) -> Self {
        PendingEvent(Mutex::new(Some(Box::new(produce))))
    }

    /// Takes the closure out; an error if it was already written or resolved.
    pub fn take(&self) -> PyResult<Box<dyn DeferredPayload>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("this PendingEvent was already written"))
    }
}

#[pymethods]
impl PendingEvent {
    /// Runs the encoding now, on this thread with the GIL released, and returns the event bytes.
    fn resolve<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let item = self.take()?;
        let bytes = py
            .detach(|| item.resolve())
            .map_err(PyRuntimeError::new_err)?;
        Ok(PyBytes::new(py, &bytes))
    }
}

/// Calls `producer()` on the writer thread (attaching to the interpreter) and converts its
/// result with `extract`; an error message when the interpreter is gone or the call fails.
pub(crate) fn call_on_writer_thread<T>(
    producer: Py<PyAny>,
    extract: impl FnOnce(&Bound<'_, PyAny>) -> Result<T, String>,
) -> Result<T, String> {
    if EXITING.load(Ordering::Acquire) {
        // Dropping a `Py` without the GIL only queues a decref: no attach needed.
        return Err("the interpreter is exiting; the value was dropped".to_owned());
    }
    Python::try_attach(move |py| {
        let out = producer
            .call0(py)
            .map_err(|e| format!("the producer raised {e}"))?;
        drop(producer);
        extract(out.bind(py))
    })
    .unwrap_or_else(|| Err("the interpreter is not available; the value was dropped".into()))
}

/// A device value `producer()` gives on the writer thread, converted by `extract`; when it is
/// of another type, the error names it as `what` ("a device histogram") and says it should be
/// `expected` ("a float64 array").
pub(crate) fn later_value<T>(
    producer: Py<PyAny>,
    what: &str,
    expected: &str,
    extract: impl FnOnce(&Bound<'_, PyAny>) -> PyResult<T>,
) -> Result<T, String> {
    call_on_writer_thread(producer, |out| {
        extract(out).map_err(|_| {
            format!(
                "{what} resolved to {}, not {expected}",
                crate::convert::type_name(out)
            )
        })
    })
}

/// Registers `PendingEvent`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PendingEvent>()
}
