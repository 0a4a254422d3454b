//! Numpy arrays for every array-taking function of the binding: the dtype dispatch
//! (`dispatch!`), readonly borrows, contiguous element slices (borrowed in place or gathered),
//! and the 16-bit float encodings (`float16`, `bfloat16` data passed as `uint16` bits by
//! `ferroboard/_inputs/`).

use std::borrow::Cow;

use numpy::{Element, PyArrayDyn, PyArrayMethods, PyReadonlyArrayDyn, PyUntypedArrayMethods};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// How 16-bit unsigned arrays are to be read.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Plain,
    Float16,
    BFloat16,
}

pub fn encoding(name: Option<&str>) -> PyResult<Encoding> {
    match name {
        None => Ok(Encoding::Plain),
        Some("float16") => Ok(Encoding::Float16),
        Some("bfloat16") => Ok(Encoding::BFloat16),
        Some(other) => Err(PyValueError::new_err(format!(
            "unknown 16-bit encoding {other:?} (expected 'float16' or 'bfloat16')"
        ))),
    }
}

/// Reinterprets `u16` bit patterns as one of the 16-bit float types.
pub fn bits_as<T: Copy>(bits: &[u16]) -> &[T] {
    const { assert!(size_of::<T>() == 2 && align_of::<T>() <= 2) };
    // SAFETY: `T` is `F16` or `BF16`, both `#[repr(transparent)]` over `u16`, so every `u16`
    // is a valid `T` and the layouts (size, alignment) are the same.
    unsafe { std::slice::from_raw_parts(bits.as_ptr().cast::<T>(), bits.len()) }
}

/// The elements of a readonly array: borrowed when contiguous (in memory order when
/// `any_order`, else only for C order), gathered in logical order otherwise.
pub fn elements<'a, T: Element + Copy>(
    arr: &'a PyReadonlyArrayDyn<'_, T>,
    any_order: bool,
) -> Cow<'a, [T]> {
    let view = arr.as_array();
    let slice = if any_order {
        view.to_slice_memory_order()
    } else {
        view.to_slice()
    };
    match slice {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(view.iter().copied().collect()),
    }
}

pub fn readonly<'py, T: Element>(
    arr: &Bound<'py, PyArrayDyn<T>>,
    name: &str,
) -> PyResult<PyReadonlyArrayDyn<'py, T>> {
    if !arr.is_aligned() {
        return Err(PyValueError::new_err(format!(
            "{name}: the array's memory is not aligned for its dtype"
        )));
    }
    arr.try_readonly().map_err(|e| {
        PyValueError::new_err(format!(
            "{name}: the array is being written elsewhere ({e})"
        ))
    })
}

pub fn dtype_name(obj: &Bound<'_, PyAny>) -> String {
    obj.getattr("dtype")
        .and_then(|d| d.str().map(|s| s.to_string()))
        .unwrap_or_else(|_| super::type_name(obj))
}

/// Calls `$body` with `$slice: &[T]` bound to the elements of `$obj`, for each element type
/// listed; the `u16` arm honours `$enc`. Falls through to a `TypeError` for other types.
macro_rules! dispatch {
    ($obj:expr, $name:expr, $enc:expr, $any_order:expr, |$slice:ident| $body:expr, [$($t:ty),*]) => {{
        let obj = $obj;
        'found: {
            if let Ok(a) = obj.cast::<::numpy::PyArrayDyn<u16>>() {
                let ro = $crate::convert::arrays::readonly(a, $name)?;
                let data = $crate::convert::arrays::elements(&ro, $any_order);
                break 'found match $enc {
                    $crate::convert::arrays::Encoding::Float16 => {
                        let $slice: &[::ferroboard_core::dtype::half::F16] = $crate::convert::arrays::bits_as(&data);
                        $body
                    }
                    $crate::convert::arrays::Encoding::BFloat16 => {
                        let $slice: &[::ferroboard_core::dtype::half::BF16] = $crate::convert::arrays::bits_as(&data);
                        $body
                    }
                    $crate::convert::arrays::Encoding::Plain => {
                        let $slice: &[u16] = &data;
                        $body
                    }
                };
            }
            $(
                if let Ok(a) = obj.cast::<::numpy::PyArrayDyn<$t>>() {
                    let ro = $crate::convert::arrays::readonly(a, $name)?;
                    let data = $crate::convert::arrays::elements(&ro, $any_order);
                    let $slice: &[$t] = &data;
                    break 'found $body;
                }
            )*
            Err(::pyo3::exceptions::PyTypeError::new_err(format!(
                "{}: unsupported array dtype {}",
                $name,
                $crate::convert::arrays::dtype_name(obj)
            )))
        }
    }};
}
pub(crate) use dispatch;
