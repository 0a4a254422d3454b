//! The counting and statistics pass, one block of `FUSE` values at a time: numpy's pairwise
//! sums and the extremes of the block (from an `f64` copy, or, for `f32` input, from the
//! values as they are, converted in registers), then, while the block is still in the L1
//! cache, each value counted into one of four interleaved counter lanes (indexed without a
//! bounds check: see [`scan`]'s safety contract); split across threads along numpy's
//! pairwise tree (see [`scan_all`]). `f32` input with the default bins takes a vector pass
//! where the CPU has one, `avx512` (AVX-512 F and DQ) or `avx2` (AVX2 and FMA): sums,
//! extremes and slots (computed in vector registers, see `logbin`) of each leaf of the
//! pairwise tree in one loop (AVX-512) or two (AVX2: the sums, then the rest), which also
//! counts slots computed a few leaves earlier through the `queue`, so that the vector work
//! runs beside the counter stores. Every instruction-set level gives the same results (the
//! tests compare them).

mod avx2;
mod avx512;
mod queue;

use crate::dtype::half::{BF16, F16};
#[cfg(target_arch = "x86_64")]
use avx2::node_avx2;
#[cfg(target_arch = "x86_64")]
use avx512::node_avx512;
use queue::{Extremes16, SlotQueue, ROW};

/// Inputs at least this long are split across threads.
pub(super) const PARALLEL_THRESHOLD: usize = 1 << 16;

/// Large inputs are split into nodes of the pairwise tree shorter than twice `len /
/// (STRETCHES_PER_THREAD * threads)`: between half this many and this many stretches per
/// thread. Threads take the next stretch when free, so one that starts late (a helper waking
/// up) or runs slower (a busy core) takes fewer; each thread's counters are set up and added
/// up once, whatever the number it takes.
const STRETCHES_PER_THREAD: usize = 8;

/// A number that can go into a histogram: converted to `f64` as numpy's `astype(float)` does
/// (exactly for floats and integers up to 2^53, rounded to nearest beyond).
pub trait Sample: Copy + Send + Sync {
    /// Whether every value of the type is exactly an `f32`: then [`Sample::to_f32`] is exact
    /// and the default bins are found with a float32 lookup table (half the memory traffic).
    const EXACT_IN_F32: bool = false;
    /// The value as `f64`.
    fn to_f64(self) -> f64;
    /// The value as `f32` (exact when [`Sample::EXACT_IN_F32`]).
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self.to_f64() as f32
    }
    /// `values` as `f32`s when the type is `f32` (the statistics then read them as they are).
    #[doc(hidden)]
    #[inline(always)]
    fn as_f32_slice(values: &[Self]) -> Option<&[f32]> {
        let _ = values;
        None
    }
}

macro_rules! sample_as {
    ($exact:expr => $($t:ty),*) => {$(
        impl Sample for $t {
            const EXACT_IN_F32: bool = $exact;
            #[inline(always)]
            #[allow(clippy::cast_lossless)]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline(always)]
            #[allow(clippy::cast_lossless)]
            fn to_f32(self) -> f32 {
                self as f32
            }
        }
    )*};
}
sample_as!(false => f64, i32, i64, u32, u64);
sample_as!(true => i8, i16, u8, u16);

impl Sample for f32 {
    const EXACT_IN_F32: bool = true;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        self
    }
    #[inline(always)]
    fn as_f32_slice(values: &[f32]) -> Option<&[f32]> {
        Some(values)
    }
}

impl Sample for bool {
    const EXACT_IN_F32: bool = true;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        f64::from(u8::from(self))
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        f32::from(u8::from(self))
    }
}

impl Sample for F16 {
    const EXACT_IN_F32: bool = true;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        F16::to_f64(self)
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        F16::to_f32(self)
    }
}

impl Sample for BF16 {
    const EXACT_IN_F32: bool = true;
    #[inline(always)]
    fn to_f64(self) -> f64 {
        BF16::to_f64(self)
    }
    #[inline(always)]
    fn to_f32(self) -> f32 {
        BF16::to_f32(self)
    }
}

/// Counts and statistics of the input: `counts` has one entry per slot of the binning
/// function; the statistics cover finite values only (see [`Stats`]).
pub(super) struct Partial {
    pub(super) counts: Vec<u64>,
    pub(super) nonfinite: u64,
    pub(super) min: f64,
    pub(super) max: f64,
    pub(super) sum: f64,
    pub(super) sum_squares: f64,
}

/// The statistics of the finite values of one stretch of the input, `sum` and `sum_squares`
/// being the stretch's node of numpy's pairwise summation tree (see [`pairwise_split`]).
#[derive(Clone, Copy)]
struct Stats {
    nonfinite: u64,
    min: f64,
    max: f64,
    sum: f64,
    sum_squares: f64,
}

impl Stats {
    /// `self` followed by `right`: extremes combined, sums added as numpy adds the two halves
    /// of a node. (Zeros of both signs compare equal: which one a tie keeps depends on where
    /// the input was split, so on the number of threads.)
    fn merge(self, right: Stats) -> Stats {
        Stats {
            nonfinite: self.nonfinite + right.nonfinite,
            min: self.min.min(right.min),
            max: self.max.max(right.max),
            sum: self.sum + right.sum,
            sum_squares: self.sum_squares + right.sum_squares,
        }
    }

    fn with_counts(self, counts: Vec<u64>) -> Partial {
        Partial {
            counts,
            nonfinite: self.nonfinite,
            min: self.min,
            max: self.max,
            sum: self.sum,
            sum_squares: self.sum_squares,
        }
    }
}

/// Independent counters per thread: runs of equal slots do not wait on one another's stores.
/// A scan of fewer values than that many rows hold counters uses one row instead: setting up
/// and adding up the others would cost about as much as counting the values (16 values with
/// the default bins: 3.2 us per call with four rows, 2.0 with one; see `Scanner::new`).
const LANES: usize = 4;

/// numpy's unrolling: 8 partial sums per leaf of the pairwise tree.
const STAT_LANES: usize = 8;

/// numpy's `PW_BLOCKSIZE`: nodes at most this long are leaves of the pairwise tree.
const PW_BLOCK: usize = 128;

/// Nodes of the pairwise tree at most this long are binned right after their statistics,
/// while they are still in the L1 cache.
const FUSE: usize = 2048;

/// Largest number of values counted in the per-lane `u32` counters before they are added up
/// (a node more at most: so a slot's counters of all rows together fit a `u32`). (The tests
/// use a small limit, so that scans add their counters up, and empty the vector passes' slot
/// queue, in the middle of an input.)
const LANE_LIMIT: usize = if cfg!(test) {
    20_000
} else {
    u32::MAX as usize - FUSE
};

// `Scanner::add_lanes` adds a slot's counters of all rows as `u32`.
const _: () = assert!(LANE_LIMIT + FUSE <= u32::MAX as usize);

/// Where numpy's pairwise summation splits a node of `n > PW_BLOCK` values: half, rounded
/// down to a multiple of the unrolling (`n2 = n / 2; n2 -= n2 % 8` in numpy's
/// `pairwise_sum`). The sum of a node is the sum of its two halves' sums.
#[inline(always)]
fn pairwise_split(n: usize) -> usize {
    let h = n / 2;
    h - h % STAT_LANES
}

/// Per-lane extremes of the finite values and the count of non-finite ones. Lane `j` sees
/// the values at positions `j mod 8` of each `FUSE` node, whatever the instruction set.
#[derive(Clone, Copy)]
struct Extremes {
    min: [f64; STAT_LANES],
    max: [f64; STAT_LANES],
    nonfinite: u64,
}

impl Extremes {
    fn new() -> Self {
        Extremes {
            min: [f64::INFINITY; STAT_LANES],
            max: [f64::NEG_INFINITY; STAT_LANES],
            nonfinite: 0,
        }
    }

    /// Takes `lo` into `lane`'s minimum and `hi` into its maximum, the earlier value kept on a
    /// tie (`vminpd(x, m)` is `if x < m { x } else { m }`, `vmaxpd` likewise): every path
    /// compares so, which fixes which of `-0.0` and `0.0` is kept.
    #[inline(always)]
    fn take(&mut self, lane: usize, lo: f64, hi: f64) {
        let (mn, mx) = (&mut self.min[lane], &mut self.max[lane]);
        *mn = if lo < *mn { lo } else { *mn };
        *mx = if hi > *mx { hi } else { *mx };
    }

    /// The extremes gathered by [`Extremes16`] of finite values none of which is an extreme
    /// of its lane and zero: with no two different values comparing equal, the lanes they
    /// went to do not change the result.
    fn add_lanes16(&mut self, e: &Extremes16) {
        for (lane, (&a, &b)) in e.min.iter().zip(&e.max).enumerate() {
            self.take(lane % STAT_LANES, f64::from(a), f64::from(b));
        }
    }

    /// The extremes of `v`, all of them finite.
    #[inline(always)]
    fn add_finite(&mut self, v: &[f64]) {
        let mut chunks = v.chunks_exact(STAT_LANES);
        for chunk in &mut chunks {
            for (lane, &x) in chunk.iter().enumerate() {
                self.take(lane, x, x);
            }
        }
        for (lane, &x) in chunks.remainder().iter().enumerate() {
            self.take(lane, x, x);
        }
    }

    /// [`Extremes::add_finite`] with AVX2 instructions: the same lanes, and `vminpd(x, m)` is
    /// `if x < m { x } else { m }` (and `vmaxpd` likewise).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline]
    fn add_finite_avx2(&mut self, v: &[f64]) {
        use std::arch::x86_64::*;
        let full = v.len() - v.len() % STAT_LANES;
        // SAFETY: every load reads 4 values within `v[..full]`; the extremes are [f64; 8].
        unsafe {
            let p = v.as_ptr();
            let mut mn0 = _mm256_loadu_pd(self.min.as_ptr());
            let mut mn1 = _mm256_loadu_pd(self.min.as_ptr().add(4));
            let mut mx0 = _mm256_loadu_pd(self.max.as_ptr());
            let mut mx1 = _mm256_loadu_pd(self.max.as_ptr().add(4));
            let mut i = 0;
            while i < full {
                let x0 = _mm256_loadu_pd(p.add(i));
                let x1 = _mm256_loadu_pd(p.add(i + 4));
                mn0 = _mm256_min_pd(x0, mn0);
                mn1 = _mm256_min_pd(x1, mn1);
                mx0 = _mm256_max_pd(x0, mx0);
                mx1 = _mm256_max_pd(x1, mx1);
                i += STAT_LANES;
            }
            _mm256_storeu_pd(self.min.as_mut_ptr(), mn0);
            _mm256_storeu_pd(self.min.as_mut_ptr().add(4), mn1);
            _mm256_storeu_pd(self.max.as_mut_ptr(), mx0);
            _mm256_storeu_pd(self.max.as_mut_ptr().add(4), mx1);
        }
        self.add_finite(&v[full..]);
    }

    /// [`Extremes::add_finite_avx2`] reading finite `f32` values: one register of 8 `f32`
    /// lanes (lane `j` the positions `j mod 8`, as there), its extremes then merged into the
    /// `f64` lanes with the same comparison. Converting to `f64` keeps order and ties, so the
    /// result is that of the `f64` values, `-0.0` against `0.0` included (earlier one kept).
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    #[inline]
    fn add_finite_f32_avx2(&mut self, v: &[f32]) {
        use std::arch::x86_64::*;
        let full = v.len() - v.len() % STAT_LANES;
        let (mut mn, mut mx) = ([f32::INFINITY; 8], [f32::NEG_INFINITY; 8]);
        // SAFETY: every load reads 8 values within `v[..full]`; the stores fill two [f32; 8].
        unsafe {
            let p = v.as_ptr();
            let mut mn0 = _mm256_set1_ps(f32::INFINITY);
            let mut mx0 = _mm256_set1_ps(f32::NEG_INFINITY);
            let mut i = 0;
            while i < full {
                let x = _mm256_loadu_ps(p.add(i));
                mn0 = _mm256_min_ps(x, mn0);
                mx0 = _mm256_max_ps(x, mx0);
                i += STAT_LANES;
            }
            _mm256_storeu_ps(mn.as_mut_ptr(), mn0);
            _mm256_storeu_ps(mx.as_mut_ptr(), mx0);
        }
        for lane in 0..STAT_LANES {
            self.take(lane, f64::from(mn[lane]), f64::from(mx[lane]));
        }
        for (lane, &x) in v[full..].iter().enumerate() {
            self.take(lane, f64::from(x), f64::from(x));
        }
    }

    /// The extremes of the finite values of `v`, and the count of the others.
    #[inline(never)]
    fn add_masked(&mut self, v: &[f64]) {
        for (i, &x) in v.iter().enumerate() {
            let lane = i % STAT_LANES;
            if x.is_finite() {
                self.take(lane, x, x);
            } else {
                self.nonfinite += 1;
            }
        }
    }
}

/// One leaf of numpy's pairwise summation (`n <= 128` values), for the values and for their
/// squares, exactly as numpy's `pairwise_sum` adds them: below 8 values one after another
/// from 0; otherwise 8 running sums started from the first 8 values, combined as
/// `((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))`, then the values left over one by one.
#[inline(always)]
fn leaf_sums(v: &[f64]) -> (f64, f64) {
    let n = v.len();
    if n < STAT_LANES {
        let (mut s, mut q) = (0.0, 0.0);
        for &x in v {
            s += x;
            q += x * x;
        }
        return (s, q);
    }
    let mut r = [0.0f64; STAT_LANES];
    let mut rq = [0.0f64; STAT_LANES];
    for lane in 0..STAT_LANES {
        r[lane] = v[lane];
        rq[lane] = v[lane] * v[lane];
    }
    let full = n - n % STAT_LANES;
    for chunk in v[STAT_LANES..full].chunks_exact(STAT_LANES) {
        for lane in 0..STAT_LANES {
            r[lane] += chunk[lane];
            rq[lane] += chunk[lane] * chunk[lane];
        }
    }
    leaf_finish(v, full, &r, &rq)
}

/// The end of a leaf: the 8 running sums combined as numpy combines them, then the values
/// from `full` on added one by one.
#[inline(always)]
fn leaf_finish<S: Copy + Into<f64>>(
    v: &[S],
    full: usize,
    r: &[f64; 8],
    rq: &[f64; 8],
) -> (f64, f64) {
    let mut s = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    let mut q = ((rq[0] + rq[1]) + (rq[2] + rq[3])) + ((rq[4] + rq[5]) + (rq[6] + rq[7]));
    for &x in &v[full..] {
        let x: f64 = x.into();
        s += x;
        q += x * x;
    }
    (s, q)
}

/// What a leaf of the pairwise tree is read from: the `f64` buffer, or `f32` input as is
/// (converted in registers, exactly; the same additions in the same order).
trait Leaf: Copy + Into<f64> {
    /// [`leaf_sums`] of the values as `f64`.
    fn sums(v: &[Self]) -> (f64, f64);
    /// Four values from `p` as `f64` (inlined into AVX2 code only).
    ///
    /// # Safety
    /// The CPU has AVX; `p` points at four values.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load4(p: *const Self) -> std::arch::x86_64::__m256d;
    /// Eight values from `p` as `f64` (inlined into AVX-512 code only).
    ///
    /// # Safety
    /// The CPU has AVX-512 F; `p` points at eight values.
    #[cfg(target_arch = "x86_64")]
    unsafe fn load8(p: *const Self) -> std::arch::x86_64::__m512d;
}

impl Leaf for f64 {
    #[inline(always)]
    fn sums(v: &[f64]) -> (f64, f64) {
        leaf_sums(v)
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load4(p: *const f64) -> std::arch::x86_64::__m256d {
        // SAFETY: the caller's promise.
        unsafe { std::arch::x86_64::_mm256_loadu_pd(p) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(p: *const f64) -> std::arch::x86_64::__m512d {
        // SAFETY: the caller's promise.
        unsafe { std::arch::x86_64::_mm512_loadu_pd(p) }
    }
}

impl Leaf for f32 {
    #[inline(always)]
    fn sums(v: &[f32]) -> (f64, f64) {
        let mut b = [0.0f64; PW_BLOCK];
        for (b, &x) in b.iter_mut().zip(v) {
            *b = f64::from(x);
        }
        leaf_sums(&b[..v.len()])
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load4(p: *const f32) -> std::arch::x86_64::__m256d {
        use std::arch::x86_64::*;
        // SAFETY: the caller's promise.
        unsafe { _mm256_cvtps_pd(_mm_loadu_ps(p)) }
    }
    #[cfg(target_arch = "x86_64")]
    #[inline(always)]
    unsafe fn load8(p: *const f32) -> std::arch::x86_64::__m512d {
        use std::arch::x86_64::*;
        // SAFETY: the caller's promise.
        unsafe { _mm512_cvtps_pd(_mm256_loadu_ps(p)) }
    }
}

/// [`leaf_sums`] with AVX2 instructions, reading `f64` values or `f32` values converted to
/// `f64` (exactly) as they are loaded: the same additions and multiplications in the same
/// order (no fused multiply-add), so the same results.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn leaf_sums_avx2<S: Leaf>(v: &[S]) -> (f64, f64) {
    use std::arch::x86_64::*;
    let n = v.len();
    if n < STAT_LANES {
        return S::sums(v);
    }
    let full = n - n % STAT_LANES;
    let (mut r, mut rq) = ([0.0f64; 8], [0.0f64; 8]);
    // SAFETY: every load reads 4 values within `v[..full]` (the CPU has AVX2: this function's
    // feature); the stores fill the two arrays.
    unsafe {
        let p = v.as_ptr();
        let mut r0 = S::load4(p);
        let mut r1 = S::load4(p.add(4));
        let mut q0 = _mm256_mul_pd(r0, r0);
        let mut q1 = _mm256_mul_pd(r1, r1);
        let mut i = STAT_LANES;
        while i < full {
            let x0 = S::load4(p.add(i));
            let x1 = S::load4(p.add(i + 4));
            r0 = _mm256_add_pd(r0, x0);
            r1 = _mm256_add_pd(r1, x1);
            q0 = _mm256_add_pd(q0, _mm256_mul_pd(x0, x0));
            q1 = _mm256_add_pd(q1, _mm256_mul_pd(x1, x1));
            i += STAT_LANES;
        }
        _mm256_storeu_pd(r.as_mut_ptr(), r0);
        _mm256_storeu_pd(r.as_mut_ptr().add(4), r1);
        _mm256_storeu_pd(rq.as_mut_ptr(), q0);
        _mm256_storeu_pd(rq.as_mut_ptr().add(4), q1);
    }
    leaf_finish(v, full, &r, &rq)
}

/// [`leaf_sums_avx2`] with AVX-512: numpy's 8 running sums are the 8 lanes of one register.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[inline]
fn leaf_sums_avx512<S: Leaf>(v: &[S]) -> (f64, f64) {
    use std::arch::x86_64::*;
    let n = v.len();
    if n < STAT_LANES {
        return S::sums(v);
    }
    let full = n - n % STAT_LANES;
    let (mut r, mut rq) = ([0.0f64; 8], [0.0f64; 8]);
    // SAFETY: every load reads 8 values within `v[..full]` (the CPU has AVX-512 F: this
    // function's feature); the stores fill the two arrays.
    unsafe {
        let p = v.as_ptr();
        let mut r0 = S::load8(p);
        let mut q0 = _mm512_mul_pd(r0, r0);
        let mut i = STAT_LANES;
        while i < full {
            let x = S::load8(p.add(i));
            r0 = _mm512_add_pd(r0, x);
            q0 = _mm512_add_pd(q0, _mm512_mul_pd(x, x));
            i += STAT_LANES;
        }
        _mm512_storeu_pd(r.as_mut_ptr(), r0);
        _mm512_storeu_pd(rq.as_mut_ptr(), q0);
    }
    leaf_finish(v, full, &r, &rq)
}

/// [`leaf_sums`] of `leaf` with the best instructions the build may use.
#[inline(always)]
fn leaf_sums_isa<S: Leaf, const AVX2: bool, const AVX512: bool>(leaf: &[S]) -> (f64, f64) {
    #[cfg(target_arch = "x86_64")]
    if AVX512 {
        // SAFETY: `AVX512` is true only in `fused_avx512`, called once AVX-512 F was detected.
        return unsafe { leaf_sums_avx512(leaf) };
    } else if AVX2 {
        // SAFETY: `AVX2` is true only in `fused_avx2` and `fused_avx512`, called once AVX2 was
        // detected.
        return unsafe { leaf_sums_avx2(leaf) };
    }
    S::sums(leaf)
}

/// Leaves of a node of at most `FUSE` values: each is at least 64 values long (numpy splits a
/// node of more than 128 into halves of at least 64), unless the node is itself a leaf.
const MAX_LEAVES: usize = FUSE / 64;

/// The leaves of numpy's pairwise tree under a node of `len` values, and how the tree adds
/// up their sums, for the nodes of one length (a scan's nodes of at most `FUSE` values have
/// one or two lengths: the plan is made once per length, see [`LeafPlans`], not walked for
/// every node).
struct LeafPlan {
    len: usize,
    /// `(start, len)` of each leaf, left to right.
    leaves: Vec<(usize, usize)>,
    /// After each leaf's sums, how many nodes end there: each adds its two halves' sums.
    merges: Vec<u8>,
}

impl LeafPlan {
    /// The plan for nodes of `len` values.
    fn new(len: usize) -> Self {
        fn walk(start: usize, len: usize, plan: &mut LeafPlan) {
            if len <= PW_BLOCK {
                plan.leaves.push((start, len));
                plan.merges.push(0);
                return;
            }
            let half = pairwise_split(len);
            walk(start, half, plan);
            walk(start + half, len - half, plan);
            *plan.merges.last_mut().expect("a node has leaves") += 1;
        }
        let mut plan = LeafPlan {
            len,
            leaves: Vec::with_capacity(MAX_LEAVES),
            merges: Vec::with_capacity(MAX_LEAVES),
        };
        walk(0, len, &mut plan);
        plan
    }

    /// numpy's pairwise sums of a node `v` of this plan's length (and of its squares), each
    /// leaf's from `leaf_sums_of(leaf)`: see [`LeafPlan::combine`].
    #[inline(always)]
    fn sums<S: Leaf>(
        &self,
        v: &[S],
        clean: &mut bool,
        mut leaf_sums_of: impl FnMut(&[S]) -> (f64, f64),
    ) -> (f64, f64) {
        let mut sums = [(0.0f64, 0.0f64); MAX_LEAVES];
        for (sum, &(start, len)) in sums.iter_mut().zip(&self.leaves) {
            *sum = leaf_sums_of(&v[start..start + len]);
        }
        self.combine(v, &sums[..self.leaves.len()], clean)
    }

    /// The node's sums from its leaves' (`sums[i]` the sums of leaf `i` of `v`), each node's
    /// sum the sum of its halves'. A leaf is first added as is (the usual case: all values
    /// finite); a non-finite sum means a NaN or infinity was among them (or the finite values
    /// overflow), and the leaf is added again with non-finite values read as 0 (the same sums
    /// for finite values), which clears `*clean`.
    fn combine<S: Leaf>(&self, v: &[S], sums: &[(f64, f64)], clean: &mut bool) -> (f64, f64) {
        // A non-finite leaf sum makes the node's non-finite: the leaves are looked at only then.
        let (s, q) = self.add_up(sums, |_, sums| sums);
        if s.is_finite() && q.is_finite() {
            return (s, q);
        }
        self.add_up(sums, |leaf, (s, q)| {
            if s.is_finite() && q.is_finite() {
                (s, q)
            } else {
                *clean = false;
                let (start, len) = self.leaves[leaf];
                let mut zeroed = [0.0f64; PW_BLOCK];
                for (z, &x) in zeroed.iter_mut().zip(&v[start..start + len]) {
                    let x: f64 = x.into();
                    *z = if x.is_finite() { x } else { 0.0 };
                }
                leaf_sums(&zeroed[..len])
            }
        })
    }

    /// The sums of the leaves (`leaf(i, sums[i])` each), added up as the tree adds them.
    #[inline(always)]
    fn add_up(
        &self,
        sums: &[(f64, f64)],
        mut leaf: impl FnMut(usize, (f64, f64)) -> (f64, f64),
    ) -> (f64, f64) {
        // A node of `FUSE` values is 5 levels deep: at most 6 sums wait at once.
        const STACK: usize = 16;
        const { assert!(FUSE <= PW_BLOCK << 4) };
        let mut stack = [(0.0f64, 0.0f64); STACK];
        let mut n = 0;
        for (i, (&sums, &merges)) in sums.iter().zip(&self.merges).enumerate() {
            stack[n] = leaf(i, sums);
            n += 1;
            for _ in 0..merges {
                let (s2, q2) = stack[n - 1];
                let (s1, q1) = stack[n - 2];
                n -= 1;
                stack[n - 1] = (s1 + s2, q1 + q2);
            }
        }
        debug_assert_eq!(n, 1);
        stack[0]
    }
}

/// The [`LeafPlan`]s of the last node lengths a scanner saw.
struct LeafPlans {
    plans: Vec<LeafPlan>,
    /// The plan replaced next when a new length comes.
    next: usize,
}

impl LeafPlans {
    /// How many lengths are kept (a scan's nodes have one or two).
    const KEPT: usize = 4;

    fn new() -> Self {
        LeafPlans {
            plans: Vec::with_capacity(Self::KEPT),
            next: 0,
        }
    }

    /// The plan for nodes of `len` values.
    fn get(&mut self, len: usize) -> &LeafPlan {
        if let Some(i) = self.plans.iter().position(|p| p.len == len) {
            return &self.plans[i];
        }
        let plan = LeafPlan::new(len);
        let i = if self.plans.len() < Self::KEPT {
            self.plans.push(plan);
            self.plans.len() - 1
        } else {
            let i = self.next;
            self.plans[i] = plan;
            self.next = (i + 1) % Self::KEPT;
            i
        };
        &self.plans[i]
    }
}

/// Adds one to `lane[slot]`, without a bounds check: the bucket step is the hot loop, and its
/// check (a compare and a branch per value) is a fifth of its instructions.
///
/// # Safety
/// `slot < lane.len()` (checked in debug builds).
#[inline(always)]
unsafe fn bump(lane: &mut [u32], slot: usize) {
    debug_assert!(slot < lane.len(), "slot {slot} of {}", lane.len());
    // SAFETY: `slot < lane.len()`, the caller's promise.
    unsafe { *lane.get_unchecked_mut(slot) += 1 };
}

/// The sequential scan of one node of the pairwise tree: statistics, and a count per slot of
/// `bin_of` (which maps every value, finite or not, to a slot below `slots`: the counters
/// are indexed without a bounds check, see [`bump`]).
struct Scanner<'f, F> {
    bin_of: &'f F,
    slots: usize,
    /// `rows` rows of `slots + 1` counters (the last one of each row counts the padding of
    /// the [`SlotQueue`], and is never added to the counts).
    lanes: Vec<u32>,
    /// `LANES`, or 1 for a short scan (see `LANES`).
    rows: usize,
    /// Values counted in `lanes` since they were last added to `counts`.
    pending: usize,
    counts: Vec<u64>,
    ext: Extremes,
    /// Up to `FUSE` values converted to `f64` (made on first use, see [`f64_buffer`]:
    /// `f32` input with AVX2 does without it while all is finite).
    buf: Vec<f64>,
    /// The instructions used (the tests compare every level the CPU has).
    isa: Isa,
    /// `bin_of` is the default bins' `default_slot32` of the value as `f32`: the AVX-512 and
    /// AVX2 builds compute most slots of `f32` input themselves (see `logbin`).
    default32: bool,
    /// Slots computed by that build and not yet counted (`default32` scans only).
    queue: Option<Box<SlotQueue>>,
    /// The leaves of the nodes that build scanned.
    leaf_plans: LeafPlans,
}

/// The first `len` entries of a scanner's `f64` buffer (`len` at most `FUSE`), which grows
/// when a node needs more than it holds (its entries are written before they are read).
fn f64_buffer(buf: &mut Vec<f64>, len: usize) -> &mut [f64] {
    debug_assert!(len <= FUSE);
    if buf.len() < len {
        buf.resize(len, 0.0);
    }
    &mut buf[..len]
}

/// Which build of the scan runs: each gives the same results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Isa {
    Portable,
    /// AVX2 and FMA (the computed default bins need FMA; a CPU with AVX2 and no FMA, if any,
    /// takes the portable build).
    Avx2,
    /// AVX2, FMA and AVX-512 F and DQ.
    Avx512,
}

impl Isa {
    /// The best level this CPU has, at most `max`.
    fn detect(max: Isa) -> Isa {
        #[cfg(target_arch = "x86_64")]
        {
            use std::arch::is_x86_feature_detected as has;
            if max >= Isa::Avx512
                && has!("avx2")
                && has!("fma")
                && has!("avx512f")
                && has!("avx512dq")
            {
                return Isa::Avx512;
            }
            if max >= Isa::Avx2 && has!("avx2") && has!("fma") {
                return Isa::Avx2;
            }
        }
        let _ = max;
        Isa::Portable
    }
}

impl<F> Scanner<'_, F> {
    /// Adds the lanes to `counts` (after counting the queued slots into them) and clears them.
    fn flush(&mut self) {
        self.add_lanes();
        self.lanes.fill(0);
        self.pending = 0;
    }

    /// Adds the lanes to `counts`, after counting the queued slots into them (the lanes keep
    /// their counts: [`Scanner::flush`] clears them, [`Scanner::counts`] needs no more).
    fn add_lanes(&mut self) {
        let base = self.lanes.as_mut_ptr();
        if let Some(queue) = &mut self.queue {
            // SAFETY: a queue is made for `default32` scans only, whose rows hold `ROW`
            // counters each; every queued slot is below `ROW`.
            unsafe {
                if self.rows == LANES {
                    queue.drain::<ROW>(base);
                } else {
                    queue.drain::<0>(base);
                }
            }
        }
        let row = self.slots + 1;
        if self.rows == 1 {
            for (total, &c) in self.counts.iter_mut().zip(&self.lanes[..row]) {
                *total += u64::from(c);
            }
            return;
        }
        // The four rows in one pass over `counts`, their counters added up as `u32`: a slot's
        // four counters together hold at most the values counted since the last flush,
        // `pending`, which the flushes keep within `u32` (see `LANE_LIMIT`).
        debug_assert!(u32::try_from(self.pending).is_ok());
        let (r0, rest) = self.lanes.split_at(row);
        let (r1, rest) = rest.split_at(row);
        let (r2, r3) = rest.split_at(row);
        let rows = r0.iter().zip(r1).zip(r2).zip(r3);
        for (total, (((&a, &b), &c), &d)) in self.counts.iter_mut().zip(rows) {
            *total += u64::from(a + b + c + d);
        }
    }
}

impl<F> Scanner<'_, F> {
    /// Statistics then bins of a node of at most `FUSE` values: the values are converted to
    /// `f64` once, into a buffer the statistics read while it is in the L1 cache (`f32` input
    /// with AVX2 is read as it is; the buffer is filled only for a node with a NaN or
    /// infinity).
    #[inline(always)]
    fn fused_body<T: Sample, const AVX2: bool, const AVX512: bool>(&mut self, v: &[T]) -> (f64, f64)
    where
        F: Fn(T) -> usize + Copy,
    {
        #[cfg(target_arch = "x86_64")]
        if let (true, Some(f)) = (AVX2, T::as_f32_slice(v)) {
            // `f32` input: the statistics read it as is (no `f64` buffer) while all is finite.
            let mut clean = true;
            let computed = AVX2 && self.default32;
            let mut ext16 = Extremes16::new();
            let sums = if computed {
                let bin_of = *self.bin_of;
                self.pending += v.len();
                let plan = self.leaf_plans.get(f.len());
                let mut leaf_sums = [(0.0f64, 0.0f64); MAX_LEAVES];
                let sums = &mut leaf_sums[..plan.leaves.len()];
                let base = self.lanes.as_mut_ptr();
                let queue = self.queue.as_mut().expect("a default32 scan has a queue");
                let exact = |i| bin_of(v[i]);
                // SAFETY: `AVX512` is true only in `fused_avx512`, called once AVX-512 F and DQ
                // were detected, and `AVX2` only there and in `fused_avx2`, called once AVX2
                // and FMA were; `default32` means `slots` is `DEFAULT_SLOTS` (so each row holds
                // `ROW` counters) and `bin_of` the exact default slot; the plan is made for `f`.
                unsafe {
                    match (AVX512, self.rows == LANES) {
                        (true, true) => {
                            node_avx512::<ROW>(f, plan, exact, queue, base, &mut ext16, sums);
                        }
                        (true, false) => {
                            node_avx512::<0>(f, plan, exact, queue, base, &mut ext16, sums);
                        }
                        (false, true) => {
                            node_avx2::<ROW>(f, plan, exact, queue, base, &mut ext16, sums);
                        }
                        (false, false) => {
                            node_avx2::<0>(f, plan, exact, queue, base, &mut ext16, sums);
                        }
                    }
                }
                plan.combine(f, sums, &mut clean)
            } else {
                let plan = self.leaf_plans.get(f.len());
                plan.sums(f, &mut clean, leaf_sums_isa::<f32, AVX2, AVX512>)
            };
            if computed && self.pending > LANE_LIMIT {
                self.flush();
            }
            if clean && computed && !ext16.has_zero() {
                self.ext.add_lanes16(&ext16);
            } else if clean {
                // SAFETY: `AVX2` is true only in `fused_avx2` and `fused_avx512`, called once AVX2 was detected.
                unsafe { self.ext.add_finite_f32_avx2(f) };
            } else {
                let buf = f64_buffer(&mut self.buf, v.len());
                for (b, &x) in buf.iter_mut().zip(f) {
                    *b = f64::from(x);
                }
                self.ext.add_masked(buf);
            }
            if !computed {
                self.count_bins(v);
            }
            return sums;
        }
        let buf = f64_buffer(&mut self.buf, v.len());
        for (b, x) in buf.iter_mut().zip(v) {
            *b = x.to_f64();
        }
        let mut clean = true;
        let sums =
            self.leaf_plans
                .get(v.len())
                .sums(buf, &mut clean, leaf_sums_isa::<f64, AVX2, AVX512>);
        if clean {
            #[cfg(target_arch = "x86_64")]
            if AVX2 {
                // SAFETY: `AVX2` is true only in `fused_avx2` and `fused_avx512`, called once AVX2 was detected.
                unsafe { self.ext.add_finite_avx2(buf) };
            } else {
                self.ext.add_finite(buf);
            }
            #[cfg(not(target_arch = "x86_64"))]
            self.ext.add_finite(buf);
        } else {
            self.ext.add_masked(buf);
        }
        self.count_bins(v);
        sums
    }

    /// The bucket step: each value of `v` counted in its slot, in one of the four lanes.
    #[inline(always)]
    fn count_bins<T: Sample>(&mut self, v: &[T])
    where
        F: Fn(T) -> usize + Copy,
    {
        if self.pending + v.len() > LANE_LIMIT {
            self.flush();
        }
        self.pending += v.len();
        let slots = self.slots;
        if self.rows == 1 {
            let bin_of = *self.bin_of;
            for x in v {
                // SAFETY: the row holds `slots` counters and `bin_of` returns a slot below
                // `slots` for every value, as the caller of `scan` promised.
                unsafe { bump(&mut self.lanes, bin_of(*x)) };
            }
            return;
        }
        let (c0, rest) = self.lanes.split_at_mut(slots + 1);
        let (c1, rest) = rest.split_at_mut(slots + 1);
        let (c2, c3) = rest.split_at_mut(slots + 1);
        // A copy in registers: read through `self`, the captured table would be reloaded
        // after every counter store (which the compiler cannot tell apart from it).
        let bin_of = *self.bin_of;
        // Two values per lane per iteration: half the loop overhead.
        let mut chunks = v.chunks_exact(2 * LANES);
        for chunk in &mut chunks {
            // SAFETY: for every `bump`, each lane holds `slots` counters, and `bin_of` returns a
            // slot below `slots` for every value, as the caller of `scan` promised.
            unsafe {
                bump(c0, bin_of(chunk[0]));
                bump(c1, bin_of(chunk[1]));
                bump(c2, bin_of(chunk[2]));
                bump(c3, bin_of(chunk[3]));
                bump(c0, bin_of(chunk[4]));
                bump(c1, bin_of(chunk[5]));
                bump(c2, bin_of(chunk[6]));
                bump(c3, bin_of(chunk[7]));
            }
        }
        for x in chunks.remainder() {
            // SAFETY: as above.
            unsafe { bump(c0, bin_of(*x)) };
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn fused_avx2<T: Sample>(&mut self, v: &[T]) -> (f64, f64)
    where
        F: Fn(T) -> usize + Copy,
    {
        self.fused_body::<T, true, false>(v)
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma,avx512f,avx512dq")]
    fn fused_avx512<T: Sample>(&mut self, v: &[T]) -> (f64, f64)
    where
        F: Fn(T) -> usize + Copy,
    {
        self.fused_body::<T, true, true>(v)
    }

    #[inline(never)]
    fn fused_portable<T: Sample>(&mut self, v: &[T]) -> (f64, f64)
    where
        F: Fn(T) -> usize + Copy,
    {
        self.fused_body::<T, false, false>(v)
    }

    /// [`Scanner::fused_body`] with the best instructions the CPU has. The result does not
    /// depend on them: every sum is added in numpy's order (a fused multiply-add only adds an
    /// exact square, so it rounds as the multiply and add do).
    #[inline(always)]
    fn fused<T: Sample>(&mut self, v: &[T]) -> (f64, f64)
    where
        F: Fn(T) -> usize + Copy,
    {
        #[cfg(target_arch = "x86_64")]
        match self.isa {
            // SAFETY: `Isa::detect` found AVX2, FMA and AVX-512 F and DQ on this CPU.
            Isa::Avx512 => return unsafe { self.fused_avx512(v) },
            // SAFETY: `Isa::detect` found AVX2 and FMA on this CPU.
            Isa::Avx2 => return unsafe { self.fused_avx2(v) },
            Isa::Portable => {}
        }
        self.fused_portable(v)
    }

    /// A node of any size: split as numpy splits it down to nodes of at most `FUSE` values.
    fn node<T: Sample>(&mut self, v: &[T]) -> (f64, f64)
    where
        F: Fn(T) -> usize + Copy,
    {
        if v.len() <= FUSE {
            return self.fused(v);
        }
        let (left, right) = v.split_at(pairwise_split(v.len()));
        let (s1, q1) = self.node(left);
        let (s2, q2) = self.node(right);
        (s1 + s2, q1 + q2)
    }
}

/// What every stretch of one scan shares: the binning function, its number of slots, whether
/// it is the default bins' `default_slot32` (`Scanner::default32`), and the instructions used.
#[derive(Clone, Copy)]
struct Plan<'f, F> {
    bin_of: &'f F,
    slots: usize,
    default32: bool,
    isa: Isa,
}

impl<'f, F> Scanner<'f, F> {
    /// A scanner for stretches of at most `len` values.
    fn new(plan: Plan<'f, F>, len: usize) -> Self {
        let rows = if len < LANES * plan.slots { 1 } else { LANES };
        Scanner {
            rows,
            isa: plan.isa,
            default32: plan.default32,
            bin_of: plan.bin_of,
            slots: plan.slots,
            lanes: vec![0u32; rows * (plan.slots + 1)],
            pending: 0,
            counts: vec![0u64; plan.slots],
            ext: Extremes::new(),
            buf: Vec::new(),
            queue: plan.default32.then(SlotQueue::new),
            leaf_plans: LeafPlans::new(),
        }
    }

    /// The counts of every stretch scanned.
    fn counts(mut self) -> Vec<u64> {
        self.add_lanes();
        self.counts
    }
}

impl<F> Scanner<'_, F> {
    /// [`Scanner::node`] over a whole node of the tree: its statistics, its values counted
    /// with those of the scanner's earlier stretches.
    ///
    /// # Safety
    /// The scanner's plan holds for `values`: see [`scan`].
    unsafe fn stretch<T: Sample>(&mut self, values: &[T]) -> Stats
    where
        F: Fn(T) -> usize + Copy,
    {
        let (sum, sum_squares) = self.node(values);
        let ext = std::mem::replace(&mut self.ext, Extremes::new());
        Stats {
            nonfinite: ext.nonfinite,
            min: ext.min.iter().copied().fold(f64::INFINITY, f64::min),
            max: ext.max.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            sum,
            sum_squares,
        }
    }
}

/// [`Scanner::stretch`] over the whole input, into a [`Partial`].
///
/// # Safety
/// `plan.bin_of` returns a slot below `plan.slots` for every value of `values` (the counters
/// are indexed without a bounds check: see [`bump`]), and when `plan.default32` is set,
/// `plan.slots` is `DEFAULT_SLOTS` and `plan.bin_of` is `default_slot32` of the value as `f32`.
/// The binning functions of this module do: `default_slot` and `default_slot32` at most
/// `DEFAULT_SLOTS - 1` (the tables' construction, checked in `edges`' tests), `uniform_bin`
/// and `explicit_bin` at most `n` of `n + 1` slots.
unsafe fn scan<T: Sample, F: Fn(T) -> usize + Copy>(values: &[T], plan: Plan<'_, F>) -> Partial {
    let mut s = Scanner::new(plan, values.len());
    // SAFETY: the caller's promise, passed on.
    let stats = unsafe { s.stretch(values) };
    stats.with_counts(s.counts())
}

/// Whether a node of the pairwise tree of `len` values is one stretch (shorter than
/// `split_from`, or a leaf of the tree) rather than split into its halves.
fn is_stretch(len: usize, split_from: usize) -> bool {
    len < split_from || len <= PW_BLOCK
}

/// The nodes of the pairwise tree under a node of `len` values that are stretches
/// ([`is_stretch`]), as `(start, len)` from left to right.
fn stretches(start: usize, len: usize, split_from: usize, out: &mut Vec<(usize, usize)>) {
    if is_stretch(len, split_from) {
        out.push((start, len));
        return;
    }
    let half = pairwise_split(len);
    stretches(start, half, split_from, out);
    stretches(start + half, len - half, split_from, out);
}

/// The statistics of a node's [`stretches`], in order, merged as the tree adds them up.
/// Halves are numpy's, so the sums are numpy's whatever the split and the number of threads.
fn merge_stretches(
    len: usize,
    split_from: usize,
    parts: &mut impl Iterator<Item = Stats>,
) -> Stats {
    if is_stretch(len, split_from) {
        return parts.next().expect("one scan per stretch");
    }
    let half = pairwise_split(len);
    let left = merge_stretches(half, split_from, parts);
    let right = merge_stretches(len - half, split_from, parts);
    left.merge(right)
}

/// `scan` over the whole input, in parallel for inputs of `PARALLEL_THRESHOLD` values or more:
/// split into nodes of the pairwise tree ([`stretches`], see `STRETCHES_PER_THREAD`), shared
/// by the calling thread and the pool's (`runtime::parallel::map_shared`), each thread
/// counting into one [`Scanner`], the stretches' statistics merged as the tree adds them. `sum` and `sum_squares` are numpy's `np.add.reduce` of the values (and of their
/// squares) as float64, with non-finite values read as 0: bit for bit what
/// `values.astype(float).sum()` gives when they are all finite.
///
/// # Safety
/// `bin_of` returns a slot below `slots` for every value; when `default32` is set, `slots` is
/// `DEFAULT_SLOTS` and `bin_of(v)` is `default_slot32(&CELLS32, v.to_f32())` (see [`scan`]).
pub(super) unsafe fn scan_all<T: Sample, F: Fn(T) -> usize + Sync + Copy>(
    values: &[T],
    slots: usize,
    bin_of: F,
    default32: bool,
) -> Partial {
    // SAFETY: the caller's promise, passed on.
    unsafe { scan_all_with(values, slots, bin_of, default32, Isa::Avx512) }
}

/// [`scan_all`] with at most the instructions of `max` (the tests compare every level).
///
/// # Safety
/// As [`scan_all`].
unsafe fn scan_all_with<T: Sample, F: Fn(T) -> usize + Sync + Copy>(
    values: &[T],
    slots: usize,
    bin_of: F,
    default32: bool,
    max: Isa,
) -> Partial {
    debug_assert!(!default32 || slots == super::edges::DEFAULT_SLOTS);
    let plan = Plan {
        bin_of: &bin_of,
        slots,
        default32,
        isa: Isa::detect(max),
    };
    let mut p = if values.len() < PARALLEL_THRESHOLD {
        // SAFETY: the caller's promise, passed on.
        unsafe { scan(values, plan) }
    } else {
        let stretch = values.len() / (STRETCHES_PER_THREAD * crate::runtime::parallel::threads());
        let split_from = PARALLEL_THRESHOLD.max(2 * stretch);
        let mut parts = Vec::new();
        stretches(0, values.len(), split_from, &mut parts);
        let (stats, scanners) = crate::runtime::parallel::map_shared(
            parts.len(),
            || Scanner::new(plan, split_from),
            |s, i| {
                let (start, len) = parts[i];
                // SAFETY: the caller's promise, passed on (for part of the same values).
                unsafe { s.stretch(&values[start..start + len]) }
            },
        );
        let mut counts = vec![0u64; slots];
        for s in scanners {
            for (total, c) in counts.iter_mut().zip(s.counts()) {
                *total += c;
            }
        }
        merge_stretches(values.len(), split_from, &mut stats.into_iter()).with_counts(counts)
    };
    // numpy's reduction starts from the identity: `0.0 + (-0.0)` is `0.0`.
    p.sum += 0.0;
    p.sum_squares += 0.0;
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::histogram::edges::{
        default_slot, default_slot32, Cell, Cell32, CELLS, CELLS32, CELL_COUNT, CELL_COUNT_F32,
        DEFAULT_SLOTS,
    };
    use crate::summary::histogram::{histogram, Bins};

    /// Two scans of the same values agree bit for bit on everything.
    fn assert_same(a: &Partial, b: &Partial, n: usize) {
        assert_eq!(a.sum.to_bits(), b.sum.to_bits(), "n={n}");
        assert_eq!(a.sum_squares.to_bits(), b.sum_squares.to_bits(), "n={n}");
        assert_eq!(
            (a.min.to_bits(), a.max.to_bits(), a.nonfinite),
            (b.min.to_bits(), b.max.to_bits(), b.nonfinite),
            "n={n}: min {} / {}, max {} / {}",
            a.min,
            b.min,
            a.max,
            b.max
        );
        assert_eq!(a.counts, b.counts, "n={n}");
    }

    /// float32 input with the default bins, every length from 1 to 300 and a few around a
    /// node, a leaf and the parallel split, on values that take every path of the vector
    /// passes: default edges and their neighbours (the kernel leaves them to the exact lookup),
    /// zeros of both signs, subnormals, values below 1e-12 and beyond `v_max`, NaN and
    /// infinities, ordinary values: the same counts and statistics on every instruction set.
    #[test]
    fn default_bins_agree_on_every_instruction_set_on_every_path() {
        let cells32: &[Cell32; CELL_COUNT_F32] = &CELLS32;
        let bin32 = move |x: f32| default_slot32(cells32, x);
        let edges = crate::summary::histogram::edges::default_edges();
        let mut state = 0x853c_49e6_748f_ea9bu64;
        let mut next = move || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            state >> 33
        };
        let mut value = move || {
            let r = next();
            let pick = r % 16;
            let sign = if r & 0x100 == 0 { 1.0f32 } else { -1.0 };
            let x = match pick {
                0..=3 => {
                    let e = edges[(r >> 9) as usize % edges.len()] as f32;
                    f32::from_bits((i64::from(e.to_bits()) + (r >> 20) as i64 % 3 - 1) as u32)
                }
                4 => 0.0,
                5 => f32::from_bits((r >> 9) as u32 & 0x007f_ffff),
                6 => 1e-13 * (r >> 12) as f32 / 4096.0,
                7 => 1e20 * (1.0 + (r >> 12) as f32 / 1024.0),
                8 => f32::NAN,
                9 => f32::INFINITY,
                _ => ((r >> 9) as f32 / 8192.0 - 0.5) * 10.0,
            };
            sign * x
        };
        if Isa::detect(Isa::Avx512) != Isa::Avx512 {
            eprintln!("no AVX-512 on this CPU: its pass is not compared here");
        }
        if Isa::detect(Isa::Avx2) != Isa::Avx2 {
            eprintln!("no AVX2 and FMA on this CPU: their pass is not compared here");
        }
        let lengths = (1..=300).chain([2047, 2048, 2049, 4100, 2 * PARALLEL_THRESHOLD + 3]);
        for n in lengths {
            let v: Vec<f32> = (0..n).map(|_| value()).collect();
            // SAFETY: `default_slot32` is below `DEFAULT_SLOTS`; `default32` is its flag.
            let [a, b, c] = [Isa::Avx512, Isa::Avx2, Isa::Portable]
                .map(|isa| unsafe { scan_all_with(&v, DEFAULT_SLOTS, bin32, true, isa) });
            assert_same(&a, &c, n);
            assert_same(&b, &c, n);
            assert_eq!(a.counts.iter().sum::<u64>(), n as u64, "n={n}");
        }
    }

    /// Extremes that are zeros of both signs come out of every level as the same zero: the
    /// vector default-bins passes give way to [`Extremes`]' position classes there.
    #[test]
    fn signed_zero_extremes_agree_on_every_instruction_set() {
        let cells32: &[Cell32; CELL_COUNT_F32] = &CELLS32;
        let bin32 = move |x: f32| default_slot32(cells32, x);
        for n in [16, 100, 128, 300, 2048, 5000, 2 * PARALLEL_THRESHOLD + 5] {
            for seed in 0..4u64 {
                let mut v: Vec<f32> = random_values(n, seed)
                    .iter()
                    .map(|x| (x.abs() + 1.0) as f32)
                    .collect();
                // Zeros of both signs: spread out, or in one position class (8 apart), the
                // later one on a lower 16-lane lane.
                let k = seed as usize;
                let zeros = match seed {
                    0 | 1 => [
                        (n / 5 + k, -0.0f32),
                        (n / 3, 0.0),
                        (n / 2 + 8 * k, -0.0),
                        (n - 1, 0.0),
                    ],
                    2 => [(8, 0.0), (16, -0.0), (n - 1, 1.0), (n - 1, 1.0)],
                    _ => [(8, -0.0), (16, 0.0), (n - 1, 1.0), (n - 1, 1.0)],
                };
                for (i, z) in zeros {
                    v[i % n] = z;
                }
                // The smallest value is a zero; negated, the largest is.
                for w in [v.clone(), v.iter().map(|x| -x).collect()] {
                    // SAFETY: `default_slot32` is below `DEFAULT_SLOTS`; `default32` is its flag.
                    let [a, b, c] = [Isa::Avx512, Isa::Avx2, Isa::Portable]
                        .map(|isa| unsafe { scan_all_with(&w, DEFAULT_SLOTS, bin32, true, isa) });
                    assert!(a.min == 0.0 || a.max == 0.0, "n={n}");
                    assert_same(&a, &b, n);
                    assert_same(&a, &c, n);
                }
            }
        }
    }

    /// A plan's additions are numpy's: its sums are `numpy_pairwise`'s bit for bit on lengths
    /// up to a node, NaN and infinities included (their leaves added again without them, and
    /// the node marked unclean); more lengths than are kept replace the plans.
    #[test]
    fn leaf_plans_follow_numpys_tree() {
        let mut plans = LeafPlans::new();
        let lengths = (1..=FUSE)
            .step_by(7)
            .chain([FUSE, 1024, 2047, 129, 136, 1, 2048]);
        for (k, len) in lengths.enumerate() {
            let mut v: Vec<f32> = (0..len)
                .map(|i| ((i * 7919 + k) % 1000) as f32 * 1.37e-3 - 0.6)
                .collect();
            if k % 3 == 0 && len > 2 {
                v[len / 3] = if k % 2 == 0 { f32::INFINITY } else { f32::NAN };
            }
            let zeroed: Vec<f64> = v
                .iter()
                .map(|&x| if x.is_finite() { f64::from(x) } else { 0.0 })
                .collect();
            let squares: Vec<f64> = zeroed.iter().map(|x| x * x).collect();
            let mut clean = true;
            let (s, q) = plans.get(len).sums(&v, &mut clean, <f32 as Leaf>::sums);
            assert_eq!(
                (s.to_bits(), q.to_bits(), clean),
                (
                    numpy_pairwise(&zeroed).to_bits(),
                    numpy_pairwise(&squares).to_bits(),
                    v.iter().all(|x| x.is_finite())
                ),
                "len {len}"
            );
        }
        assert_eq!(plans.plans.len(), LeafPlans::KEPT);
    }

    /// numpy's `pairwise_sum` (numpy/_`core/src/umath/loops_utils.h.src`), transcribed as is.
    fn numpy_pairwise(a: &[f64]) -> f64 {
        let n = a.len();
        if n < 8 {
            let mut res = 0.0;
            for &x in a {
                res += x;
            }
            res
        } else if n <= 128 {
            let mut r = [0.0; 8];
            r.copy_from_slice(&a[..8]);
            let mut i = 8;
            while i < n - (n % 8) {
                for j in 0..8 {
                    r[j] += a[i + j];
                }
                i += 8;
            }
            let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
            while i < n {
                res += a[i];
                i += 1;
            }
            res
        } else {
            let mut n2 = n / 2;
            n2 -= n2 % 8;
            numpy_pairwise(&a[..n2]) + numpy_pairwise(&a[n2..])
        }
    }

    fn random_values(n: usize, seed: u64) -> Vec<f64> {
        let mut state = seed;
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 11) as f64 / (1u64 << 53) as f64 - 0.3) * 1e3
            })
            .collect()
    }

    /// `sum` and `sum_squares` are numpy's `np.add.reduce` of the float64 values (and of their
    /// squares), non-finite values read as 0; the vector build and the portable build agree
    /// bit for bit on everything, and so do the sequential and parallel paths.
    #[test]
    fn sums_are_numpys_pairwise_sums_on_every_instruction_set() {
        let sizes = [
            1,
            7,
            8,
            9,
            127,
            128,
            129,
            136,
            255,
            256,
            1000,
            2047,
            2048,
            2049,
            4097,
            10_007,
            2 * PARALLEL_THRESHOLD + 5,
            3 * PARALLEL_THRESHOLD + 17,
        ];
        for (k, &n) in sizes.iter().enumerate() {
            let mut values = random_values(n, 99 + k as u64);
            for with_nonfinite in [false, true] {
                if with_nonfinite && n < 8 {
                    continue;
                }
                if with_nonfinite {
                    for (i, bad) in [
                        (n / 3, f64::NAN),
                        (n - 1, f64::NEG_INFINITY),
                        (n / 2, f64::INFINITY),
                    ] {
                        values[i] = bad;
                    }
                }
                let zeroed: Vec<f64> = values
                    .iter()
                    .map(|&x| if x.is_finite() { x } else { 0.0 })
                    .collect();
                let squares: Vec<f64> = zeroed.iter().map(|x| x * x).collect();
                let h = histogram(&values, Bins::Default, None).unwrap();
                assert_eq!(
                    h.sum.to_bits(),
                    (0.0 + numpy_pairwise(&zeroed)).to_bits(),
                    "n={n}"
                );
                assert_eq!(
                    h.sum_squares.to_bits(),
                    (0.0 + numpy_pairwise(&squares)).to_bits(),
                    "n={n}"
                );
                let finite: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
                assert_eq!(h.num, finite.len() as f64);
                assert_eq!(h.min, finite.iter().copied().fold(f64::INFINITY, f64::min));
                assert_eq!(
                    h.max,
                    finite.iter().copied().fold(f64::NEG_INFINITY, f64::max)
                );
                let cells: &[Cell; CELL_COUNT] = &CELLS;
                let bin = move |x: f64| default_slot(cells, x);
                // SAFETY: `default_slot` is below `DEFAULT_SLOTS` (`cells_cover_the_edges`).
                let a = unsafe { scan_all_with(&values, DEFAULT_SLOTS, bin, false, Isa::Avx2) };
                // SAFETY: as above.
                let b = unsafe { scan_all_with(&values, DEFAULT_SLOTS, bin, false, Isa::Portable) };
                assert_same(&a, &b, n);
                // float32 input: every level, with the computed default bins where the CPU
                // has AVX2 and FMA, or AVX-512.
                let v32: Vec<f32> = values.iter().map(|&x| x as f32).collect();
                let cells32: &[Cell32; CELL_COUNT_F32] = &CELLS32;
                let bin32 = move |x: f32| default_slot32(cells32, x);
                // SAFETY: `default_slot32` is below `DEFAULT_SLOTS`; `default32` is its flag.
                let [a, b, c] = [Isa::Avx512, Isa::Avx2, Isa::Portable]
                    .map(|isa| unsafe { scan_all_with(&v32, DEFAULT_SLOTS, bin32, true, isa) });
                assert_same(&a, &b, n);
                assert_same(&a, &c, n);
                // The statistics of float32 input are those of its float64 conversion.
                let v32_64: Vec<f64> = v32.iter().map(|&x| f64::from(x)).collect();
                let (h32, h64) = (
                    histogram(&v32, Bins::Default, None).unwrap(),
                    histogram(&v32_64, Bins::Default, None).unwrap(),
                );
                assert_eq!(h32, h64);
            }
        }
        // An overflowing sum of finite values overflows as numpy's does.
        let big = vec![f64::MAX; 9];
        let h = histogram(&big, Bins::Uniform(&[0.0, f64::MAX]), None).unwrap();
        assert_eq!((h.sum, h.sum_squares), (f64::INFINITY, f64::INFINITY));
        assert_eq!(h.num, 9.0);
    }
}
