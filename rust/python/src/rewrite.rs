//! `rewrite`: the core's log rewrite, with the GIL released; the report as plain dicts.

use std::path::PathBuf;
use std::time::Duration;

use ferroboard_core::rewrite::{self, RewriteError, RewriteOptions};
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

fn to_py(e: RewriteError) -> PyErr {
    match e {
        RewriteError::Io(io) => {
            // The core's messages name the file; the errno comes from the kind, so that Python
            // raises FileNotFoundError, PermissionError...
            let errno = io.raw_os_error().unwrap_or(match io.kind() {
                std::io::ErrorKind::NotFound => 2,
                std::io::ErrorKind::PermissionDenied => 13,
                std::io::ErrorKind::AlreadyExists => 17,
                _ => 5,
            });
            PyOSError::new_err((errno, io.to_string()))
        }
        RewriteError::Live { .. } | RewriteError::Busy(_) => {
            PyOSError::new_err((libc_ebusy(), e.to_string()))
        }
        RewriteError::Invalid(m) => PyValueError::new_err(m),
    }
}

const fn libc_ebusy() -> i32 {
    16
}

/// Rewrites `src` into `dst` (in place when `None`); returns the report as a list of dicts
/// (one per output run) and the recovered unit directories.
#[pyfunction]
#[pyo3(signature = (src, dst, keep_tags, drop_tags, keep_runs, drop_runs, steps, apply_restarts,
    max_media_per_tag, max_points_per_tag, every, merge_runs, dry_run, force, live_seconds))]
#[allow(clippy::too_many_arguments)]
fn rewrite_logdir(
    py: Python<'_>,
    src: PathBuf,
    dst: Option<PathBuf>,
    keep_tags: Option<Vec<String>>,
    drop_tags: Vec<String>,
    keep_runs: Option<Vec<String>>,
    drop_runs: Vec<String>,
    steps: Option<(i64, i64)>,
    apply_restarts: bool,
    max_media_per_tag: Option<u64>,
    max_points_per_tag: Option<u64>,
    every: Option<u64>,
    merge_runs: Vec<(String, Vec<String>)>,
    dry_run: bool,
    force: bool,
    live_seconds: f64,
) -> PyResult<(Bound<'_, PyList>, Vec<String>)> {
    let opts = RewriteOptions {
        keep_tags,
        drop_tags,
        keep_runs,
        drop_runs,
        steps,
        apply_restarts,
        max_media_per_tag,
        max_points_per_tag,
        every,
        merge_runs,
        dry_run,
        force,
        live_window: Duration::from_secs_f64(live_seconds.max(0.0)),
    };
    let report = py
        .detach(|| rewrite::rewrite(&src, dst.as_deref(), &opts))
        .map_err(to_py)?;
    let runs = PyList::empty(py);
    for r in &report.runs {
        let d = PyDict::new(py);
        d.set_item("run", &r.run)?;
        d.set_item("sources", &r.sources)?;
        d.set_item("action", r.action.name())?;
        let paths = |v: &[PathBuf]| {
            v.iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
        };
        d.set_item("files_in", paths(&r.files_in))?;
        d.set_item("files_out", paths(&r.files_out))?;
        d.set_item("bytes_in", r.bytes_in)?;
        d.set_item("bytes_out", r.bytes_out)?;
        d.set_item("records_in", r.records_in)?;
        d.set_item("records_out", r.records_out)?;
        let tags = PyList::empty(py);
        for t in &r.tags {
            let td = PyDict::new(py);
            td.set_item("tag", &t.tag)?;
            td.set_item("records_kept", t.records_kept)?;
            td.set_item("records_removed", t.records_removed)?;
            td.set_item("bytes_removed", t.bytes_removed)?;
            td.set_item("metadata_moved", t.metadata_moved)?;
            tags.append(td)?;
        }
        d.set_item("tags", tags)?;
        let damage = PyList::empty(py);
        for dm in &r.damage {
            damage.append((dm.path.display().to_string(), dm.offset, &dm.what))?;
        }
        d.set_item("damage", damage)?;
        d.set_item("live", &r.live)?;
        d.set_item("swap", &r.swap)?;
        runs.append(d)?;
    }
    let recovered = report
        .recovered
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    Ok((runs, recovered))
}

/// Adds `rewrite_logdir` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(rewrite_logdir, m)?)
}
