//! Embeddings for `SummaryWriter.add_embedding`: `Projector`, one writer's projector
//! (its directory and the embeddings it logged), and `projector_embeddings` for `ferroboard ls`.
//!
//! `Projector.add` takes the numpy arrays and label strings that `ferroboard/_inputs.py` made
//! of the caller's arguments and hands them to `ferroboard_core::summary::embedding`, which
//! decides every format question; the encoding and the file writes run with the GIL released.

use std::path::PathBuf;
use std::sync::Mutex;

use ferroboard_core::summary::embedding::{self, Assets, EmbeddingError, Metadata, Sprite};
use pyo3::exceptions::{PyOSError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert;
use crate::convert::arrays::dispatch;

/// Registers this module's class and functions.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Projector>()?;
    m.add_function(wrap_pyfunction!(projector_embeddings, m)?)?;
    Ok(())
}

fn embedding_error(e: EmbeddingError) -> PyErr {
    match e {
        EmbeddingError::Invalid { .. } => PyValueError::new_err(e.to_string()),
        EmbeddingError::Io {
            ref path,
            ref source,
        } => match source.raw_os_error() {
            Some(errno) => PyOSError::new_err((errno, e.to_string(), path.display().to_string())),
            None => PyOSError::new_err(e.to_string()),
        },
    }
}

fn shape_of(obj: &Bound<'_, PyAny>) -> PyResult<Vec<usize>> {
    obj.getattr("shape")?.extract()
}

/// One writer's projector: `add` logs an embedding (see the core module's doc).
#[pyclass(frozen, module = "ferroboard._native")]
pub struct Projector(Mutex<embedding::Projector>);

#[pymethods]
impl Projector {
    /// `fsync`: every file on the storage device before `add` returns.
    #[new]
    #[pyo3(signature = (log_dir, fsync=false))]
    fn new(log_dir: PathBuf, fsync: bool) -> Self {
        Projector(Mutex::new(
            embedding::Projector::new(log_dir).with_sync(fsync),
        ))
    }

    /// Logs one embedding: `mat` a 2-D numpy array (`uint16` read as `mat_encoding` when
    /// given); `metadata` a list of labels, or of rows when `metadata_header` is given;
    /// `label_img` an `(N, C, H, W)` array, scaled by 255 when `label_scale`. Writes the files
    /// and the config when `write` (else only checks and encodes). Returns whether an
    /// embedding of the same name (tag and step) was logged before by this projector (its
    /// entry is replaced).
    #[pyo3(signature = (mat, mat_encoding=None, metadata=None, metadata_header=None, label_img=None, label_encoding=None, label_scale=true, global_step=None, tag=None, write=true))]
    #[allow(clippy::too_many_arguments)] // torch's arguments plus how the arrays are read
    fn add(
        &self,
        py: Python<'_>,
        mat: &Bound<'_, PyAny>,
        mat_encoding: Option<&str>,
        metadata: Option<&Bound<'_, PyAny>>,
        metadata_header: Option<Vec<String>>,
        label_img: Option<&Bound<'_, PyAny>>,
        label_encoding: Option<&str>,
        label_scale: bool,
        global_step: Option<&Bound<'_, PyAny>>,
        tag: Option<&Bound<'_, PyAny>>,
        write: bool,
    ) -> PyResult<bool> {
        let tag = match tag {
            Some(t) => convert::text(t, "tag")?.into_owned(),
            None => "default".to_owned(),
        };
        let step = convert::step(global_step, "global_step")?;
        embedding::layout(step, &tag).map_err(embedding_error)?;

        let metadata = match metadata {
            None => None,
            Some(m) => {
                let meta =
                    match metadata_header {
                        None => Metadata::Column(m.extract().map_err(|_| {
                            PyTypeError::new_err("metadata: expected a list of str")
                        })?),
                        Some(header) => Metadata::Table {
                            header,
                            rows: m.extract().map_err(|_| {
                                PyTypeError::new_err("metadata: expected a list of rows of str")
                            })?,
                        },
                    };
                let n = meta.len();
                let bytes = py
                    .detach(|| embedding::metadata_tsv(&meta))
                    .map_err(embedding_error)?;
                Some((bytes, n))
            }
        };

        let mat_shape = shape_of(mat)?;
        let enc = convert::arrays::encoding(mat_encoding)?;
        let tensors = dispatch!(
            mat,
            "mat",
            enc,
            false,
            |v| py
                .detach(|| embedding::tensors_tsv(v, &mat_shape))
                .map_err(embedding_error),
            [f32, f64, u8, i8, i16, i32, i64, u32, u64]
        )?;
        let points = mat_shape[0];

        let sprite: Option<Sprite> = match label_img {
            None => None,
            Some(img) => {
                let shape = shape_of(img)?;
                if shape.first().is_some_and(|&n| n != points) {
                    return Err(PyValueError::new_err(format!(
                        "label_img: {} images for {points} points (rows of mat)",
                        shape[0]
                    )));
                }
                let enc = convert::arrays::encoding(label_encoding)?;
                Some(dispatch!(
                    img,
                    "label_img",
                    enc,
                    false,
                    |v| py
                        .detach(|| embedding::sprite_png(v, &shape, label_scale))
                        .map_err(embedding_error),
                    [f32, f64, u8, i8, i16, i32, i64, u32, u64]
                )?)
            }
        };

        let assets = Assets {
            step,
            tag,
            points,
            tensors,
            metadata,
            sprite,
        };
        py.detach(|| {
            let mut projector = self
                .0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let (_, name) = embedding::layout(assets.step, &assets.tag)?;
            let replaced = projector
                .config()
                .embeddings
                .iter()
                .any(|e| e.tensor_name == name);
            projector.add(assets, write).map(|_| replaced)
        })
        .map_err(embedding_error)
    }

    /// The config as written so far (`projector_config.pbtxt`'s text).
    fn config_text(&self) -> String {
        embedding::config_text(
            self.0
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .config(),
        )
    }
}

/// The embeddings of the `projector_config.pbtxt` in `dir` (a list of dicts: `tensor_name`,
/// `tensor_path`, `metadata_path`, `sprite_path`, `sprite_single_image_dim`, `shape`, the
/// tensor file's `(rows, columns)` or `None`), or `None` when `dir` has no config. A config
/// that cannot be read raises `ValueError`.
#[pyfunction]
fn projector_embeddings(py: Python<'_>, dir: PathBuf) -> PyResult<Option<Bound<'_, PyList>>> {
    let found = py
        .detach(|| embedding::find(&dir))
        .map_err(PyValueError::new_err)?;
    let Some(found) = found else {
        return Ok(None);
    };
    let out = PyList::empty(py);
    for f in found {
        let d = PyDict::new(py);
        d.set_item("tensor_name", &f.info.tensor_name)?;
        d.set_item("tensor_path", &f.info.tensor_path)?;
        d.set_item("metadata_path", &f.info.metadata_path)?;
        d.set_item("sprite_path", f.info.sprite.as_ref().map(|s| &s.0))?;
        d.set_item(
            "sprite_single_image_dim",
            f.info.sprite.as_ref().map(|s| s.1.clone()),
        )?;
        d.set_item("shape", f.shape)?;
        out.append(d)?;
    }
    Ok(Some(out))
}
