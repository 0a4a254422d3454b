//! Images for `SummaryWriter.add_image`, `add_images`, `add_image_with_boxes` and
//! `add_figure`: `image_pending` checks the arguments against the core's rules, copies the
//! caller's pixels (GIL released; the caller may reuse its buffer at once) and returns a
//! `PendingEvent` whose closure lays out, scales, draws, rescales and PNG-encodes the image
//! on the writer thread (`ferroboard_core::summary::image::render`).
//!
//! Memory: the copied pixels of images waiting for a writer thread count against one budget
//! for the process ([`DEFAULT_QUEUE_LIMIT`], all writers together); a call that would go over it
//! waits, GIL released, until writer threads have encoded enough (the writer's queue is bounded
//! in events, not bytes, so without this a fast loop could queue gigabytes of images). The wait
//! is bounded ([`MAX_WAIT`]): after it the call goes on, so a stalled writer slows its callers
//! down but never deadlocks them. A forked child starts with an empty budget.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use ferroboard_core::summary::image::{self, draw::Boxes, Dataformats, ImageError, Layout, Sample};
use ferroboard_core::summary::{summary_event, Step, WallTime};
use numpy::{PyReadonlyArrayDyn, PyUntypedArray, PyUntypedArrayMethods};
use prost::Message;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::convert;
use crate::convert::arrays::dispatch;
use crate::pending::{later_value, PendingEvent};

/// Registers this module's functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(image_pending, m)?)?;
    m.add_function(wrap_pyfunction!(image_pending_later, m)?)?;
    m.add_function(wrap_pyfunction!(_image_queue, m)?)
}

/// The default budget of copied pixels waiting for writer threads: 256 MiB.
pub const DEFAULT_QUEUE_LIMIT: usize = 256 << 20;

/// The longest a call waits for the budget.
pub const MAX_WAIT: Duration = Duration::from_secs(10);

static QUEUE_LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_QUEUE_LIMIT);

/// `(pid, bytes)`: the bytes waiting, in the process that counted them.
static IN_FLIGHT: Mutex<(u32, usize)> = Mutex::new((0, 0));
static DRAINED: Condvar = Condvar::new();

/// The waiting bytes of this process (a forked child's copy of the parent's count is reset).
fn in_flight() -> MutexGuard<'static, (u32, usize)> {
    let mut g = IN_FLIGHT
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let pid = std::process::id();
    if g.0 != pid {
        *g = (pid, 0);
    }
    g
}

/// A share of the budget, given back when dropped (after encoding, or with an event that is
/// never written).
struct Reservation(usize);

impl Drop for Reservation {
    fn drop(&mut self) {
        let mut g = in_flight();
        g.1 = g.1.saturating_sub(self.0);
        drop(g);
        DRAINED.notify_all();
    }
}

/// Takes `bytes` of the budget, waiting (at most [`MAX_WAIT`]) while others hold it.
fn reserve(bytes: usize) -> Reservation {
    let deadline = Instant::now() + MAX_WAIT;
    let mut g = in_flight();
    let limit = QUEUE_LIMIT.load(Ordering::Relaxed);
    while g.1 > 0 && g.1.saturating_add(bytes) > limit {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        g = DRAINED
            .wait_timeout(g, deadline - now)
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .0;
        if g.0 != std::process::id() {
            *g = (std::process::id(), 0);
        }
    }
    g.1 += bytes;
    Reservation(bytes)
}

/// `(bytes of copied pixels waiting for writer threads, the budget)`; `limit` sets a new
/// budget first (for tests and for processes that want another one).
#[pyfunction]
#[pyo3(signature = (limit=None))]
fn _image_queue(limit: Option<usize>) -> (usize, usize) {
    if let Some(l) = limit {
        QUEUE_LIMIT.store(l, Ordering::Relaxed);
    }
    (in_flight().1, QUEUE_LIMIT.load(Ordering::Relaxed))
}

fn value_error(e: ImageError) -> PyErr {
    PyValueError::new_err(e.0)
}

/// What the writer thread needs besides the pixels.
struct Job {
    tag: String,
    step: i64,
    wall: WallTime,
    layout: Layout,
    boxes: Option<Boxes>,
    rescale: Option<(usize, usize)>,
    compression: ferroboard_core::codec::png::PngCompression,
}

fn pending<T: Sample>(py: Python<'_>, data: &[T], job: Job) -> PyResult<PendingEvent> {
    let (owned, reservation) = py
        .detach(|| {
            image::check_finite(data)?;
            let reservation = reserve(std::mem::size_of_val(data));
            Ok((data.to_vec(), reservation))
        })
        .map_err(value_error)?;
    Ok(PendingEvent::new(move || {
        let _reservation = reservation; // given back once this closure is done or dropped
        let value = image::render(
            job.tag,
            &owned,
            &job.layout,
            job.boxes.as_ref(),
            job.rescale,
            job.compression,
        )
        .map_err(|e| e.0)?;
        Ok(summary_event(job.wall, Step(job.step), vec![value]).encode_to_vec())
    }))
}

/// The `PendingEvent` of one image: `img_tensor` a numpy array of a real dtype (`uint16` read
/// as `encoding` when given) laid out as `dataformats` says; `boxes` a float64 `(N, 4)` array
/// of `(x1, y1, x2, y2)` with optional `labels`; `rescale` torch's factor for the written
/// size; `compression` a PNG level name.
#[pyfunction]
#[pyo3(signature = (tag, img_tensor, dataformats, global_step=None, walltime=None, encoding=None, compression="fast", boxes=None, labels=None, rescale=None))]
#[allow(clippy::too_many_arguments)] // torch's arguments plus the encoding and level
fn image_pending(
    py: Python<'_>,
    tag: &Bound<'_, PyAny>,
    img_tensor: &Bound<'_, PyAny>,
    dataformats: &str,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
    encoding: Option<&str>,
    compression: &str,
    boxes: Option<PyReadonlyArrayDyn<'_, f64>>,
    labels: Option<Vec<String>>,
    rescale: Option<f64>,
) -> PyResult<PendingEvent> {
    let enc = convert::arrays::encoding(encoding)?;
    let shape = img_tensor
        .cast::<PyUntypedArray>()
        .map_err(|_| {
            PyTypeError::new_err(format!(
                "img_tensor: expected a numpy array, got {}",
                convert::type_name(img_tensor)
            ))
        })?
        .shape()
        .to_vec();
    let job = job(
        tag,
        &shape,
        dataformats,
        global_step,
        walltime,
        compression,
        boxes,
        labels,
        rescale,
    )?;
    let mut job = Some(job);
    dispatch!(
        img_tensor,
        "img_tensor",
        enc,
        false,
        |s| pending(py, s, job.take().expect("one arm runs")),
        [f32, f64, u8, i8, i16, i32, i64, u32, u64]
    )
}

/// Everything but the pixels, checked: the tag, when, the layout of `shape` under
/// `dataformats`, boxes and labels, the rescaled size and the PNG level.
#[allow(clippy::too_many_arguments)] // torch's arguments plus the level
fn job(
    tag: &Bound<'_, PyAny>,
    shape: &[usize],
    dataformats: &str,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
    compression: &str,
    boxes: Option<PyReadonlyArrayDyn<'_, f64>>,
    labels: Option<Vec<String>>,
    rescale: Option<f64>,
) -> PyResult<Job> {
    let tag = convert::tag(tag, "tag")?.into_owned();
    let step = convert::step(global_step, "global_step")?;
    let wall = convert::walltime(walltime, "walltime")?;
    let compression = image::compression(compression).map_err(value_error)?;
    let fmt = Dataformats::parse(dataformats).map_err(value_error)?;
    let layout = fmt.layout(shape).map_err(value_error)?;
    let boxes = match boxes {
        None => None,
        Some(b) => {
            let data = convert::arrays::elements(&b, false);
            Some(Boxes::from_array(b.shape(), &data, labels).map_err(value_error)?)
        }
    };
    let rescale = match rescale {
        None => None,
        Some(r) => Some(image::rescaled_size(&layout, r).map_err(value_error)?),
    };
    Ok(Job {
        tag,
        step,
        wall,
        layout,
        boxes,
        rescale,
        compression,
    })
}

/// The `PendingEvent` of an image whose pixels a device is still producing: `producer()`,
/// called on the writer thread, returns its `uint8` levels (already scaled as the host scales
/// them) in `shape`'s C order, then one byte that is 1 when the input held NaN or infinite
/// values. Everything else is checked now, as `image_pending` checks it.
#[pyfunction]
#[pyo3(signature = (tag, producer, shape, dataformats, global_step=None, walltime=None, compression="fast", boxes=None, labels=None, rescale=None))]
#[allow(clippy::too_many_arguments)] // torch's arguments plus the level
fn image_pending_later(
    tag: &Bound<'_, PyAny>,
    producer: Py<PyAny>,
    shape: Vec<usize>,
    dataformats: &str,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
    compression: &str,
    boxes: Option<PyReadonlyArrayDyn<'_, f64>>,
    labels: Option<Vec<String>>,
    rescale: Option<f64>,
) -> PyResult<PendingEvent> {
    let job = job(
        tag,
        &shape,
        dataformats,
        global_step,
        walltime,
        compression,
        boxes,
        labels,
        rescale,
    )?;
    let pixels: usize = shape.iter().product();
    Ok(PendingEvent::new(move || {
        let mut levels = later_levels(producer, pixels, "img_tensor")?;
        levels.truncate(pixels);
        let value = image::render(
            job.tag,
            &levels,
            &job.layout,
            job.boxes.as_ref(),
            job.rescale,
            job.compression,
        )
        .map_err(|e| e.0)?;
        Ok(summary_event(job.wall, Step(job.step), vec![value]).encode_to_vec())
    }))
}

/// The levels a device produced (see `image_pending_later`), checked: `pixels` of them and the
/// non-finite flag clear (else an error naming `arg`).
pub(crate) fn later_levels(
    producer: Py<PyAny>,
    pixels: usize,
    arg: &str,
) -> Result<Vec<u8>, String> {
    let bytes = later_value(producer, "device pixels", "bytes", |out| {
        out.extract::<Vec<u8>>()
    })?;
    if bytes.len() != pixels + 1 {
        return Err(format!(
            "device pixels resolved to {} bytes for {pixels} pixels",
            bytes.len()
        ));
    }
    if bytes[pixels] != 0 {
        return Err(format!(
            "{arg}: expected finite pixels, found NaN or infinity"
        ));
    }
    Ok(bytes)
}
