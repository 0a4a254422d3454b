//! `NativeWriter`: the state and hot methods of `ferroboard.SummaryWriter`.
//!
//! The Python class `SummaryWriter` subclasses this one, so `add_scalar`, `add_scalars` and
//! `add_text` run with no Python frame of ours in between. Small records are encoded and
//! appended while holding the GIL (cheaper than releasing it); anything that may block (a full
//! queue, `flush`, `close`, large payloads) releases it first, because the background thread
//! may need the GIL to resolve a deferred value.
//!
//! The session policy (reopen after close or in a forked child, sub-run directories and their
//! path rule, a close racing an append) is the core's [`Session`]; this file converts
//! arguments and manages the GIL around it.
//!
//! `write_to_disk=False` (tensorboardX's option) configures the core writer to discard: every
//! call encodes and validates as usual, and the background thread drops the records; no
//! directory or file is created.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferroboard_core::proto::Event;
use ferroboard_core::summary::{self, Step, WallTime};
use ferroboard_core::writer::session::{self, Session, SessionConfig};
use ferroboard_core::writer::DeferredPayload;
use ferroboard_core::{EventWriter, FileId, WriteError, WriterOptions};
use prost::Message;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyFloat, PyString, PyTuple};

use crate::convert::{self, ScalarArg};
use crate::errors::{session_error, sub_run_error, write_error};
use crate::pending::{call_on_writer_thread, later_value, PendingEvent};

/// Payloads at least this large are framed with the GIL released.
const LARGE_PAYLOAD: usize = 64 * 1024;

thread_local! {
    static SCRATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// `add_scalars` fast path: `{main_tag: {key: file id}}` as Python dicts, so a repeated call
/// finds its sub-run files by the (hash-cached) key strings, converting nothing. Valid for the
/// writer in `writer`; rebuilt when the writer is reopened.
struct SubRunCache {
    writer: Arc<EventWriter>,
    by_main_tag: Py<PyDict>,
}

/// Native core of `SummaryWriter` (subclass it; do not use it directly).
#[pyclass(subclass, module = "ferroboard._native")]
pub struct NativeWriter {
    session: Session,
    sub_cache: Mutex<Option<SubRunCache>>,
}

/// Set by `ferroboard`'s exit handler once every writer is closed: from then on the interpreter
/// may be finalizing, and a background thread must not try to attach to it.
pub(crate) static EXITING: AtomicBool = AtomicBool::new(false);

/// Marks the interpreter as exiting (called by `ferroboard.writer`'s `atexit` handler).
#[pyfunction]
pub fn _interpreter_exiting() {
    EXITING.store(true, Ordering::Release);
}

struct PyDeferred(Py<PyAny>);

impl DeferredPayload for PyDeferred {
    fn resolve(self: Box<Self>) -> Result<Vec<u8>, String> {
        call_on_writer_thread(self.0, |out| {
            out.extract::<Vec<u8>>().map_err(|_| {
                format!(
                    "the producer must return bytes (a serialized Event), got {}",
                    convert::type_name(out)
                )
            })
        })
    }
}

/// A scalar a device is still producing (`ScalarArg::Later`), as a float on the writer thread.
fn later_scalar(producer: Py<PyAny>) -> Result<f64, String> {
    later_value(producer, "a device scalar", "a float", |out| {
        out.extract::<f64>()
    })
}

/// Appends `item` to `file` through `with_file`'s retries: on a retry after a concurrent
/// close the closure is gone with the closed writer, which is reported.
fn deferred_op(
    item: Box<dyn DeferredPayload>,
) -> impl FnMut(&EventWriter, FileId) -> Result<(), WriteError> {
    let mut item = Some(item);
    move |w, f| match item.take() {
        Some(item) => w.append_deferred(f, item),
        None => Err(WriteError::Deferred(
            "the writer was closed by another thread while this value was written".into(),
        )),
    }
}

impl NativeWriter {
    /// The open writer and main file, (re)opening like torch's `_get_file_writer` when the
    /// writer was closed or this is a forked child.
    fn writer_and_main(&self) -> PyResult<(Arc<EventWriter>, FileId)> {
        self.session.main().map_err(session_error)
    }

    /// Runs `op` on the current writer and the file `pick` chooses, through the session's
    /// retry after a concurrent close ([`Session::with_file`]).
    fn with_file(
        &self,
        pick: impl Fn(&Self) -> PyResult<(Arc<EventWriter>, FileId)>,
        op: impl FnMut(&EventWriter, FileId) -> Result<(), WriteError>,
    ) -> PyResult<()> {
        self.session
            .with_file(|_| pick(self), op)?
            .map_err(write_error)
    }

    /// The file of sub-run `rel` (a directory under `log_dir`), created on first use.
    fn sub_file(&self, rel: &str) -> PyResult<(Arc<EventWriter>, FileId)> {
        self.session.sub_run(rel).map_err(session_error)
    }

    /// The `{key: file id}` dict of `main_tag`'s sub-runs on `writer`.
    fn sub_run_files<'py>(
        &self,
        py: Python<'py>,
        writer: &Arc<EventWriter>,
        main_tag: &Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyDict>> {
        let mut cache = self.sub_cache.lock().unwrap_or_else(|p| p.into_inner());
        if !matches!(&*cache, Some(c) if Arc::ptr_eq(&c.writer, writer)) {
            *cache = Some(SubRunCache {
                writer: Arc::clone(writer),
                by_main_tag: PyDict::new(py).unbind(),
            });
        }
        let by_main_tag = cache
            .as_ref()
            .expect("set above")
            .by_main_tag
            .bind(py)
            .clone();
        drop(cache);
        if let Some(d) = by_main_tag.get_item(main_tag)? {
            return Ok(d.cast_into::<PyDict>()?);
        }
        let d = PyDict::new(py);
        by_main_tag.set_item(main_tag, &d)?;
        Ok(d)
    }
}

/// Appends a serialized event without blocking while holding the GIL.
fn append(
    py: Python<'_>,
    writer: &EventWriter,
    file: FileId,
    payload: &[u8],
) -> Result<(), WriteError> {
    if payload.len() >= LARGE_PAYLOAD {
        return py.detach(|| writer.append_large(file, payload));
    }
    match writer.try_append(file, payload) {
        Ok(true) => Ok(()),
        Ok(false) => py.detach(|| writer.append(file, payload)),
        Err(e) => Err(e),
    }
}

/// Runs `f` with this thread's scratch buffer (a fresh one if a call re-entered, such as a
/// converter that logged from inside a call).
fn with_scratch<R>(f: impl FnOnce(&mut Vec<u8>) -> R) -> R {
    SCRATCH.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => f(&mut buf),
        Err(_) => f(&mut Vec::new()),
    })
}

/// Encodes `event` into this thread's scratch buffer and appends it.
fn append_event(
    py: Python<'_>,
    writer: &EventWriter,
    file: FileId,
    event: &Event,
) -> Result<(), WriteError> {
    with_scratch(|buf| {
        summary::encode_into(event, buf);
        append(py, writer, file, buf)
    })
}

/// How `add_scalar` encodes a value: torch's `new_style` and `double_precision`, and
/// tensorboardX's title and description of the tag (`None`: neither given).
#[derive(Default)]
struct ScalarForm {
    new_style: bool,
    double_precision: bool,
    described: Option<(String, String)>,
}

impl ScalarForm {
    /// Whether it is the default form, which the allocation-free encoder writes.
    fn is_plain(&self) -> bool {
        !self.new_style && self.described.is_none()
    }

    /// The summary value of `v` under `tag` in this form.
    fn value(self, tag: String, v: f64) -> ferroboard_core::proto::summary::Value {
        let value = if self.new_style {
            summary::scalar_tensor(tag, v, self.double_precision)
        } else {
            summary::scalar_simple(tag, v)
        };
        match self.described {
            Some((title, description)) => summary::described(value, title, description),
            None => value,
        }
    }
}

/// The serialized event of one scalar, as `add_scalar` writes it.
fn scalar_event_bytes(wall: WallTime, step: i64, tag: String, v: f64, form: ScalarForm) -> Vec<u8> {
    let mut buf = Vec::new();
    if form.is_plain() {
        summary::encode_simple_scalar(&mut buf, wall, Step(step), &tag, v);
    } else {
        let event = summary::summary_event(wall, Step(step), vec![form.value(tag, v)]);
        summary::encode_into(&event, &mut buf);
    }
    buf
}

/// tensorboardX's `display_name` and `summary_description` of `add_scalar` (`None` or `""`
/// each: not given); `None` when neither is given.
fn scalar_description(
    display_name: Option<&Bound<'_, PyAny>>,
    summary_description: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<(String, String)>> {
    let text = |obj: Option<&Bound<'_, PyAny>>, name: &str| -> PyResult<String> {
        match obj {
            Some(o) if !o.is_none() => Ok(convert::text(o, name)?.into_owned()),
            _ => Ok(String::new()),
        }
    };
    let title = text(display_name, "display_name")?;
    let description = text(summary_description, "summary_description")?;
    Ok((!title.is_empty() || !description.is_empty()).then_some((title, description)))
}

#[pymethods]
impl NativeWriter {
    #[new]
    #[pyo3(signature = (*_args, **_kwargs))]
    fn new(_args: &Bound<'_, PyTuple>, _kwargs: Option<&Bound<'_, PyDict>>) -> Self {
        NativeWriter {
            session: Session::new(),
            sub_cache: Mutex::new(None),
        }
    }

    /// Configures the writer and creates its event file (called by `SummaryWriter.__init__`).
    #[pyo3(signature = (log_dir, max_queue, flush_secs, filename_suffix, purge_step, fsync=false, write_to_disk=true))]
    #[allow(clippy::too_many_arguments)]
    fn _configure(
        &self,
        py: Python<'_>,
        log_dir: PathBuf,
        max_queue: usize,
        flush_secs: f64,
        filename_suffix: &str,
        purge_step: Option<&Bound<'_, PyAny>>,
        fsync: bool,
        write_to_disk: bool,
    ) -> PyResult<()> {
        if !(flush_secs.is_finite() && flush_secs >= 0.0) {
            return Err(PyValueError::new_err(format!(
                "flush_secs must be a non-negative number of seconds, got {flush_secs}"
            )));
        }
        crate::storage::check(&log_dir, "log_dir")?;
        if write_to_disk && ferroboard_core::storage::is_remote(&log_dir) {
            // A wrong endpoint or credential fails here, clearly, rather than at the first
            // upload; without the GIL (the request may take a while).
            py.detach(|| ferroboard_core::storage::stat(&log_dir))?;
        }
        let purge_step = match purge_step {
            Some(p) if !p.is_none() => Some(convert::step(Some(p), "purge_step")?),
            _ => None,
        };
        self.session
            .configure(SessionConfig {
                log_dir,
                suffix: filename_suffix.to_owned(),
                options: WriterOptions {
                    max_queue: max_queue.max(1),
                    flush_interval: Duration::from_secs_f64(flush_secs.min(1e9)),
                    fsync,
                    discard: !write_to_disk,
                    ..WriterOptions::default()
                },
                purge_step,
            })
            .map_err(session_error)
    }

    /// Adds a scalar, as torch's `add_scalar`.
    #[pyo3(
        signature = (tag, scalar_value, global_step=None, walltime=None, new_style=None, double_precision=None, *, display_name=None, summary_description=None),
        text_signature = "(self, tag, scalar_value, global_step=None, walltime=None, new_style=False, double_precision=False, *, display_name='', summary_description='')"
    )]
    #[allow(clippy::too_many_arguments)] // torch's signature, then tensorboardX's keywords
    fn add_scalar(
        &self,
        py: Python<'_>,
        tag: &Bound<'_, PyAny>,
        scalar_value: &Bound<'_, PyAny>,
        global_step: Option<&Bound<'_, PyAny>>,
        walltime: Option<&Bound<'_, PyAny>>,
        new_style: Option<&Bound<'_, PyAny>>,
        double_precision: Option<&Bound<'_, PyAny>>,
        display_name: Option<&Bound<'_, PyAny>>,
        summary_description: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let tag = convert::tag(tag, "tag")?;
        let v = convert::scalar_or_later(scalar_value, "scalar_value")?;
        let step = convert::step(global_step, "global_step")?;
        let wall = convert::walltime(walltime, "walltime")?;
        // Any truthy value, as torch tests them with `if` (default False).
        let truthy = |b: Option<&Bound<'_, PyAny>>| b.map_or(Ok(false), |b| b.is_truthy());
        let form = ScalarForm {
            new_style: truthy(new_style)?,
            double_precision: truthy(double_precision)?,
            described: scalar_description(display_name, summary_description)?,
        };
        let v = match v {
            ScalarArg::Now(v) => v,
            ScalarArg::Later(producer) => {
                // A device value: encoded on the writer thread once its copy has landed.
                let tag = tag.into_owned();
                let item: Box<dyn DeferredPayload> = Box::new(move || {
                    let v = later_scalar(producer)?;
                    Ok(scalar_event_bytes(wall, step, tag, v, form))
                });
                let mut op = deferred_op(item);
                return self.with_file(Self::writer_and_main, |w, f| py.detach(|| op(w, f)));
            }
        };
        if form.is_plain() {
            // The default encoding: straight into the scratch buffer, nothing allocated.
            return with_scratch(|buf| {
                summary::encode_simple_scalar(buf, wall, Step(step), &tag, v);
                self.with_file(Self::writer_and_main, |w, f| append(py, w, f, buf))
            });
        }
        let ev = summary::summary_event(wall, Step(step), vec![form.value(tag.into_owned(), v)]);
        self.with_file(Self::writer_and_main, |w, f| append_event(py, w, f, &ev))
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
        let main_tag_str = convert::tag(main_tag, "main_tag")?;
        let dict = tag_scalar_dict.cast::<PyDict>().map_err(|_| {
            PyTypeError::new_err(format!(
                "tag_scalar_dict must be a dict of str to number, got {}",
                convert::type_name(tag_scalar_dict)
            ))
        })?;
        let step = convert::step(global_step, "global_step")?;
        let wall = convert::walltime(walltime, "walltime")?;
        let (writer, _) = self.writer_and_main()?;
        let files = self.sub_run_files(py, &writer, main_tag)?;
        // Validate everything before writing anything. Keys seen before on this writer were
        // validated then, and are found in `files` with their sub-run file.
        let mut items = Vec::with_capacity(dict.len());
        for (k, v) in dict.iter() {
            let cached = match files.get_item(&k)? {
                Some(id) => Some(FileId::from_raw(id.extract::<u32>()?)),
                None => {
                    let key = convert::tag(&k, "tag_scalar_dict key")?;
                    session::sub_run_dir(&main_tag_str, &key).map_err(sub_run_error)?;
                    None
                }
            };
            let value = match v.cast::<PyFloat>() {
                Ok(f) => ScalarArg::Now(f.value()),
                Err(_) => {
                    let key = k.cast::<PyString>()?.to_string_lossy().into_owned();
                    convert::scalar_or_later(&v, &format!("tag_scalar_dict[{key:?}]"))?
                }
            };
            items.push((k, cached, value));
        }
        for (k, cached, value) in items {
            let first_try = Cell::new(true);
            let pick = |s: &Self| -> PyResult<(Arc<EventWriter>, FileId)> {
                if let (true, Some(id)) = (first_try.replace(false), cached) {
                    return Ok((Arc::clone(&writer), id));
                }
                let key = convert::tag(&k, "tag_scalar_dict key")?;
                let rel = session::sub_run_dir(&main_tag_str, &key).map_err(sub_run_error)?;
                let (w, id) = s.sub_file(&rel)?;
                if Arc::ptr_eq(&w, &writer) {
                    files.set_item(&k, id.raw())?;
                }
                Ok((w, id))
            };
            match value {
                ScalarArg::Now(value) => with_scratch(|buf| {
                    summary::encode_simple_scalar(buf, wall, Step(step), &main_tag_str, value);
                    self.with_file(pick, |w, f| append(py, w, f, buf))
                })?,
                ScalarArg::Later(producer) => {
                    let tag = main_tag_str.clone().into_owned();
                    let item: Box<dyn DeferredPayload> = Box::new(move || {
                        let v = later_scalar(producer)?;
                        Ok(scalar_event_bytes(
                            wall,
                            step,
                            tag,
                            v,
                            ScalarForm::default(),
                        ))
                    });
                    let mut op = deferred_op(item);
                    self.with_file(pick, |w, f| py.detach(|| op(w, f)))?;
                }
            }
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
        let ev = summary::summary_event(wall, Step(step), vec![summary::text(&tag, &text)]);
        self.with_file(Self::writer_and_main, |w, f| append_event(py, w, f, &ev))
    }

    /// Appends one serialized `Event` to the main event file (for summaries built elsewhere).
    fn _write_event(&self, py: Python<'_>, payload: &[u8]) -> PyResult<()> {
        self.with_file(Self::writer_and_main, |w, f| append(py, w, f, payload))
    }

    /// Appends one serialized `Event` to the event file of sub-run `run` (a directory under
    /// `log_dir`, as `add_scalars` makes them), created if missing.
    fn _write_event_to(&self, py: Python<'_>, run: &str, payload: &[u8]) -> PyResult<()> {
        session::check_sub_run(run).map_err(sub_run_error)?;
        self.with_file(|s| s.sub_file(run), |w, f| append(py, w, f, payload))
    }

    /// Opens the writer again if it was closed (a new event file), as torch's
    /// `_get_file_writer()` does; does nothing while it is open.
    fn _open(&self) -> PyResult<()> {
        self.writer_and_main().map(|_| ())
    }

    /// Appends a record whose serialized `Event` is produced later, on the writer thread, by
    /// calling `producer()` (which must return `bytes`). It keeps its place in the order.
    fn _write_deferred(&self, py: Python<'_>, producer: Py<PyAny>) -> PyResult<()> {
        self.with_file(Self::writer_and_main, |w, f| {
            let item = Box::new(PyDeferred(producer.clone_ref(py)));
            // A full queue makes this wait for the background thread, which may need the GIL.
            py.detach(|| w.append_deferred(f, item))
        })
    }

    /// Appends a `PendingEvent` (built by a media summary's binding function) to the main event
    /// file: it keeps its place in the order and is encoded on the writer thread.
    fn _write_pending(&self, py: Python<'_>, pending: &PendingEvent) -> PyResult<()> {
        let mut op = deferred_op(pending.take()?);
        self.with_file(Self::writer_and_main, |w, f| py.detach(|| op(w, f)))
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
        let ev = summary::summary_event(wall, Step(step), vec![value]);
        Ok(PyBytes::new(py, &ev.encode_to_vec()))
    }

    /// Builds the serialized `Event{wall_time, step, summary}` around a serialized `Summary`.
    #[staticmethod]
    #[pyo3(signature = (summary, global_step=None, walltime=None))]
    fn _summary_event<'py>(
        py: Python<'py>,
        summary: &[u8],
        global_step: Option<&Bound<'_, PyAny>>,
        walltime: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyBytes>> {
        let step = convert::step(global_step, "global_step")?;
        let wall = convert::walltime(walltime, "walltime")?;
        let summary = ferroboard_core::proto::Summary::decode(summary)
            .map_err(|e| PyValueError::new_err(format!("summary is not a Summary: {e}")))?;
        let ev = summary::summary_event(wall, Step(step), summary.value);
        Ok(PyBytes::new(py, &ev.encode_to_vec()))
    }

    /// Waits until everything added so far is written to the operating system.
    fn flush(&self, py: Python<'_>) -> PyResult<()> {
        let session = &self.session;
        py.detach(|| session.flush()).map_err(write_error)
    }

    /// Writes everything pending and closes the event files. Idempotent; a later `add_*`
    /// opens a new event file, as torch's writer does.
    fn close(&self, py: Python<'_>) -> PyResult<()> {
        let session = &self.session;
        py.detach(|| session.close()).map_err(write_error)
    }

    /// Path of the current main event file, or `None` while closed or writing nothing
    /// (`write_to_disk=False`).
    #[getter]
    fn _event_file(&self) -> Option<PathBuf> {
        self.session.event_file()
    }

    /// The sub-runs (directories under `log_dir`) that `add_scalars` opened since the writer
    /// was last (re)opened, in the order they were opened; empty while closed.
    #[getter]
    fn _sub_runs(&self) -> Vec<String> {
        self.session.sub_runs()
    }

    /// Path of sub-run `run`'s event file (an `add_scalars` sub-run, a directory under
    /// `log_dir`), or `None` when it has none since the writer was last (re)opened, while
    /// closed, or writing nothing.
    fn _sub_run_file(&self, run: &str) -> Option<PathBuf> {
        self.session.sub_run_file(run)
    }

    /// Whether the writer is closed (a later `add_*` reopens it).
    #[getter]
    fn _closed(&self) -> bool {
        self.session.is_closed()
    }
}

impl Drop for NativeWriter {
    fn drop(&mut self) {
        let mut session = std::mem::take(&mut self.session);
        let cache = self
            .sub_cache
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if session.is_forked_copy() {
            // The parent's writer must not be touched in a forked child: the session leaks
            // it when dropped, and the cache's reference to it is leaked here.
            std::mem::forget(cache);
            return;
        }
        // Dropping the last reference closes the writer, which waits for its thread; that
        // thread may need the GIL (a deferred value), so wait without holding it. (Objects are
        // deallocated with the GIL held.)
        let writer = cache.map(|c| c.writer);
        Python::attach(|py| py.detach(move || drop((session, writer))));
    }
}
