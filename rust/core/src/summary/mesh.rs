//! Meshes: `add_mesh`'s tensors of the `mesh` plugin, one value per part.
//!
//! As torch (and TensorBoard's `mesh` summary): one event with a value per part present, in
//! the order vertices, faces, colors; tag `{tag}_VERTEX`, `{tag}_FACE`, `{tag}_COLOR`; each
//! with `MeshPluginData{version 0, name: tag, content_type, json_config, shape, components}`
//! as plugin content (`components` the bitmask `1 << content_type` of the parts present).
//!
//! Unlike torch, which writes every part as `DT_FLOAT` values, each part is written in the
//! dtype TensorBoard's mesh plugin serves it in (and TensorFlow's summary op writes):
//! vertices `DT_FLOAT`, faces `DT_INT32`, colors `DT_UINT8`, as little-endian
//! `tensor_content`. The values the plugin serves are the same as for torch's file: faces
//! must be whole vertex indices within `[0, N)`, colors within `[0, 255]` (a fractional color
//! is truncated, as the plugin truncates torch's floats). Every part is `(B, count, 3)`;
//! colors have one row per vertex and faces the vertices' `B`.

use prost::Message;

use super::{plugin_metadata, shape, value};
use crate::format::plugins;
use crate::proto::mesh::{mesh_plugin_data::ContentType, MeshPluginData};
use crate::proto::{summary, DataType, TensorProto};

/// Why a mesh cannot be written; the message names the argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{arg}: {detail}")]
pub struct MeshError {
    /// `vertices`, `faces` or `colors`.
    pub arg: &'static str,
    /// What was expected and what was given.
    pub detail: String,
}

fn bad(arg: &'static str, detail: String) -> MeshError {
    MeshError { arg, detail }
}

/// A checked mesh, its parts in the dtypes the plugin serves.
#[derive(Debug, Clone, PartialEq)]
pub struct Mesh {
    vertices: (Vec<f32>, [usize; 3]),
    faces: Option<(Vec<i32>, [usize; 3])>,
    colors: Option<(Vec<u8>, [usize; 3])>,
}

fn part_shape(arg: &'static str, shape: &[usize]) -> Result<[usize; 3], MeshError> {
    match *shape {
        [b, n, 3] if b > 0 && n > 0 && i32::try_from(b).is_ok() && i32::try_from(n).is_ok() => {
            Ok([b, n, 3])
        }
        _ => Err(bad(
            arg,
            format!("expected shape (B, N, 3) with B and N at least 1, got {shape:?}"),
        )),
    }
}

impl Mesh {
    /// Checks and converts the parts (values in C order, with their shapes).
    pub fn check(
        vertices: (&[f64], &[usize]),
        faces: Option<(&[f64], &[usize])>,
        colors: Option<(&[f64], &[usize])>,
    ) -> Result<Mesh, MeshError> {
        let vs = part_shape("vertices", vertices.1)?;
        let [b, n, _] = vs;
        let v: Vec<f32> = vertices.0.iter().map(|&x| x as f32).collect();
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(bad(
                "vertices",
                format!(
                    "expected finite float32 coordinates, got {} at flat index {i}",
                    vertices.0[i]
                ),
            ));
        }
        let faces = match faces {
            None => None,
            Some((data, s)) => {
                let fs = part_shape("faces", s)?;
                if fs[0] != b {
                    return Err(bad(
                        "faces",
                        format!("expected the vertices' batch size {b} (shape ({b}, F, 3)), got shape {s:?}"),
                    ));
                }
                let mut out = Vec::with_capacity(data.len());
                for (i, &x) in data.iter().enumerate() {
                    if !(x >= 0.0 && x < n as f64 && x.fract() == 0.0) {
                        return Err(bad(
                            "faces",
                            format!("expected whole vertex indices within [0, {n}), got {x} at flat index {i}"),
                        ));
                    }
                    out.push(x as i32);
                }
                Some((out, fs))
            }
        };
        let colors = match colors {
            None => None,
            Some((data, s)) => {
                let cs = part_shape("colors", s)?;
                if cs != vs {
                    return Err(bad(
                        "colors",
                        format!("expected the vertices' shape {:?} (one color per vertex), got shape {s:?}", vertices.1),
                    ));
                }
                let mut out = Vec::with_capacity(data.len());
                for (i, &x) in data.iter().enumerate() {
                    if !(0.0..=255.0).contains(&x) {
                        return Err(bad(
                            "colors",
                            format!("expected values within [0, 255], got {x} at flat index {i}"),
                        ));
                    }
                    out.push(x as u8);
                }
                Some((out, cs))
            }
        };
        Ok(Mesh {
            vertices: (v, vs),
            faces,
            colors,
        })
    }

    /// The values of `add_mesh(tag, ...)` with `json_config` (torch: `json.dumps` of
    /// `config_dict` with sorted keys, `"{}"` without one).
    pub fn values(&self, tag: &str, json_config: &str) -> Vec<summary::Value> {
        let mut parts: Vec<(ContentType, DataType, Vec<u8>, [usize; 3])> = vec![(
            ContentType::Vertex,
            DataType::DtFloat,
            self.vertices
                .0
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect(),
            self.vertices.1,
        )];
        if let Some((f, s)) = &self.faces {
            parts.push((
                ContentType::Face,
                DataType::DtInt32,
                f.iter().flat_map(|x| x.to_le_bytes()).collect(),
                *s,
            ));
        }
        if let Some((c, s)) = &self.colors {
            parts.push((ContentType::Color, DataType::DtUint8, c.clone(), *s));
        }
        let components = parts.iter().fold(0u32, |m, p| m | (1 << p.0 as u32));
        parts
            .into_iter()
            .map(|(content, dtype, bytes, s)| {
                let dims = s.map(|d| d as i64);
                let meta = MeshPluginData {
                    version: 0,
                    name: tag.to_owned(),
                    content_type: content as i32,
                    json_config: json_config.to_owned(),
                    shape: dims.iter().map(|&d| d as i32).collect(),
                    components,
                };
                let tensor = TensorProto {
                    dtype: dtype as i32,
                    tensor_shape: Some(shape(&dims)),
                    tensor_content: bytes,
                    ..Default::default()
                };
                value(
                    format!("{tag}_{}", content.as_str_name()),
                    Some(plugin_metadata(plugins::MESH, meta.encode_to_vec())),
                    summary::value::Value::Tensor(tensor),
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_tags_and_metadata() {
        let v = [0.0, 1.0, 2.0, 3.0, 4.0, 5.5];
        let f = [0.0, 1.0, 1.0];
        let c = [255.0, 0.0, 7.9, 1.0, 2.0, 3.0];
        let m = Mesh::check(
            (&v, &[1, 2, 3]),
            Some((&f, &[1, 1, 3])),
            Some((&c, &[1, 2, 3])),
        )
        .unwrap();
        let vals = m.values("m", "{}");
        let tags: Vec<&str> = vals.iter().map(|v| v.tag.as_str()).collect();
        assert_eq!(tags, ["m_VERTEX", "m_FACE", "m_COLOR"]);
        let pd = vals[2]
            .metadata
            .as_ref()
            .unwrap()
            .plugin_data
            .as_ref()
            .unwrap();
        assert_eq!(pd.plugin_name, "mesh");
        let meta = MeshPluginData::decode(&pd.content[..]).unwrap();
        assert_eq!(meta.components, 0b1110);
        assert_eq!(meta.shape, vec![1, 2, 3]);
        match &vals[2].value {
            Some(summary::value::Value::Tensor(t)) => {
                assert_eq!(t.tensor_content, vec![255, 0, 7, 1, 2, 3]);
                assert_eq!(t.dtype, DataType::DtUint8 as i32);
            }
            other => panic!("{other:?}"),
        }
        let only = Mesh::check((&v, &[1, 2, 3]), None, None)
            .unwrap()
            .values("m", "{}");
        assert_eq!(only.len(), 1);
        let pd = only[0]
            .metadata
            .as_ref()
            .unwrap()
            .plugin_data
            .as_ref()
            .unwrap();
        assert_eq!(
            MeshPluginData::decode(&pd.content[..]).unwrap().components,
            2
        );
    }

    #[test]
    fn bad_input_names_the_argument() {
        let v = [0.0; 6];
        let arg = |r: Result<Mesh, MeshError>| r.unwrap_err().arg;
        assert_eq!(arg(Mesh::check((&v, &[2, 3]), None, None)), "vertices");
        assert_eq!(
            arg(Mesh::check((&[f64::NAN; 6], &[1, 2, 3]), None, None)),
            "vertices"
        );
        assert_eq!(
            arg(Mesh::check(
                (&v, &[1, 2, 3]),
                Some((&[0.0, 1.0, 2.0], &[1, 1, 3])),
                None
            )),
            "faces"
        );
        assert_eq!(
            arg(Mesh::check(
                (&v, &[1, 2, 3]),
                Some((&[0.0, 0.5, 1.0], &[1, 1, 3])),
                None
            )),
            "faces"
        );
        assert_eq!(
            arg(Mesh::check(
                (&v, &[1, 2, 3]),
                Some((&[0.0; 6], &[2, 1, 3])),
                None
            )),
            "faces"
        );
        assert_eq!(
            arg(Mesh::check(
                (&v, &[1, 2, 3]),
                None,
                Some((&[0.0; 3], &[1, 1, 3]))
            )),
            "colors"
        );
        assert_eq!(
            arg(Mesh::check(
                (&v, &[1, 2, 3]),
                None,
                Some((&[256.0; 6], &[1, 2, 3]))
            )),
            "colors"
        );
    }
}
