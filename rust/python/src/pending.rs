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

use std::sync::Mutex;

use ferroboard_core::writer::DeferredPayload;
use pyo3::exceptions::PyRuntimeError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

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
            .unwrap_or_else(|e| e.into_inner())
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

/// Registers `PendingEvent`.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PendingEvent>()
}
