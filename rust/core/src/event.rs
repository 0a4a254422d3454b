//! Building the `Event` messages that TensorBoard's writers put in event files.
//!
//! Each constructor here produces exactly the message that `torch.utils.tensorboard` builds for
//! the same call (see `shared/FORMAT.md`), so files written through this crate render in
//! TensorBoard as torch's do.

use std::time::{SystemTime, UNIX_EPOCH};

use prost::Message;

use crate::format::plugins;
use crate::proto::{
    event, summary, summary_metadata, tensor_shape_proto, DataType, Event, SessionLog,
    SourceMetadata, Summary, SummaryMetadata, TensorProto, TensorShapeProto,
};

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

/// `add_scalar` as torch writes it by default: a legacy `simple_value` (float32).
pub fn scalar_simple(tag: String, v: f64) -> summary::Value {
    value(tag, None, summary::value::Value::SimpleValue(v as f32))
}

/// `add_scalar(new_style=True)`: a shapeless float (or double) tensor with the `scalars` plugin.
pub fn scalar_tensor(tag: String, v: f64, double_precision: bool) -> summary::Value {
    let tensor = if double_precision {
        TensorProto {
            dtype: DataType::DtDouble as i32,
            double_val: vec![v],
            ..Default::default()
        }
    } else {
        TensorProto {
            dtype: DataType::DtFloat as i32,
            float_val: vec![v as f32],
            ..Default::default()
        }
    };
    value(
        tag,
        Some(plugin_metadata(plugins::SCALARS, Vec::new())),
        summary::value::Value::Tensor(tensor),
    )
}

/// `add_text`: tag `{tag}/text_summary`, a 1-element string tensor with the `text` plugin.
pub fn text(tag: &str, text: &str) -> summary::Value {
    let tensor = TensorProto {
        dtype: DataType::DtString as i32,
        tensor_shape: Some(shape(&[1])),
        string_val: vec![text.as_bytes().to_vec()],
        ..Default::default()
    };
    value(
        format!("{tag}/text_summary"),
        Some(plugin_metadata(plugins::TEXT, Vec::new())),
        summary::value::Value::Tensor(tensor),
    )
}

/// Serializes the event `add_scalar` writes by default (`Event{wall_time, step,
/// summary{value{tag, simple_value}}}`) into `out` (cleared first), without building the
/// message: the same bytes as `summary_event(wall_time, step, vec![scalar_simple(tag, v)])`
/// encoded by prost, with no allocation. This is the writer's hottest path.
pub fn encode_simple_scalar(out: &mut Vec<u8>, wall_time: WallTime, step: Step, tag: &str, v: f64) {
    use prost::encoding::{encode_key, encode_varint, encoded_len_varint, WireType};
    let tag_len = if tag.is_empty() {
        0
    } else {
        1 + encoded_len_varint(tag.len() as u64) + tag.len()
    };
    let value_len = tag_len + 5;
    let summary_len = 1 + encoded_len_varint(value_len as u64) + value_len;
    out.clear();
    if wall_time.0 != 0.0 {
        encode_key(1, WireType::SixtyFourBit, out);
        out.extend_from_slice(&wall_time.0.to_le_bytes());
    }
    if step.0 != 0 {
        encode_key(2, WireType::Varint, out);
        encode_varint(step.0 as u64, out);
    }
    encode_key(5, WireType::LengthDelimited, out); // Event.summary
    encode_varint(summary_len as u64, out);
    encode_key(1, WireType::LengthDelimited, out); // Summary.value
    encode_varint(value_len as u64, out);
    if !tag.is_empty() {
        encode_key(1, WireType::LengthDelimited, out); // Value.tag
        encode_varint(tag.len() as u64, out);
        out.extend_from_slice(tag.as_bytes());
    }
    encode_key(2, WireType::ThirtyTwoBit, out); // Value.simple_value
    out.extend_from_slice(&(v as f32).to_le_bytes());
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

    #[test]
    fn text_tag_and_payload() {
        let v = text("notes", "héllo");
        assert_eq!(v.tag, "notes/text_summary");
        match v.value {
            Some(summary::value::Value::Tensor(t)) => {
                assert_eq!(t.dtype, DataType::DtString as i32);
                assert_eq!(t.string_val, vec!["héllo".as_bytes().to_vec()]);
                assert_eq!(t.tensor_shape.unwrap().dim[0].size, 1);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    proptest::proptest! {
        #[test]
        fn simple_scalar_fast_path_is_prosts_encoding(
            wall in proptest::prop_oneof![proptest::num::f64::ANY, proptest::strategy::Just(0.0), proptest::strategy::Just(-0.0)],
            step in proptest::prop_oneof![proptest::num::i64::ANY, proptest::strategy::Just(0i64)],
            tag in ".{0,200}",
            v in proptest::num::f64::ANY,
        ) {
            let mut fast = vec![1, 2, 3];
            encode_simple_scalar(&mut fast, WallTime(wall), Step(step), &tag, v);
            let slow = summary_event(WallTime(wall), Step(step), vec![scalar_simple(tag, v)]);
            proptest::prop_assert_eq!(fast, slow.encode_to_vec());
        }
    }

    #[test]
    fn scalar_encodings() {
        let s = scalar_simple("a".into(), 0.1);
        assert_eq!(s.value, Some(summary::value::Value::SimpleValue(0.1f32)));
        let d = scalar_tensor("a".into(), 0.1, true);
        match d.value {
            Some(summary::value::Value::Tensor(t)) => assert_eq!(t.double_val, vec![0.1]),
            other => panic!("unexpected {other:?}"),
        }
    }
}
