//! Graphs for `SummaryWriter.add_graph` and `add_onnx_graph`.
//!
//! `graph_events` takes the traced model as `ferroboard/writer/_graph.py` walked it (plain
//! tuples of strings, integer lists and `None`) and returns the two serialized events the core
//! builds: the `GraphDef` and the `step1` run metadata. `onnx_graph_event` takes the bytes of
//! an ONNX model file, or its path, and returns the serialized `GraphDef` event. Encoding runs
//! with the GIL released. `graph_profile_events` and `serialized_graph_event` wrap a
//! `GraphDef` (and `RunMetadata`) the caller serialized with its own protobuf classes, for
//! torch's `FileWriter.add_graph` and `add_onnx_graph`.

use std::path::PathBuf;

use ferroboard_core::summary::graph::{self, TracedGraph, TracedOp, TracedValue};
use ferroboard_core::summary::onnx;
use prost::Message;
use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::convert;

/// Registers this module's functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(graph_events, m)?)?;
    m.add_function(wrap_pyfunction!(onnx_graph_event, m)?)?;
    m.add_function(wrap_pyfunction!(graph_profile_events, m)?)?;
    m.add_function(wrap_pyfunction!(serialized_graph_event, m)?)?;
    Ok(())
}

/// A value: `(debug_name, shape or None)`.
type Value = (String, Option<Vec<i64>>);

/// An operator: `(kind, raw_scope, input_names, outputs, attribute_text)`.
type Op = (String, String, Vec<String>, Vec<Value>, String);

fn value((name, shape): Value) -> TracedValue {
    TracedValue { name, shape }
}

/// The serialized events of `add_graph` (the `GraphDef`, then the `step1` run metadata) for a
/// traced model: its name, module aliases, used graph inputs, operators and outputs.
#[pyfunction]
#[pyo3(signature = (model_name, module_aliases, inputs, ops, outputs, walltime=None))]
fn graph_events<'py>(
    py: Python<'py>,
    model_name: String,
    module_aliases: Vec<(String, String)>,
    inputs: Vec<Value>,
    ops: Vec<Op>,
    outputs: Vec<Value>,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let wall = convert::walltime(walltime, "walltime")?;
    let traced = TracedGraph {
        model_name,
        module_aliases,
        inputs: inputs.into_iter().map(value).collect(),
        ops: ops
            .into_iter()
            .map(|(kind, scope, inputs, outputs, attributes)| TracedOp {
                kind,
                scope,
                inputs,
                outputs: outputs.into_iter().map(value).collect(),
                attributes,
            })
            .collect(),
        outputs: outputs.into_iter().map(value).collect(),
    };
    let (g, m) = py
        .detach(|| {
            graph::graph_events(&traced, wall).map(|[g, m]| (g.encode_to_vec(), m.encode_to_vec()))
        })
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    Ok((PyBytes::new(py, &g), PyBytes::new(py, &m)))
}

/// The source of an ONNX model: its bytes, or the path of its file.
#[derive(FromPyObject)]
enum OnnxSource {
    Bytes(Vec<u8>),
    Path(PathBuf),
}

/// The serialized event of `add_onnx_graph` for an ONNX model given as bytes or as a path
/// (read here; `OSError` naming the file when it cannot be read, `ValueError` when it is not
/// an ONNX model).
#[pyfunction]
#[pyo3(signature = (model, walltime=None))]
fn onnx_graph_event<'py>(
    py: Python<'py>,
    model: OnnxSource,
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let wall = convert::walltime(walltime, "walltime")?;
    let (bytes, origin) = match model {
        OnnxSource::Bytes(b) => (b, None),
        OnnxSource::Path(p) => {
            let b = py.detach(|| std::fs::read(&p)).map_err(|e| {
                PyOSError::new_err((e.raw_os_error().unwrap_or(0), e.to_string(), p.clone()))
            })?;
            (b, Some(p))
        }
    };
    let event = py
        .detach(|| onnx::onnx_graph_event(&bytes, wall).map(|e| e.encode_to_vec()))
        .map_err(|e| match &origin {
            Some(p) => PyValueError::new_err(format!("{}: {e}", p.display())),
            None => PyValueError::new_err(e.to_string()),
        })?;
    Ok(PyBytes::new(py, &event))
}

/// The two events of torch's `FileWriter.add_graph((graph_def, run_metadata))`: the serialized
/// `GraphDef`, then the serialized `RunMetadata` tagged `step1`, both written as given.
#[pyfunction]
#[pyo3(signature = (graph_def, run_metadata, walltime=None))]
fn graph_profile_events<'py>(
    py: Python<'py>,
    graph_def: &[u8],
    run_metadata: &[u8],
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<(Bound<'py, PyBytes>, Bound<'py, PyBytes>)> {
    let wall = convert::walltime(walltime, "walltime")?;
    let g = graph::serialized_graph_def_event(graph_def.to_vec(), wall).encode_to_vec();
    let m = graph::serialized_run_metadata_event(run_metadata.to_vec(), wall).encode_to_vec();
    Ok((PyBytes::new(py, &g), PyBytes::new(py, &m)))
}

/// The event of torch's `FileWriter.add_onnx_graph(graph_def)`: the serialized `GraphDef`,
/// written as given.
#[pyfunction]
#[pyo3(signature = (graph_def, walltime=None))]
fn serialized_graph_event<'py>(
    py: Python<'py>,
    graph_def: &[u8],
    walltime: Option<&Bound<'_, PyAny>>,
) -> PyResult<Bound<'py, PyBytes>> {
    let wall = convert::walltime(walltime, "walltime")?;
    let event = graph::serialized_graph_def_event(graph_def.to_vec(), wall).encode_to_vec();
    Ok(PyBytes::new(py, &event))
}
