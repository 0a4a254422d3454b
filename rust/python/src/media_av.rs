//! Audio, video and meshes for `SummaryWriter.add_audio`, `add_video` and `add_mesh`.
//!
//! Each function converts its arguments, copies the caller's array (the caller may reuse its
//! buffer once the call returns), has the core check it (with the GIL released), and returns
//! a `PendingEvent` whose closure builds and serializes the event (WAV and GIF encoding) on
//! the writer's thread. Bad input raises here, before anything is queued.

use ferroboard_core::summary::audio::{AudioClip, AudioSample};
use ferroboard_core::summary::image::Sample as PixelSample;
use ferroboard_core::summary::mesh::Mesh;
use ferroboard_core::summary::video::VideoLayout;
use ferroboard_core::summary::{self as event, Step, WallTime};
use numpy::{PyArrayDyn, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use prost::Message;
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;

use crate::convert;
use crate::convert::arrays::{dtype_name, elements, readonly};
use crate::pending::PendingEvent;

/// Registers this module's functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(audio_event, m)?)?;
    m.add_function(wrap_pyfunction!(video_event, m)?)?;
    m.add_function(wrap_pyfunction!(video_event_later, m)?)?;
    m.add_function(wrap_pyfunction!(mesh_event, m)?)?;
    Ok(())
}

/// Calls `$body` with `$data: Vec<T>` (a C-order copy of `$obj`) and `$shape`, for the listed
/// element types; a `TypeError` naming `$name` for others.
macro_rules! copied {
    ($obj:expr, $name:expr, |$data:ident, $shape:ident| $body:expr, [$($t:ty),*]) => {{
        let obj = $obj;
        'found: {
            $(
                if let Ok(a) = obj.cast::<PyArrayDyn<$t>>() {
                    let ro = readonly(a, $name)?;
                    let $shape: Vec<usize> = ro.shape().to_vec();
                    let $data: Vec<$t> = elements(&ro, false).into_owned();
                    break 'found $body;
                }
            )*
            Err(PyTypeError::new_err(format!(
                "{}: unsupported array dtype {}", $name, dtype_name(obj)
            )))
        }
    }};
}

fn when(
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Step, WallTime)> {
    Ok((
        Step(convert::step(global_step, "global_step")?),
        convert::walltime(walltime, "walltime")?,
    ))
}

fn pending(
    step: Step,
    wall: WallTime,
    values: impl FnOnce() -> Result<Vec<ferroboard_core::proto::summary::Value>, String>
        + Send
        + 'static,
) -> PendingEvent {
    PendingEvent::new(move || Ok(event::summary_event(wall, step, values()?).encode_to_vec()))
}

fn audio<T: AudioSample>(
    py: Python<'_>,
    tag: String,
    data: Vec<T>,
    shape: &[usize],
    sample_rate: f64,
    when: (Step, WallTime),
) -> PyResult<PendingEvent> {
    let (data, clip) = py.detach(|| {
        let c = AudioClip::check(&data, shape, sample_rate);
        (data, c)
    });
    let clip = clip.map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(pending(when.0, when.1, move || {
        Ok(vec![clip.value(tag, &data)])
    }))
}

/// `add_audio(tag, snd_tensor, ...)`: `snd` a numpy array (`float32`, `float64` or an
/// integer type), mono `(samples,)` or `(channels, samples)` once dimensions of size 1 are
/// dropped.
#[pyfunction]
#[pyo3(signature = (tag, snd, sample_rate, global_step=None, walltime=None))]
fn audio_event(
    py: Python<'_>,
    tag: &Bound<'_, PyAny>,
    snd: &Bound<'_, PyAny>,
    sample_rate: f64,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<PendingEvent> {
    let tag = convert::tag(tag, "tag")?.into_owned();
    let when = when(global_step, walltime)?;
    copied!(
        snd,
        "snd_tensor",
        |data, shape| audio(py, tag, data, &shape, sample_rate, when),
        [f32, f64, u8, i8, i16, i32, i64]
    )
}

fn video<T: PixelSample>(
    py: Python<'_>,
    tag: String,
    data: Vec<T>,
    shape: &[usize],
    fps: f64,
    when: (Step, WallTime),
) -> PyResult<PendingEvent> {
    let (data, layout) = py.detach(|| {
        let l = VideoLayout::check(&data, shape, fps);
        (data, l)
    });
    let layout = layout.map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(pending(when.0, when.1, move || {
        layout
            .value(tag, &data)
            .map(|v| vec![v])
            .map_err(|e| format!("add_video: {e}"))
    }))
}

/// `add_video(tag, vid_tensor, ...)`: `vid` a numpy array `(N, T, C, H, W)` (`uint8` as
/// levels, other real types scaled by 255 as torch does).
#[pyfunction]
#[pyo3(signature = (tag, vid, fps, global_step=None, walltime=None))]
fn video_event(
    py: Python<'_>,
    tag: &Bound<'_, PyAny>,
    vid: &Bound<'_, PyAny>,
    fps: f64,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<PendingEvent> {
    let tag = convert::tag(tag, "tag")?.into_owned();
    let when = when(global_step, walltime)?;
    copied!(
        vid,
        "vid_tensor",
        |data, shape| video(py, tag, data, &shape, fps, when),
        [u8, f32, f64, i8, i16, i32, i64, u16, u32, u64]
    )
}

/// `add_video` for a video whose pixels a device is still producing: `producer()`, called on
/// the writer thread, returns its `uint8` levels (scaled as the host scales them) in `shape`'s
/// C order and a trailing non-finite flag byte (see `image_pending_later`). The shape and
/// `fps` are checked now.
#[pyfunction]
#[pyo3(signature = (tag, producer, shape, fps, global_step=None, walltime=None))]
fn video_event_later(
    tag: &Bound<'_, PyAny>,
    producer: Py<PyAny>,
    shape: Vec<usize>,
    fps: f64,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<PendingEvent> {
    let tag = convert::tag(tag, "tag")?.into_owned();
    let (step, wall) = when(global_step, walltime)?;
    let layout =
        VideoLayout::for_shape(&shape, fps).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let pixels: usize = shape.iter().product();
    Ok(pending(step, wall, move || {
        let mut levels = crate::image::later_levels(producer, pixels, "vid_tensor")?;
        levels.truncate(pixels);
        layout
            .value(tag, &levels)
            .map(|v| vec![v])
            .map_err(|e| format!("add_video: {e}"))
    }))
}

fn part<'a>(arr: &'a PyReadonlyArrayDyn<'_, f64>) -> (std::borrow::Cow<'a, [f64]>, Vec<usize>) {
    (elements(arr, false), arr.shape().to_vec())
}

/// `add_mesh(tag, vertices, colors, faces, ...)`: each part a `float64` numpy array
/// `(B, N, 3)`; `json_config` the JSON text of `config_dict`.
#[pyfunction]
#[pyo3(signature = (tag, vertices, colors, faces, json_config, global_step=None, walltime=None))]
#[allow(clippy::too_many_arguments)] // torch's arguments
fn mesh_event(
    tag: &Bound<'_, PyAny>,
    vertices: PyReadonlyArrayDyn<'_, f64>,
    colors: Option<PyReadonlyArrayDyn<'_, f64>>,
    faces: Option<PyReadonlyArrayDyn<'_, f64>>,
    json_config: String,
    global_step: Option<&Bound<'_, PyAny>>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<PendingEvent> {
    let tag = convert::tag(tag, "tag")?.into_owned();
    let (step, wall) = when(global_step, walltime)?;
    // Checked and converted (into the core's own vectors) with the GIL held: the arrays may
    // be shared with other threads.
    let v = part(&vertices);
    let f = faces.as_ref().map(part);
    let c = colors.as_ref().map(part);
    let mesh = Mesh::check(
        (&v.0, &v.1),
        f.as_ref().map(|p| (&*p.0, p.1.as_slice())),
        c.as_ref().map(|p| (&*p.0, p.1.as_slice())),
    )
    .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok(pending(step, wall, move || {
        Ok(mesh.values(&tag, &json_config))
    }))
}
