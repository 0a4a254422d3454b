//! Zero-allocation scanning of the protobuf wire format of `Event` and the messages inside it.
//!
//! Everything here borrows from the payload slice: a field iterator over raw wire values, views
//! of `Event`, `Summary.Value` and `SummaryMetadata`, and the fast extraction of a scalar from a
//! shapeless `TensorProto`. Nothing is allocated per record on the scalar path.

use crate::dtype::half::F16;

/// A malformed protobuf payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed protobuf message")]
pub struct WireError;

/// One raw field value, by wire type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Wire<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1 (double, fixed64, sfixed64).
    Fixed64(u64),
    /// Wire type 2 (bytes, strings, messages, packed repeated fields).
    Bytes(&'a [u8]),
    /// Wire type 5 (float, fixed32, sfixed32).
    Fixed32(u32),
}

impl<'a> Wire<'a> {
    /// The value as a varint (0 for other wire types).
    #[inline]
    pub fn varint(self) -> u64 {
        match self {
            Wire::Varint(v) => v,
            _ => 0,
        }
    }
    /// The value as a length-delimited slice (empty for other wire types).
    #[inline]
    pub fn bytes(self) -> &'a [u8] {
        match self {
            Wire::Bytes(b) => b,
            _ => &[],
        }
    }
    /// The value as a double (fixed64).
    #[inline]
    pub fn f64(self) -> f64 {
        match self {
            Wire::Fixed64(v) => f64::from_bits(v),
            _ => 0.0,
        }
    }
    /// The value as a float (fixed32).
    #[inline]
    pub fn f32(self) -> f32 {
        match self {
            Wire::Fixed32(v) => f32::from_bits(v),
            _ => 0.0,
        }
    }
}

/// Reads a varint at `*pos`, advancing it.
#[inline(always)]
pub fn read_varint(buf: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let p = *pos;
    if let Some(w) = buf.get(p..).and_then(<[u8]>::first_chunk::<8>) {
        // 8 bytes at hand: the first byte without the continuation bit ends the varint.
        let w = u64::from_le_bytes(*w);
        if w & 0x80 == 0 {
            *pos = p + 1;
            return Ok(w & 0x7f);
        }
        let stops = !w & 0x8080_8080_8080_8080;
        if stops != 0 {
            let len = (stops.trailing_zeros() / 8 + 1) as usize;
            let mut x = w & (u64::MAX >> (64 - 8 * len)) & 0x7f7f_7f7f_7f7f_7f7f;
            // Squeeze the 7-bit groups together: pairs, then quads, then the two halves.
            x = ((x & 0x7f00_7f00_7f00_7f00) >> 1) | (x & 0x007f_007f_007f_007f);
            x = ((x & 0x3fff_0000_3fff_0000) >> 2) | (x & 0x0000_3fff_0000_3fff);
            x = ((x & 0x0fff_ffff_0000_0000) >> 4) | (x & 0x0000_0000_0fff_ffff);
            *pos = p + len;
            return Ok(x);
        }
    }
    read_varint_slow(buf, pos)
}

/// [`read_varint`] near the end of the buffer, for varints of 9 or 10 bytes, and for errors.
#[inline(never)]
fn read_varint_slow(buf: &[u8], pos: &mut usize) -> Result<u64, WireError> {
    let p = *pos;
    let bytes = buf.get(p..).ok_or(WireError)?;
    let mut result = 0u64;
    for (i, &b) in bytes.iter().take(10).enumerate() {
        if i == 9 && b > 1 {
            // Bits past the 64th.
            return Err(WireError);
        }
        result |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            *pos = p + i + 1;
            return Ok(result);
        }
    }
    // Ran off the end, or ten bytes that all continue.
    Err(WireError)
}

/// Iterates over the fields of one message: `(field number, value)`.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Fields<'a> {
    /// Fields of the message serialized in `buf`.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        Fields { buf, pos: 0 }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<(u32, Wire<'a>), WireError>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        if self.pos >= self.buf.len() {
            return None;
        }
        Some(self.next_field())
    }
}

impl<'a> Fields<'a> {
    #[inline]
    fn next_field(&mut self) -> Result<(u32, Wire<'a>), WireError> {
        let buf = self.buf;
        let key = read_varint(buf, &mut self.pos)?;
        let field = u32::try_from(key >> 3).map_err(|_| WireError)?;
        if field == 0 {
            self.pos = buf.len();
            return Err(WireError);
        }
        let wire = match key & 7 {
            0 => Wire::Varint(read_varint(buf, &mut self.pos)?),
            1 => {
                let end = self.pos.checked_add(8).ok_or(WireError)?;
                let b = buf.get(self.pos..end).ok_or(WireError)?;
                self.pos = end;
                Wire::Fixed64(u64::from_le_bytes(b.try_into().expect("8 bytes")))
            }
            2 => {
                let len = read_varint(buf, &mut self.pos)?;
                let len = usize::try_from(len).map_err(|_| WireError)?;
                let end = self.pos.checked_add(len).ok_or(WireError)?;
                let b = buf.get(self.pos..end).ok_or(WireError)?;
                self.pos = end;
                Wire::Bytes(b)
            }
            5 => {
                let end = self.pos.checked_add(4).ok_or(WireError)?;
                let b = buf.get(self.pos..end).ok_or(WireError)?;
                self.pos = end;
                Wire::Fixed32(u32::from_le_bytes(b.try_into().expect("4 bytes")))
            }
            _ => {
                // Groups (3, 4) are not used by any of these messages.
                self.pos = buf.len();
                return Err(WireError);
            }
        };
        Ok((field, wire))
    }
}

/// What an `Event` holds (its `what` oneof), borrowed from the payload.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum WhatView<'a> {
    /// Nothing set.
    #[default]
    None,
    /// 3: `file_version`.
    FileVersion(&'a [u8]),
    /// 4: a serialized `GraphDef`.
    GraphDef(&'a [u8]),
    /// 5: a serialized `Summary`.
    Summary(&'a [u8]),
    /// 6: a serialized `LogMessage`.
    LogMessage(&'a [u8]),
    /// 7: a serialized `SessionLog`.
    SessionLog(&'a [u8]),
    /// 8: a serialized `TaggedRunMetadata`.
    TaggedRunMetadata(&'a [u8]),
    /// 9: a serialized `MetaGraphDef`.
    MetaGraphDef(&'a [u8]),
}

/// An `Event`, borrowed from its payload.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EventView<'a> {
    /// Seconds since the epoch.
    pub wall_time: f64,
    /// The step.
    pub step: i64,
    /// The `what` oneof.
    pub what: WhatView<'a>,
    /// 10: the serialized `SourceMetadata`, if present.
    pub source_metadata: Option<&'a [u8]>,
}

/// Scans one serialized `Event`.
#[inline]
pub fn scan_event(payload: &[u8]) -> Result<EventView<'_>, WireError> {
    let mut ev = EventView::default();
    for f in Fields::new(payload) {
        let (field, w) = f?;
        match field {
            1 => ev.wall_time = w.f64(),
            2 => ev.step = w.varint() as i64,
            3 => ev.what = WhatView::FileVersion(w.bytes()),
            4 => ev.what = WhatView::GraphDef(w.bytes()),
            5 => ev.what = WhatView::Summary(w.bytes()),
            6 => ev.what = WhatView::LogMessage(w.bytes()),
            7 => ev.what = WhatView::SessionLog(w.bytes()),
            8 => ev.what = WhatView::TaggedRunMetadata(w.bytes()),
            9 => ev.what = WhatView::MetaGraphDef(w.bytes()),
            10 => ev.source_metadata = Some(w.bytes()),
            _ => {}
        }
    }
    Ok(ev)
}

/// `(wall_time, step, tag, value)` of a plain scalar event.
pub type ScalarFields<'a> = (f64, i64, &'a [u8], f32);

/// The common layout of a scalar event, recognised without the generic field loop:
/// `Event{wall_time?, step?, summary{value{tag, simple_value}}}` and nothing else, fields in
/// that order. Returns `(wall_time, step, tag, value)`, or `None` for anything else (the caller
/// then takes the generic path, which handles every layout).
#[inline]
pub fn simple_scalar_event(b: &[u8]) -> Option<ScalarFields<'_>> {
    PlainScalar::of(b).map(|s| s.fields())
}

/// A plain scalar event located in its payload, its numbers not yet decoded: finding the tag
/// costs only a few tests, so records a tag filter leaves out are never decoded.
#[derive(Debug, Clone)]
pub struct PlainScalar<'a> {
    b: &'a [u8],
    wall_time: bool,
    /// Where the step's varint starts (already checked to be a valid varint), if present.
    step: Option<usize>,
    tag: std::ops::Range<usize>,
    value: usize,
}

impl<'a> PlainScalar<'a> {
    /// The layout of `b`, if `b` is exactly `[09 wall_time] [10 step] 2a len (0a len (0a len
    /// tag) 15 value)`: each nested length must end where its message ends.
    #[inline(always)]
    pub fn of(b: &'a [u8]) -> Option<Self> {
        let mut p = 0usize;
        let wall_time = b.first() == Some(&0x09);
        if wall_time {
            p = 9;
        }
        let mut step = None;
        if b.get(p) == Some(&0x10) {
            p += 1;
            step = Some(p);
            p = varint_end(b, p)?;
        }
        // The usual case in one test: `2a L1 0a L2 0a L3 tag 15 value` with one-byte lengths,
        // each message ending where its parent does (L1 = L2 + 2, L2 = L3 + 7).
        if let Some(h) = b.get(p..).and_then(<[u8]>::first_chunk::<6>) {
            let rest = b.len() - p;
            let (l1, l2, l3) = (usize::from(h[1]), usize::from(h[3]), usize::from(h[5]));
            if h[0] == 0x2a
                && h[2] == 0x0a
                && h[4] == 0x0a
                && (l1 | l2 | l3) < 0x80
                && l1 + 2 == rest
                && l2 + 4 == rest
                && l3 + 11 == rest
            {
                let end = p + 6 + l3;
                return (b[end] == 0x15).then_some(PlainScalar {
                    b,
                    wall_time,
                    step,
                    tag: p + 6..end,
                    value: end + 1,
                });
            }
        }
        // summary: 2a len, ending at the end of the event.
        if b.get(p) != Some(&0x2a) {
            return None;
        }
        p += 1;
        let len = read_varint(b, &mut p).ok()?;
        if len != (b.len() - p) as u64 || b.get(p) != Some(&0x0a) {
            return None;
        }
        // value: 0a len, ending at the end too.
        p += 1;
        let vlen = read_varint(b, &mut p).ok()?;
        if vlen != (b.len() - p) as u64 || b.get(p) != Some(&0x0a) {
            return None;
        }
        // tag: 0a len bytes, then 15 and the 4 bytes of simple_value, and nothing else.
        p += 1;
        let tlen = read_varint(b, &mut p).ok()?;
        if tlen.checked_add(5)? != (b.len() - p) as u64 {
            return None;
        }
        let end = p + tlen as usize;
        if b[end] != 0x15 {
            return None;
        }
        Some(PlainScalar {
            b,
            wall_time,
            step,
            tag: p..end,
            value: end + 1,
        })
    }

    /// The tag's bytes.
    #[inline(always)]
    pub fn tag(&self) -> &'a [u8] {
        &self.b[self.tag.clone()]
    }

    /// `(wall_time, step, tag, value)`, decoded.
    #[inline(always)]
    pub fn fields(&self) -> ScalarFields<'a> {
        let b = self.b;
        let wall_time = if self.wall_time {
            f64::from_le_bytes(*b[1..].first_chunk::<8>().expect("located"))
        } else {
            0.0
        };
        let step = match self.step {
            Some(mut at) => read_varint(b, &mut at).expect("checked when located") as i64,
            None => 0,
        };
        let value = f32::from_le_bytes(*b[self.value..].first_chunk::<4>().expect("located"));
        (wall_time, step, self.tag(), value)
    }
}

/// Where the valid varint starting at `p` ends, without decoding it.
#[inline(always)]
fn varint_end(b: &[u8], p: usize) -> Option<usize> {
    if let Some(w) = b.get(p..).and_then(<[u8]>::first_chunk::<8>) {
        let stops = !u64::from_le_bytes(*w) & 0x8080_8080_8080_8080;
        if stops != 0 {
            return Some(p + (stops.trailing_zeros() / 8 + 1) as usize);
        }
    }
    let mut q = p;
    read_varint_slow(b, &mut q).ok().map(|_| q)
}

/// The payload of one `Summary.Value` (its `value` oneof).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum ValueKind<'a> {
    /// Nothing set.
    #[default]
    None,
    /// 2: `simple_value`.
    Simple(f32),
    /// 3: `obsolete_old_style_histogram`.
    ObsoleteHistogram(&'a [u8]),
    /// 4: a serialized `Summary.Image`.
    Image(&'a [u8]),
    /// 5: a serialized `HistogramProto`.
    Histogram(&'a [u8]),
    /// 6: a serialized `Summary.Audio`.
    Audio(&'a [u8]),
    /// 8: a serialized `TensorProto`.
    Tensor(&'a [u8]),
}

/// One `Summary.Value`, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ValueView<'a> {
    /// 1: the tag.
    pub tag: &'a [u8],
    /// 7: the node name (tag of very old tensor summaries).
    pub node_name: &'a [u8],
    /// 9: the serialized `SummaryMetadata`, if present.
    pub metadata: Option<&'a [u8]>,
    /// The value.
    pub value: ValueKind<'a>,
}

/// Iterates over the values of a serialized `Summary`.
pub fn summary_values(summary: &[u8]) -> impl Iterator<Item = Result<ValueView<'_>, WireError>> {
    Fields::new(summary).filter_map(|f| match f {
        Err(e) => Some(Err(e)),
        Ok((1, Wire::Bytes(b))) => Some(scan_value(b)),
        Ok(_) => None,
    })
}

/// Scans one serialized `Summary.Value`.
#[inline]
pub fn scan_value(buf: &[u8]) -> Result<ValueView<'_>, WireError> {
    let mut v = ValueView::default();
    for f in Fields::new(buf) {
        let (field, w) = f?;
        match field {
            1 => v.tag = w.bytes(),
            7 => v.node_name = w.bytes(),
            9 => v.metadata = Some(w.bytes()),
            2 => v.value = ValueKind::Simple(w.f32()),
            3 => v.value = ValueKind::ObsoleteHistogram(w.bytes()),
            4 => v.value = ValueKind::Image(w.bytes()),
            5 => v.value = ValueKind::Histogram(w.bytes()),
            6 => v.value = ValueKind::Audio(w.bytes()),
            8 => v.value = ValueKind::Tensor(w.bytes()),
            _ => {}
        }
    }
    Ok(v)
}

/// The plugin name and content of a serialized `SummaryMetadata` (empty when absent).
pub fn plugin_of(metadata: &[u8]) -> Result<(&[u8], &[u8]), WireError> {
    let mut name: &[u8] = &[];
    let mut content: &[u8] = &[];
    for f in Fields::new(metadata) {
        if let (1, Wire::Bytes(pd)) = f? {
            for g in Fields::new(pd) {
                match g? {
                    (1, w) => name = w.bytes(),
                    (2, w) => content = w.bytes(),
                    _ => {}
                }
            }
        }
    }
    Ok((name, content))
}

/// How a scalar was encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ScalarEncoding {
    /// `Summary.Value.simple_value` (float32).
    Simple = 0,
    /// A shapeless `DT_FLOAT` tensor.
    Float = 1,
    /// A shapeless `DT_DOUBLE` tensor.
    Double = 2,
    /// A shapeless `DT_HALF` tensor.
    Half = 3,
}

/// Extracts the value of a rank-0 float, double or half tensor (the scalars plugin's encoding);
/// `None` for anything else (other dtypes, a shape with dimensions, no value).
#[inline]
pub fn tensor_scalar(tensor: &[u8]) -> Result<Option<(f64, ScalarEncoding)>, WireError> {
    let mut dtype = 0u64;
    let mut has_dims = false;
    let mut content: &[u8] = &[];
    let mut float: Option<f32> = None;
    let mut double: Option<f64> = None;
    let mut half: Option<u16> = None;
    for f in Fields::new(tensor) {
        let (field, w) = f?;
        match (field, w) {
            (1, w) => dtype = w.varint(),
            (2, Wire::Bytes(shape)) => {
                for g in Fields::new(shape) {
                    if let (2, _) = g? {
                        has_dims = true;
                    }
                }
            }
            (4, w) => content = w.bytes(),
            (5, Wire::Fixed32(v)) => float = Some(f32::from_bits(v)),
            (5, Wire::Bytes(b)) if b.len() >= 4 => {
                float = Some(f32::from_le_bytes(b[b.len() - 4..].try_into().expect("4")));
            }
            (6, Wire::Fixed64(v)) => double = Some(f64::from_bits(v)),
            (6, Wire::Bytes(b)) if b.len() >= 8 => {
                double = Some(f64::from_le_bytes(b[b.len() - 8..].try_into().expect("8")));
            }
            (13, Wire::Varint(v)) => half = Some(v as u16),
            (13, Wire::Bytes(b)) => {
                let mut pos = 0;
                while pos < b.len() {
                    half = Some(read_varint(b, &mut pos)? as u16);
                }
            }
            _ => {}
        }
    }
    if has_dims {
        return Ok(None);
    }
    Ok(match dtype {
        1 => {
            if content.len() == 4 {
                Some((
                    f64::from(f32::from_le_bytes(content.try_into().expect("4"))),
                    ScalarEncoding::Float,
                ))
            } else if content.is_empty() {
                float.map(|v| (f64::from(v), ScalarEncoding::Float))
            } else {
                None
            }
        }
        2 => {
            if content.len() == 8 {
                Some((
                    f64::from_le_bytes(content.try_into().expect("8")),
                    ScalarEncoding::Double,
                ))
            } else if content.is_empty() {
                double.map(|v| (v, ScalarEncoding::Double))
            } else {
                None
            }
        }
        19 => {
            if content.len() == 2 {
                let bits = u16::from_le_bytes(content.try_into().expect("2"));
                Some((f64::from(F16(bits).to_f32()), ScalarEncoding::Half))
            } else if content.is_empty() {
                half.map(|h| (f64::from(F16(h).to_f32()), ScalarEncoding::Half))
            } else {
                None
            }
        }
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::plugins;
    use crate::proto::{summary, DataType, TensorProto};
    use crate::summary::{self as event, Step, WallTime};
    use prost::Message;

    #[test]
    fn scans_scalar_events() {
        let ev = event::summary_event(
            WallTime(12.5),
            Step(-3),
            vec![
                event::scalar_simple("a".into(), 0.25),
                event::scalar_tensor("b".into(), 0.1, true),
                event::scalar_tensor("c".into(), 0.1, false),
            ],
        );
        let bytes = ev.encode_to_vec();
        let view = scan_event(&bytes).unwrap();
        assert_eq!(view.wall_time, 12.5);
        assert_eq!(view.step, -3);
        let WhatView::Summary(s) = view.what else {
            panic!("not a summary")
        };
        let vals: Vec<_> = summary_values(s).map(Result::unwrap).collect();
        assert_eq!(vals.len(), 3);
        assert_eq!(vals[0].tag, b"a");
        assert_eq!(vals[0].value, ValueKind::Simple(0.25));
        let ValueKind::Tensor(t) = vals[1].value else {
            panic!()
        };
        assert_eq!(
            tensor_scalar(t).unwrap(),
            Some((0.1, ScalarEncoding::Double))
        );
        let (name, content) = plugin_of(vals[1].metadata.unwrap()).unwrap();
        assert_eq!(name, plugins::SCALARS.as_bytes());
        assert!(content.is_empty());
        let ValueKind::Tensor(t) = vals[2].value else {
            panic!()
        };
        assert_eq!(
            tensor_scalar(t).unwrap(),
            Some((f64::from(0.1f32), ScalarEncoding::Float))
        );
    }

    #[test]
    fn fast_path_agrees_with_the_generic_scan() {
        for (step, v) in [(0i64, 0.5f64), (-7, 1e30), (1 << 40, -0.0)] {
            let ev = event::summary_event(
                WallTime(3.25),
                Step(step),
                vec![event::scalar_simple("a/b".into(), v)],
            );
            let bytes = ev.encode_to_vec();
            let (wt, st, tag, val) = simple_scalar_event(&bytes).unwrap();
            assert_eq!((wt, st, tag, val), (3.25, step, &b"a/b"[..], v as f32));
        }
        // Anything else is left to the generic path.
        let two = event::summary_event(
            WallTime(1.0),
            Step(1),
            vec![
                event::scalar_simple("a".into(), 1.0),
                event::scalar_simple("b".into(), 2.0),
            ],
        );
        assert!(simple_scalar_event(&two.encode_to_vec()).is_none());
        let tensor = event::summary_event(
            WallTime(1.0),
            Step(1),
            vec![event::scalar_tensor("a".into(), 1.0, false)],
        );
        assert!(simple_scalar_event(&tensor.encode_to_vec()).is_none());
        assert!(simple_scalar_event(&event::file_header(WallTime(1.0)).encode_to_vec()).is_none());
        for cut in 0..20 {
            let bytes = event::summary_event(
                WallTime(1.0),
                Step(5),
                vec![event::scalar_simple("tag".into(), 1.0)],
            )
            .encode_to_vec();
            let _ = simple_scalar_event(&bytes[..cut.min(bytes.len())]);
        }
    }

    #[test]
    fn tensor_scalar_variants() {
        let content = TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_content: 2.5f32.to_le_bytes().to_vec(),
            ..Default::default()
        };
        assert_eq!(
            tensor_scalar(&content.encode_to_vec()).unwrap(),
            Some((2.5, ScalarEncoding::Float))
        );
        let half = TensorProto {
            dtype: DataType::DtHalf as i32,
            half_val: vec![0x3c00], // 1.0
            ..Default::default()
        };
        assert_eq!(
            tensor_scalar(&half.encode_to_vec()).unwrap(),
            Some((1.0, ScalarEncoding::Half))
        );
        let shaped = TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: Some(event::shape(&[1])),
            float_val: vec![1.0],
            ..Default::default()
        };
        assert_eq!(tensor_scalar(&shaped.encode_to_vec()).unwrap(), None);
        let _ = summary::Value::default();
    }

    #[test]
    fn half_conversion() {
        // The reader's half tensors go through the crate's one decoder.
        let f16_to_f32 = |h: u16| F16(h).to_f32();
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 5.960_464_5e-8);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert_eq!(f16_to_f32(0x3555), 0.333_251_95);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for bytes in [&[0xffu8; 11][..], &[0x0a, 0x05, 1], &[0x0b], &[0x09, 1, 2]] {
            let _ = scan_event(bytes);
            let _ = scan_value(bytes);
            let _ = tensor_scalar(bytes);
        }
    }

    /// `read_varint` agrees with prost's decoder on every value and every length of what
    /// follows it (the 8-byte fast path needs 8 bytes, the byte loop takes the rest), and
    /// rejects what prost rejects.
    #[test]
    fn varints_agree_with_prost() {
        use proptest::prelude::*;
        let check = |bytes: &[u8]| {
            let mut pos = 0;
            let ours = read_varint(bytes, &mut pos).ok().map(|v| (v, pos));
            let mut b = bytes;
            let theirs = prost::encoding::decode_varint(&mut b)
                .ok()
                .map(|v| (v, bytes.len() - b.len()));
            assert_eq!(ours, theirs, "{bytes:02x?}");
        };
        proptest!(ProptestConfig::with_cases(20_000), |(v in any::<u64>(), shift in 0u32..64, tail in proptest::collection::vec(any::<u8>(), 0..12))| {
            let v = v >> shift;
            let mut bytes = Vec::new();
            prost::encoding::encode_varint(v, &mut bytes);
            bytes.extend_from_slice(&tail);
            check(&bytes);
            // Every truncation, and the tail alone (garbage).
            for cut in 0..bytes.len() {
                check(&bytes[..cut]);
            }
            check(&tail);
        });
        // Overlong and over-wide encodings.
        check(&[0xff; 10]);
        check(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        check(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]);
        check(&[0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00]);
        check(&[0xff; 11]);
    }

    /// Whenever the scalar layout matcher answers, the generic field scan says the same:
    /// on events of every shape (tags of 0 to 300 bytes, so one- and two-byte lengths,
    /// optional fields, metadata, several values) and on damaged copies of them. On the
    /// plain layout it always answers.
    #[test]
    fn scalar_layout_agrees_with_the_generic_scan() {
        use proptest::prelude::*;
        let generic = |b: &[u8]| -> Option<(f64, i64, Vec<u8>, f32)> {
            let ev = scan_event(b).ok()?;
            let WhatView::Summary(s) = ev.what else {
                return None;
            };
            let vals: Vec<_> = summary_values(s).collect::<Result<_, _>>().ok()?;
            match vals.as_slice() {
                [v] if v.metadata.is_none() => match v.value {
                    ValueKind::Simple(x) => Some((ev.wall_time, ev.step, v.tag.to_vec(), x)),
                    _ => None,
                },
                _ => None,
            }
        };
        proptest!(ProptestConfig::with_cases(20_000), |(
            tag_len in 0usize..300,
            wall in proptest::option::of(any::<f64>()),
            step in proptest::option::of(any::<i64>()),
            value in any::<f32>(),
            extra_value in any::<bool>(),
            with_metadata in any::<bool>(),
            flip in proptest::option::of((any::<prop::sample::Index>(), 0u8..8)),
        )| {
            let tag: String = "t".repeat(tag_len);
            let mut v = summary::Value {
                tag: tag.clone(),
                value: Some(summary::value::Value::SimpleValue(value)),
                ..Default::default()
            };
            if with_metadata {
                v.metadata = Some(crate::proto::SummaryMetadata::default());
            }
            let mut values = vec![v];
            if extra_value {
                values.push(values[0].clone());
            }
            let ev = crate::proto::Event {
                wall_time: wall.unwrap_or(0.0),
                step: step.unwrap_or(0),
                what: Some(crate::proto::event::What::Summary(crate::proto::Summary { value: values })),
                ..Default::default()
            };
            let mut bytes = ev.encode_to_vec();
            // (An empty tag is not written at all: that event takes the generic path.)
            let plain = !extra_value && !with_metadata && tag_len > 0;
            if let Some((i, bit)) = flip {
                let at = i.index(bytes.len());
                bytes[at] ^= 1 << bit;
            }
            let fast = simple_scalar_event(&bytes).map(|(w, s, t, x)| (w, s, t.to_vec(), x));
            if let Some(f) = &fast {
                let g = generic(&bytes);
                prop_assert!(g.is_some(), "fast path matched what the generic scan rejects");
                let g = g.unwrap();
                prop_assert_eq!(f.0.to_bits(), g.0.to_bits());
                prop_assert_eq!(f.1, g.1);
                prop_assert_eq!(&f.2, &g.2);
                prop_assert_eq!(f.3.to_bits(), g.3.to_bits());
            }
            if plain && flip.is_none() {
                let f = fast.expect("the plain layout is recognised");
                prop_assert_eq!(&f.2, tag.as_bytes());
                prop_assert_eq!(f.3.to_bits(), value.to_bits());
                prop_assert_eq!(f.1, step.unwrap_or(0));
            }
        });
    }
}
