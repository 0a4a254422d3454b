//! Decoding the media of image and audio summaries ([`ferroboard_core::codec`]): a batch of
//! `bytes` in, numpy arrays out, decoded in parallel with the GIL released.

use ferroboard_core::codec::{self, wav, CodecError};
use numpy::{IntoPyArray, PyArrayMethods};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple};

/// Adds the decoders to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(decode_images, m)?)?;
    m.add_function(wrap_pyfunction!(decode_wavs, m)?)?;
    m.add_function(wrap_pyfunction!(wav_infos, m)?)?;
    Ok(())
}

/// The `bytes` objects of `items`, kept alive by the returned vector.
fn bytes_items<'py>(items: &Bound<'py, PyAny>) -> PyResult<Vec<Bound<'py, PyBytes>>> {
    let mut out = Vec::new();
    for (i, item) in items.try_iter()?.enumerate() {
        let item = item?;
        let b = item.cast_into::<PyBytes>().map_err(|e| {
            PyTypeError::new_err(format!(
                "items: entry {i} should be bytes, not {}",
                e.into_inner()
                    .get_type()
                    .name()
                    .map(|n| n.to_string())
                    .unwrap_or_default()
            ))
        })?;
        out.push(b);
    }
    Ok(out)
}

/// `ValueError(message, index)` for the item that failed.
fn item_error(i: usize, e: &CodecError) -> PyErr {
    PyValueError::new_err((format!("item {i}: {e}"), i))
}

/// Decodes PNG and GIF images: one uint8 array per item, `(H, W, C)` (or `(T, H, W, 3)`
/// for a GIF), as `tf.image.decode_image` returns them.
#[pyfunction]
fn decode_images<'py>(py: Python<'py>, items: &Bound<'py, PyAny>) -> PyResult<Vec<Py<PyAny>>> {
    let held = bytes_items(items)?;
    let slices: Vec<&[u8]> = held.iter().map(|b| b.as_bytes()).collect();
    let decoded = py.detach(|| codec::decode_images(&slices));
    let mut out = Vec::with_capacity(decoded.len());
    for (i, r) in decoded.into_iter().enumerate() {
        let p = r.map_err(|e| item_error(i, &e))?;
        let shape = p.shape();
        let arr = p.data.into_pyarray(py).reshape(shape)?;
        out.push(arr.into_any().unbind());
    }
    Ok(out)
}

/// Decodes WAV audio: one `(float32 array (frames, channels), sample_rate)` per item, as
/// `tf.audio.decode_wav` returns them.
#[pyfunction]
fn decode_wavs<'py>(py: Python<'py>, items: &Bound<'py, PyAny>) -> PyResult<Vec<Py<PyAny>>> {
    let held = bytes_items(items)?;
    let slices: Vec<&[u8]> = held.iter().map(|b| b.as_bytes()).collect();
    let decoded = py.detach(|| codec::decode_wavs(&slices));
    let mut out = Vec::with_capacity(decoded.len());
    for (i, r) in decoded.into_iter().enumerate() {
        let w = r.map_err(|e| item_error(i, &e))?;
        let arr = w.data.into_pyarray(py).reshape([w.frames, w.channels])?;
        let pair = PyTuple::new(
            py,
            [arr.into_any(), w.sample_rate.into_pyobject(py)?.into_any()],
        )?;
        out.push(pair.into_any().unbind());
    }
    Ok(out)
}

/// The header of each WAV item, without decoding samples: `(sample_rate, channels,
/// frames)`, or `None` where the item is not a WAV file this module decodes.
#[pyfunction]
fn wav_infos<'py>(
    py: Python<'py>,
    items: &Bound<'py, PyAny>,
) -> PyResult<Vec<Option<(u32, usize, usize)>>> {
    let held = bytes_items(items)?;
    let slices: Vec<&[u8]> = held.iter().map(|b| b.as_bytes()).collect();
    Ok(py.detach(|| {
        slices
            .iter()
            .map(|b| {
                wav::info(b)
                    .ok()
                    .map(|h| (h.sample_rate, h.channels, h.frames))
            })
            .collect()
    }))
}
