//! The bulk reader: `NativeReader(path, ...)` and its `poll()`.
//!
//! `poll()` reads everything appended since the last call (with the GIL released, runs in
//! parallel) and returns one dict of plain Python objects and numpy arrays; the Python module
//! `ferroboard.reader` turns it into DataFrames, Arrow tables or dicts of arrays.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::PathBuf;

use ferroboard_core::reader::{
    discovery, gather, plan, HValue, Kind, KindSet, LogReader, Payload, ReadOptions, ReadOutput,
    ReaderError, TensorData,
};
use numpy::{IntoPyArray, PyArray1, PyArrayMethods, PyReadonlyArray1};
use pyo3::create_exception;
use pyo3::exceptions::{PyIndexError, PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};

create_exception!(
    _native,
    CorruptRecordError,
    PyOSError,
    "A corrupt record in strict mode; `path` and `offset` name it."
);

pub(crate) fn reader_error(py: Python<'_>, e: ReaderError) -> PyErr {
    match e {
        ReaderError::Corrupt { path, offset, kind } => {
            let msg = format!("{}: {kind} at byte offset {offset}", path.display());
            let err = CorruptRecordError::new_err(msg);
            let v = err.value(py);
            let _ = v.setattr("path", path.display().to_string());
            let _ = v.setattr("offset", offset);
            err
        }
        ReaderError::Io { path, source } => match source.raw_os_error() {
            Some(errno) => {
                PyOSError::new_err((errno, source.to_string(), path.display().to_string()))
            }
            None => PyOSError::new_err(format!("{}: {source}", path.display())),
        },
    }
}

/// The reading state of one logdir or file.
#[pyclass(module = "ferroboard._native")]
pub struct NativeReader {
    inner: LogReader,
}

#[pymethods]
impl NativeReader {
    #[new]
    #[pyo3(signature = (path, kinds=None, runs=None, tags=None, check_crc=true, strict=false, purge_restarts=false))]
    fn new(
        path: PathBuf,
        kinds: Option<Vec<String>>,
        runs: Option<Vec<String>>,
        tags: Option<Vec<String>>,
        check_crc: bool,
        strict: bool,
        purge_restarts: bool,
    ) -> PyResult<Self> {
        crate::storage::check(&path, "path")?;
        let kinds = match kinds {
            None => KindSet::ALL,
            Some(names) => {
                let mut ks = Vec::new();
                for n in names {
                    ks.push(
                        Kind::from_name(&n)
                            .ok_or_else(|| PyValueError::new_err(format!("unknown kind {n:?}")))?,
                    );
                }
                KindSet::of(&ks)
            }
        };
        let opts = ReadOptions {
            kinds,
            runs: runs.map(|r| r.into_iter().collect::<HashSet<_>>()),
            tags: tags.map(|t| t.into_iter().collect::<HashSet<_>>()),
            check_crc,
            strict,
            purge_restarts,
            ..Default::default()
        };
        Ok(NativeReader {
            inner: LogReader::new(&path, opts),
        })
    }

    /// Reads what was appended since the last call; see the module documentation.
    fn poll<'py>(&mut self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let inner = &mut self.inner;
        let out = py
            .detach(|| inner.poll())
            .map_err(|e| reader_error(py, e))?;
        output_dict(py, out)
    }
}

fn hvalue<'py>(py: Python<'py>, v: &HValue) -> PyResult<Bound<'py, PyAny>> {
    Ok(match v {
        HValue::Number(x) => x.into_pyobject(py)?.into_any(),
        HValue::Str(s) => s.into_pyobject(py)?.into_any(),
        HValue::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        HValue::Null => py.None().into_bound(py),
    })
}

fn output_dict(py: Python<'_>, out: ReadOutput) -> PyResult<Bound<'_, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("runs", &out.runs)?;
    d.set_item("tags", &out.tags)?;
    let files = PyList::empty(py);
    for f in &out.files {
        let fd = PyDict::new(py);
        fd.set_item("run", f.run)?;
        fd.set_item("path", f.path.display().to_string())?;
        fd.set_item("start_offset", f.start_offset)?;
        fd.set_item("end_offset", f.end_offset)?;
        fd.set_item("records", f.records)?;
        fd.set_item("corrupt", &f.corrupt)?;
        fd.set_item("malformed", &f.malformed)?;
        fd.set_item("bad_length_at", f.bad_length_at)?;
        fd.set_item("skipped", &f.skipped)?;
        fd.set_item("pending", f.pending)?;
        files.append(fd)?;
    }
    d.set_item("files", files)?;

    let s = out.scalars;
    let sd = PyDict::new(py);
    sd.set_item("run", s.run.into_pyarray(py))?;
    sd.set_item("file", s.file.into_pyarray(py))?;
    sd.set_item("tag", s.tag.into_pyarray(py))?;
    sd.set_item("step", s.step.into_pyarray(py))?;
    sd.set_item("wall_time", s.wall_time.into_pyarray(py))?;
    sd.set_item("value", s.value.into_pyarray(py))?;
    sd.set_item("encoding", s.encoding.into_pyarray(py))?;
    d.set_item("scalars", sd)?;

    let n = out.items.len();
    let mut kind = Vec::with_capacity(n);
    let mut run = Vec::with_capacity(n);
    let mut file = Vec::with_capacity(n);
    let mut tag = Vec::with_capacity(n);
    let mut step = Vec::with_capacity(n);
    let mut wall_time = Vec::with_capacity(n);
    let data = PyList::empty(py);
    for it in out.items {
        kind.push(it.kind as u8);
        run.push(it.run);
        file.push(it.file);
        tag.push(it.tag);
        step.push(it.step);
        wall_time.push(it.wall_time);
        let obj = payload_object(py, it.payload)?;
        data.append(obj)?;
    }
    let idict = PyDict::new(py);
    idict.set_item("kind", kind.into_pyarray(py))?;
    idict.set_item("run", run.into_pyarray(py))?;
    idict.set_item("file", file.into_pyarray(py))?;
    idict.set_item("tag", tag.into_pyarray(py))?;
    idict.set_item("step", step.into_pyarray(py))?;
    idict.set_item("wall_time", wall_time.into_pyarray(py))?;
    idict.set_item("data", data)?;
    d.set_item("items", idict)?;

    let ti = PyList::empty(py);
    for t in &out.tag_info {
        ti.append((t.run, t.tag, t.plugin.as_str(), t.counts.to_vec()))?;
    }
    d.set_item("tag_info", ti)?;
    d.set_item("has_graph", &out.has_graph)?;
    let graphs = PyList::empty(py);
    for g in &out.graph_defs {
        match g {
            Some(bytes) => graphs.append(PyBytes::new(py, bytes))?,
            None => graphs.append(py.None())?,
        }
    }
    d.set_item("graph_defs", graphs)?;
    d.set_item("run_metadata", &out.run_metadata)?;
    let hps = PyList::empty(py);
    for h in &out.hparams {
        let hd = PyDict::new(py);
        let values = PyDict::new(py);
        for (k, v) in &h.hparams {
            values.set_item(k, hvalue(py, v)?)?;
        }
        hd.set_item("hparams", values)?;
        hd.set_item("metric_tags", &h.metric_tags)?;
        hd.set_item("status", h.status)?;
        hd.set_item("group_name", &h.group_name)?;
        hd.set_item("start_time_secs", h.start_time_secs)?;
        hps.append(hd)?;
    }
    d.set_item("hparams", hps)?;
    let purges: Vec<(u32, u32, i64)> = out.purges.iter().map(|p| (p.run, p.tag, p.step)).collect();
    d.set_item("purges", purges)?;
    Ok(d)
}

/// The Python object of one record's data (the `data` of `items`, and of the values
/// `EventIterator` yields): a dict of the decoded fields, a tensor tuple, or None.
pub(crate) fn payload_object(py: Python<'_>, payload: Payload) -> PyResult<Bound<'_, PyAny>> {
    Ok(match payload {
        Payload::Histogram(h) => {
            let hd = PyDict::new(py);
            hd.set_item("min", h.min)?;
            hd.set_item("max", h.max)?;
            hd.set_item("num", h.num)?;
            hd.set_item("sum", h.sum)?;
            hd.set_item("sum_squares", h.sum_squares)?;
            hd.set_item("limits", h.bucket_limit.into_pyarray(py))?;
            hd.set_item("counts", h.bucket.into_pyarray(py))?;
            hd.into_any()
        }
        Payload::Image(im) => {
            let id = PyDict::new(py);
            id.set_item("width", im.width)?;
            id.set_item("height", im.height)?;
            id.set_item("colorspace", im.colorspace)?;
            id.set_item("encoded", PyBytes::new(py, &im.encoded))?;
            id.into_any()
        }
        Payload::Audio(a) => {
            let ad = PyDict::new(py);
            ad.set_item("sample_rate", a.sample_rate)?;
            ad.set_item("num_channels", a.num_channels)?;
            ad.set_item("length_frames", a.length_frames)?;
            ad.set_item("content_type", a.content_type)?;
            ad.set_item("encoded", PyBytes::new(py, &a.encoded))?;
            ad.into_any()
        }
        Payload::Tensor(t) => {
            let dtype = t.numpy_dtype();
            let shape = PyTuple::new(py, &t.shape)?;
            let body: Bound<'_, PyAny> = match t.data {
                TensorData::Numeric(bytes) => PyBytes::new(py, &bytes).into_any(),
                TensorData::Strings(strs) => {
                    let l = PyList::empty(py);
                    for s in strs {
                        l.append(PyBytes::new(py, &s))?;
                    }
                    l.into_any()
                }
            };
            PyTuple::new(
                py,
                [
                    dtype.into_pyobject(py)?.into_any(),
                    shape.into_any(),
                    body,
                    t.dtype.into_pyobject(py)?.into_any(),
                ],
            )?
            .into_any()
        }
        Payload::None => py.None().into_bound(py),
    })
}

/// `table[codes]` as a numpy object array: entry `i` is a new reference to
/// `table[codes[i]]` (run and tag names by their codes).
///
/// The entries are written on the reader's thread pool with the GIL released (the core's
/// `gather`, which also counts the rows of each name); then, with the GIL, each name gets its
/// count of references in one step ([`add_references`]) instead of one `Py_IncRef` call per
/// row, and the array is numpy's own (numpy releases the references when it goes).
#[pyfunction]
fn take_names<'py>(
    py: Python<'py>,
    table: &Bound<'py, PyList>,
    codes: PyReadonlyArray1<'py, u32>,
) -> PyResult<Bound<'py, PyArray1<Py<PyAny>>>> {
    let items: Vec<Bound<'py, PyAny>> = table.iter().collect();
    // The names' addresses, as plain integers that may cross threads (nothing is dereferenced
    // off the GIL; `items` keeps every name alive).
    let addrs: Vec<usize> = items.iter().map(|o| o.as_ptr() as usize).collect();
    let codes = codes.as_array();
    let codes: Cow<'_, [u32]> = match codes.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(codes.iter().copied().collect()),
    };
    let n = codes.len();
    // SAFETY: numpy zero-fills a new object array (a null entry reads as None), so it is
    // valid as it is; no other code sees it until it is returned.
    let out = unsafe { PyArray1::<Py<PyAny>>::new(py, n, false) };
    if n == 0 {
        return Ok(out);
    }
    // SAFETY: the array is C-contiguous with `n` pointer-sized entries, and this slice is the
    // only access to them while it lives.
    let slots = unsafe { std::slice::from_raw_parts_mut(out.data().cast::<usize>(), n) };
    match py.detach(|| gather::gather(&addrs, &codes, slots)) {
        Ok(counts) => {
            for (name, count) in items.iter().zip(counts) {
                // SAFETY: the GIL is held and `name` is alive (held by `items`); these are
                // the references that `count` of the array's entries hold from now on.
                unsafe { add_references(py, name.as_ptr(), count) };
            }
            Ok(out)
        }
        Err(c) => {
            // No reference was taken: clear the entries so that numpy releases none.
            slots.fill(0);
            Err(PyIndexError::new_err(format!(
                "codes: {c} is out of range for a table of {} names",
                items.len()
            )))
        }
    }
}

/// How the running interpreter keeps reference counts, as far as [`add_references`] knows.
#[derive(Clone, Copy, PartialEq)]
enum RefCounts {
    /// `CPython` 3.9 to 3.11: `ob_refcnt` is a plain count.
    Plain,
    /// `CPython` 3.12 to 3.14 (64-bit): immortal objects, marked in the low 32 bits.
    Immortal,
    /// Anything else: only the interpreter's own `Py_IncRef` is used.
    Unknown,
}

static REF_COUNTS: std::sync::OnceLock<RefCounts> = std::sync::OnceLock::new();

/// Gives `obj` `count` new references at once: what `count` calls of `Py_IncRef` do.
///
/// An abi3 module loads only into `CPython` builds with the GIL, where the reference count is
/// the first field of every object, `ob_refcnt` (part of the stable ABI). Up to 3.11 it is a
/// plain count. In 3.12 to 3.14 (64-bit) an object whose count's low 32 bits, read as a
/// signed number, are negative is immortal and `Py_INCREF` leaves it alone; otherwise it adds
/// one to the low 32 bits, the same as adding one to the whole field while the low half
/// cannot carry (pyo3's own version-specific builds do the same). So one addition of `count`
/// is exact in those versions; where the low half could carry, on a 32-bit build or on a
/// later `CPython`, the interpreter's own `Py_IncRef` is called `count` times instead. (A
/// debug interpreter's running total of references is not updated.)
///
/// # Safety
/// The GIL is held and `obj` is a live object.
unsafe fn add_references(py: Python<'_>, obj: *mut pyo3::ffi::PyObject, count: u64) {
    let rules = *REF_COUNTS.get_or_init(|| {
        let v = py.version_info();
        let v = (v.major, v.minor);
        if cfg!(not(target_pointer_width = "64")) || !((3, 9)..(3, 15)).contains(&v) {
            RefCounts::Unknown
        } else if v < (3, 12) {
            RefCounts::Plain
        } else {
            RefCounts::Immortal
        }
    });
    if let (true, Ok(add)) = (rules != RefCounts::Unknown, isize::try_from(count)) {
        // SAFETY: the caller holds the GIL, which guards every reference count (here and for
        // the writes below), and `obj` is alive; the layout is the one `rules` names.
        let refcnt = unsafe { (*obj).ob_refcnt };
        if rules == RefCounts::Plain {
            if let Some(total) = refcnt.checked_add(add) {
                // SAFETY: as above.
                unsafe { (*obj).ob_refcnt = total };
                return;
            }
        } else {
            #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let low = refcnt as u32;
            #[allow(clippy::cast_possible_wrap)]
            if (low as i32) < 0 {
                return; // immortal: Py_INCREF leaves it alone
            }
            if u32::try_from(u64::from(low) + count).is_ok() {
                // SAFETY: as above.
                unsafe { (*obj).ob_refcnt = refcnt + add };
                return;
            }
        }
    }
    for _ in 0..count {
        // SAFETY: the caller holds the GIL and `obj` is alive.
        unsafe { pyo3::ffi::Py_IncRef(obj) };
    }
}

/// Every event file under `path` (or `path` itself, for a file) as `(run, path)`, in the
/// order the reader reads them: the core's discovery, so that Python finds runs as the reader
/// does instead of walking the logdir again by its own rules.
#[pyfunction]
fn event_files(py: Python<'_>, path: PathBuf) -> PyResult<Vec<(String, String)>> {
    crate::storage::check(&path, "path")?;
    let files = py.detach(|| discovery::discover(&path))?;
    Ok(files
        .into_iter()
        .map(|f| (f.run, f.path.display().to_string()))
        .collect())
}

/// The runs under `path` in reading order, split into at most `partitions` contiguous groups
/// of about equal bytes (the core's read plan): each group can be read alone with `runs=`.
#[pyfunction]
fn read_plan(py: Python<'_>, path: PathBuf, partitions: usize) -> PyResult<Vec<Vec<String>>> {
    Ok(py.detach(|| plan::run_groups(&path, partitions))?)
}

/// Adds the reader's class and exception to the module, with `READER_KINDS`: the kind names
/// in the order of their codes (the `kind` column of `items`, `tag_info`'s counts).
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<NativeReader>()?;
    m.add_function(wrap_pyfunction!(take_names, m)?)?;
    m.add_function(wrap_pyfunction!(event_files, m)?)?;
    m.add_function(wrap_pyfunction!(read_plan, m)?)?;
    // Indexed by code (`Kind as u8`), whatever the order of `Kind::ALL`.
    let mut kinds = [""; Kind::ALL.len()];
    for k in Kind::ALL {
        kinds[k as usize] = k.name();
    }
    m.add("READER_KINDS", PyTuple::new(m.py(), kinds)?)?;
    m.add(
        "CorruptRecordError",
        m.py().get_type::<CorruptRecordError>(),
    )
}
