//! The AVX2 pass over `f32` input with the default bins: the `avx512` pass on CPUs without
//! AVX-512 (AMD before Zen 4, Intel's client cores), 16 values at a time as two 8-lane
//! vectors. For each leaf of numpy's pairwise tree one loop takes its sums, and a second one
//! the extremes and slots (computed in vector registers by `logbin`'s 8-lane kernel) of the
//! vectors that end in the leaf, counting slots computed `QUEUE_LAG` values earlier (see
//! [`SlotQueue`]). The results are those of the other instruction-set levels bit for bit
//! (the parent module's tests compare them).
//!
//! Why a pass of its own: on these CPUs the counting step of the AVX2 build (a table lookup
//! and a comparison per value, one value after the other, after the sums) took 1.6 ns per
//! value on one thread, about eight times `numpy.sum`'s pass over the same values;
//! BENCHMARKS.md (session 12) has the figures before and after.

#![cfg(target_arch = "x86_64")]

use super::super::logbin::Kernel8;
use super::queue::{Extremes16, SlotQueue, PAD_SLOT};
use super::{leaf_sums_avx2, LeafPlan};
use std::arch::x86_64::*;

/// `mn` and `mx` with the 16 values `v` taken in (on 8 lanes: `vminps` gives its second
/// operand where either is NaN, so a NaN in `v` leaves them as they are).
#[target_feature(enable = "avx2")]
#[inline]
fn extremes16(mn: &mut __m256, mx: &mut __m256, v: [__m256; 2]) {
    *mn = _mm256_min_ps(v[0], _mm256_min_ps(v[1], *mn));
    *mx = _mm256_max_ps(v[0], _mm256_max_ps(v[1], *mx));
}

/// The AVX2 default-bins pass over a node `f` of at most `FUSE` values: numpy's sums of each
/// leaf as `plan` lists them (`leaf_sums_avx2`), then the extremes on 8 lanes (both halves of
/// each 16 values into one register) and the slots from `logbin`'s 8-lane kernel, 16 values
/// at a time across the leaves; the node's last values (fewer than 16) are loaded with a
/// lane mask, and their other lanes padded. The sums take a loop of their own: in the loop
/// of the slots, their four running registers and the kernel's constants are more than the
/// 16 vector registers hold, and the sums were kept on the stack (BENCHMARKS.md, session 14).
///
/// # Safety
/// The CPU has AVX2 and FMA; `base` points at four rows of `ROW` counters `STRIDE` apart
/// (`STRIDE` is `ROW`, or 0 for one row); `exact` returns a slot below `DEFAULT_SLOTS`;
/// `plan` is made for `f.len()` and `sums` holds a pair per leaf.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn node_avx2<const STRIDE: usize>(
    f: &[f32],
    plan: &LeafPlan,
    exact: impl Fn(usize) -> usize,
    queue: &mut SlotQueue,
    base: *mut u32,
    ext: &mut Extremes16,
    sums: &mut [(f64, f64)],
) {
    let kernel = Kernel8::new();
    let pad = _mm256_set1_epi32(PAD_SLOT as i32);
    let lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    let nan = _mm256_set1_ps(f32::NAN);
    let (vectors, rest) = (f.len() / 16, f.len() % 16);
    // SAFETY: every plain load reads 8 values within `f` (vector `j` ends at `16 * (j + 1)`,
    // at most `start + n`, and the slice `f[start..start + n]` is checked); the masked loads
    // read only the lanes of its last values (their addresses made with `wrapping_add`, see
    // there); every slot store writes 16 aligned entries within the queue (`head` is a
    // multiple of 16); every counted entry is a slot below `ROW` (the kernel's, `exact`'s or
    // `PAD_SLOT`), within the rows by the caller's promise.
    unsafe {
        let ring = queue.slots.as_mut_ptr();
        let mut at = queue.at;
        // The extremes on 8 lanes (they hold no NaN: see `extremes16`), written back to both
        // halves of `ext`'s 16.
        let mut mn = _mm256_min_ps(
            _mm256_loadu_ps(ext.min.as_ptr()),
            _mm256_loadu_ps(ext.min.as_ptr().add(8)),
        );
        let mut mx = _mm256_max_ps(
            _mm256_loadu_ps(ext.max.as_ptr()),
            _mm256_loadu_ps(ext.max.as_ptr().add(8)),
        );
        let p = f.as_ptr();
        let mut j = 0;
        for (sum, &(start, n)) in sums.iter_mut().zip(&plan.leaves) {
            *sum = leaf_sums_avx2(&f[start..start + n]);
            // The vectors that end within this leaf.
            let steady = at.steady();
            while j < (start + n) / 16 {
                let v = [
                    _mm256_loadu_ps(p.add(16 * j)),
                    _mm256_loadu_ps(p.add(16 * j + 8)),
                ];
                extremes16(&mut mn, &mut mx, v);
                let (low, low_unkept) = kernel.slots(v[0]);
                let (high, high_unkept) = kernel.slots(v[1]);
                let unkept = u16::from(low_unkept) | u16::from(high_unkept) << 8;
                at.push8x2::<STRIDE>(ring, base, [low, high], unkept, 16 * j, &exact, steady);
                j += 1;
            }
            at.catch_up::<STRIDE>(ring, base);
        }
        if rest > 0 {
            // The last values: masked loads, their other lanes `PAD_SLOT`.
            let p = p.add(16 * vectors);
            let mut slots = [pad; 2];
            let mut unkept = 0u16;
            for (h, half) in slots.iter_mut().enumerate() {
                let live = (rest as i32 - 8 * h as i32).clamp(0, 8);
                let keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(live), lane);
                // `wrapping_add`: with 8 or fewer values left the second half's address lies
                // past the input, where `add` may not point; its mask is empty, so nothing is
                // read there.
                let v = _mm256_maskload_ps(p.wrapping_add(8 * h), keep);
                let keep = _mm256_castsi256_ps(keep);
                // The lanes past the input hold NaN for the extremes (they keep theirs).
                extremes16(&mut mn, &mut mx, [_mm256_blendv_ps(nan, v, keep), nan]);
                let (slot, u) = kernel.slots(v);
                *half = _mm256_blendv_epi8(pad, slot, _mm256_castps_si256(keep));
                unkept |= u16::from(u & _mm256_movemask_ps(keep) as u8) << (8 * h);
            }
            let steady = at.steady();
            at.push8x2::<STRIDE>(ring, base, slots, unkept, 16 * vectors, &exact, steady);
        }
        at.catch_up::<STRIDE>(ring, base);
        queue.at = at;
        // `ext` keeps 16 lanes (the AVX-512 pass's); both halves get the 8 kept here.
        for h in 0..2 {
            _mm256_storeu_ps(ext.min.as_mut_ptr().add(8 * h), mn);
            _mm256_storeu_ps(ext.max.as_mut_ptr().add(8 * h), mx);
        }
    }
}
