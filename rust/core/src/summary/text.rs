//! Text: `add_text`'s string tensor of the `text` plugin.

use super::{plugin_metadata, shape, value};
use crate::format::plugins;
use crate::proto::{summary, DataType, TensorProto};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
