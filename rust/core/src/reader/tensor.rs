//! Decoding whole `TensorProto`s, `HistogramProto`s, images and audio into owned values.
//!
//! These are the rarer kinds (a handful per step at most), so they own their data; the scalar
//! path never comes here.

use super::decode::{read_varint, Fields, Wire, WireError};
use crate::dtype::half::F16;
/// A legacy `HistogramProto`, as the writer builds it: one type for both.
pub use crate::summary::histogram::Histogram;

/// Element storage of a decoded tensor, in the element type numpy uses for its dtype.
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    /// Little-endian elements of a fixed-size numeric dtype (see [`TensorValue::numpy_dtype`]).
    Numeric(Vec<u8>),
    /// Elements of a `DT_STRING` tensor.
    Strings(Vec<Vec<u8>>),
}

/// A decoded tensor: its TensorFlow dtype, shape and elements (padded like TensorFlow's
/// `make_ndarray`: missing trailing elements repeat the last one given).
#[derive(Debug, Clone, PartialEq)]
pub struct TensorValue {
    /// The `tensorflow.DataType` number.
    pub dtype: i32,
    /// Dimension sizes (empty for a scalar).
    pub shape: Vec<i64>,
    /// The elements.
    pub data: TensorData,
}

impl TensorValue {
    /// The numpy dtype string of the elements (`"object"` for strings).
    pub fn numpy_dtype(&self) -> &'static str {
        numpy_dtype(self.dtype)
    }

    /// Number of elements the shape holds.
    pub fn num_elements(&self) -> usize {
        self.shape
            .iter()
            .map(|&d| usize::try_from(d).unwrap_or(0))
            .fold(1usize, usize::saturating_mul)
    }

    /// Elements as f64 (numeric tensors; strings give an empty vector).
    pub fn to_f64(&self) -> Vec<f64> {
        let TensorData::Numeric(bytes) = &self.data else {
            return Vec::new();
        };
        let w = elem_width(self.dtype).max(1);
        bytes
            .chunks_exact(w)
            .map(|c| match self.numpy_dtype() {
                "<f4" => f64::from(f32::from_le_bytes(c.try_into().expect("4"))),
                "<f8" => f64::from_le_bytes(c.try_into().expect("8")),
                "<f2" => F16(u16::from_le_bytes(c.try_into().expect("2"))).to_f64(),
                "<i4" => f64::from(i32::from_le_bytes(c.try_into().expect("4"))),
                "<i8" => i64::from_le_bytes(c.try_into().expect("8")) as f64,
                "<u4" => f64::from(u32::from_le_bytes(c.try_into().expect("4"))),
                "<u8" => u64::from_le_bytes(c.try_into().expect("8")) as f64,
                "<i2" => f64::from(i16::from_le_bytes(c.try_into().expect("2"))),
                "<u2" => f64::from(u16::from_le_bytes(c.try_into().expect("2"))),
                "|i1" => f64::from(c[0] as i8),
                "|u1" | "|b1" => f64::from(c[0]),
                _ => f64::NAN,
            })
            .collect()
    }
}

/// numpy dtype string for a `tensorflow.DataType` (bfloat16 is widened to float32).
pub fn numpy_dtype(dtype: i32) -> &'static str {
    match dtype {
        1 | 14 => "<f4",
        2 => "<f8",
        3 | 13 => "<i4",
        4 | 12 => "|u1",
        5 | 15 => "<i2",
        6 | 11 => "|i1",
        8 => "<c8",
        9 => "<i8",
        10 => "|b1",
        16 | 17 => "<u2",
        18 => "<c16",
        19 => "<f2",
        22 => "<u4",
        23 => "<u8",
        // 7 (DT_STRING) and anything else.
        _ => "object",
    }
}

fn elem_width(dtype: i32) -> usize {
    match numpy_dtype(dtype) {
        "<f4" | "<i4" | "<u4" => 4,
        "<f8" | "<i8" | "<u8" | "<c8" => 8,
        "<c16" => 16,
        "<i2" | "<u2" | "<f2" => 2,
        "|u1" | "|i1" | "|b1" => 1,
        _ => 0,
    }
}

fn push_packed_or_single(w: Wire<'_>, fixed: usize, out: &mut Vec<u8>) {
    match w {
        Wire::Bytes(b) => out.extend_from_slice(&b[..b.len() / fixed * fixed]),
        Wire::Fixed32(v) => out.extend_from_slice(&v.to_le_bytes()),
        Wire::Fixed64(v) => out.extend_from_slice(&v.to_le_bytes()),
        Wire::Varint(_) => {}
    }
}

fn varints(w: Wire<'_>, out: &mut Vec<u64>) -> Result<(), WireError> {
    match w {
        Wire::Varint(v) => out.push(v),
        Wire::Bytes(b) => {
            let mut pos = 0;
            while pos < b.len() {
                out.push(read_varint(b, &mut pos)?);
            }
        }
        _ => {}
    }
    Ok(())
}

/// Most bytes [`decode_tensor`] adds to fill a shape larger than the elements given (it repeats
/// the last one, as TensorFlow's `make_ndarray` does). A few bytes of a hostile file could
/// otherwise claim a shape of 2^40 elements and make the reader allocate without bound; beyond
/// this the tensor is reported as undecodable instead. Elements actually present are never
/// limited.
pub const MAX_PADDING_BYTES: usize = 64 << 20;

/// Decodes a serialized `TensorProto`.
pub fn decode_tensor(buf: &[u8]) -> Result<TensorValue, WireError> {
    let mut dtype = 0i32;
    let mut shape = Vec::new();
    let mut content: Option<&[u8]> = None;
    let mut fixed: Vec<u8> = Vec::new(); // float/double/complex values, raw LE
    let mut ints: Vec<u64> = Vec::new(); // int/half/bool/int64/uint values
    let mut strings: Vec<Vec<u8>> = Vec::new();
    for f in Fields::new(buf) {
        let (field, w) = f?;
        match field {
            1 => dtype = w.varint() as i32,
            2 => {
                for g in Fields::new(w.bytes()) {
                    if let (2, Wire::Bytes(dim)) = g? {
                        let mut size = 0i64;
                        for h in Fields::new(dim) {
                            if let (1, v) = h? {
                                size = v.varint() as i64;
                            }
                        }
                        shape.push(size);
                    }
                }
            }
            4 => content = Some(w.bytes()),
            5 | 9 => push_packed_or_single(w, 4, &mut fixed),
            6 | 12 => push_packed_or_single(w, 8, &mut fixed),
            7 | 10 | 11 | 13 | 16 | 17 => varints(w, &mut ints)?,
            8 => strings.push(w.bytes().to_vec()),
            _ => {}
        }
    }
    // A shape whose element count overflows is not a tensor anyone wrote.
    let n: usize = shape
        .iter()
        .try_fold(1usize, |acc, &d: &i64| {
            acc.checked_mul(usize::try_from(d).unwrap_or(0))
        })
        .ok_or(WireError)?;
    if dtype == 7 {
        if strings.len() < n {
            let last = strings.last().cloned().unwrap_or_default();
            let per = std::mem::size_of::<Vec<u8>>() + last.len();
            if (n - strings.len()).saturating_mul(per) > MAX_PADDING_BYTES {
                return Err(WireError);
            }
            strings.resize(n, last);
        }
        return Ok(TensorValue {
            dtype,
            shape,
            data: TensorData::Strings(strings),
        });
    }
    let width = elem_width(dtype);
    let mut raw: Vec<u8> = match content.filter(|c| !c.is_empty()) {
        Some(c) if dtype == 14 => c
            .chunks_exact(2)
            .flat_map(|b| {
                f32::from_bits(u32::from(u16::from_le_bytes([b[0], b[1]])) << 16).to_le_bytes()
            })
            .collect(),
        Some(c) => c.to_vec(),
        None => match dtype {
            1 | 2 | 8 | 18 => fixed,
            14 => ints
                .iter()
                .flat_map(|&v| f32::from_bits((v as u32 & 0xffff) << 16).to_le_bytes())
                .collect(),
            _ => {
                let mut out = Vec::with_capacity(ints.len() * width);
                for &v in &ints {
                    out.extend_from_slice(&v.to_le_bytes()[..width.min(8)]);
                }
                out
            }
        },
    };
    if let Some(have) = raw.len().checked_div(width) {
        raw.truncate(have * width);
        if have < n {
            if (n - have).saturating_mul(width) > MAX_PADDING_BYTES {
                return Err(WireError);
            }
            let last: Vec<u8> = if have > 0 {
                raw[(have - 1) * width..].to_vec()
            } else {
                vec![0u8; width]
            };
            for _ in have..n {
                raw.extend_from_slice(&last);
            }
        }
    }
    Ok(TensorValue {
        dtype,
        shape,
        data: TensorData::Numeric(raw),
    })
}

fn push_doubles(w: Wire<'_>, out: &mut Vec<f64>) {
    match w {
        Wire::Fixed64(v) => out.push(f64::from_bits(v)),
        Wire::Bytes(b) => out.extend(
            b.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8"))),
        ),
        _ => {}
    }
}

/// Decodes a serialized `HistogramProto`.
pub fn decode_histogram(buf: &[u8]) -> Result<Histogram, WireError> {
    let mut h = Histogram::default();
    for f in Fields::new(buf) {
        let (field, w) = f?;
        match field {
            1 => h.min = w.f64(),
            2 => h.max = w.f64(),
            3 => h.num = w.f64(),
            4 => h.sum = w.f64(),
            5 => h.sum_squares = w.f64(),
            6 => push_doubles(w, &mut h.bucket_limit),
            7 => push_doubles(w, &mut h.bucket),
            _ => {}
        }
    }
    Ok(h)
}

/// A `Summary.Image`: encoded bytes and metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Image {
    /// Height in pixels.
    pub height: i32,
    /// Width in pixels.
    pub width: i32,
    /// Colorspace (1 grayscale, 3 RGB, 4 RGBA).
    pub colorspace: i32,
    /// The encoded image (PNG, GIF, ...).
    pub encoded: Vec<u8>,
}

/// Decodes a serialized `Summary.Image`.
pub fn decode_image(buf: &[u8]) -> Result<Image, WireError> {
    let mut im = Image::default();
    for f in Fields::new(buf) {
        let (field, w) = f?;
        match field {
            1 => im.height = w.varint() as i32,
            2 => im.width = w.varint() as i32,
            3 => im.colorspace = w.varint() as i32,
            4 => im.encoded = w.bytes().to_vec(),
            _ => {}
        }
    }
    Ok(im)
}

/// A `Summary.Audio`: encoded bytes and metadata.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Audio {
    /// Samples per second.
    pub sample_rate: f32,
    /// Channels.
    pub num_channels: i64,
    /// Frames.
    pub length_frames: i64,
    /// The encoded audio (WAV).
    pub encoded: Vec<u8>,
    /// Its MIME type.
    pub content_type: String,
}

/// Decodes a serialized `Summary.Audio`.
pub fn decode_audio(buf: &[u8]) -> Result<Audio, WireError> {
    let mut a = Audio::default();
    for f in Fields::new(buf) {
        let (field, w) = f?;
        match field {
            1 => a.sample_rate = w.f32(),
            2 => a.num_channels = w.varint() as i64,
            3 => a.length_frames = w.varint() as i64,
            4 => a.encoded = w.bytes().to_vec(),
            5 => a.content_type = String::from_utf8_lossy(w.bytes()).into_owned(),
            _ => {}
        }
    }
    Ok(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{DataType, HistogramProto, TensorProto};
    use crate::summary::shape;
    use prost::Message;

    #[test]
    fn decodes_float_tensor_and_pads() {
        let t = TensorProto {
            dtype: DataType::DtFloat as i32,
            tensor_shape: Some(shape(&[2, 2])),
            float_val: vec![1.0, 2.0],
            ..Default::default()
        };
        let v = decode_tensor(&t.encode_to_vec()).unwrap();
        assert_eq!(v.shape, vec![2, 2]);
        assert_eq!(v.to_f64(), vec![1.0, 2.0, 2.0, 2.0]);
    }

    #[test]
    fn decodes_content_and_ints_and_strings() {
        let t = TensorProto {
            dtype: DataType::DtDouble as i32,
            tensor_shape: Some(shape(&[3])),
            tensor_content: [1.0f64, 2.0, 3.0]
                .iter()
                .flat_map(|v| v.to_le_bytes())
                .collect(),
            ..Default::default()
        };
        assert_eq!(
            decode_tensor(&t.encode_to_vec()).unwrap().to_f64(),
            vec![1.0, 2.0, 3.0]
        );
        let t = TensorProto {
            dtype: DataType::DtInt32 as i32,
            tensor_shape: Some(shape(&[2])),
            int_val: vec![-1, 7],
            ..Default::default()
        };
        assert_eq!(
            decode_tensor(&t.encode_to_vec()).unwrap().to_f64(),
            vec![-1.0, 7.0]
        );
        let t = TensorProto {
            dtype: DataType::DtString as i32,
            tensor_shape: Some(shape(&[2])),
            string_val: vec![b"a".to_vec(), b"bc".to_vec()],
            ..Default::default()
        };
        assert_eq!(
            decode_tensor(&t.encode_to_vec()).unwrap().data,
            TensorData::Strings(vec![b"a".to_vec(), b"bc".to_vec()])
        );
    }

    #[test]
    fn decodes_histogram() {
        let h = HistogramProto {
            min: -1.0,
            max: 2.0,
            num: 3.0,
            sum: 1.5,
            sum_squares: 5.0,
            bucket_limit: vec![0.0, 1.0, 2.0],
            bucket: vec![1.0, 0.0, 2.0],
        };
        let d = decode_histogram(&h.encode_to_vec()).unwrap();
        assert_eq!(d.bucket_limit, h.bucket_limit);
        assert_eq!(d.bucket, h.bucket);
        assert_eq!(
            (d.min, d.max, d.num, d.sum, d.sum_squares),
            (-1.0, 2.0, 3.0, 1.5, 5.0)
        );
    }
}
