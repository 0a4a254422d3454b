//! `ferroboard._native`: the thin PyO3 layer over `ferroboard-core`.
//!
//! Each module here converts Python arguments, calls the core, and converts results back;
//! heavy work runs with the GIL released. The Python package `ferroboard` wraps this module.

use pyo3::prelude::*;

mod codec;
mod convert;
mod embedding;
mod errors;
mod events;
mod graph;
mod histogram;
mod image;
mod media_av;
mod pending;
mod reader;
mod rewrite;
mod storage;
mod structural;
mod writer;

/// The native module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<writer::NativeWriter>()?;
    m.add_function(wrap_pyfunction!(convert::set_converters, m)?)?;
    m.add_function(wrap_pyfunction!(writer::_interpreter_exiting, m)?)?;
    codec::register(m)?;
    embedding::register(m)?;
    events::register(m)?;
    graph::register(m)?;
    histogram::register(m)?;
    image::register(m)?;
    media_av::register(m)?;
    pending::register(m)?;
    reader::register(m)?;
    rewrite::register(m)?;
    storage::register(m)?;
    structural::register(m)?;
    Ok(())
}
