//! Building the `Event` messages that TensorBoard's writers put in event files: the step and
//! wall time types, the file header, purge events, summary events and plugin metadata here;
//! one module per kind of summary beside them.
//!
//! Each constructor produces exactly the message that `torch.utils.tensorboard` builds for
//! the same call (see `shared/FORMAT.md`), so files written through this crate render in
//! TensorBoard as torch's do.
//!
//! * scalars (`scalar_simple`, `scalar_tensor`, `encode_simple_scalar`) and text (`text`),
//!   re-exported here;
//! * [`histogram`]: histogram bucketing with numpy's exact semantics, torch's layout;
//! * [`pr_curve`]: precision-recall curves as TensorBoard's `compute_curve` computes them;
//! * [`audio`], [`video`], [`mesh`]: `add_audio`'s WAV, `add_video`'s GIF and `add_mesh`'s
//!   tensors (checked on the caller's thread, encoded later on the writer's).
//! * [`hparams`]: the experiment, session start and session end summaries of `add_hparams`;
//! * [`custom_scalars`]: the `custom_scalars` plugin's layout;
//! * [`tensor`]: whole tensors (`add_tensor`).
//! * [`image`]: images (torch's layouts, scaling, grid, boxes, rescale), PNG-encoded.
//! * [`embedding`]: the projector's files (no event), as torch lays them out.

use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use crate::proto::{
    event, summary, summary_metadata, tensor_shape_proto, Event, SessionLog, SourceMetadata,
    Summary, SummaryMetadata, TensorShapeProto,
};

pub mod audio;
pub mod custom_scalars;
#[cfg(feature = "media")]
pub mod embedding;
pub mod graph;
pub mod histogram;
pub mod hparams;
#[cfg(feature = "media")]
pub mod image;
pub mod mesh;
pub mod onnx;
pub mod pr_curve;
mod scalar;
pub mod tensor;
mod text;
#[cfg(feature = "media")]
pub mod video;

pub use scalar::{described, encode_simple_scalar, scalar_simple, scalar_tensor};
pub use text::text;

/// The `file_version` string that opens every event file.
pub const FILE_VERSION: &str = "brain.Event:2";

/// What this crate writes in `Event.source_metadata.writer`.
pub const SOURCE_WRITER: &str = "ferroboard";

/// A training step (the `step` field of an `Event`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Step(pub i64);

/// Seconds since the Unix epoch (the `wall_time` field of an `Event`).
#[derive(Clone, Copy, Debug, Default, PartialEq, PartialOrd)]
pub struct WallTime(pub f64);

impl WallTime {
    /// The current time.
    pub fn now() -> Self {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        WallTime(d.as_secs_f64())
    }
}

/// The first event of every file: `file_version` and the writer's name.
pub fn file_header(wall_time: WallTime) -> Event {
    Event {
        wall_time: wall_time.0,
        step: 0,
        source_metadata: Some(SourceMetadata {
            writer: SOURCE_WRITER.to_owned(),
        }),
        what: Some(event::What::FileVersion(FILE_VERSION.to_owned())),
    }
}

/// The two events torch writes after the header when a writer is opened with `purge_step`:
/// a `file_version` event at that step, then a `SessionLog.START` at that step. Together they
/// tell TensorBoard to discard earlier-written data at steps `>= step`.
pub fn purge_events(step: Step, wall_time: WallTime) -> [Event; 2] {
    [
        Event {
            wall_time: wall_time.0,
            step: step.0,
            source_metadata: None,
            what: Some(event::What::FileVersion(FILE_VERSION.to_owned())),
        },
        Event {
            wall_time: wall_time.0,
            step: step.0,
            source_metadata: None,
            what: Some(event::What::SessionLog(SessionLog {
                status: crate::proto::session_log::SessionStatus::Start as i32,
                checkpoint_path: String::new(),
                msg: String::new(),
            })),
        },
    ]
}

/// An event holding one summary with the given values.
pub fn summary_event(wall_time: WallTime, step: Step, values: Vec<summary::Value>) -> Event {
    Event {
        wall_time: wall_time.0,
        step: step.0,
        source_metadata: None,
        what: Some(event::What::Summary(Summary { value: values })),
    }
}

/// Metadata naming a plugin, with its serialized plugin data (often empty).
pub fn plugin_metadata(plugin: &str, content: Vec<u8>) -> SummaryMetadata {
    SummaryMetadata {
        plugin_data: Some(summary_metadata::PluginData {
            plugin_name: plugin.to_owned(),
            content,
        }),
        ..Default::default()
    }
}

/// A tensor shape with the given dimension sizes.
pub fn shape(dims: &[i64]) -> TensorShapeProto {
    TensorShapeProto {
        dim: dims
            .iter()
            .map(|&size| tensor_shape_proto::Dim {
                size,
                name: String::new(),
            })
            .collect(),
        unknown_rank: false,
    }
}

/// A value with a tag, optional metadata and a payload.
pub fn value(
    tag: String,
    metadata: Option<SummaryMetadata>,
    payload: summary::value::Value,
) -> summary::Value {
    summary::Value {
        node_name: String::new(),
        tag,
        metadata,
        value: Some(payload),
    }
}

/// Serializes `event` into `out` (cleared first).
pub fn encode_into(event: &Event, out: &mut Vec<u8>) {
    out.clear();
    event
        .encode(out)
        .expect("a Vec<u8> grows to hold any message");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let mut buf = Vec::new();
        encode_into(&file_header(WallTime(1.5)), &mut buf);
        let ev = Event::decode(&buf[..]).unwrap();
        assert_eq!(ev.wall_time, 1.5);
        assert_eq!(ev.what, Some(event::What::FileVersion(FILE_VERSION.into())));
        assert_eq!(ev.source_metadata.unwrap().writer, SOURCE_WRITER);
    }
}
