//! Mapping core errors to Python exceptions.

use ferroboard_core::WriteError;
use pyo3::exceptions::{PyOSError, PyRuntimeError};
use pyo3::PyErr;

/// Converts a writer error: I/O failures become `OSError` (with errno, so Python picks the
/// matching subclass such as `FileNotFoundError`), everything else `RuntimeError`.
pub fn write_error(e: WriteError) -> PyErr {
    match e {
        WriteError::Io {
            errno: Some(errno),
            ref path,
            ..
        } => PyOSError::new_err((errno, e.to_string(), path.display().to_string())),
        WriteError::Io { .. } => PyOSError::new_err(e.to_string()),
        other => PyRuntimeError::new_err(format!("ferroboard: {other}")),
    }
}
