//! Whole tensors: `add_tensor`'s `TensorProto` under the `tensor` plugin name, as torch's
//! `torch.utils.tensorboard.summary.tensor_proto` builds it: the dtype, the shape, and the
//! values in C order in the typed field torch uses for that dtype (`half_val` for float16 and
//! bfloat16, `float_val`, `double_val`, `int_val` for 8-, 16- and 32-bit integers, `int64_val`,
//! `bool_val`, `scomplex_val` and `dcomplex_val` as (real, imaginary) pairs).
//!
//! Two fixes, so that TensorFlow's and TensorBoard's `make_ndarray` read the values back:
//! `half_val` holds the 16-bit patterns (torch stores each value's float32 bit pattern
//! there), and uint8 values go in `int_val` (torch puts them in `uint32_val`, where nothing
//! looks for `DT_UINT8`).

use std::fmt;

use super::{plugin_metadata, shape, value};
use crate::proto::{summary, DataType, TensorProto};

/// The plugin name torch gives `add_tensor`'s values.
pub const TENSOR_PLUGIN: &str = "tensor";

/// A protobuf message (and so a tensor's values) must stay under 2 GiB.
pub const MAX_TENSOR_BYTES: usize = (1 << 31) - 1;

/// A tensor's values in C order, by dtype.
#[derive(Clone, Copy, Debug)]
pub enum TensorData<'a> {
    /// float16 bit patterns.
    Half(&'a [u16]),
    /// bfloat16 bit patterns.
    BFloat16(&'a [u16]),
    /// float32.
    Float(&'a [f32]),
    /// float64.
    Double(&'a [f64]),
    /// int8.
    Int8(&'a [i8]),
    /// uint8.
    UInt8(&'a [u8]),
    /// int16.
    Int16(&'a [i16]),
    /// int32.
    Int32(&'a [i32]),
    /// int64.
    Int64(&'a [i64]),
    /// bool, one byte each (0 or not).
    Bool(&'a [u8]),
    /// complex64 as (real, imaginary) float32 pairs.
    Complex64(&'a [f32]),
    /// complex128 as (real, imaginary) float64 pairs.
    Complex128(&'a [f64]),
}

impl TensorData<'_> {
    /// Elements (complex numbers count once).
    pub fn len(&self) -> usize {
        match self {
            TensorData::Half(v) | TensorData::BFloat16(v) => v.len(),
            TensorData::Float(v) => v.len(),
            TensorData::Double(v) => v.len(),
            TensorData::Int8(v) => v.len(),
            TensorData::UInt8(v) | TensorData::Bool(v) => v.len(),
            TensorData::Int16(v) => v.len(),
            TensorData::Int32(v) => v.len(),
            TensorData::Int64(v) => v.len(),
            TensorData::Complex64(v) => v.len() / 2,
            TensorData::Complex128(v) => v.len() / 2,
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn item_bytes(&self) -> usize {
        match self {
            TensorData::Int8(_) | TensorData::UInt8(_) | TensorData::Bool(_) => 1,
            TensorData::Half(_) | TensorData::BFloat16(_) | TensorData::Int16(_) => 2,
            TensorData::Float(_) | TensorData::Int32(_) => 4,
            TensorData::Double(_) | TensorData::Int64(_) | TensorData::Complex64(_) => 8,
            TensorData::Complex128(_) => 16,
        }
    }
}

/// Why a tensor cannot be written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TensorError {
    /// The shape's element count is not the number of values.
    Shape {
        /// Elements the shape holds.
        expected: u128,
        /// Values given.
        got: usize,
    },
    /// Over [`MAX_TENSOR_BYTES`].
    TooLarge(usize),
}

impl fmt::Display for TensorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TensorError::Shape { expected, got } => write!(
                f,
                "tensor: its shape holds {expected} elements but {got} values were given"
            ),
            TensorError::TooLarge(n) => write!(
                f,
                "tensor: {n} bytes is over protocol buffers' limit of 2 GiB per message"
            ),
        }
    }
}

impl std::error::Error for TensorError {}

/// The value of `add_tensor(tag, tensor)`: tag as given, the `tensor` plugin, the values.
pub fn tensor(
    tag: &str,
    dims: &[i64],
    data: TensorData<'_>,
) -> Result<summary::Value, TensorError> {
    fn ints<T: Copy + Into<i32>>(v: &[T]) -> Vec<i32> {
        v.iter().map(|&x| x.into()).collect()
    }
    let expected = dims.iter().map(|&d| d.max(0) as u128).product::<u128>();
    if expected != data.len() as u128 {
        return Err(TensorError::Shape {
            expected,
            got: data.len(),
        });
    }
    let bytes = data.len().saturating_mul(data.item_bytes());
    if bytes > MAX_TENSOR_BYTES {
        return Err(TensorError::TooLarge(bytes));
    }
    let mut t = TensorProto {
        tensor_shape: Some(shape(dims)),
        ..Default::default()
    };
    let dtype = match data {
        TensorData::Half(v) => {
            t.half_val = ints(v);
            DataType::DtHalf
        }
        TensorData::BFloat16(v) => {
            t.half_val = ints(v);
            DataType::DtBfloat16
        }
        TensorData::Float(v) => {
            t.float_val = v.to_vec();
            DataType::DtFloat
        }
        TensorData::Double(v) => {
            t.double_val = v.to_vec();
            DataType::DtDouble
        }
        TensorData::Int8(v) => {
            t.int_val = ints(v);
            DataType::DtInt8
        }
        TensorData::UInt8(v) => {
            t.int_val = ints(v);
            DataType::DtUint8
        }
        TensorData::Int16(v) => {
            t.int_val = ints(v);
            DataType::DtInt16
        }
        TensorData::Int32(v) => {
            t.int_val = v.to_vec();
            DataType::DtInt32
        }
        TensorData::Int64(v) => {
            t.int64_val = v.to_vec();
            DataType::DtInt64
        }
        TensorData::Bool(v) => {
            t.bool_val = v.iter().map(|&x| x != 0).collect();
            DataType::DtBool
        }
        TensorData::Complex64(v) => {
            t.scomplex_val = v.to_vec();
            DataType::DtComplex64
        }
        TensorData::Complex128(v) => {
            t.dcomplex_val = v.to_vec();
            DataType::DtComplex128
        }
    };
    t.dtype = dtype as i32;
    Ok(value(
        tag.to_owned(),
        Some(plugin_metadata(TENSOR_PLUGIN, Vec::new())),
        summary::value::Value::Tensor(t),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn proto(v: summary::Value) -> TensorProto {
        match v.value {
            Some(summary::value::Value::Tensor(t)) => t,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn fields_by_dtype() {
        let t = proto(tensor("x", &[2], TensorData::Half(&[0x3c00, 0xc000])).unwrap());
        assert_eq!(t.dtype, DataType::DtHalf as i32);
        assert_eq!(t.half_val, [0x3c00, 0xc000]);
        let t = proto(tensor("x", &[1, 2], TensorData::Bool(&[1, 0])).unwrap());
        assert_eq!(t.bool_val, [true, false]);
        let t = proto(tensor("x", &[], TensorData::Int64(&[7])).unwrap());
        assert_eq!(t.int64_val, [7]);
        assert!(t.tensor_shape.unwrap().dim.is_empty());
        let t = proto(tensor("x", &[1], TensorData::Complex64(&[1.0, 2.0])).unwrap());
        assert_eq!(t.scomplex_val, [1.0, 2.0]);
    }

    #[test]
    fn shape_must_match() {
        assert_eq!(
            tensor("x", &[3], TensorData::Float(&[1.0])).unwrap_err(),
            TensorError::Shape {
                expected: 3,
                got: 1
            }
        );
    }
}
