//! The two 16-bit float encodings training code produces, IEEE half ([`F16`]) and bfloat16
//! ([`BF16`]), as plain bit patterns with exact widening and correctly rounded narrowing.
//!
//! numpy has no bfloat16 and torch hands bfloat16 tensors over as raw bits; these types let the
//! histogram and PR-curve code read such buffers in place, without a converted copy.

/// An IEEE 754 binary16 value stored as its bit pattern (numpy's `float16`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct F16(pub u16);

/// A bfloat16 value stored as its bit pattern (the upper half of an `f32`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct BF16(pub u16);

impl F16 {
    /// The exact `f32` value (every binary16 value, subnormals included, is an `f32`).
    #[inline]
    pub fn to_f32(self) -> f32 {
        let h = u32::from(self.0);
        let sign = (h & 0x8000) << 16;
        let exp = (h >> 10) & 0x1f;
        let man = h & 0x3ff;
        let magnitude = match exp {
            // Zero and subnormals: man * 2^-24, exact in f32.
            0 => (man as f32) * f32::from_bits(0x3380_0000),
            // Infinities and NaNs keep their payload's top bits.
            0x1f => return f32::from_bits(sign | 0x7f80_0000 | (man << 13)),
            _ => return f32::from_bits(sign | ((exp + 112) << 23) | (man << 13)),
        };
        f32::from_bits(sign | magnitude.to_bits())
    }

    /// The exact `f64` value.
    #[inline]
    pub fn to_f64(self) -> f64 {
        f64::from(self.to_f32())
    }

    /// `x` rounded to the nearest binary16 value, ties to even, overflowing to infinity
    /// (what numpy's `astype(np.float16)` and its float16 arithmetic do).
    pub fn from_f32(x: f32) -> F16 {
        let b = x.to_bits();
        let sign = ((b >> 16) & 0x8000) as u16;
        let exp = ((b >> 23) & 0xff) as i32;
        let man = b & 0x7f_ffff;
        if exp == 0xff {
            let nan_bits = if man != 0 {
                0x200 | (man >> 13) as u16
            } else {
                0
            };
            return F16(sign | 0x7c00 | nan_bits);
        }
        // Biased binary16 exponent.
        let e = exp - 127 + 15;
        if e >= 0x1f {
            return F16(sign | 0x7c00);
        }
        if e <= 0 {
            // A binary16 subnormal (or zero): value / 2^-24, rounded.
            if exp == 0 {
                // f32 subnormals and zeros are far below half the smallest binary16 subnormal.
                return F16(sign);
            }
            let m = man | 0x80_0000;
            let shift = (14 - e) as u32;
            if shift > 24 {
                return F16(sign);
            }
            return F16(sign | round_shift(m, shift) as u16);
        }
        let h = ((e as u32) << 10) | (man >> 13);
        let rem = man & 0x1fff;
        let up = rem > 0x1000 || (rem == 0x1000 && (h & 1) == 1);
        // A carry out of the mantissa correctly bumps the exponent (up to infinity).
        F16(sign | (h + u32::from(up)) as u16)
    }
}

/// `m >> shift` rounded to nearest, ties to even (`1 <= shift <= 31`).
#[inline]
fn round_shift(m: u32, shift: u32) -> u32 {
    let q = m >> shift;
    let rem = m & ((1u32 << shift) - 1);
    let half = 1u32 << (shift - 1);
    q + u32::from(rem > half || (rem == half && (q & 1) == 1))
}

impl BF16 {
    /// The exact `f32` value.
    #[inline]
    pub fn to_f32(self) -> f32 {
        f32::from_bits(u32::from(self.0) << 16)
    }

    /// The exact `f64` value.
    #[inline]
    pub fn to_f64(self) -> f64 {
        f64::from(self.to_f32())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_f16_round_trips_through_f32() {
        for bits in 0..=u16::MAX {
            let h = F16(bits);
            let f = h.to_f32();
            if f.is_nan() {
                assert!(F16::from_f32(f).to_f32().is_nan());
                continue;
            }
            assert_eq!(F16::from_f32(f), h, "bits {bits:#06x} -> {f}");
            assert_eq!(h.to_f64(), f64::from(f));
        }
    }

    #[test]
    fn known_values() {
        assert_eq!(F16(0x3c00).to_f32(), 1.0);
        assert_eq!(F16(0xc000).to_f32(), -2.0);
        assert_eq!(F16(0x7bff).to_f32(), 65504.0);
        assert_eq!(F16(0x0001).to_f32(), 2f32.powi(-24));
        assert_eq!(F16(0x0400).to_f32(), 2f32.powi(-14));
        assert_eq!(F16(0x7c00).to_f32(), f32::INFINITY);
        assert!(F16(0x7e00).to_f32().is_nan());
        assert_eq!(F16(0x8000).to_f32().to_bits(), (-0.0f32).to_bits());
        assert_eq!(BF16(0x3f80).to_f32(), 1.0);
        assert_eq!(BF16(0x7f7f).to_f32(), f32::from_bits(0x7f7f_0000));
    }

    #[test]
    fn rounding_to_nearest_even() {
        // Halfway between 1 and the next binary16 (1 + 2^-10): ties to even (1).
        assert_eq!(F16::from_f32(1.0 + 2f32.powi(-11)), F16(0x3c00));
        // Just above halfway rounds up.
        assert_eq!(
            F16::from_f32(1.0 + 2f32.powi(-11) + 2f32.powi(-20)),
            F16(0x3c01)
        );
        // Halfway between 1 + 2^-10 and 1 + 2^-9: ties to even (1 + 2^-9).
        assert_eq!(F16::from_f32(1.0 + 3.0 * 2f32.powi(-11)), F16(0x3c02));
        // Overflow: 65520 is halfway between 65504 and 65536 (not representable): infinity.
        assert_eq!(F16::from_f32(65520.0), F16(0x7c00));
        assert_eq!(F16::from_f32(65519.0), F16(0x7bff));
        // Subnormals: half of the smallest subnormal ties to zero, more rounds up.
        assert_eq!(F16::from_f32(2f32.powi(-25)), F16(0));
        assert_eq!(F16::from_f32(2f32.powi(-25) * 1.5), F16(1));
        assert_eq!(F16::from_f32(3.0 * 2f32.powi(-25)), F16(2));
        // The largest subnormal rounding up into the smallest normal.
        assert_eq!(F16::from_f32(2f32.powi(-14) - 2f32.powi(-26)), F16(0x0400));
        assert_eq!(F16::from_f32(-1e-30), F16(0x8000));
        assert_eq!(F16::from_f32(f32::from_bits(1)), F16(0));
    }

    #[test]
    fn midpoints_between_all_neighbours() {
        // For every pair of adjacent finite positive binary16 values, the f32 midpoint rounds
        // to the even one and anything past it to the far one.
        for bits in 0..0x7bffu16 {
            let lo = F16(bits).to_f32();
            let hi = F16(bits + 1).to_f32();
            let mid = f32::midpoint(lo, hi);
            let even = if bits % 2 == 0 { bits } else { bits + 1 };
            assert_eq!(F16::from_f32(mid).0, even, "midpoint of {bits:#06x}");
            assert_eq!(F16::from_f32(f32::from_bits(mid.to_bits() + 1)).0, bits + 1);
            assert_eq!(F16::from_f32(f32::from_bits(mid.to_bits() - 1)).0, bits);
        }
    }
}
