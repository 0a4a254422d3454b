//! The AVX-512 pass over `f32` input with the default bins: for each leaf of numpy's pairwise
//! tree, one loop takes its sums, its extremes and its values' slots (computed in vector
//! registers, see `logbin`), and counts slots computed `QUEUE_LAG` values earlier (see
//! [`SlotQueue`]), so that the counter increments run beside the vector work. The results are
//! those of the other instruction-set levels bit for bit (the parent module's tests compare
//! them).

// Elsewhere than on x86-64 the pass does not exist and its queue and plans stay empty.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

use super::super::edges::DEFAULT_SLOTS;
#[cfg(target_arch = "x86_64")]
use super::super::logbin::Kernel;
#[cfg(target_arch = "x86_64")]
use super::leaf_finish;
#[cfg(target_arch = "x86_64")]
use super::leaf_sums_avx512;
use super::{LeafPlan, LANES, PW_BLOCK};

/// The counters of one row, plus one: `PAD_SLOT`, which padding in the [`SlotQueue`] counts
/// into and which is never added to the counts.
pub(super) const ROW: usize = DEFAULT_SLOTS + 1;

/// The slot of a queue entry that stands for no value (see [`SlotQueue`]).
const PAD_SLOT: u32 = DEFAULT_SLOTS as u32;

/// Entries in the [`SlotQueue`] ring (a power of two, a multiple of 16).
const QUEUE: usize = 1024;

/// How far counting trails the computed slots in the [`SlotQueue`]: far enough that an entry
/// counted is no longer in the store queue (session 8 measured 384 values back against 16 to
/// 112: BENCHMARKS.md, "Counting beside the vector work"), and less than the ring minus a
/// leaf and its padding.
const QUEUE_LAG: usize = 384;

// Writes and counts of 16 aligned entries; a leaf and its padding fit between head and tail.
const _: () = assert!(
    QUEUE.is_multiple_of(16) && QUEUE_LAG.is_multiple_of(16) && QUEUE_LAG + PW_BLOCK + 16 <= QUEUE
);

/// The slots of the AVX-512 default-bins pass, computed and not yet counted: the pass writes
/// each vector's 16 slots at `head` and, in the same loop, counts the 16 written `QUEUE_LAG`
/// entries earlier, at `tail`. The counter increments (a load and a store each: the store unit
/// bounds them at about one per cycle) then run beside the vector work (sums, slots) instead of
/// taking turns with it; counted right after it was computed, each increment would wait on a
/// slot still in the store queue (BENCHMARKS.md, "Counting beside the vector work", has the
/// measurements). The last values of a leaf (fewer than 16) take 16 entries, the rest
/// `PAD_SLOT`, so that every write and every count is 16 aligned entries and the loop has no
/// branch. `head` and `tail` only grow until the queue is drained (positions are taken modulo
/// `QUEUE`).
#[repr(C, align(64))]
pub(super) struct SlotQueue {
    slots: [u32; QUEUE],
    at: QueueAt,
}

/// Where a [`SlotQueue`] is written (`head`) and counted (`tail`), both multiples of 16 that
/// only grow until a drain starts over (positions are taken modulo `QUEUE`): a copy in local variables while a node is
/// scanned, so that they stay in registers (through `self`, every counter store could
/// change them, for all the compiler knows).
#[derive(Clone, Copy)]
struct QueueAt {
    head: usize,
    tail: usize,
}

impl QueueAt {
    /// Whether counting trails by `QUEUE_LAG` (after the first `QUEUE_LAG` slots of a scan).
    fn steady(self) -> bool {
        self.head - self.tail == QUEUE_LAG
    }

    /// Counts the 16 entries of `ring` at `tail`.
    ///
    /// # Safety
    /// `ring` is a queue's `QUEUE` entries; `base` points at four rows of `ROW` counters
    /// `STRIDE` apart (`STRIDE` is `ROW`, or 0 for one row), and every entry is a slot below
    /// `ROW` (the kernel's, `exact`'s, or `PAD_SLOT`).
    #[inline(always)]
    unsafe fn count16<const STRIDE: usize>(&mut self, ring: *const u32, base: *mut u32) {
        // SAFETY: `tail % QUEUE + 16 <= QUEUE` (both multiples of 16); the caller's promise for
        // the rest.
        unsafe {
            let q = ring.add(self.tail % QUEUE);
            for k in (0..16).step_by(LANES) {
                *base.add(*q.add(k) as usize) += 1;
                *base.add(STRIDE + *q.add(k + 1) as usize) += 1;
                *base.add(2 * STRIDE + *q.add(k + 2) as usize) += 1;
                *base.add(3 * STRIDE + *q.add(k + 3) as usize) += 1;
            }
        }
        self.tail += 16;
    }
}

#[cfg(target_arch = "x86_64")]
impl QueueAt {
    /// Writes a vector's 16 slots at `head` (`exact`'s slot for each lane set in `unkept`, the
    /// values from `first`), and counts the 16 entries at `tail` when counting is `steady`.
    ///
    /// # Safety
    /// The CPU has AVX-512 F; as [`QueueAt::count16`], and every lane not in `unkept` holds a
    /// slot below `ROW`.
    #[target_feature(enable = "avx512f")]
    #[inline]
    #[allow(clippy::too_many_arguments)] // the pass's state, kept in registers across calls
    unsafe fn push16<const STRIDE: usize>(
        &mut self,
        ring: *mut u32,
        base: *mut u32,
        slots: std::arch::x86_64::__m512i,
        unkept: u16,
        first: usize,
        exact: &impl Fn(usize) -> usize,
        steady: bool,
    ) {
        // SAFETY: `head % QUEUE + 16 <= QUEUE` and `ring` is 64-byte aligned (the queue's
        // alignment): an aligned store of 16 entries within it; the caller's promise for the rest.
        unsafe {
            let entries = ring.add(self.head % QUEUE);
            std::arch::x86_64::_mm512_store_si512(entries.cast(), slots);
            if unkept != 0 {
                exact_lanes(entries, unkept, first, exact);
            }
            self.head += 16;
            if steady {
                self.count16::<STRIDE>(ring, base);
            }
        }
    }
}

impl SlotQueue {
    pub(super) fn new() -> Box<Self> {
        Box::new(SlotQueue {
            slots: [PAD_SLOT; QUEUE],
            at: QueueAt { head: 0, tail: 0 },
        })
    }

    /// Counts every entry waiting and starts over (nothing waits after this).
    ///
    /// # Safety
    /// As [`QueueAt::count16`].
    pub(super) unsafe fn drain<const STRIDE: usize>(&mut self, base: *mut u32) {
        let mut at = self.at;
        while at.tail < at.head {
            // SAFETY: the caller's promise.
            unsafe { at.count16::<STRIDE>(self.slots.as_ptr(), base) };
        }
        self.at = QueueAt { head: 0, tail: 0 };
    }
}

/// The extremes of a block's values on 16 `f32` lanes, taken in the same loop as the sums and
/// slots (AVX-512 default-bins path): lanes are not numpy's position classes, so they are
/// used only when no lane's extreme is a zero (the one value whose two encodings compare
/// equal: which of `-0.0` and `0.0` is kept depends on the order of comparisons, which
/// [`Extremes`](super::Extremes) fixes). Otherwise the block's extremes are taken again by
/// [`Extremes`](super::Extremes).
#[derive(Clone, Copy)]
pub(super) struct Extremes16 {
    pub(super) min: [f32; 16],
    pub(super) max: [f32; 16],
}

impl Extremes16 {
    pub(super) fn new() -> Self {
        Extremes16 {
            min: [f32::INFINITY; 16],
            max: [f32::NEG_INFINITY; 16],
        }
    }

    /// Some lane's extreme is `0.0` or `-0.0`.
    pub(super) fn has_zero(&self) -> bool {
        self.min.iter().chain(&self.max).any(|&x| x == 0.0)
    }
}

/// Writes the exact slot (`exact`) of each lane set in `lanes` (those the kernel left: near an
/// edge, or not finite; about one vector in sixty has one) to `entries[lane]`, for the 16
/// values from `first`.
///
/// # Safety
/// `entries` points at 16 entries of a queue.
#[cfg(target_arch = "x86_64")]
#[cold]
#[inline(never)]
unsafe fn exact_lanes(
    entries: *mut u32,
    lanes: u16,
    first: usize,
    exact: &impl Fn(usize) -> usize,
) {
    let mut lanes = lanes;
    while lanes != 0 {
        let lane = lanes.trailing_zeros() as usize;
        // SAFETY: `lane < 16`, within the 16 entries (the caller's promise).
        unsafe { *entries.add(lane) = exact(first + lane) as u32 };
        lanes &= lanes - 1;
    }
}

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
#[cfg(target_arch = "x86_64")]
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
    let kernel = Kernel::new();
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
            while at.head - at.tail > QUEUE_LAG {
                at.count16::<STRIDE>(ring, base);
            }
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
