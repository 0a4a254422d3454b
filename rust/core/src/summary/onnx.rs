//! ONNX graphs: `add_onnx_graph`'s `GraphDef`, converted from an ONNX model file as
//! `torch.utils.tensorboard._onnx_graph` converts it, with no `onnx` package.
//!
//! torch's conversion, which this module reproduces:
//!
//! * one `Variable` node per graph input, then per graph output (in that order), with attributes
//!   `dtype` (the ONNX element type number, as a `DataType`) and `shape` (each dimension's
//!   `dim_value`; 0 for a symbolic dimension);
//! * then one node per ONNX node, named after its first output, with the ONNX `op_type`, the
//!   ONNX inputs as they are, and attribute `parameters`: for each attribute, Python's `str()`
//!   of every field it has set (field-number order) joined by `" = "`, the attributes joined
//!   by `", "` (`"kernel_shape = [3, 3] = 7, group = 1 = 2"`; a float as Python's `repr()`;
//!   a tensor in protobuf's (upb's) text format, whose floats are C's `%g`);
//! * `versions.producer` 22.
//!
//! One difference, on purpose: a subgraph-, type- or sparse-tensor-valued attribute (the bodies
//! of `If`/`Loop`, rare in exported models) is shown as `<graph NAME>`, `<type>` or
//! `<sparse tensor>` rather than torch's full text dump.

use std::fmt::{self, Write as _};

use prost::Message;

use super::graph::{graph_def_event, versions};
use super::WallTime;
use crate::proto::onnx::{self, tensor_proto, tensor_shape_proto};
use crate::proto::{attr_value, AttrValue, Event, GraphDef, NodeDef};

/// Why an ONNX model could not be converted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OnnxError {
    /// The bytes are not an ONNX `ModelProto`.
    Decode(String),
    /// The model has no graph.
    NoGraph,
    /// A node has no outputs, so it has no name (torch fails with an `IndexError`).
    NodeWithoutOutput {
        /// The node's position in the graph.
        index: usize,
        /// The node's `op_type`.
        op_type: String,
    },
}

impl fmt::Display for OnnxError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OnnxError::Decode(e) => write!(f, "not an ONNX model (ModelProto): {e}"),
            OnnxError::NoGraph => write!(f, "the ONNX model has no graph"),
            OnnxError::NodeWithoutOutput { index, op_type } => write!(
                f,
                "ONNX node {index} ({op_type}) has no output to name it after"
            ),
        }
    }
}

impl std::error::Error for OnnxError {}

/// The `GraphDef` torch's `add_onnx_graph` writes for the serialized ONNX model `model`.
pub fn onnx_graph_def(model: &[u8]) -> Result<GraphDef, OnnxError> {
    let model = onnx::ModelProto::decode(model).map_err(|e| OnnxError::Decode(e.to_string()))?;
    let graph = model.graph.ok_or(OnnxError::NoGraph)?;
    let mut nodes = Vec::with_capacity(graph.input.len() + graph.output.len() + graph.node.len());
    for value in graph.input.iter().chain(&graph.output) {
        nodes.push(variable_node(value));
    }
    for (index, node) in graph.node.iter().enumerate() {
        let name = node
            .output
            .first()
            .ok_or_else(|| OnnxError::NodeWithoutOutput {
                index,
                op_type: node.op_type().to_owned(),
            })?;
        let parameters: Vec<String> = node.attribute.iter().map(attribute_text).collect();
        let mut attr = std::collections::BTreeMap::new();
        attr.insert(
            "parameters".to_owned(),
            bytes_attr(parameters.join(", ").into_bytes()),
        );
        nodes.push(NodeDef {
            name: name.clone(),
            op: node.op_type().to_owned(),
            input: node.input.clone(),
            attr,
            ..Default::default()
        });
    }
    Ok(GraphDef {
        node: nodes,
        versions: Some(versions()),
        ..Default::default()
    })
}

/// The event of `add_onnx_graph` for the serialized ONNX model `model` (step 0).
pub fn onnx_graph_event(model: &[u8], wall_time: WallTime) -> Result<Event, OnnxError> {
    Ok(graph_def_event(&onnx_graph_def(model)?, wall_time))
}

fn bytes_attr(s: Vec<u8>) -> AttrValue {
    AttrValue {
        value: Some(attr_value::Value::S(s)),
    }
}

/// A graph input or output as torch shows it: a `Variable` with its element type and shape.
fn variable_node(value: &onnx::ValueInfoProto) -> NodeDef {
    let tensor = value.r#type.as_ref().and_then(|t| match &t.value {
        Some(onnx::type_proto::Value::TensorType(tensor)) => Some(tensor),
        _ => None,
    });
    let elem_type = tensor.map_or(0, |t| t.elem_type());
    let dims: Vec<i64> = tensor
        .and_then(|t| t.shape.as_ref())
        .map(|s| {
            s.dim
                .iter()
                .map(|d| match d.value {
                    Some(tensor_shape_proto::dimension::Value::DimValue(v)) => v,
                    _ => 0,
                })
                .collect()
        })
        .unwrap_or_default();
    let mut attr = std::collections::BTreeMap::new();
    attr.insert(
        "dtype".to_owned(),
        AttrValue {
            value: Some(attr_value::Value::Type(elem_type)),
        },
    );
    attr.insert(
        "shape".to_owned(),
        AttrValue {
            value: Some(attr_value::Value::Shape(super::shape(&dims))),
        },
    );
    NodeDef {
        name: value.name().to_owned(),
        op: "Variable".to_owned(),
        attr,
        ..Default::default()
    }
}

/// torch's text of one attribute: `str()` of each set field, in field-number order, joined by
/// `" = "`.
fn attribute_text(a: &onnx::AttributeProto) -> String {
    let mut fields: Vec<String> = Vec::new();
    if let Some(name) = &a.name {
        fields.push(name.clone());
    }
    if let Some(f) = a.f {
        fields.push(python_float_repr(f64::from(f)));
    }
    if let Some(i) = a.i {
        fields.push(i.to_string());
    }
    if let Some(s) = &a.s {
        fields.push(python_bytes_repr(s));
    }
    if let Some(t) = &a.t {
        fields.push(tensor_text(t));
    }
    if let Some(g) = &a.g {
        fields.push(format!("<graph {}>", g.name()));
    }
    if !a.floats.is_empty() {
        fields.push(list(
            a.floats.iter().map(|&f| python_float_repr(f64::from(f))),
        ));
    }
    if !a.ints.is_empty() {
        fields.push(list(a.ints.iter().map(i64::to_string)));
    }
    if !a.strings.is_empty() {
        fields.push(list(a.strings.iter().map(|s| python_bytes_repr(s))));
    }
    if !a.tensors.is_empty() {
        fields.push(list(a.tensors.iter().map(tensor_text)));
    }
    if !a.graphs.is_empty() {
        fields.push(list(
            a.graphs.iter().map(|g| format!("<graph {}>", g.name())),
        ));
    }
    if let Some(doc) = &a.doc_string {
        fields.push(doc.clone());
    }
    if a.tp.is_some() {
        fields.push("<type>".to_owned());
    }
    if !a.type_protos.is_empty() {
        fields.push(list(a.type_protos.iter().map(|_| "<type>".to_owned())));
    }
    if let Some(t) = a.r#type {
        fields.push(t.to_string());
    }
    if let Some(r) = &a.ref_attr_name {
        fields.push(r.clone());
    }
    if a.sparse_tensor.is_some() {
        fields.push("<sparse tensor>".to_owned());
    }
    if !a.sparse_tensors.is_empty() {
        fields.push(list(
            a.sparse_tensors
                .iter()
                .map(|_| "<sparse tensor>".to_owned()),
        ));
    }
    fields.join(" = ")
}

/// Python's `str()` of a repeated field: `[a, b]`.
fn list(items: impl Iterator<Item = String>) -> String {
    let items: Vec<String> = items.collect();
    format!("[{}]", items.join(", "))
}

/// Python's `repr()` of a float: the shortest digits that read back to `x`, fixed notation for
/// exponents -4 to 15 (`0.0001`, `1000000000000000.0`), else `1e-05`, `1.5e+16`.
pub fn python_float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".to_owned();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.to_owned();
    }
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if x < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let n = digits.len() as i32;
        let body = if exp >= 0 {
            let int_len = (exp + 1) as usize;
            if n <= exp + 1 {
                format!("{digits}{}.0", "0".repeat(int_len - digits.len()))
            } else {
                format!("{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        };
        format!("{sign}{body}")
    } else {
        let (first, rest) = digits.split_at(1);
        let frac = if rest.is_empty() {
            String::new()
        } else {
            format!(".{rest}")
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{first}{frac}e{esign}{:02}", exp.abs())
    }
}

/// C's `printf("%.{precision}g", x)`: `precision` significant digits, trailing zeros dropped,
/// exponent form (`1.5e+07`, `3e-07`) when the decimal exponent is below -4 or at least
/// `precision`.
fn c_format_g(x: f64, precision: usize) -> String {
    if x.is_nan() {
        return "nan".to_owned(); // upb prints every NaN so, before formatting
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.to_owned();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x == 0.0 {
        return format!("{sign}0");
    }
    let sci = format!("{:.*e}", precision - 1, x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("{:e} has an exponent");
    let exp: i32 = exp.parse().expect("{:e} exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let trim = |s: String| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_owned()
        } else {
            s
        }
    };
    if exp < -4 || exp >= precision as i32 {
        let m = trim(if digits.len() > 1 {
            format!("{}.{}", &digits[..1], &digits[1..])
        } else {
            digits
        });
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.abs())
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        let body = if digits.len() > int_len {
            format!("{}.{}", &digits[..int_len], &digits[int_len..])
        } else {
            digits
        };
        format!("{sign}{}", trim(body))
    } else {
        let body = format!("0.{}{digits}", "0".repeat((-exp - 1) as usize));
        format!("{sign}{}", trim(body))
    }
}

/// protobuf's (upb's) text format of a float field: `%.6g`, or `%.9g` when that does not read
/// back to the same float32.
pub fn float32_text(v: f32) -> String {
    let short = c_format_g(f64::from(v), 6);
    match short.parse::<f32>() {
        Ok(back) if back == v => short,
        _ => c_format_g(f64::from(v), 9),
    }
}

/// protobuf's (upb's) text format of a double field: `%.15g`, or `%.17g` when that does not
/// read back to the same double.
pub fn float64_text(v: f64) -> String {
    let short = c_format_g(v, 15);
    match short.parse::<f64>() {
        Ok(back) if back == v => short,
        _ => c_format_g(v, 17),
    }
}

/// Python's `repr()` of a `bytes` value: `b'...'` (double quotes when the bytes hold a single
/// quote and no double quote), escaping `\\`, the quote, `\t`, `\n`, `\r`, and non-printable
/// bytes as `\xhh`.
pub fn python_bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        b'"'
    } else {
        b'\''
    };
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(quote as char);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            _ if b == quote => {
                out.push('\\');
                out.push(b as char);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote as char);
    out
}

/// protobuf's (upb's) text-format escaping of a bytes (`bytes`) or string field: printable
/// ASCII as is, `\n`, `\r`, `\t`, `\"`, `\'`, `\\`, other ASCII as octal; bytes from 0x80 up
/// as octal in a bytes field, as they are (UTF-8) in a string field.
fn c_escape(data: &[u8], bytes: bool) -> String {
    let mut out = Vec::with_capacity(data.len() + 2);
    out.push(b'"');
    for &b in data {
        match b {
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'"' => out.extend_from_slice(b"\\\""),
            b'\'' => out.extend_from_slice(b"\\'"),
            b'\\' => out.extend_from_slice(b"\\\\"),
            0x20..=0x7e => out.push(b),
            0x80.. if !bytes => out.push(b),
            _ => out.extend_from_slice(format!("\\{b:03o}").as_bytes()),
        }
    }
    out.push(b'"');
    // only whole UTF-8 strings pass through unescaped, so this is valid UTF-8
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn entries_text(out: &mut String, field: &str, entries: &[onnx::StringStringEntryProto]) {
    for e in entries {
        let _ = writeln!(out, "{field} {{");
        if let Some(k) = &e.key {
            let _ = writeln!(out, "  key: {}", c_escape(k.as_bytes(), false));
        }
        if let Some(v) = &e.value {
            let _ = writeln!(out, "  value: {}", c_escape(v.as_bytes(), false));
        }
        out.push_str("}\n");
    }
}

/// protobuf's text format of an ONNX `TensorProto` (Python's `str()` of the message): set
/// fields in field-number order, one line per repeated element.
pub fn tensor_text(t: &onnx::TensorProto) -> String {
    let mut out = String::new();
    for d in &t.dims {
        let _ = writeln!(out, "dims: {d}");
    }
    if let Some(dt) = t.data_type {
        let _ = writeln!(out, "data_type: {dt}");
    }
    if let Some(seg) = &t.segment {
        out.push_str("segment {\n");
        if let Some(b) = seg.begin {
            let _ = writeln!(out, "  begin: {b}");
        }
        if let Some(e) = seg.end {
            let _ = writeln!(out, "  end: {e}");
        }
        out.push_str("}\n");
    }
    for &f in &t.float_data {
        let _ = writeln!(out, "float_data: {}", float32_text(f));
    }
    for v in &t.int32_data {
        let _ = writeln!(out, "int32_data: {v}");
    }
    for s in &t.string_data {
        let _ = writeln!(out, "string_data: {}", c_escape(s, true));
    }
    for v in &t.int64_data {
        let _ = writeln!(out, "int64_data: {v}");
    }
    if let Some(name) = &t.name {
        let _ = writeln!(out, "name: {}", c_escape(name.as_bytes(), false));
    }
    if let Some(raw) = &t.raw_data {
        let _ = writeln!(out, "raw_data: {}", c_escape(raw, true));
    }
    for &v in &t.double_data {
        let _ = writeln!(out, "double_data: {}", float64_text(v));
    }
    for v in &t.uint64_data {
        let _ = writeln!(out, "uint64_data: {v}");
    }
    if let Some(doc) = &t.doc_string {
        let _ = writeln!(out, "doc_string: {}", c_escape(doc.as_bytes(), false));
    }
    entries_text(&mut out, "external_data", &t.external_data);
    if let Some(loc) = t.data_location {
        match tensor_proto::DataLocation::try_from(loc) {
            Ok(l) => {
                let _ = writeln!(out, "data_location: {}", l.as_str_name());
            }
            Err(_) => {
                let _ = writeln!(out, "data_location: {loc}");
            }
        }
    }
    entries_text(&mut out, "metadata_props", &t.metadata_props);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors: Python 3.11's repr() / protobuf 6's text format of the same values.
    #[test]
    fn floats_print_as_python_prints_them() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (0.1, "0.1"),
            (f64::from(0.1f32), "0.10000000149011612"),
            (1e16, "1e+16"),
            (1e15, "1000000000000000.0"),
            (123_456.789, "123456.789"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (f64::from(1e-5f32), "9.999999747378752e-06"),
            (f64::from(1e20f32), "1.0000000200408773e+20"),
            (-2.5, "-2.5"),
            (1e100, "1e+100"),
            (0.0, "0.0"),
        ];
        for &(x, want) in cases {
            assert_eq!(python_float_repr(x), want, "{x}");
        }
        // C's %g, as upb's text format prints float and double fields
        assert_eq!(float32_text(0.1), "0.1");
        assert_eq!(float32_text(3e-7), "3e-07");
        assert_eq!(float32_text(0.0), "0");
        assert_eq!(float32_text(-0.0), "-0");
        assert_eq!(float32_text(1.0), "1");
        assert_eq!(float32_text(16_777_217.0), "16777216");
        assert_eq!(float32_text(1_234_567.0), "1234567");
        assert_eq!(float32_text(0.000_123), "0.000123");
        assert_eq!(float32_text(1e20), "1e+20");
        assert_eq!(float32_text(f32::INFINITY), "inf");
        assert_eq!(float64_text(1e100), "1e+100");
        assert_eq!(float64_text(0.1), "0.1");
        assert_eq!(float64_text(1.0 / 3.0), "0.33333333333333331");
    }

    #[test]
    fn bytes_print_as_python_prints_them() {
        assert_eq!(python_bytes_repr(b"a'b"), "b\"a'b\"");
        assert_eq!(python_bytes_repr(b"x\x00\xff\""), "b'x\\x00\\xff\"'");
        assert_eq!(python_bytes_repr(b"q'\"\n"), "b'q\\'\"\\n'");
        assert_eq!(c_escape(b"\xcd\xcc\xcc=", true), "\"\\315\\314\\314=\"");
        assert_eq!(c_escape("é\x7f".as_bytes(), false), "\"é\\177\"");
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(
            onnx_graph_def(b"\xff\xff\xff"),
            Err(OnnxError::Decode(_))
        ));
        assert_eq!(onnx_graph_def(b""), Err(OnnxError::NoGraph));
    }
}
