//! Where logdirs live: the core's storage layer, for the Python package's path checks.

use std::path::PathBuf;

use ferroboard_core::storage::{self, PathKind};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// `Err(ValueError)` naming `what` when `path` is a URL whose scheme no backend of this build
/// reads or writes (`gs://`, `hdfs://`, ...); local paths and `s3://` URLs pass.
pub fn check(path: &std::path::Path, what: &str) -> PyResult<()> {
    storage::check(path).map_err(|e| PyValueError::new_err(format!("{what}: {e}")))
}

/// `"file"`, `"dir"` or `"missing"`: what `path` (a local path or an `s3://` URL) names.
/// `ValueError` for an unsupported URL scheme; `OSError` when the store cannot be asked.
#[pyfunction]
fn storage_kind(py: Python<'_>, path: PathBuf) -> PyResult<&'static str> {
    check(&path, "path")?;
    let kind = py.detach(|| storage::stat(&path))?;
    Ok(match kind {
        PathKind::File => "file",
        PathKind::Dir => "dir",
        PathKind::Missing => "missing",
    })
}

/// Adds the storage functions to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(storage_kind, m)?)
}
