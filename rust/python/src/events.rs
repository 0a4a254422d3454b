//! `EventIterator(path, check_crc=True, strict=False)`: the events of one file as Python dicts,
//! from the core's per-event reader (`ferroboard_core::reader::events`), converted here and
//! nothing else.
//!
//! One dict per event, in file order: `{"offset", "wall_time", "step", "kind", ...}` where
//! `kind` names the `Event.what` field (`"file_version"`, `"summary"`, `"session_log"`,
//! `"graph_def"`, ...). A summary event has `"values"`: dicts with `"tag"`, `"plugin"` (the
//! plugin of the tag's first metadata, or `None`), `"kind"` (the bulk reader's kind name, or
//! `None`) and the data with the bulk reader's keys: `"value"` for a scalar; `min`, `max`,
//! `num`, `sum`, `sum_squares`, `limits`, `counts` for a histogram; `width`, `height`,
//! `colorspace`, `encoded` for an image; `sample_rate`, `num_channels`, `length_frames`,
//! `content_type`, `encoded` for audio; `"tensor"` (the tensor tuple of the bulk reader's
//! `items`, which `ferroboard.events` turns into an array) for a tensor. The report of the
//! read (`corrupt`, `malformed`, `skipped`, `bad_length_at`, `truncated`, ...) is on the
//! iterator.

use std::path::PathBuf;

use ferroboard_core::reader::events::{Event, EventOptions, EventReader, Value, ValueData, What};
use ferroboard_core::reader::{Payload, ReaderError};
use pyo3::exceptions::PyStopIteration;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

use crate::reader::{payload_object, reader_error};

/// Iterates the events of one event file as dicts.
#[pyclass(module = "ferroboard._native", unsendable, subclass)]
pub struct EventIterator {
    inner: EventReader,
}

#[pymethods]
impl EventIterator {
    #[new]
    #[pyo3(signature = (path, check_crc=true, strict=false))]
    fn new(py: Python<'_>, path: PathBuf, check_crc: bool, strict: bool) -> PyResult<Self> {
        crate::storage::check(&path, "path")?;
        let opts = EventOptions { check_crc, strict };
        // A remote object is fetched whole when opened: without the GIL.
        let inner = py
            .detach(|| EventReader::open(&path, opts))
            .map_err(|e| match e {
                // As `open()` raises it (`FileNotFoundError`, `IsADirectoryError`, ...).
                ReaderError::Io { source, .. } => source.into(),
                e @ ReaderError::Corrupt { .. } => reader_error(py, e),
            })?;
        Ok(EventIterator { inner })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        match self.inner.next_event() {
            Ok(Some(ev)) => event_dict(py, ev),
            Ok(None) => Err(PyStopIteration::new_err(())),
            Err(e) => Err(reader_error(py, e)),
        }
    }

    /// The file.
    #[getter]
    fn path(&self) -> String {
        self.inner.path().display().to_string()
    }

    /// Offset where an incomplete final record starts, once the iteration reached it.
    #[getter]
    fn truncated(&self) -> Option<u64> {
        let r = self.inner.report();
        (r.pending > 0).then_some(r.end_offset)
    }

    /// Records skipped for a bad data CRC (`len(corrupt)`).
    #[getter]
    fn corrupt_records(&self) -> usize {
        self.inner.report().corrupt.len()
    }

    /// Byte offsets of the records skipped for a bad data CRC.
    #[getter]
    fn corrupt(&self) -> Vec<u64> {
        self.inner.report().corrupt.clone()
    }

    /// Byte offsets of the records whose CRCs hold but which are not an `Event` (skipped).
    #[getter]
    fn malformed(&self) -> Vec<u64> {
        self.inner.report().malformed.clone()
    }

    /// `(offset, length)` of each byte range passed over by resynchronising after a bad
    /// length CRC.
    #[getter]
    fn skipped(&self) -> Vec<(u64, u64)> {
        self.inner.report().skipped.clone()
    }

    /// Where the first bad length CRC met so far starts.
    #[getter]
    fn bad_length_at(&self) -> Option<u64> {
        self.inner.report().bad_length_at
    }

    /// Records framed so far (events, and the skipped ones).
    #[getter]
    fn records(&self) -> u64 {
        self.inner.report().records
    }
}

fn value_dict(py: Python<'_>, v: Value) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("tag", v.tag)?;
    d.set_item("plugin", (!v.plugin.is_empty()).then_some(v.plugin))?;
    match v.data {
        ValueData::Scalar(x, _) => {
            d.set_item("kind", ferroboard_core::reader::Kind::Scalar.name())?;
            d.set_item("value", x)?;
        }
        ValueData::Item(kind, payload) => {
            d.set_item("kind", kind.name())?;
            let tensor = matches!(payload, Payload::Tensor(_));
            let obj = payload_object(py, payload)?;
            if tensor {
                d.set_item("tensor", obj)?;
            } else if let Ok(fields) = obj.cast::<PyDict>() {
                d.update(fields.as_mapping())?;
            }
        }
        ValueData::Nothing => d.set_item("kind", py.None())?,
    }
    Ok(d)
}

fn event_dict(py: Python<'_>, e: Event) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("offset", e.offset)?;
    d.set_item("wall_time", e.wall_time)?;
    d.set_item("step", e.step)?;
    d.set_item("kind", e.what.name())?;
    match e.what {
        What::Empty => {}
        What::FileVersion(v) => d.set_item("file_version", v)?,
        What::GraphDef(g) => d.set_item("graph_def", PyBytes::new(py, &g))?,
        What::MetaGraphDef(g) => d.set_item("meta_graph_def", PyBytes::new(py, &g))?,
        What::Summary(values) => {
            let l = PyList::empty(py);
            for v in values {
                l.append(value_dict(py, v)?)?;
            }
            d.set_item("values", l)?;
        }
        What::LogMessage { level, message } => {
            d.set_item("message", message)?;
            d.set_item("level", level)?;
        }
        What::SessionLog { status, msg } => {
            d.set_item("status", status)?;
            d.set_item("msg", msg)?;
        }
        What::TaggedRunMetadata { tag, run_metadata } => {
            d.set_item("tag", tag)?;
            d.set_item("run_metadata", PyBytes::new(py, &run_metadata))?;
        }
    }
    if let Some(w) = e.source_writer {
        d.set_item("source_writer", w)?;
    }
    Ok(d)
}

/// Registers the iterator class.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<EventIterator>()
}
