//! The slots computed by the vector default-bins passes (`avx512`, `avx2`) and not yet
//! counted: a ring the pass writes 16 slots at a time and counts `QUEUE_LAG` entries behind
//! (see [`SlotQueue`]), and the 16-lane extremes the passes keep beside it.

// Elsewhere than on x86-64 the passes do not exist and the queue stays empty.
#![cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]

use super::super::edges::DEFAULT_SLOTS;
use super::{LANES, PW_BLOCK};

/// The counters of one row, plus one: `PAD_SLOT`, which padding in the [`SlotQueue`] counts
/// into and which is never added to the counts.
pub(super) const ROW: usize = DEFAULT_SLOTS + 1;

/// The slot of a queue entry that stands for no value (see [`SlotQueue`]).
pub(super) const PAD_SLOT: u32 = DEFAULT_SLOTS as u32;

/// Entries in the [`SlotQueue`] ring (a power of two, a multiple of 16).
const QUEUE: usize = 1024;

/// How far counting trails the computed slots in the [`SlotQueue`]: far enough that an entry
/// counted is no longer in the store queue (session 8 measured 384 values back against 16 to
/// 112: BENCHMARKS.md, "Counting beside the vector work"), and less than the ring minus a
/// leaf and its padding.
const QUEUE_LAG: usize = 384;

// Writes and counts of 16 aligned entries; a leaf and its padding fit between head and tail
// (the AVX2 pass pushes at most the 9 vectors that end in a leaf before its catch-up).
const _: () = assert!(
    QUEUE.is_multiple_of(16) && QUEUE_LAG.is_multiple_of(16) && QUEUE_LAG + PW_BLOCK + 16 <= QUEUE
);

/// The slots of a vector default-bins pass, computed and not yet counted: the pass writes
/// each vector's 16 slots at `head` and, in the same loop, counts the 16 written `QUEUE_LAG`
/// entries earlier, at `tail`. The counter increments (a load and a store each: the store unit
/// bounds them at about one per cycle) then run beside the vector work (sums, slots) instead of
/// taking turns with it; counted right after it was computed, each increment would wait on a
/// slot still in the store queue (BENCHMARKS.md, "Counting beside the vector work", has the
/// measurements). The last values of a leaf (AVX-512) or of a node (AVX2), fewer than 16,
/// take 16 entries, the rest `PAD_SLOT`, so that every write and every count is 16 aligned
/// entries and the loop has no branch. `head` and `tail` only grow until the queue is
/// drained (positions are taken modulo `QUEUE`).
#[repr(C, align(64))]
pub(super) struct SlotQueue {
    pub(super) slots: [u32; QUEUE],
    pub(super) at: QueueAt,
}

/// Where a [`SlotQueue`] is written (`head`) and counted (`tail`), both multiples of 16 that
/// only grow until a drain starts over (positions are taken modulo `QUEUE`): a copy in local
/// variables while a node is scanned, so that they stay in registers (through `self`, every
/// counter store could change them, for all the compiler knows).
#[derive(Clone, Copy)]
pub(super) struct QueueAt {
    pub(super) head: usize,
    pub(super) tail: usize,
}

impl QueueAt {
    /// Whether counting trails by `QUEUE_LAG` (after the first `QUEUE_LAG` slots of a scan).
    pub(super) fn steady(self) -> bool {
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

    /// Counts entries until counting trails by no more than `QUEUE_LAG` again (after a leaf
    /// whose last values took a vector of their own, or one that started before counting was
    /// steady and pushed its vectors uncounted).
    ///
    /// # Safety
    /// As [`QueueAt::count16`].
    #[inline(always)]
    pub(super) unsafe fn catch_up<const STRIDE: usize>(
        &mut self,
        ring: *const u32,
        base: *mut u32,
    ) {
        while self.head - self.tail > QUEUE_LAG {
            // SAFETY: the caller's promise.
            unsafe { self.count16::<STRIDE>(ring, base) };
        }
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
    pub(super) unsafe fn push16<const STRIDE: usize>(
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
            std::arch::x86_64::_mm512_store_si512(ring.add(self.head % QUEUE).cast(), slots);
            self.pushed::<STRIDE>(ring, base, unkept, first, exact, steady);
        }
    }

    /// [`QueueAt::push16`] of 16 slots held in two 8-lane vectors (the AVX2 pass).
    ///
    /// # Safety
    /// The CPU has AVX2; as [`QueueAt::push16`].
    #[target_feature(enable = "avx2")]
    #[inline]
    #[allow(clippy::too_many_arguments)] // the pass's state, kept in registers across calls
    pub(super) unsafe fn push8x2<const STRIDE: usize>(
        &mut self,
        ring: *mut u32,
        base: *mut u32,
        slots: [std::arch::x86_64::__m256i; 2],
        unkept: u16,
        first: usize,
        exact: &impl Fn(usize) -> usize,
        steady: bool,
    ) {
        use std::arch::x86_64::*;
        // SAFETY: `head % QUEUE + 16 <= QUEUE` and `ring` is 64-byte aligned: two aligned
        // stores of 8 entries within it; the caller's promise for the rest.
        unsafe {
            let entries = ring.add(self.head % QUEUE);
            _mm256_store_si256(entries.cast(), slots[0]);
            _mm256_store_si256(entries.add(8).cast(), slots[1]);
            self.pushed::<STRIDE>(ring, base, unkept, first, exact, steady);
        }
    }

    /// After 16 slots were stored at `head`: `exact`'s slot for each lane set in `unkept`,
    /// then the entries at `tail` counted when counting is `steady`.
    ///
    /// # Safety
    /// As [`QueueAt::push16`].
    #[inline(always)]
    unsafe fn pushed<const STRIDE: usize>(
        &mut self,
        ring: *mut u32,
        base: *mut u32,
        unkept: u16,
        first: usize,
        exact: &impl Fn(usize) -> usize,
        steady: bool,
    ) {
        // SAFETY: the 16 entries at `head` are within the queue; the caller's promise for the
        // rest.
        unsafe {
            if unkept != 0 {
                exact_lanes(ring.add(self.head % QUEUE), unkept, first, exact);
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
/// slots (the vector default-bins passes): lanes are not numpy's position classes, so they are
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
/// edge, or not finite; about one vector of 16 values in sixty has one with the AVX-512
/// kernel, one in thirty with the AVX2 kernel) to `entries[lane]`, for the 16 values from
/// `first`.
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
