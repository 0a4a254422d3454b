//! `NativeWriter`: the state and hot methods of `ferroboard.SummaryWriter`.
//!
//! The Python class `SummaryWriter` subclasses this one, so `add_scalar`, `add_scalars` and
//! `add_text` run with no Python frame of ours in between. Small records are encoded and
//! appended while holding the GIL (cheaper than releasing it); anything that may block (a full
//! queue, `flush`, `close`, large payloads) releases it first, because the background thread
//! may need the GIL to resolve a deferred value.
//!
//! Like torch's writer, a closed writer reopens (a new event file) on the next `add_*`, and so
//! does a forked child's copy, whose file then carries the child's pid.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use ferroboard_core::event::{self, Step, WallTime};
use ferroboard_core::proto::Event;
use ferroboard_core::writer::DeferredPayload;
use ferroboard_core::{EventWriter, FileId, WriterOptions};
use prost::Message;
use pyo3::exceptions::{PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use crate::convert;
use crate::errors::write_error;

/// Payloads at least this large are framed with the GIL released.
const LARGE_PAYLOAD: usize = 64 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

struct Config {
    log_dir: PathBuf,
    suffix: String,
    options: WriterOptions,
}

struct Open {
    writer: Arc<EventWriter>,
    main: FileId,
    main_path: PathBuf,
    /// Sub-run directory (relative to `log_dir`) -> its file, for `add_scalars`.
    subs: HashMap<String, FileId>,
}

#[derive(Default)]
struct State {
    config: Option<Config>,
    purge_step: Option<i64>,
    open: Option<Open>,
}

/// Native core of `SummaryWriter` (subclass it; do not use it directly).
#[pyclass(subclass, module = "ferroboard._native")]
pub struct NativeWriter {
    state: Mutex<State>,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

struct PyDeferred(Py<PyAny>);

impl DeferredPayload for PyDeferred {
    fn resolve(self: Box<Self>) -> Result<Vec<u8>, String> {
        Python::attach(|py| {
            let out = self.0.call0(py).map_err(|e| e.to_string())?;
            out.extract::<Vec<u8>>(py).map_err(|e| e.to_string())
        })
    }
}

impl NativeWriter {
    /// The open writer and main file, (re)opening like torch's `_get_file_writer` when the
    /// writer was closed or this is a forked child.
    fn current(&self, st: &mut State) -> PyResult<(Arc<EventWriter>, FileId)> {
        if let Some(open) = &st.open {
            if !open.writer.is_closed() && !open.writer.is_forked_copy() {
                return Ok((Arc::clone(&open.writer), open.main));
            }
        }
        if let Some(old) = st.open.take() {
            if old.writer.is_forked_copy() {
                // The parent's writer must not be touched in the child: leak it.
                std::mem::forget(old);
            }
        }
        let config = st
            .config
            .as_ref()
            .ok_or_else(|| PyRuntimeError::new_err("SummaryWriter.__init__ was not called"))?;
        let writer = EventWriter::spawn(config.options.clone())
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start writer thread: {e}")))?;
        let (main, main_path) = writer
            .create_file(&config.log_dir, &config.suffix)
            .map_err(write_error)?;
        if let Some(step) = st.purge_step.take() {
            let mut buf = Vec::new();
            for ev in event::purge_events(Step(step), WallTime::now()) {
                event::encode_into(&ev, &mut buf);
                writer.append(main, &buf).map_err(write_error)?;
            }
        }
        let writer = Arc::new(writer);
        st.open = Some(Open {
            writer: Arc::clone(&writer),
            main,
            main_path,
            subs: HashMap::new(),
        });
        Ok((writer, main))
    }

    fn writer_and_main(&self) -> PyResult<(Arc<EventWriter>, FileId)> {
        let mut st = lock(&self.state);
        self.current(&mut st)
    }

    /// The file of sub-run `rel` (a directory under `log_dir`), created on first use.
    fn sub_file(&self, rel: &str) -> PyResult<(Arc<EventWriter>, FileId)> {
        let mut st = lock(&self.state);
        let (writer, _) = self.current(&mut st)?;
        let open = st.open.as_mut().expect("opened above");
        if let Some(&id) = open.subs.get(rel) {
            return Ok((writer, id));
        }
        let config = st.config.as_ref().expect("configured");
        let dir = config.log_dir.join(rel);
        let (id, _) = writer
            .create_file(&dir, &config.suffix)
            .map_err(write_error)?;
        st.open
            .as_mut()
            .expect("opened above")
            .subs
            .insert(rel.to_owned(), id);
        Ok((writer, id))
    }
}

/// Appends a serialized event without blocking while holding the GIL.
fn append(py: Python<'_>, writer: &EventWriter, file: FileId, payload: &[u8]) -> PyResult<()> {
    if payload.len() >= LARGE_PAYLOAD {
        return py
            .detach(|| writer.append_large(file, payload))
            .map_err(write_error);
    }
    match writer.try_append(file, payload) {
        Ok(true) => Ok(()),
        Ok(false) => py
            .detach(|| writer.append(file, payload))
            .map_err(write_error),
        Err(e) => Err(write_error(e)),
    }
}

/// Encodes `event` into this thread's scratch buffer and appends it.
fn append_event(py: Python<'_>, writer: &EventWriter, file: FileId, event: &Event) -> PyResult<()> {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            event::encode_into(event, &mut buf);
            append(py, writer, file, &buf)
        }
        // Re-entered (a converter logged from inside a call): use a fresh buffer.
        Err(_) => append(py, writer, file, &event.encode_to_vec()),
    })
}

/// `{main_tag with "/" -> "_"}_{tag}`, torch's sub-run directory for `add_scalars`, refused
/// when it could point outside the log directory.
fn sub_run_dir(main_tag: &str, tag: &str) -> PyResult<String> {
    let rel = format!("{}_{}", main_tag.replace('/', "_"), tag);
    let unsafe_path = rel.contains('\0')
        || Path::new(&rel)
            .components()
            .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir));
    if unsafe_path || tag.contains('\\') {
        return Err(PyValueError::new_err(format!(
            "tag_scalar_dict key {tag:?} would name a directory outside log_dir ({rel:?}); \
             keys must not contain '..' path components, NUL or backslashes"
        )));
    }
    Ok(rel)
}

#[pymethods]
impl NativeWriter {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        NativeWriter {
            state: Mutex::new(State::default()),
        }
    }

    /// Configures the writer and creates its event file (called by `SummaryWriter.__init__`).
    #[pyo3(signature = (log_dir, max_queue, flush_secs, filename_suffix, purge_step, fsync=false))]
    fn _configure(
        &self,
        log_dir: PathBuf,
        max_queue: usize,
        flush_secs: f64,
        filename_suffix: &str,
        purge_step: Option<&Bound<'_, PyAny>>,
        fsync: bool,
    ) -> PyResult<()> {
        if !(flush_secs.is_finite() && flush_secs > 0.0) {
            return Err(PyValueError::new_err(format!(
                "flush_secs must be a positive number of seconds, got {flush_secs}"
            )));
        }
        let purge_step = match purge_step {
            Some(p) if !p.is_none() => Some(convert::step(Some(p), "purge_step")?),
            _ => None,
        };
        let mut st = lock(&self.state);
        if let Some(open) = st.open.take() {
            if open.writer.is_forked_copy() {
                std::mem::forget(open);
            }
        }
        st.config = Some(Config {
            log_dir,
            suffix: filename_suffix.to_owned(),
            options: WriterOptions {
                max_queue: max_queue.max(1),
                flush_interval: Duration::from_secs_f64(flush_secs),
                fsync,
                ..WriterOptions::default()
            },
        });
        st.purge_step = purge_step;
        self.current(&mut st)?;
        Ok(())
    }

    /// Adds a scalar, as torch's `add_scalar`.
    #[pyo3(signature = (tag, scalar_value, global_step=None, walltime=None, new_style=false, double_precision=false))]
    fn add_scalar(
        &self,
        py: Python<'_>,
        tag: &Bound<'_, PyAny>,
        scalar_value: &Bound<'_, PyAny>,
        global_step: Option<&Bound<'_, PyAny>>,
        walltime: Option<&Bound<'_, PyAny>>,
        new_style: bool,
        double_precision: bool,
    ) -> PyResult<()> {
        let tag = convert::tag(tag, "tag")?;
        let v = convert::scalar(scalar_value, "scalar_value")?;
        let step = convert::step(global_step, "global_step")?;
        let wall = convert::walltime(walltime, "walltime")?;
        let value = if new_style {
            event::scalar_tensor(tag.into_owned(), v, double_precision)
        } else {
            event::scalar_simple(tag.into_owned(), v)
        };
        let ev = event::summary_event(wall, Step(step), vec![value]);
        let (writer, main) = self.writer_and_main()?;
        append_event(py, &writer, main, &ev)
    }

    /// Adds several scalars sharing a main tag, each in its own sub-run, as torch's
    /// `add_scalars` (but all on this writer's one background thread).
    #[pyo3(signature = (main_tag, tag_scalar_dict, global_step=None, walltime=None))]
    fn add_scalars(
        &self,
        py: Python<'_>,
        main_tag: &Bound<'_, PyAny>,
        tag_scalar_dict: &Bound<'_, PyAny>,
        global_step: Option<&Bound<'_, PyAny>>,
        walltime: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let main_tag = convert::tag(main_tag, "main_tag")?;
        let dict = tag_scalar_dict.cast::<PyDict>().map_err(|_| {
            PyTypeError::new_err(format!(
                "tag_scalar_dict must be a dict of str to number, got {}",
                convert::type_name(tag_scalar_dict)
            ))
        })?;
        let step = convert::step(global_step, "global_step")?;
        let wall = convert::walltime(walltime, "walltime")?;
        // Validate everything before writing anything.
        let mut items = Vec::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            let key = convert::tag(&k, "tag_scalar_dict key")?;
            let rel = sub_run_dir(&main_tag, &key)?;
            let value = convert::scalar(&v, &format!("tag_scalar_dict[{key:?}]"))?;
            items.push((rel, value));
        }
        for (rel, value) in items {
            let (writer, file) = self.sub_file(&rel)?;
            let ev = event::summary_event(
                wall,
                Step(step),
                vec![event::scalar_simple(main_tag.clone().into_owned(), value)],
            );
            append_event(py, &writer, file, &ev)?;
        }
        Ok(())
    }

    /// Adds text, as torch's `add_text` (tag `{tag}/text_summary`, the `text` plugin).
    #[pyo3(signature = (tag, text_string, global_step=None, walltime=None))]
    fn add_text(
        &self,
        py: Python<'_>,
        tag: &Bound<'_, PyAny>,
        text_string: &Bound<'_, PyAny>,
        global_step: Option<&Bound<'_, PyAny>>,
        walltime: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let tag = convert::tag(tag, "tag")?;
        let text = convert::text(text_string, "text_string")?;
        let step = convert::step(global_step, "global_step")?;
        let wall = convert::walltime(walltime, "walltime")?;
        let ev = event::summary_event(wall, Step(step), vec![event::text(&tag, &text)]);
        let (writer, main) = self.writer_and_main()?;
        append_event(py, &writer, main, &ev)
    }

    /// Appends one serialized `Event` to the main event file (for summaries built elsewhere).
    fn _write_event(&self, py: Python<'_>, payload: &[u8]) -> PyResult<()> {
        let (writer, main) = self.writer_and_main()?;
        append(py, &writer, main, payload)
    }

    /// Appends a record whose serialized `Event` is produced later, on the writer thread, by
    /// calling `producer()` (which must return `bytes`). It keeps its place in the order.
    fn _write_deferred(&self, producer: Py<PyAny>) -> PyResult<()> {
        let (writer, main) = self.writer_and_main()?;
        writer
            .append_deferred(main, Box::new(PyDeferred(producer)))
            .map_err(write_error)
    }

    /// Builds the serialized `Event` for a summary value given as serialized `Summary.Value`
    /// bytes (used by summaries encoded in Python).
    #[staticmethod]
    #[pyo3(signature = (value, global_step=None, walltime=None))]
    fn _event_bytes<'py>(
        py: Python<'py>,
        value: &[u8],
        global_step: Option<&Bound<'_, PyAny>>,
        walltime: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let step = convert::step(global_step, "global_step")?;
        let wall = convert::walltime(walltime, "walltime")?;
        let value = ferroboard_core::proto::summary::Value::decode(value)
            .map_err(|e| PyValueError::new_err(format!("value is not a Summary.Value: {e}")))?;
        let ev = event::summary_event(wall, Step(step), vec![value]);
        Ok(PyBytes::new(py, &ev.encode_to_vec()))
    }

    /// Waits until everything added so far is written to the operating system.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let writer = {
            let st = lock(&self.state);
            match &st.open {
                Some(o) if !o.writer.is_forked_copy() && !o.writer.is_closed() => {
                    Arc::clone(&o.writer)
                }
                _ => return Ok(()),
            }
        };
        py.detach(|| writer.flush()).map_err(write_error)
    }

    /// Writes everything pending and closes the event files. Idempotent; a later `add_*`
    /// opens a new event file, as torch's writer does.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let open = {
            let mut st = lock(&self.state);
            match st.open.take() {
                Some(o) if o.writer.is_forked_copy() => {
                    std::mem::forget(o);
                    return Ok(());
                }
                Some(o) => o,
                None => return Ok(()),
            }
        };
        py.detach(|| open.writer.close()).map_err(write_error)
    }

    /// Path of the current main event file, or `None` while closed.
    #[getter]
    fn _event_file(&self) -> Option<PathBuf> {
        let st = lock(&self.state);
        st.open
            .as_ref()
            .filter(|o| !o.writer.is_closed() && !o.writer.is_forked_copy())
            .map(|o| o.main_path.clone())
    }

    /// Whether the writer is closed (a later `add_*` reopens it).
    #[getter]
    fn _closed(&self) -> bool {
        let st = lock(&self.state);
        st.open.as_ref().is_none_or(|o| o.writer.is_closed())
    }
}

impl Drop for NativeWriter {
    fn drop(&mut self) {
        let st = self.state.get_mut().unwrap_or_else(|p| p.into_inner());
        if let Some(open) = st.open.take() {
            if open.writer.is_forked_copy() {
                std::mem::forget(open);
            }
            // Otherwise dropping the last Arc closes the writer, flushing everything.
        }
    }
}
