//! The default bin of an `f32` value computed, not looked up: TensorBoard's positive default
//! edges are `1e-12 * 1.1^k` (built by repeated `f64` multiplication, see `edges`), so a value
//! `x` with `1e-12 <= |x| < v_max` lies above edge `k = floor(t)` of its sign, where
//! `t = log2(|x| / 1e-12) / log2(1.1)`. Two vector kernels compute `t` without a table in
//! memory (so without gathers), each from `|x| = m * 2^e` (`m` in `[1, 2)`; `vgetexpps` and
//! `vgetmantps`, or the same numbers taken from the bits; exact for normal values):
//!
//! - [`Kernel16`] (AVX-512, 16 lanes): `t = e * A + P(m)`, `A = 1 / log2(1.1)` and `P` one
//!   degree-6 polynomial for `A * log2(m) - A * log2(1e-12)` on `[1, 2)`, in `f32` fused
//!   multiply-adds by Horner's rule; a lane is kept when `t` is more than `MARGIN` from an
//!   integer.
//! - [`Kernel8`] (AVX2 and FMA, 8 lanes): `r = t + R_OFFSET` directly, as
//!   `eb * A + P_i(m)` with `eb` the biased exponent and `P_i` one of 8 quadratics, picked by
//!   the mantissa's top three bits with a register permutation (`vpermps`), for
//!   `A * log2(m)` plus the constants; `R_OFFSET` puts `r` in `[4096, 8192)`, where an `f32`'s
//!   last 11 bits are `r`'s fraction in 2048ths, so the nearness test and the bin are integer
//!   operations on `r`'s bits. Three fused multiply-adds instead of seven and two
//!   multiplications, and no rounding or conversion back: 22 instead of 30 vector operations
//!   per 8 values (a stand-alone copy of the kernel: 16 instead of 22 cycles per 16 values on
//!   a Zen 3; BENCHMARKS.md, session 14).
//!
//! Each kernel is its scalar model (`Form` and `computed_slot`, in the tests) bit for bit:
//! the AVX-512 kernel on every normal, finite value (zeros and subnormals have `vgetexpps`
//! below -126 and are clamped to `t = -0.5`, NaN and infinities are left), the AVX2 kernel on
//! every `f32` bit pattern (tested on all 2^32; see [`Kernel8`]).
//!
//! **Why the computed bins are exact.** Let `t*` be the exact real `log_1.1(|x| / 1e-12)`.
//! *AVX-512.* The computed `t` is within `E` of `t*`, with (each term measured or bounded in
//! this module's tests): the polynomial in `f32` (coefficients rounded, each step rounded) at
//! most `4.0e-5` over all 2^23 mantissas (`polynomial_error_is_bounded`); the final `fma`
//! rounds once to an `f32` below 1024 in magnitude, at most half an ulp, `3.05e-5`; `A`
//! rounded to `f32` is off by `1.5e-7`, times `|e| <= 67`, `1.0e-5`; and the real edges
//! differ from the geometric sequence by the rounding of 773 multiplications, under `1e-12`
//! in units of `t`. So `E < 8.1e-5`. A lane is kept only when `t` is finite, below
//! `773 - MARGIN`, and its distance to the nearest integer exceeds
//! `MARGIN = 2^-11 = 4.9e-4 > 4 E`: then no integer lies between `t` and `t*`, so
//! `floor(t) = floor(t*)`, which is the bin (a value equal to an edge has an integer `t*` and
//! is never kept).
//! *AVX2.* For a value with `|e| <= 67`, `r` before its clamps is within `D` of
//! `t* + R_OFFSET`, with: the pieces in `f32` (the fit, the coefficients rounded, the last
//! rounding near 3465) at most `3.05e-4` (measured over all mantissas: 3.01e-4;
//! `polynomial_error_is_bounded`), `A`'s rounding `1.0e-5` as above, and `r`'s own rounding to
//! a multiple of `2^-11`, `2^-12 = 2.44e-4`: `D < 5.6e-4`.
//! `R_OFFSET = 4097 + 2/2048`, and a lane is kept only when `r`'s last 11 bits `f` are 4 or
//! more: then `r - 4097` has a fraction of at least `4/2048` and at most `2047/2048`, so
//! `t* = r - 4097 - 2/2048 ± D` has a fraction strictly between `2/2048 - D > 4e-4` and
//! `1 - (3/2048 - D)`, below 1, and its floor is `r - 4097`'s, which the bits give. A value at
//! or beyond `v_max` (`t* >= 773`) has `r > 4870 + 2/2048 - D > 4870`, so `f` is 1 or 2, or
//! `r` is clamped to `R_HIGH`, whose `f` is 2: left (so are NaN and infinities, clamped
//! there). A value whose `r` falls below `R_LOW` (`t* < -0.5 + D`: below `1e-12`, zero
//! included) is clamped there, bin "just below/above 0"; the others below `1e-12` take that
//! bin by the argument above, or are left.
//!
//! Every other lane (NaN, infinities, values at or beyond `v_max`, and about one value in a
//! thousand (AVX-512) or five hundred (AVX2) near an edge) is binned by the exact table
//! lookup (`default_slot32`).
//! The tests check the computed slots against numpy's `searchsorted` rule near every edge
//! (every `f32` within 2048 ulps of each), on every cell boundary, and on random bit
//! patterns; an ignored test checks every positive and negative `f32` between `1e-13` and
//! `2e20` in both models, and another that the AVX2 kernel is its model on every `f32` bit
//! pattern (both run by hand, about 4 min together: `cargo test -p ferroboard-core --profile
//! quick --lib logbin -- --ignored`).

/// `1 / log2(1.1)` rounded to `f32` (`1.1` as the `f64` torch multiplies by).
const A: f32 = 7.272_541;

/// `P(m) = C[0] + C[1] m + ... + C[6] m^6`, about `A * log2(m) - A * log2(1e-12)` on `[1, 2)`
/// (a least-squares fit reweighted towards minimax, then rounded to `f32`): the AVX-512
/// kernel's.
const C: [f32; 7] = [
    267.798,
    44.454_66,
    -38.846_382,
    23.898_458,
    -9.212_314,
    2.000_682_4,
    -0.186_804_01,
];

/// AVX-512: lanes whose `t` is within this of an integer are left to the exact lookup.
const MARGIN: f32 = 1.0 / 2048.0;

/// AVX-512: largest `t` binned by the computation: `v_max` is edge 773 (the last bin is
/// closed there).
const T_LIMIT: f32 = 773.0 - MARGIN;

/// Slot of a positive value in bin `775 + k` (above edge `k`), and of a negative one in bin
/// `772 - k` (at or below `-1e-12 * 1.1^k`): slot = bin + 1 (slot 0 is "below the edges").
const POSITIVE_SLOT: i32 = 776;
const NEGATIVE_SLOT: i32 = 773;

/// The AVX2 kernel's pieces: `P_i(m) = (Q2[i] m + Q1[i]) m + Q0[i]` on
/// `[1 + i/8, 1 + (i+1)/8)`, about `A * log2(m) + R_OFFSET - A * log2(1e-12) - 127 A` (the
/// exponent's bias folded in); fitted by `scripts/fit_logbin_pieces.py`.
const Q2: [f32; 8] = [
    -4.657_050_6,
    -3.726_558_2,
    -3.049_623_3,
    -2.541_677_2,
    -2.150_924_4,
    -1.843_804_4,
    -1.598_103_3,
    -1.398_398_3,
];
const Q1: [f32; 8] = [
    19.779_669, 17.692_122, 16.003_748, 14.609_598, 13.439_244, 12.442_49, 11.583_569, 10.835_459,
];
const Q0: [f32; 8] = [
    3_448.172,
    3_449.343_3,
    3_450.396_2,
    3_451.353,
    3_452.229_5,
    3_453.038_3,
    3_453.789,
    3_454.489_7,
];

/// The AVX2 kernel's `r - t`: puts `r` in `[4096, 8192)` (where an `f32`'s ulp is `2^-11`)
/// and a value's fraction two 2048ths on, so that both ends of the interval left to the
/// lookup (within `2/2048` of an integer) become the four fractions `0..4`.
#[cfg(test)]
const R_OFFSET: f64 = 4097.0 + 2.0 / 2048.0;

/// `A` scaled to multiply the exponent field as it stands in the bits (`eb * 2^23`), exact.
const A_FIELD: f32 = A / 8_388_608.0;

/// The AVX2 kernel's clamps of `r`: `t = -0.5` (bin "just above/below 0", below `1e-12`)
/// and `t = 773` (`v_max`), each plus `2/2048`; the second's fraction, 2, is left.
const R_LOW: f32 = 4096.5 + 2.0 / 2048.0;
const R_HIGH: f32 = 4870.0 + 2.0 / 2048.0;

/// `r`'s bits shifted right by 11 are `R_BASE + floor(t)` for a kept lane: the exponent
/// field of `[4096, 8192)` (139) above the integer part of `r - 4096`, which is `floor(t)`
/// plus one (`r` is `t` plus 4097 and a fraction).
const R_BASE: i32 = (139 << 12) + 1;

/// The last 11 bits of `r`'s `f32`: its fraction in 2048ths in `[4096, 8192)`.
const R_FRACTION_MASK: i32 = 0x7ff;

/// The AVX2 kernel's nearness test: a lane is left when the last 11 bits of `r` are below this.
const R_FRACTION_LEFT: i32 = 4;

/// How a kernel computes a slot: the scalar models of the two kernels (each step a correctly
/// rounded `f32` operation, in the kernel's order, so the kernel's bits).
#[cfg(test)]
#[derive(Clone, Copy, Debug)]
pub(super) enum Form {
    /// The AVX-512 kernel: one degree-6 polynomial by Horner's rule, `t`'s distance to the
    /// nearest integer against `MARGIN`.
    Horner,
    /// The AVX2 kernel: eight quadratics, `r = t + R_OFFSET` and its bits.
    Pieces,
}

/// `P(m)` in `f32` by Horner's rule (the AVX-512 kernel's operations in scalar form).
#[cfg(test)]
fn p_of(m: f32) -> f32 {
    let mut p = C[6];
    for &c in C[..6].iter().rev() {
        p = p.mul_add(m, c);
    }
    p
}

/// The mantissa of the `f32` with these bits under the exponent of 1.0, in `[1, 2)` (both
/// kernels' `m`; exact).
#[cfg(test)]
fn mantissa_of(bits: u32) -> f32 {
    f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000)
}

/// `t` of `|x|`, computed as the AVX-512 kernel computes it (the same `f32` operations in the
/// same order, each correctly rounded, so the same bits), for normal, finite `x`.
#[cfg(test)]
fn t_of(x: f32) -> f32 {
    let bits = x.to_bits() & 0x7fff_ffff;
    let e = ((bits >> 23) as i32 - 127) as f32;
    e.mul_add(A, p_of(mantissa_of(bits)))
}

/// The piece of `m` and its value `P_i(m)` (the AVX2 kernel's operations in scalar form).
#[cfg(test)]
fn piece_of(m: f32) -> f32 {
    let i = (m.to_bits() >> 20) as usize & 7;
    Q2[i].mul_add(m, Q1[i]).mul_add(m, Q0[i])
}

/// `r` of `x`, clamped, as the AVX2 kernel computes it, for every `f32` (the exponent field
/// of NaN and infinities is 255, of zeros and subnormals 0; `m` is always in `[1, 2)`).
#[cfg(test)]
fn r_of(x: f32) -> f32 {
    let bits = x.to_bits();
    let field = (bits & 0x7f80_0000) as f32;
    field
        .mul_add(A_FIELD, piece_of(mantissa_of(bits)))
        .clamp(R_LOW, R_HIGH)
}

/// The slot the vector kernel of `form` gives `x`, or `None` where it leaves `x` to the exact
/// lookup: the kernel's arithmetic in scalar form (for the tests, on any machine).
#[cfg(test)]
pub(super) fn computed_slot(x: f32, form: Form) -> Option<usize> {
    let k = match form {
        Form::Horner => {
            if !x.is_finite() {
                return None;
            }
            // Zero and subnormals: far below 1e-12 (vgetexpps gives -inf or below -126).
            let t = if x.abs() < f32::MIN_POSITIVE {
                -0.5
            } else {
                t_of(x).max(-0.5)
            };
            if t >= T_LIMIT || (t - t.round_ties_even()).abs() <= MARGIN {
                return None;
            }
            t.floor() as i32
        }
        Form::Pieces => {
            let r_bits = r_of(x).to_bits() as i32;
            if r_bits & R_FRACTION_MASK < R_FRACTION_LEFT {
                return None;
            }
            (r_bits >> 11) - R_BASE
        }
    };
    Some(if x >= 0.0 {
        POSITIVE_SLOT + k
    } else {
        NEGATIVE_SLOT - k
    } as usize)
}

/// The AVX-512 kernel: its constants held in registers, and the slots of 16 values at a time.
#[cfg(target_arch = "x86_64")]
pub(super) struct Kernel16 {
    a: std::arch::x86_64::__m512,
    c: [std::arch::x86_64::__m512; 7],
    t_limit: std::arch::x86_64::__m512,
    floor_t: std::arch::x86_64::__m512,
    margin: std::arch::x86_64::__m512,
    zero: std::arch::x86_64::__m512,
    pos: std::arch::x86_64::__m512i,
    neg: std::arch::x86_64::__m512i,
}

#[cfg(target_arch = "x86_64")]
impl Kernel16 {
    /// The constants, broadcast.
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    pub(super) fn new() -> Kernel16 {
        use std::arch::x86_64::*;
        Kernel16 {
            a: _mm512_set1_ps(A),
            c: C.map(|c| _mm512_set1_ps(c)),
            t_limit: _mm512_set1_ps(T_LIMIT),
            floor_t: _mm512_set1_ps(-0.5),
            margin: _mm512_set1_ps(MARGIN),
            zero: _mm512_setzero_ps(),
            pos: _mm512_set1_epi32(POSITIVE_SLOT),
            neg: _mm512_set1_epi32(NEGATIVE_SLOT),
        }
    }

    /// The slots of the 16 values of `v`, and a mask of the lanes whose slot is not computed
    /// (bit set: NaN, infinities, values at or beyond `v_max`, values near an edge): those
    /// lanes hold no slot and must take the exact lookup. Every computed slot is between 1
    /// and `DEFAULT_SLOTS - 2`.
    #[target_feature(enable = "avx512f,avx512dq")]
    #[inline]
    pub(super) fn slots(&self, v: std::arch::x86_64::__m512) -> (std::arch::x86_64::__m512i, u16) {
        use std::arch::x86_64::*;
        let c = &self.c;
        let e = _mm512_getexp_ps(v);
        let m = _mm512_getmant_ps::<_MM_MANT_NORM_1_2, _MM_MANT_SIGN_ZERO>(v);
        let mut q = _mm512_fmadd_ps(c[6], m, c[5]);
        q = _mm512_fmadd_ps(q, m, c[4]);
        q = _mm512_fmadd_ps(q, m, c[3]);
        q = _mm512_fmadd_ps(q, m, c[2]);
        q = _mm512_fmadd_ps(q, m, c[1]);
        q = _mm512_fmadd_ps(q, m, c[0]);
        let t = _mm512_fmadd_ps(e, self.a, q);
        // NaN and infinite t fail this comparison.
        let in_range = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(t, self.t_limit);
        let t = _mm512_max_ps(t, self.floor_t);
        // t minus t rounded to the nearest integer (exact).
        let frac = _mm512_reduce_ps::<0>(t);
        let good =
            _mm512_mask_cmp_ps_mask::<_CMP_GT_OQ>(in_range, _mm512_abs_ps(frac), self.margin);
        let k = _mm512_cvt_roundps_epi32::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(t);
        let positive = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(v, self.zero);
        let slot = _mm512_mask_add_epi32(_mm512_sub_epi32(self.neg, k), positive, k, self.pos);
        (slot, !good)
    }
}

/// The AVX2 kernel: `r = t + R_OFFSET` on 8 lanes from eight quadratics (`Form::Pieces` in
/// the tests).
/// The biased exponent is taken from the bits as they stand (`eb * 2^23`, converted exactly,
/// times `A_FIELD`), the mantissa `m` under the exponent of 1.0, and the piece's three
/// coefficients by `vpermps`, which reads the low 3 bits of each lane's index: the mantissa's
/// top three bits once the bits are shifted right by 20. Every encoding takes the same steps:
/// zeros and subnormals (`eb = 0`) give `r` near 3465, clamped to `R_LOW`; NaN and infinities
/// (`eb = 255`) give `r` near 5300, clamped to `R_HIGH` and left; no lane's `r` is NaN.
#[cfg(target_arch = "x86_64")]
pub(super) struct Kernel8 {
    q: [std::arch::x86_64::__m256; 3],
    a_field: std::arch::x86_64::__m256,
    r_low: std::arch::x86_64::__m256,
    r_high: std::arch::x86_64::__m256,
    exponent_mask: std::arch::x86_64::__m256i,
    mantissa: std::arch::x86_64::__m256,
    one: std::arch::x86_64::__m256,
    fraction_mask: std::arch::x86_64::__m256i,
    fraction_left: std::arch::x86_64::__m256i,
    pos: std::arch::x86_64::__m256i,
    neg: std::arch::x86_64::__m256i,
}

#[cfg(target_arch = "x86_64")]
impl Kernel8 {
    /// The constants, broadcast, and the pieces' coefficients, one per lane.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn new() -> Kernel8 {
        use std::arch::x86_64::*;
        // SAFETY: each load reads the 8 `f32` of a constant array.
        let table = |q: &[f32; 8]| unsafe { _mm256_loadu_ps(q.as_ptr()) };
        Kernel8 {
            q: [table(&Q0), table(&Q1), table(&Q2)],
            a_field: _mm256_set1_ps(A_FIELD),
            r_low: _mm256_set1_ps(R_LOW),
            r_high: _mm256_set1_ps(R_HIGH),
            exponent_mask: _mm256_set1_epi32(0x7f80_0000),
            mantissa: _mm256_castsi256_ps(_mm256_set1_epi32(0x007f_ffff)),
            one: _mm256_set1_ps(1.0),
            fraction_mask: _mm256_set1_epi32(R_FRACTION_MASK),
            fraction_left: _mm256_set1_epi32(R_FRACTION_LEFT),
            // The slots from `r`'s bits shifted right by 11, `R_BASE + floor(t)`.
            pos: _mm256_set1_epi32(POSITIVE_SLOT - R_BASE),
            neg: _mm256_set1_epi32(NEGATIVE_SLOT + R_BASE),
        }
    }

    /// The slots of the 8 values of `v`, and a mask of the lanes whose slot is not computed,
    /// as [`Kernel16::slots`].
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn slots(&self, v: std::arch::x86_64::__m256) -> (std::arch::x86_64::__m256i, u8) {
        use std::arch::x86_64::*;
        let bits = _mm256_castps_si256(v);
        let field = _mm256_cvtepi32_ps(_mm256_and_si256(bits, self.exponent_mask));
        let m = _mm256_or_ps(_mm256_and_ps(v, self.mantissa), self.one);
        let piece = _mm256_srli_epi32::<20>(bits);
        let [q0, q1, q2] = self.q.map(|q| _mm256_permutevar8x32_ps(q, piece));
        let p = _mm256_fmadd_ps(_mm256_fmadd_ps(q2, m, q1), m, q0);
        let r = _mm256_fmadd_ps(field, self.a_field, p);
        let r = _mm256_castps_si256(_mm256_min_ps(_mm256_max_ps(r, self.r_low), self.r_high));
        let left = _mm256_cmpgt_epi32(self.fraction_left, _mm256_and_si256(r, self.fraction_mask));
        // floor(t) + R_BASE; `v >= 0` holds for -0.0 as for 0.0, whose bin is above 0.
        let k = _mm256_srli_epi32::<11>(r);
        let positive = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GE_OQ>(v, _mm256_setzero_ps()));
        let slot = _mm256_blendv_epi8(
            _mm256_sub_epi32(self.neg, k),
            _mm256_add_epi32(self.pos, k),
            positive,
        );
        (slot, _mm256_movemask_ps(_mm256_castsi256_ps(left)) as u8)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::histogram::edges::{
        default_edges, default_slot32, Cell32, CELLS32, CELL_COUNT_F32, DEFAULT_SLOTS,
    };

    fn exact(x: f32) -> usize {
        let t: &[Cell32; CELL_COUNT_F32] = &CELLS32;
        default_slot32(t, x)
    }

    /// The values the tests run through: every `f32` within 2048 ulps of every edge (both
    /// signs), every cell boundary and its neighbours, zeros, subnormals, extremes, and a
    /// deterministic sample of bit patterns.
    fn test_values() -> Vec<f32> {
        let mut xs = vec![
            0.0,
            -0.0,
            f32::MIN_POSITIVE,
            f32::MAX,
            f32::MIN,
            1e-45,
            -1e-45,
        ];
        xs.extend([
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            1e-12,
            1e20,
            -1e20,
        ]);
        for &e in default_edges() {
            let b = i64::from((e as f32).to_bits());
            for d in -2048..=2048i64 {
                if let Ok(bits) = u32::try_from(b + d) {
                    xs.push(f32::from_bits(bits));
                }
            }
        }
        for key in 0..1u32 << 13 {
            let b = key << 19;
            xs.extend([b, b.wrapping_add(1), b.wrapping_sub(1)].map(f32::from_bits));
        }
        let mut state = 0x2545_f491u32;
        for _ in 0..1_000_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            xs.push(f32::from_bits(state));
        }
        xs
    }

    /// The polynomial parts of the error bounds (see the module docs), every mantissa: the
    /// AVX-512 kernel's `P(m)` against the exact `A * log2(m) - A * log2(1e-12)`, and the
    /// AVX2 kernel's pieces against the exact `A * log2(m) + R_OFFSET - A * log2(1e-12) -
    /// 127 A` (in `f64`, with the exact `A` where the kernel's `A` is not folded in).
    #[test]
    fn polynomial_error_is_bounded() {
        let a = 1.0 / 1.1f64.log2();
        let offset = -a * 1e-12f64.log2();
        let (mut horner, mut pieces) = (0.0f64, 0.0f64);
        for bits in 0..1u32 << 23 {
            let m = mantissa_of(bits);
            let log = a * f64::from(m).log2();
            horner = horner.max((f64::from(p_of(m)) - (log + offset)).abs());
            let exact = log + offset + R_OFFSET - 127.0 * f64::from(A);
            pieces = pieces.max((f64::from(piece_of(m)) - exact).abs());
        }
        assert!(horner < 4.0e-5, "Horner: polynomial error {horner:e}");
        assert!(pieces < 3.05e-4, "pieces: error {pieces:e}");
        // The other terms, and the headroom (each term a bound, not an estimate).
        let a_error = 67.0 * (f64::from(A) - a).abs();
        assert!(a_error < 1.01e-5);
        // AVX-512: the final rounding of t (below 1024) and 4x headroom under MARGIN.
        let rounding = 0.5 * 1024.0 * f64::from(f32::EPSILON) / 2.0;
        assert!(rounding <= 3.06e-5);
        assert!(4.0 * (horner + rounding + a_error + 1e-12) < f64::from(MARGIN));
        // AVX2: r rounds to a multiple of 2^-11; exactness needs D under 2/2048.
        let d = pieces + a_error + 1e-12 + 0.5 / 2048.0;
        assert!(d < 5.6e-4, "D = {d:e}");
        // The constants the kernel's bit operations stand on.
        assert_eq!(f64::from(A_FIELD) * 8_388_608.0, f64::from(A));
        assert_eq!(f64::from(R_LOW) - R_OFFSET, -0.5);
        assert_eq!(f64::from(R_HIGH) - R_OFFSET, 773.0);
        assert_eq!(R_HIGH.to_bits() as i32 & R_FRACTION_MASK, 2);
        assert_eq!(R_BASE, (4096.0f32.to_bits() >> 11) as i32 + 1);
        const { assert!(4096.0 <= R_LOW && R_HIGH < 8192.0) };
    }

    /// The kernels' arithmetic (in scalar form, both models) gives the exact slot wherever it
    /// keeps a value, keeps most of them (nearly all away from the edges), and its slots stay
    /// within the counters.
    #[test]
    fn computed_slots_are_exact() {
        let xs = test_values();
        for form in [Form::Horner, Form::Pieces] {
            let mut kept = 0usize;
            for &x in &xs {
                if let Some(s) = computed_slot(x, form) {
                    assert_eq!(s, exact(x), "{form:?}: x = {x:e} ({:#x})", x.to_bits());
                    assert!((1..DEFAULT_SLOTS - 1).contains(&s));
                    kept += 1;
                }
            }
            // Most test values lie within a few thousandths of an edge (in units of t), where
            // the AVX2 kernel leaves nearly half of them.
            assert!(kept > xs.len() / 3, "{form:?}: {kept} of {}", xs.len());
            // Away from the edges nearly every value is computed.
            let mut state = 0x9e37_79b9u32;
            let mut left = 0;
            for _ in 0..100_000 {
                state ^= state << 13;
                state ^= state >> 17;
                state ^= state << 5;
                let x = (state as f32 / u32::MAX as f32 - 0.5) * 8.0;
                left += usize::from(computed_slot(x, form).is_none());
            }
            assert!(left < 300, "{form:?}: {left} of 100000 left to the lookup");
        }
    }

    /// Each lane of a kernel's output is the model's in the kernel's `form`: kept exactly
    /// where the model keeps it (the same operations, bit for bit), with the model's slot.
    fn assert_lanes_are_the_model(xs: &[f32], got: &[u32], unkept: u32, form: Form) {
        for (lane, &x) in xs.iter().enumerate() {
            let kept = unkept & (1 << lane) == 0;
            assert_eq!(
                kept.then_some(got[lane] as usize),
                computed_slot(x, form),
                "x = {x:e} ({:#x})",
                x.to_bits()
            );
        }
    }

    /// A vector kernel, lane by lane, on `test_values`: it is the model, a lane it computes
    /// holds the exact lookup's slot, and the lanes it leaves are those the model leaves (of
    /// `test_values`, mostly near an edge: under half for the AVX-512 kernel, whose window is
    /// narrower, under two thirds for the AVX2 kernel).
    /// `kernel` gives the slots of `W` values and the lanes it leaves, evaluating in `form`.
    fn check_kernel<const W: usize>(form: Form, kernel: impl Fn(&[f32; W]) -> ([u32; W], u32)) {
        let xs = test_values();
        let mut left = 0usize;
        for chunk in xs.chunks_exact(W) {
            let (got, unkept) = kernel(chunk.try_into().expect("W values"));
            assert_lanes_are_the_model(chunk, &got, unkept, form);
            for (lane, &x) in chunk.iter().enumerate() {
                let kept = unkept & (1 << lane) == 0;
                if kept {
                    assert_eq!(
                        got[lane] as usize,
                        exact(x),
                        "x = {x:e} ({:#x})",
                        x.to_bits()
                    );
                }
                left += usize::from(!kept);
            }
        }
        assert!(
            left < match form {
                Form::Horner => xs.len() / 2,
                Form::Pieces => xs.len() * 2 / 3,
            },
            "{left} of {} left to the lookup",
            xs.len()
        );
    }

    /// The AVX-512 kernel's slots of 16 values and the lanes it leaves, or `None` where the
    /// CPU lacks AVX-512 F or DQ.
    #[cfg(target_arch = "x86_64")]
    fn kernel16_slots(xs: &[f32; 16]) -> Option<([u32; 16], u32)> {
        use std::arch::x86_64::*;
        if !(is_x86_feature_detected!("avx512f") && is_x86_feature_detected!("avx512dq")) {
            return None;
        }
        let mut got = [0u32; 16];
        // SAFETY: the CPU has AVX-512 F and DQ; the load reads `xs`, the store writes `got`.
        let unkept = unsafe {
            let (slots, unkept) = Kernel16::new().slots(_mm512_loadu_ps(xs.as_ptr()));
            _mm512_storeu_si512(got.as_mut_ptr().cast(), slots);
            unkept
        };
        Some((got, u32::from(unkept)))
    }

    /// The AVX2 kernel's slots of 8 values and the lanes it leaves, or `None` where the CPU
    /// lacks AVX2 or FMA.
    #[cfg(target_arch = "x86_64")]
    fn kernel8_slots(xs: &[f32; 8]) -> Option<([u32; 8], u32)> {
        use std::arch::x86_64::*;
        if !(is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")) {
            return None;
        }
        let mut got = [0u32; 8];
        // SAFETY: the CPU has AVX2 and FMA; the load reads `xs`, the store writes `got`.
        let unkept = unsafe {
            let (slots, unkept) = Kernel8::new().slots(_mm256_loadu_ps(xs.as_ptr()));
            _mm256_storeu_si256(got.as_mut_ptr().cast(), slots);
            unkept
        };
        Some((got, u32::from(unkept)))
    }

    /// The AVX-512 kernel is the model and exact (skipped where the CPU lacks AVX-512).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx512_kernel_is_the_model_and_exact() {
        if kernel16_slots(&[0.0; 16]).is_none() {
            eprintln!("no AVX-512 on this CPU: its kernel is not checked here");
            return;
        }
        check_kernel(Form::Horner, |xs: &[f32; 16]| {
            kernel16_slots(xs).expect("AVX-512")
        });
    }

    /// The AVX2 kernel is the model and exact (skipped where the CPU lacks AVX2 or FMA).
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_kernel_is_the_model_and_exact() {
        if kernel8_slots(&[0.0; 8]).is_none() {
            eprintln!("no AVX2 and FMA on this CPU: their kernel is not checked here");
            return;
        }
        check_kernel(Form::Pieces, |xs: &[f32; 8]| {
            kernel8_slots(xs).expect("AVX2 and FMA")
        });
    }

    /// A vector kernel of `W` lanes is the model on every `f32` bit pattern (NaN payloads,
    /// infinities, zeros, subnormals included), `W` consecutive patterns at a time.
    #[cfg(target_arch = "x86_64")]
    fn check_every_f32<const W: usize>(form: Form, kernel: impl Fn(&[f32; W]) -> ([u32; W], u32)) {
        let lanes = W as u32;
        for first in (0..=u32::MAX - (lanes - 1)).step_by(W) {
            let xs: [f32; W] = std::array::from_fn(|i| f32::from_bits(first + i as u32));
            let (got, unkept) = kernel(&xs);
            assert_lanes_are_the_model(&xs, &got, unkept, form);
        }
    }

    /// The AVX2 kernel is the model on every `f32` bit pattern: 2^32 values, about 2.5 min
    /// with the quick profile.
    #[cfg(target_arch = "x86_64")]
    #[test]
    #[ignore = "exhaustive: 2^32 values, ~2.5 min; run by hand with --ignored"]
    fn avx2_kernel_is_the_model_on_every_f32() {
        if kernel8_slots(&[0.0; 8]).is_none() {
            eprintln!("no AVX2 and FMA on this CPU: their kernel is not checked here");
            return;
        }
        check_every_f32(Form::Pieces, |xs: &[f32; 8]| {
            kernel8_slots(xs).expect("AVX2 and FMA")
        });
    }

    /// The AVX-512 kernel is the model on every `f32` bit pattern: 2^32 values, about 2 min
    /// with the quick profile (skipped where the CPU lacks AVX-512).
    #[cfg(target_arch = "x86_64")]
    #[test]
    #[ignore = "exhaustive: 2^32 values, ~2 min; run by hand with --ignored"]
    fn avx512_kernel_is_the_model_on_every_f32() {
        if kernel16_slots(&[0.0; 16]).is_none() {
            eprintln!("no AVX-512 on this CPU: its kernel is not checked here");
            return;
        }
        check_every_f32(Form::Horner, |xs: &[f32; 16]| {
            kernel16_slots(xs).expect("AVX-512")
        });
    }

    /// Every `f32` of magnitude between `1e-13` and `2e20`, both signs, in both models (about
    /// 1.8 billion values each; about 40 s each with the quick profile).
    #[test]
    #[ignore = "exhaustive: ~1.8 billion values twice, ~80 s; run by hand with --ignored"]
    fn every_f32_in_range_is_exact() {
        let lo = 1e-13f32.to_bits();
        let hi = 2e20f32.to_bits();
        for form in [Form::Horner, Form::Pieces] {
            let mut kept = 0u64;
            for bits in lo..=hi {
                for x in [f32::from_bits(bits), -f32::from_bits(bits)] {
                    if let Some(s) = computed_slot(x, form) {
                        assert_eq!(s, exact(x), "{form:?}: x = {x:e} ({:#x})", x.to_bits());
                        kept += 1;
                    }
                }
            }
            assert!(kept > u64::from(hi - lo), "{form:?}");
        }
    }
}
