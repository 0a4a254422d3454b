//! A minimal event iterator: the events of one file as Python dicts.
//!
//! `EventIterator(path)` yields one dict per record, in file order:
//! `{"offset", "wall_time", "step", "kind", ...}` where `kind` names the `Event.what` field
//! (`"file_version"`, `"summary"`, `"session_log"`, `"graph_def"`, ...). A summary event has
//! `"values"`: dicts with `"tag"`, `"plugin"` (plugin name or `None`), and one payload key:
//! `"simple_value"`, `"tensor"` (dtype name, shape, and the values in `"values"`), `"histo"`,
//! `"image"` or `"audio"`. A record whose payload CRC fails is skipped; an incomplete tail ends
//! the iteration (`truncated` then tells where it starts); a corrupt length raises `OSError`.

use std::io;
use std::path::PathBuf;

use ferroboard_core::format::record::{Frame, ReadError, RecordReader};
use ferroboard_core::proto::{event::What, summary, DataType, Event, TensorProto};
use ferroboard_core::storage::{self, Source};
use prost::Message;
use pyo3::exceptions::{PyOSError, PyStopIteration};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList};

/// Iterates the events of one event file as dicts.
#[pyclass(module = "ferroboard._native", unsendable)]
pub struct EventIterator {
    path: PathBuf,
    reader: RecordReader<Box<dyn Source>>,
    /// Offset where an incomplete final record starts, once seen.
    #[pyo3(get)]
    truncated: Option<u64>,
    /// Records skipped for a bad payload CRC.
    #[pyo3(get)]
    corrupt_records: u64,
    done: bool,
}

#[pymethods]
impl EventIterator {
    #[new]
    #[pyo3(signature = (path, check_crc=true))]
    fn new(py: Python<'_>, path: PathBuf, check_crc: bool) -> PyResult<Self> {
        crate::storage::check(&path, "path")?;
        // A remote object is fetched whole here, without the GIL, so that iterating does not
        // wait on the network while holding it; a local file is read as iterated.
        let file: Box<dyn Source> = if storage::is_remote(&path) {
            Box::new(io::Cursor::new(py.detach(|| storage::read_all(&path))?))
        } else {
            storage::open(&path, 0, None)?
        };
        let mut reader = RecordReader::new(file);
        reader.set_check_crc(check_crc);
        Ok(EventIterator {
            path,
            reader,
            truncated: None,
            corrupt_records: 0,
            done: false,
        })
    }

    fn __iter__(slf: PyRef<'_, Self>) -> PyRef<'_, Self> {
        slf
    }

    fn __next__<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        loop {
            if self.done {
                return Err(PyStopIteration::new_err(()));
            }
            match self.reader.read_next() {
                Ok(Frame::Record { offset, payload }) => {
                    let event = Event::decode(payload).map_err(|e| {
                        PyOSError::new_err(format!(
                            "{}: record at byte offset {offset} is not an Event: {e}",
                            self.path.display()
                        ))
                    })?;
                    return event_dict(py, offset, &event);
                }
                Ok(Frame::BadDataCrc { .. }) => self.corrupt_records += 1,
                Ok(Frame::Incomplete { offset, pending }) => {
                    if pending > 0 {
                        self.truncated = Some(offset);
                    }
                    self.done = true;
                }
                Err(ReadError::Io(e)) => return Err(e.into()),
                Err(ReadError::Framing(e)) => {
                    self.done = true;
                    return Err(PyOSError::new_err(format!("{}: {e}", self.path.display())));
                }
            }
        }
    }
}

fn dtype_name(dtype: i32) -> String {
    DataType::try_from(dtype)
        .map(|d| d.as_str_name().to_owned())
        .unwrap_or_else(|_| format!("DT_{dtype}"))
}

fn tensor_dict<'py>(py: Python<'py>, t: &TensorProto) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("dtype", dtype_name(t.dtype))?;
    let shape: Vec<i64> = t
        .tensor_shape
        .as_ref()
        .map(|s| s.dim.iter().map(|d| d.size).collect())
        .unwrap_or_default();
    d.set_item("shape", shape)?;
    if !t.float_val.is_empty() {
        d.set_item("values", &t.float_val)?;
    } else if !t.double_val.is_empty() {
        d.set_item("values", &t.double_val)?;
    } else if !t.int_val.is_empty() {
        d.set_item("values", &t.int_val)?;
    } else if !t.int64_val.is_empty() {
        d.set_item("values", &t.int64_val)?;
    } else if !t.bool_val.is_empty() {
        d.set_item("values", &t.bool_val)?;
    } else if !t.half_val.is_empty() {
        d.set_item("half_val", &t.half_val)?;
    } else if !t.string_val.is_empty() {
        let l = PyList::empty(py);
        for s in &t.string_val {
            l.append(PyBytes::new(py, s))?;
        }
        d.set_item("values", l)?;
    }
    if !t.tensor_content.is_empty() {
        d.set_item("tensor_content", PyBytes::new(py, &t.tensor_content))?;
    }
    Ok(d)
}

fn value_dict<'py>(py: Python<'py>, v: &summary::Value) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("tag", &v.tag)?;
    let plugin = v
        .metadata
        .as_ref()
        .and_then(|m| m.plugin_data.as_ref())
        .map(|p| p.plugin_name.clone());
    d.set_item("plugin", plugin)?;
    match &v.value {
        Some(summary::value::Value::SimpleValue(x)) => d.set_item("simple_value", *x)?,
        Some(summary::value::Value::Tensor(t)) => d.set_item("tensor", tensor_dict(py, t)?)?,
        Some(summary::value::Value::Histo(h)) => {
            let hd = PyDict::new(py);
            hd.set_item("min", h.min)?;
            hd.set_item("max", h.max)?;
            hd.set_item("num", h.num)?;
            hd.set_item("sum", h.sum)?;
            hd.set_item("sum_squares", h.sum_squares)?;
            hd.set_item("bucket_limit", &h.bucket_limit)?;
            hd.set_item("bucket", &h.bucket)?;
            d.set_item("histo", hd)?;
        }
        Some(summary::value::Value::Image(i)) => {
            let id = PyDict::new(py);
            id.set_item("height", i.height)?;
            id.set_item("width", i.width)?;
            id.set_item("colorspace", i.colorspace)?;
            id.set_item(
                "encoded_image_string",
                PyBytes::new(py, &i.encoded_image_string),
            )?;
            d.set_item("image", id)?;
        }
        Some(summary::value::Value::Audio(a)) => {
            let ad = PyDict::new(py);
            ad.set_item("sample_rate", a.sample_rate)?;
            ad.set_item("num_channels", a.num_channels)?;
            ad.set_item("length_frames", a.length_frames)?;
            ad.set_item("content_type", &a.content_type)?;
            ad.set_item(
                "encoded_audio_string",
                PyBytes::new(py, &a.encoded_audio_string),
            )?;
            d.set_item("audio", ad)?;
        }
        Some(summary::value::Value::ObsoleteOldStyleHistogram(b)) => {
            d.set_item("obsolete_old_style_histogram", PyBytes::new(py, b))?
        }
        None => {}
    }
    Ok(d)
}

fn event_dict<'py>(py: Python<'py>, offset: u64, e: &Event) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("offset", offset)?;
    d.set_item("wall_time", e.wall_time)?;
    d.set_item("step", e.step)?;
    let kind = match &e.what {
        Some(What::FileVersion(v)) => {
            d.set_item("file_version", v)?;
            "file_version"
        }
        Some(What::GraphDef(g)) => {
            d.set_item("graph_def", PyBytes::new(py, g))?;
            "graph_def"
        }
        Some(What::MetaGraphDef(g)) => {
            d.set_item("meta_graph_def", PyBytes::new(py, g))?;
            "meta_graph_def"
        }
        Some(What::Summary(s)) => {
            let l = PyList::empty(py);
            for v in &s.value {
                l.append(value_dict(py, v)?)?;
            }
            d.set_item("values", l)?;
            "summary"
        }
        Some(What::LogMessage(m)) => {
            d.set_item("message", &m.message)?;
            d.set_item("level", m.level)?;
            "log_message"
        }
        Some(What::SessionLog(s)) => {
            d.set_item("status", s.status().as_str_name())?;
            d.set_item("msg", &s.msg)?;
            "session_log"
        }
        Some(What::TaggedRunMetadata(t)) => {
            d.set_item("tag", &t.tag)?;
            d.set_item("run_metadata", PyBytes::new(py, &t.run_metadata))?;
            "tagged_run_metadata"
        }
        None => "empty",
    };
    d.set_item("kind", kind)?;
    if let Some(sm) = &e.source_metadata {
        d.set_item("source_writer", &sm.writer)?;
    }
    Ok(d)
}

/// Registers the iterator class.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<EventIterator>()
}
