//! Mapping core errors to Python exceptions.

use ferroboard_core::writer::{SessionError, SubRunError};
use ferroboard_core::WriteError;
use pyo3::exceptions::{PyOSError, PyRuntimeError, PyValueError};
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

/// Converts a session error: a refused sub-run name is a `ValueError`, a failed write as
/// [`write_error`], an unconfigured writer or a thread that cannot start a `RuntimeError`.
pub fn session_error(e: SessionError) -> PyErr {
    match e {
        SessionError::NotConfigured => {
            PyRuntimeError::new_err("SummaryWriter.__init__ was not called")
        }
        SessionError::Spawn(_) => PyRuntimeError::new_err(e.to_string()),
        SessionError::Write(e) => write_error(e),
        SessionError::SubRun(e) => sub_run_error(e),
    }
}

/// A refused sub-run directory name: `ValueError`.
pub fn sub_run_error(e: SubRunError) -> PyErr {
    PyValueError::new_err(e.to_string())
}
