//! The default bin of an `f32` value computed, not looked up: TensorBoard's positive default
//! edges are `1e-12 * 1.1^k` (built by repeated `f64` multiplication, see `edges`), so a value
//! `x` with `1e-12 <= |x| < v_max` lies above edge `k = floor(t)` of its sign, where
//! `t = log2(|x| / 1e-12) / log2(1.1)`. The vector kernels compute `t` on 16 `f32` lanes
//! (AVX-512, [`Kernel16`]) or 8 (AVX2 and FMA, [`Kernel8`]) with no table (so no gathers):
//! `|x| = m * 2^e` (`vgetexpps` and `vgetmantps`, or the same two numbers taken from the
//! bits; all exact for normal values), then `t = e * A + P(m)` with `A = 1 / log2(1.1)` and
//! `P` a degree-6 polynomial for `A * log2(m) - A * log2(1e-12)` on `[1, 2)`, all in `f32`
//! with fused multiply-adds, evaluated by Horner's rule (AVX-512) or by Estrin's scheme
//! (AVX2: on those CPUs Horner's chain of dependent steps held the loop back; BENCHMARKS.md,
//! session 13). Each kernel's `t` is its scalar model's ([`Form`]) for every normal value,
//! bit for bit (zeros, subnormals, NaN and infinities: see [`Kernel8`]).
//!
//! **Why the computed bins are exact.** Let `t*` be the exact real `log_1.1(|x| / 1e-12)`.
//! The computed `t` is within `E` of `t*`, with (each term measured or bounded in this module's
//! tests): the polynomial in `f32` (coefficients rounded, each step rounded) at most
//! `4.0e-5` by Horner's rule and `6.8e-5` by Estrin's scheme (see [`Form`]; its partial sums
//! cancel more) over all 2^23 mantissas (`polynomial_error_is_bounded`); the final `fma`
//! rounds once to an `f32` below 1024 in magnitude, at most half an ulp, `3.05e-5`; `A`
//! rounded to `f32` is off by `1.5e-7`, times `|e| <= 67`, `1.0e-5`; and the real edges
//! differ from the geometric sequence by the rounding of 773 multiplications, under `1e-12`
//! in units of `t`. So `E < 8.1e-5` (Horner) or `1.1e-4` (Estrin). A lane is kept only when
//! `t` is finite, below `773 - MARGIN`, and its distance to the nearest integer exceeds
//! `MARGIN = 2^-11 = 4.9e-4 > 4 E`: then no integer
//! lies between `t` and `t*`, so `floor(t) = floor(t*)`, which is the bin (a value equal to
//! an edge has an integer `t*` and is never kept). Every other lane (NaN, infinities, values
//! at or beyond `v_max`, and about one value in a thousand near an edge) is binned by the
//! exact table lookup (`default_slot32`). Values below `1e-12` in magnitude (zero included)
//! have `t < -0.5` (or `-inf`) and are clamped to `t = -0.5`, bin "just below/above 0".
//! The tests check the computed slots against numpy's `searchsorted` rule near every edge
//! (every `f32` within 2048 ulps of each), on every cell boundary, and on random bit
//! patterns; an ignored test checks every positive and negative `f32` between `1e-13` and
//! `2e20` in both forms, and another that the AVX2 kernel is the model on every `f32` bit
//! pattern (both run by hand, about 3 min together: `cargo test -p ferroboard-core --profile
//! quick every_f32 -- --ignored`; both passed on 2026-12-02, Estrin's scheme included).

/// `1 / log2(1.1)` rounded to `f32` (`1.1` as the `f64` torch multiplies by).
const A: f32 = 7.272_541;

/// `P(m) = C[0] + C[1] m + ... + C[6] m^6`, about `A * log2(m) - A * log2(1e-12)` on `[1, 2)`
/// (a least-squares fit reweighted towards minimax, then rounded to `f32`).
const C: [f32; 7] = [
    267.798,
    44.454_66,
    -38.846_382,
    23.898_458,
    -9.212_314,
    2.000_682_4,
    -0.186_804_01,
];

/// Lanes whose `t` is within this of an integer are left to the exact lookup.
const MARGIN: f32 = 1.0 / 2048.0;

/// Largest `t` binned by the computation: `v_max` is edge 773 (the last bin is closed there).
const T_LIMIT: f32 = 773.0 - MARGIN;

/// Slot of a positive value in bin `775 + k` (above edge `k`), and of a negative one in bin
/// `772 - k` (at or below `-1e-12 * 1.1^k`): slot = bin + 1 (slot 0 is "below the edges").
const POSITIVE_SLOT: i32 = 776;
const NEGATIVE_SLOT: i32 = 773;

/// How a kernel evaluates `P(m)`: each step a correctly rounded `f32` operation, the two
/// forms grouping the terms differently, so their `P` can differ in the last bits.
#[cfg(test)]
#[derive(Clone, Copy, Debug)]
pub(super) enum Form {
    /// Horner's rule: six dependent fused multiply-adds (the AVX-512 kernel's).
    Horner,
    /// Estrin's scheme (the AVX2 kernel's): `m^2` and `m^4`, the groups `C0 + C1 m`,
    /// `C2 + C3 m` and `C4 + C5 m + C6 m^2` independently, then combined: two multiplications
    /// more than Horner's rule, and three dependent steps after `m^2` instead of six.
    Estrin,
}

/// `P(m)` in `f32`, evaluated in `form` (the vector kernels' operations in scalar form).
#[cfg(test)]
fn p_of(m: f32, form: Form) -> f32 {
    match form {
        Form::Horner => {
            let mut p = C[6];
            for &c in C[..6].iter().rev() {
                p = p.mul_add(m, c);
            }
            p
        }
        Form::Estrin => {
            let (m2, low) = (m * m, C[1].mul_add(m, C[0]));
            let m4 = m2 * m2;
            let middle = C[3].mul_add(m, C[2]);
            let high = C[6].mul_add(m2, C[5].mul_add(m, C[4]));
            high.mul_add(m4, middle.mul_add(m2, low))
        }
    }
}

/// `t` of `|x|`, computed as the vector kernel of `form` computes it (the same `f32`
/// operations in the same order, each correctly rounded, so the same bits), for normal,
/// finite `x`.
#[cfg(test)]
fn t_of(x: f32, form: Form) -> f32 {
    let bits = x.to_bits() & 0x7fff_ffff;
    let e = ((bits >> 23) as i32 - 127) as f32;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    e.mul_add(A, p_of(m, form))
}

/// The slot the vector kernel of `form` gives `x`, or `None` where it leaves `x` to the exact
/// lookup: the kernel's arithmetic in scalar form (for the tests, on any machine).
#[cfg(test)]
pub(super) fn computed_slot(x: f32, form: Form) -> Option<usize> {
    if !x.is_finite() {
        return None;
    }
    // Zero and subnormals: far below 1e-12 (vgetexpps gives -inf or below -126).
    let t = if x.abs() < f32::MIN_POSITIVE {
        -0.5
    } else {
        t_of(x, form).max(-0.5)
    };
    if t >= T_LIMIT || (t - t.round_ties_even()).abs() <= MARGIN {
        return None;
    }
    let k = t.floor() as i32;
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

/// The AVX2 kernel: the same steps on 8 lanes, `P` by Estrin's scheme ([`Form::Estrin`]).
/// AVX2 has no `vgetexpps` / `vgetmantps`:
/// the exponent and mantissa are taken from the bits (`e` = the biased exponent minus 127,
/// `m` = the mantissa bits under the exponent of 1.0), which for a normal value are exactly
/// what those give, so `t` is the model's bit for bit. The other encodings need no test of
/// their own: zeros and subnormals (biased exponent 0) give `e = -127` and `t` below -600,
/// clamped to -0.5 as the model clamps them; NaN and infinities (biased exponent 255) give
/// `e = 128` and `t` above 900, beyond `T_LIMIT`, left to the exact lookup.
#[cfg(target_arch = "x86_64")]
pub(super) struct Kernel8 {
    a: std::arch::x86_64::__m256,
    c: [std::arch::x86_64::__m256; 7],
    t_limit: std::arch::x86_64::__m256,
    floor_t: std::arch::x86_64::__m256,
    margin: std::arch::x86_64::__m256,
    one_less_margin: std::arch::x86_64::__m256,
    bias: std::arch::x86_64::__m256i,
    mantissa: std::arch::x86_64::__m256,
    one: std::arch::x86_64::__m256,
    pos: std::arch::x86_64::__m256i,
    neg: std::arch::x86_64::__m256i,
}

#[cfg(target_arch = "x86_64")]
impl Kernel8 {
    /// The constants, broadcast.
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn new() -> Kernel8 {
        use std::arch::x86_64::*;
        Kernel8 {
            a: _mm256_set1_ps(A),
            c: C.map(|c| _mm256_set1_ps(c)),
            t_limit: _mm256_set1_ps(T_LIMIT),
            floor_t: _mm256_set1_ps(-0.5),
            margin: _mm256_set1_ps(MARGIN),
            one_less_margin: _mm256_set1_ps(1.0 - MARGIN),
            bias: _mm256_set1_epi32(127),
            mantissa: _mm256_castsi256_ps(_mm256_set1_epi32(0x007f_ffff)),
            one: _mm256_set1_ps(1.0),
            pos: _mm256_set1_epi32(POSITIVE_SLOT),
            neg: _mm256_set1_epi32(NEGATIVE_SLOT),
        }
    }

    /// The slots of the 8 values of `v`, and a mask of the lanes whose slot is not computed,
    /// as [`Kernel16::slots`].
    #[target_feature(enable = "avx2,fma")]
    #[inline]
    pub(super) fn slots(&self, v: std::arch::x86_64::__m256) -> (std::arch::x86_64::__m256i, u8) {
        use std::arch::x86_64::*;
        let c = &self.c;
        let bits = _mm256_castps_si256(v);
        // The biased exponent without the sign bit, less 127.
        let biased = _mm256_srli_epi32::<24>(_mm256_slli_epi32::<1>(bits));
        let e = _mm256_cvtepi32_ps(_mm256_sub_epi32(biased, self.bias));
        let m = _mm256_or_ps(_mm256_and_ps(v, self.mantissa), self.one);
        // Estrin's scheme (see `Form::Estrin`): with Horner's chain of seven dependent fused
        // multiply-adds (28 cycles of latency; 16 here) the pass took 7-8% longer on a Zen 3
        // (BENCHMARKS.md, session 13).
        let m2 = _mm256_mul_ps(m, m);
        let low = _mm256_fmadd_ps(c[1], m, c[0]);
        let m4 = _mm256_mul_ps(m2, m2);
        let middle = _mm256_fmadd_ps(c[3], m, c[2]);
        let high = _mm256_fmadd_ps(c[6], m2, _mm256_fmadd_ps(c[5], m, c[4]));
        let p = _mm256_fmadd_ps(high, m4, _mm256_fmadd_ps(middle, m2, low));
        let t = _mm256_fmadd_ps(e, self.a, p);
        let in_range = _mm256_cmp_ps::<_CMP_LT_OQ>(t, self.t_limit);
        let t = _mm256_max_ps(t, self.floor_t);
        // The distance from t to the nearest integer exceeds MARGIN where t's fraction (t
        // minus its floor) lies strictly between MARGIN and 1 - MARGIN (both exact): the
        // model's test, with the floor the slot needs anyway instead of a second rounding.
        // The subtraction is exact for t >= 0; for t in (-0.5, 0) (|x| just below 1e-12)
        // `t + 1` rounds, and rounding, being monotone, can only make a lane fail the test
        // that the model keeps, never keep one it fails: such a lane would take the exact
        // lookup. No f32 does (the exhaustive test below compares every one with the model).
        let floor = _mm256_floor_ps(t);
        let frac = _mm256_sub_ps(t, floor);
        let good = _mm256_and_ps(
            _mm256_and_ps(in_range, _mm256_cmp_ps::<_CMP_GT_OQ>(frac, self.margin)),
            _mm256_cmp_ps::<_CMP_LT_OQ>(frac, self.one_less_margin),
        );
        let k = _mm256_cvttps_epi32(floor);
        let positive = _mm256_castps_si256(_mm256_cmp_ps::<_CMP_GE_OQ>(v, _mm256_setzero_ps()));
        let slot = _mm256_blendv_epi8(
            _mm256_sub_epi32(self.neg, k),
            _mm256_add_epi32(self.pos, k),
            positive,
        );
        (slot, !(_mm256_movemask_ps(good) as u8))
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

    /// The polynomial part of `E` (see the module docs): `P(m)` in `f32`, in both forms,
    /// against the exact `A * log2(m) - A * log2(1e-12)` (in `f64`, with the exact `A`),
    /// every mantissa.
    #[test]
    fn polynomial_error_is_bounded() {
        let a = 1.0 / 1.1f64.log2();
        let offset = -a * 1e-12f64.log2();
        for (form, bound) in [(Form::Horner, 4.0e-5), (Form::Estrin, 6.8e-5)] {
            let mut worst = 0.0f64;
            for bits in 0..1u32 << 23 {
                let m = f32::from_bits(bits | 0x3f80_0000);
                let exact = a * f64::from(m).log2() + offset;
                worst = worst.max((f64::from(p_of(m, form)) - exact).abs());
            }
            assert!(worst < bound, "{form:?}: polynomial error {worst:e}");
            // The other terms of E, and the margin's headroom (E < MARGIN is what exactness
            // needs; every term is a bound, not an estimate).
            let rounding = 0.5 * 1024.0 * f64::from(f32::EPSILON) / 2.0;
            let a_error = 67.0 * (f64::from(A) - a).abs();
            assert!(rounding <= 3.06e-5 && a_error < 1.01e-5);
            assert!(4.0 * (worst + rounding + a_error + 1e-12) < f64::from(MARGIN));
        }
    }

    /// The kernels' arithmetic (in scalar form, both forms) gives the exact slot wherever it
    /// keeps a value, keeps nearly all of them, and its slots stay within the counters.
    #[test]
    fn computed_slots_are_exact() {
        let xs = test_values();
        for form in [Form::Horner, Form::Estrin] {
            let mut kept = 0usize;
            for &x in &xs {
                if let Some(s) = computed_slot(x, form) {
                    assert_eq!(s, exact(x), "{form:?}: x = {x:e} ({:#x})", x.to_bits());
                    assert!((1..DEFAULT_SLOTS - 1).contains(&s));
                    kept += 1;
                }
            }
            assert!(kept > xs.len() / 2, "{form:?}: {kept} of {}", xs.len());
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
    /// holds the exact lookup's slot, and the lanes it leaves are the few the model leaves.
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
            left < xs.len() / 2,
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
        check_kernel(Form::Estrin, |xs: &[f32; 8]| {
            kernel8_slots(xs).expect("AVX2 and FMA")
        });
    }

    /// The AVX2 kernel is the model on every `f32` bit pattern (NaN payloads, infinities,
    /// zeros, subnormals included): 2^32 values, about 2.5 min with the quick profile.
    #[cfg(target_arch = "x86_64")]
    #[test]
    #[ignore = "exhaustive: 2^32 values, ~2.5 min; run by hand with --ignored"]
    fn avx2_kernel_is_the_model_on_every_f32() {
        if kernel8_slots(&[0.0; 8]).is_none() {
            eprintln!("no AVX2 and FMA on this CPU: their kernel is not checked here");
            return;
        }
        for high in 0..1u32 << 29 {
            let xs: [f32; 8] = std::array::from_fn(|i| f32::from_bits(high << 3 | i as u32));
            let (got, unkept) = kernel8_slots(&xs).expect("AVX2 and FMA");
            assert_lanes_are_the_model(&xs, &got, unkept, Form::Estrin);
        }
    }

    /// Every `f32` of magnitude between `1e-13` and `2e20`, both signs, in both forms (about
    /// 1.8 billion values each; about 40 s each with the quick profile).
    #[test]
    #[ignore = "exhaustive: ~1.8 billion values twice, ~80 s; run by hand with --ignored"]
    fn every_f32_in_range_is_exact() {
        let lo = 1e-13f32.to_bits();
        let hi = 2e20f32.to_bits();
        for form in [Form::Horner, Form::Estrin] {
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
