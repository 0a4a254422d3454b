//! The AVX-512 pass over `f32` input with the default bins: for each leaf of numpy's pairwise
//! tree, one loop takes its sums, its extremes and its values' slots (computed in vector
//! registers, see `logbin`), and counts slots computed `QUEUE_LAG` values earlier (see
//! [`SlotQueue`]), so that the counter increments run beside the vector work. The results are
//! those of the other instruction-set levels bit for bit (the parent module's tests compare
//! them).

#![cfg(target_arch = "x86_64")]

use super::super::logbin::Kernel16;
use super::queue::{Extremes16, SlotQueue, PAD_SLOT};
use super::{leaf_finish, leaf_sums_avx512, LeafPlan};

/// The AVX-512 default-bins pass over a node `f` of at most `FUSE` values, leaf by leaf as
/// `plan` lists them: each leaf's sums into `sums` (numpy's leaf sums, as
/// [`leaf_sums_avx512`]: 8 running sums in one register, the squares added with a fused
/// multiply-add, which rounds as the separate multiply and add do because the square of an
/// `f32` is exact in `f64`), the extremes on 16 lanes into `ext`, and each value's slot into
/// `queue` (computed 16 at a time by the `logbin` kernel, the last values of a leaf that is
/// not a multiple of 16 long in a masked vector; `exact(i)`, the exact lookup, for the lanes
/// it leaves), while the queue's older slots are counted.
///
/// # Safety
/// The CPU has AVX2 and AVX-512 F and DQ; `base` points at four rows of `ROW` counters
/// `STRIDE` apart (`STRIDE` is `ROW`, or 0 for one row); `exact` returns a slot below
/// `DEFAULT_SLOTS`; `plan` is made for `f.len()` and `sums` holds a pair per leaf.
#[target_feature(enable = "avx2,avx512f,avx512dq")]
pub(super) unsafe fn node_avx512<const STRIDE: usize>(
    f: &[f32],
    plan: &LeafPlan,
    exact: impl Fn(usize) -> usize,
    queue: &mut SlotQueue,
    base: *mut u32,
    ext: &mut Extremes16,
    sums: &mut [(f64, f64)],
) {
    use std::arch::x86_64::*;
    let kernel = Kernel16::new();
    let pad = _mm512_set1_epi32(PAD_SLOT as i32);
    // SAFETY: every load reads values within the leaf (16, 8 where 8 are left, or the masked
    // lanes of the last values, the others not read); every slot store writes 16 aligned
    // entries within the queue (`head` is a multiple of 16); every counted entry is a slot
    // below `ROW` (the kernel's, `exact`'s or `PAD_SLOT`), within the rows by the caller's
    // promise.
    unsafe {
        let ring = queue.slots.as_mut_ptr();
        let mut at = queue.at;
        let mut mn = _mm512_loadu_ps(ext.min.as_ptr());
        let mut mx = _mm512_loadu_ps(ext.max.as_ptr());
        for (sum, &(start, n)) in sums.iter_mut().zip(&plan.leaves) {
            let leaf = &f[start..start + n];
            let p = leaf.as_ptr();
            let (vectors, rest) = (n / 16, n % 16);
            let steady = at.steady();
            // numpy's running sums start from the first 8 values (and their squares): from
            // -0.0, the first addition gives each value as it is (-0.0 included).
            let mut s = _mm512_set1_pd(-0.0);
            let mut q = _mm512_set1_pd(-0.0);
            // An index loop: the iterator form (enumerate, take, skip) compiled to a loop
            // twice as slow here.
            #[allow(clippy::needless_range_loop)]
            for j in 0..vectors {
                let v = _mm512_loadu_ps(p.add(16 * j));
                mn = _mm512_min_ps(v, mn);
                mx = _mm512_max_ps(v, mx);
                // Both halves taken from `v`: LLVM converts them from memory (written as a
                // separate load, the upper half was assembled lane by lane, 6 more shuffles).
                let lo = _mm512_cvtps_pd(_mm512_castps512_ps256(v));
                let hi = _mm512_cvtps_pd(_mm512_extractf32x8_ps::<1>(v));
                s = _mm512_add_pd(_mm512_add_pd(s, lo), hi);
                q = _mm512_fmadd_pd(hi, hi, _mm512_fmadd_pd(lo, lo, q));
                let (slot, u) = kernel.slots(v);
                at.push16::<STRIDE>(ring, base, slot, u, start + 16 * j, &exact, steady);
            }
            if rest > 0 {
                // The last values: a masked vector, its other lanes `PAD_SLOT`.
                let m: __mmask16 = (1 << rest) - 1;
                let v = _mm512_maskz_loadu_ps(m, p.add(16 * vectors));
                mn = _mm512_mask_min_ps(mn, m, v, mn);
                mx = _mm512_mask_max_ps(mx, m, v, mx);
                let (slot, u) = kernel.slots(v);
                let slot = _mm512_mask_blend_epi32(m, pad, slot);
                at.push16::<STRIDE>(
                    ring,
                    base,
                    slot,
                    u & m,
                    start + 16 * vectors,
                    &exact,
                    steady,
                );
            }
            at.catch_up::<STRIDE>(ring, base);
            if vectors == 0 {
                *sum = leaf_sums_avx512(leaf);
                continue;
            }
            let mut full = 16 * vectors;
            if rest >= 8 {
                let x = _mm512_cvtps_pd(_mm256_loadu_ps(p.add(full)));
                s = _mm512_add_pd(s, x);
                q = _mm512_fmadd_pd(x, x, q);
                full += 8;
            }
            let (mut r, mut rq) = ([0.0f64; 8], [0.0f64; 8]);
            _mm512_storeu_pd(r.as_mut_ptr(), s);
            _mm512_storeu_pd(rq.as_mut_ptr(), q);
            *sum = leaf_finish(leaf, full, &r, &rq);
        }
        queue.at = at;
        _mm512_storeu_ps(ext.min.as_mut_ptr(), mn);
        _mm512_storeu_ps(ext.max.as_mut_ptr(), mx);
    }
}
