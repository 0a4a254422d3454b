//! Scalars: `add_scalar`'s legacy `simple_value`, its `new_style` tensor, and the allocation-free
//! encoder of the default form the writer's hot path uses.

use super::{plugin_metadata, value, Step, WallTime};
use crate::format::plugins;
use crate::proto::{summary, DataType, TensorProto};

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

/// `value` with the title and description TensorBoard shows for its tag (tensorboardX's
/// `add_scalar(display_name=, summary_description=)`), set on its metadata (created when it has
/// none, with no plugin, as tensorboardX writes it). TensorBoard reads a tag's metadata from its
/// first value, so they matter there.
pub fn described(
    mut value: summary::Value,
    display_name: String,
    summary_description: String,
) -> summary::Value {
    let metadata = value.metadata.get_or_insert_with(Default::default);
    metadata.display_name = display_name;
    metadata.summary_description = summary_description;
    value
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

#[cfg(test)]
mod tests {
    use prost::Message;

    use super::*;
    use crate::summary::summary_event;

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
    fn described_sets_title_and_description_keeping_the_plugin() {
        let plain = described(scalar_simple("a".into(), 1.0), "A".into(), "about a".into());
        let m = plain.metadata.expect("metadata");
        assert_eq!(
            (m.display_name.as_str(), m.summary_description.as_str()),
            ("A", "about a")
        );
        assert!(
            m.plugin_data.is_none(),
            "tensorboardX writes no plugin for a simple value"
        );
        let tensor = described(
            scalar_tensor("a".into(), 1.0, false),
            "A".into(),
            String::new(),
        );
        let m = tensor.metadata.expect("metadata");
        assert_eq!(m.display_name, "A");
        assert_eq!(m.plugin_data.expect("plugin").plugin_name, plugins::SCALARS);
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
