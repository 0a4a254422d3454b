//! Where a value falls: TensorBoard's default edges, the lookup tables that find a value's
//! default bin with one load and one comparison, and numpy's rules for equal-width and
//! explicit edges.

use std::sync::LazyLock;

/// Number of TensorBoard default edges (774 negative, 0, 774 positive).
pub const DEFAULT_EDGE_COUNT: usize = 1549;

/// Number of bins between the default edges.
pub const DEFAULT_BIN_COUNT: usize = DEFAULT_EDGE_COUNT - 1;

/// Number of positive default edges (`1e-12 * 1.1^k`, `k = 0..774`).
const POSITIVE_EDGES: usize = 774;

/// Index of the edge `0` among the default edges; also the bin `[0, 1e-12)`.
#[cfg(test)]
const ZERO_EDGE: usize = POSITIVE_EDGES;

/// Each lookup cell spans one binary exponent split by this many leading mantissa bits, so a
/// cell is at most `1 + 2^-4` wide (relative), narrower than the `1.1` between two edges: a cell
/// holds at most one edge.
const CELL_MANTISSA_BITS: u32 = 4;
const CELL_SHIFT: u32 = 52 - CELL_MANTISSA_BITS;

/// One lookup cell: its values below `edge` go to slot `below`, the others to `below + 1`.
/// A cell whose values all share one slot has a NaN `edge` (no value compares `>=` to NaN).
#[derive(Clone, Copy, Debug)]
#[repr(C, align(16))]
pub(super) struct Cell {
    pub(super) edge: f64,
    pub(super) below: u32,
}

/// Slots of the default table: 0 for values below `-v_max`, `1 + i` for bin `i`, and
/// `DEFAULT_BIN_COUNT + 1` for values above `v_max` (and, arbitrarily, NaN and infinities,
/// which the statistics pass accounts for).
pub(super) const DEFAULT_SLOTS: usize = DEFAULT_BIN_COUNT + 2;

/// A lookup cell for `f32` values: as [`Cell`], with the smallest `f32` at or above the edge
/// (for an `f32` value `x`, `x >= edge` exactly when `x >= that f32`).
#[derive(Clone, Copy, Debug)]
#[repr(C, align(8))]
pub(super) struct Cell32 {
    pub(super) edge: f32,
    pub(super) below: u32,
}

/// `f32` cells are keyed by `bits >> CELL_SHIFT_F32` (sign, exponent, 4 mantissa bits).
const CELL_SHIFT_F32: u32 = 23 - CELL_MANTISSA_BITS;

/// The slot numpy's `searchsorted` semantics give `x` (finite or not) among `edges`.
fn reference_slot(edges: &[f64], x: f64) -> u32 {
    let n = edges.len() - 1;
    if x.is_nan() || x > edges[n] {
        return n as u32 + 1;
    }
    if x < edges[0] {
        return 0;
    }
    if x == edges[n] {
        return n as u32;
    }
    edges.partition_point(|&e| e <= x) as u32
}

/// Floats in order as integers (`-0.0` and `0.0` both map to 0).
fn ordered(x: f64) -> i64 {
    let b = x.to_bits() as i64;
    if b < 0 {
        -(b & i64::MAX)
    } else {
        b
    }
}

fn from_ordered(i: i64) -> f64 {
    if i < 0 {
        f64::from_bits(i.unsigned_abs() | (1 << 63))
    } else {
        f64::from_bits(i as u64)
    }
}

/// All 1549 default edges, ascending.
static EDGES: LazyLock<Vec<f64>> = LazyLock::new(|| {
    // Built exactly as torch's writer builds its `default_bins`: repeated multiplication.
    let mut positive = Vec::with_capacity(POSITIVE_EDGES);
    let mut v = 1e-12f64;
    while v < 1e20 {
        positive.push(v);
        v *= 1.1;
    }
    assert_eq!(positive.len(), POSITIVE_EDGES);
    let mut edges: Vec<f64> = positive.iter().rev().map(|v| -v).collect();
    edges.push(0.0);
    edges.extend_from_slice(&positive);
    edges
});

/// One cell per value of an `f64`'s `bits >> CELL_SHIFT` (sign, exponent, 4 mantissa bits):
/// 65536, built on first use (a few milliseconds).
/// Number of cells of the `f64` table (one per `bits >> CELL_SHIFT`).
pub(super) const CELL_COUNT: usize = 1 << (64 - CELL_SHIFT);

/// Number of cells of the `f32` table (one per `bits >> CELL_SHIFT_F32`).
pub(super) const CELL_COUNT_F32: usize = 1 << (32 - CELL_SHIFT_F32);

pub(super) static CELLS: LazyLock<Box<[Cell; CELL_COUNT]>> = LazyLock::new(|| {
    let edges: &[f64] = &EDGES;
    (0..1u64 << (64 - CELL_SHIFT))
        .map(|key| {
            let exponent = (key >> CELL_MANTISSA_BITS) & 0x7ff;
            if exponent == 0x7ff {
                return Cell {
                    edge: f64::NAN,
                    below: DEFAULT_SLOTS as u32 - 1,
                };
            }
            // The cell's values, smallest and largest, in the order of the reals.
            let first = f64::from_bits(key << CELL_SHIFT);
            let last = f64::from_bits(((key + 1) << CELL_SHIFT) - 1);
            let (lo, hi) = if first <= last {
                (first, last)
            } else {
                (last, first)
            };
            let (slot_lo, slot_hi) = (reference_slot(edges, lo), reference_slot(edges, hi));
            if slot_lo == slot_hi {
                return Cell {
                    edge: f64::NAN,
                    below: slot_lo,
                };
            }
            // Slots never decrease with x; a cell is narrower than the gap between two edges,
            // so the slot changes once, by one: find the smallest value taking the upper one.
            assert_eq!(slot_hi, slot_lo + 1, "a lookup cell spans two edges");
            let (mut a, mut b) = (ordered(lo), ordered(hi));
            while a < b {
                let mid = a + (b - a) / 2;
                if reference_slot(edges, from_ordered(mid)) == slot_hi {
                    b = mid;
                } else {
                    a = mid + 1;
                }
            }
            Cell {
                edge: from_ordered(a),
                below: slot_lo,
            }
        })
        .collect::<Box<[Cell]>>()
        .try_into()
        .expect("one cell per key")
});

/// One cell per value of an `f32`'s `bits >> CELL_SHIFT_F32`: 8192, built on first use.
pub(super) static CELLS32: LazyLock<Box<[Cell32; CELL_COUNT_F32]>> = LazyLock::new(|| {
    let edges: &[f64] = &EDGES;
    (0..1u32 << (32 - CELL_SHIFT_F32))
        .map(|key| {
            let exponent = (key >> CELL_MANTISSA_BITS) & 0xff;
            if exponent == 0xff {
                return Cell32 {
                    edge: f32::NAN,
                    below: DEFAULT_SLOTS as u32 - 1,
                };
            }
            let first = f32::from_bits(key << CELL_SHIFT_F32);
            let last = f32::from_bits(((key + 1) << CELL_SHIFT_F32) - 1);
            let (lo, hi) = if first <= last {
                (first, last)
            } else {
                (last, first)
            };
            let slot = |x: f32| reference_slot(edges, f64::from(x));
            let (slot_lo, slot_hi) = (slot(lo), slot(hi));
            if slot_lo == slot_hi {
                return Cell32 {
                    edge: f32::NAN,
                    below: slot_lo,
                };
            }
            assert_eq!(slot_hi, slot_lo + 1, "a lookup cell spans two edges");
            // The smallest f32 taking the upper slot.
            let (mut a32, mut b32) = (ordered32(lo), ordered32(hi));
            while a32 < b32 {
                let mid = a32 + (b32 - a32) / 2;
                if slot(from_ordered32(mid)) == slot_hi {
                    b32 = mid;
                } else {
                    a32 = mid + 1;
                }
            }
            Cell32 {
                edge: from_ordered32(a32),
                below: slot_lo,
            }
        })
        .collect::<Box<[Cell32]>>()
        .try_into()
        .expect("one cell per key")
});

/// `f32` values in order as integers (`-0.0` and `0.0` both map to 0).
fn ordered32(x: f32) -> i32 {
    let b = x.to_bits() as i32;
    if b < 0 {
        -(b & i32::MAX)
    } else {
        b
    }
}

fn from_ordered32(i: i32) -> f32 {
    if i < 0 {
        f32::from_bits(i.unsigned_abs() | (1 << 31))
    } else {
        f32::from_bits(i as u32)
    }
}

/// TensorBoard's default histogram edges, as torch's `SummaryWriter.default_bins`: `0` and
/// `±1e-12 * 1.1^k` for every `k` with `1e-12 * 1.1^k < 1e20`, built by repeated
/// multiplication. 1549 edges, ascending.
pub fn default_edges() -> &'static [f64] {
    &EDGES
}

/// The default bin (`0..1548`) that `numpy.histogram` puts `x` in, or `None` when `x` lies
/// outside the edges or is not finite. Bin `i` is `[e_i, e_{i+1})`, the last one
/// `[e_1547, e_1548]`; `-0.0` is `0.0`.
#[inline]
pub fn default_bin(x: f64) -> Option<usize> {
    let slot = default_slot(&CELLS, x);
    (x.is_finite() && (1..=DEFAULT_BIN_COUNT).contains(&slot)).then(|| slot - 1)
}

/// The default slot of `x`: one table load and one comparison.
#[inline(always)]
pub(super) fn default_slot(cells: &[Cell; CELL_COUNT], x: f64) -> usize {
    let cell = cells[(x.to_bits() >> CELL_SHIFT) as usize];
    (cell.below + u32::from(x >= cell.edge)) as usize
}

/// The default slot of the `f32` value `x`, from the float32 table.
#[inline(always)]
pub(super) fn default_slot32(cells: &[Cell32; CELL_COUNT_F32], x: f32) -> usize {
    let cell = cells[(x.to_bits() >> CELL_SHIFT_F32) as usize];
    (cell.below + u32::from(x >= cell.edge)) as usize
}

/// numpy's equal-width bin for `x` (see `numpy/lib/_histograms_impl.py`): the index from
/// `(x - first) / (last - first) * n`, truncated, then moved by one where it disagrees with
/// the edges. Values outside `[first, last]` give `n`.
#[inline(always)]
pub(super) fn uniform_bin(edges: &[f64], x: f64) -> usize {
    let n = edges.len() - 1;
    let first = edges[0];
    let last = edges[n];
    if !(x >= first && x <= last) {
        return n;
    }
    let f = (x - first) / (last - first) * n as f64;
    // `as` saturates (NaN to 0); numpy's index is within 0..=n for any x in range.
    let mut i = (f as usize).min(n - 1);
    if x < edges[i] {
        i = i.saturating_sub(1);
    }
    if i != n - 1 && x >= edges[i + 1] {
        i += 1;
    }
    // The formula lands within one bin of the right one except in extreme cases (widths
    // near the float limits or subnormal), where numpy itself miscounts or fails: there,
    // count by the edges.
    if x < edges[i] || (i != n - 1 && x >= edges[i + 1]) {
        return explicit_bin(edges, x);
    }
    i
}

/// The bin numpy's `searchsorted` path gives `x` for explicit edges, or `n` outside them.
#[inline(always)]
pub(super) fn explicit_bin(edges: &[f64], x: f64) -> usize {
    let n = edges.len() - 1;
    if !(x >= edges[0] && x <= edges[n]) {
        return n;
    }
    if x == edges[n] {
        return n - 1;
    }
    edges.partition_point(|&e| e <= x) - 1
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference: numpy's `searchsorted` semantics by binary search over all edges.
    fn reference_bin(edges: &[f64], x: f64) -> Option<usize> {
        let n = edges.len() - 1;
        if !(x >= edges[0] && x <= edges[n]) {
            return None;
        }
        if x == edges[n] {
            return Some(n - 1);
        }
        Some(edges.partition_point(|&e| e <= x) - 1)
    }

    fn next_up(x: f64) -> f64 {
        if x == 0.0 {
            return f64::from_bits(1);
        }
        if x > 0.0 {
            f64::from_bits(x.to_bits() + 1)
        } else {
            f64::from_bits(x.to_bits() - 1)
        }
    }

    fn next_down(x: f64) -> f64 {
        -next_up(-x)
    }

    #[test]
    fn default_edges_match_torch() {
        let e = default_edges();
        assert_eq!(e.len(), DEFAULT_EDGE_COUNT);
        assert_eq!(e[ZERO_EDGE], 0.0);
        assert_eq!(e[ZERO_EDGE + 1], 1e-12);
        assert_eq!(e[ZERO_EDGE - 1], -1e-12);
        assert!(e.windows(2).all(|w| w[0] < w[1]));
        // The last edge, as Python computes it (repeat `v *= 1.1` while `v < 1e20`).
        assert_eq!(e[DEFAULT_EDGE_COUNT - 1], 9.920_775_621_859_783e19);
        assert_eq!(e[0], -e[DEFAULT_EDGE_COUNT - 1]);
    }

    #[test]
    fn cells_cover_the_edges() {
        // Building the table asserts that no cell holds two edges. Every edge is some cell's
        // switching point (0 between the negative subnormals and -0.0), except v_max, which
        // closes the last bin: the value just above it switches to out of range instead.
        let cells: &[Cell; CELL_COUNT] = &CELLS;
        let mut found: Vec<f64> = cells
            .iter()
            .map(|c| c.edge)
            .filter(|e| !e.is_nan())
            .collect();
        found.sort_by(f64::total_cmp);
        let mut expect = default_edges().to_vec();
        let v_max = expect.pop().unwrap();
        expect.push(next_up(v_max));
        let missing: Vec<f64> = expect
            .iter()
            .filter(|e| !found.contains(e))
            .copied()
            .collect();
        let extra: Vec<f64> = found
            .iter()
            .filter(|e| !expect.contains(e))
            .copied()
            .collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "missing {missing:?} extra {extra:?}"
        );
        assert_eq!(found.len(), expect.len());
    }

    fn interesting_values() -> Vec<f64> {
        let mut xs = vec![
            0.0,
            -0.0,
            f64::MIN_POSITIVE,
            -f64::MIN_POSITIVE,
            f64::from_bits(1),
            -f64::from_bits(1),
            f64::MAX,
            f64::MIN,
            1e20,
            -1e20,
            1.0,
            -1.0,
            0.5,
            1e-12,
            -1e-12,
            1e-13,
            1e19,
        ];
        for &e in default_edges() {
            for x in [e, next_up(e), next_down(e), next_up(next_up(e)), e * 1.05] {
                xs.push(x);
                xs.push(-x);
            }
        }
        // Cell boundaries: every power-of-two fraction the lookup splits on.
        for key in 0..1u64 << (64 - CELL_SHIFT) {
            let b = f64::from_bits(key << CELL_SHIFT);
            for x in [b, next_up(b), next_down(b)] {
                if x.is_finite() {
                    xs.push(x);
                }
            }
        }
        // A deterministic spread of magnitudes.
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let x = f64::from_bits(state);
            if x.is_finite() {
                xs.push(x);
            }
            // Magnitudes between 1e-14 and 1e22, both signs.
            let m = (state >> 11) as f64 / (1u64 << 53) as f64;
            let y = 10f64.powf(-14.0 + 36.0 * m);
            xs.push(if state & 1 == 0 { y } else { -y });
        }
        xs
    }

    #[test]
    fn direct_lookup_matches_binary_search() {
        let edges = default_edges();
        for x in interesting_values() {
            assert_eq!(
                default_bin(x),
                reference_bin(edges, x),
                "x = {x:e} ({:#x})",
                x.to_bits()
            );
        }
        assert_eq!(default_bin(f64::NAN), None);
        assert_eq!(default_bin(f64::INFINITY), None);
        assert_eq!(default_bin(-0.0), Some(ZERO_EDGE));
        assert_eq!(default_bin(0.0), Some(ZERO_EDGE));
        assert_eq!(default_bin(-f64::from_bits(1)), Some(ZERO_EDGE - 1));
        assert_eq!(
            default_bin(edges[DEFAULT_EDGE_COUNT - 1]),
            Some(DEFAULT_BIN_COUNT - 1)
        );
        assert_eq!(default_bin(edges[0]), Some(0));
        assert_eq!(default_bin(f64::MAX), None);
    }

    #[test]
    fn float32_lookup_matches_binary_search() {
        let t: &[Cell32; CELL_COUNT_F32] = &CELLS32;
        let edges = default_edges();
        let check = |x: f32| {
            if !x.is_finite() {
                return; // any slot: the statistics pass accounts for these
            }
            assert_eq!(
                default_slot32(t, x) as u32,
                reference_slot(edges, f64::from(x)),
                "x = {x:e} ({:#x})",
                x.to_bits()
            );
        };
        // Around every edge (its nearest f32s and their neighbours), both signs.
        for &e in edges {
            let f = e as f32;
            for d in -3i32..=3 {
                let b = i64::from(f.to_bits()) + i64::from(d);
                if (0..=i64::from(u32::MAX)).contains(&b) {
                    check(f32::from_bits(b as u32));
                    check(-f32::from_bits(b as u32));
                }
            }
        }
        // Every cell boundary and its neighbours, NaNs and infinities included.
        for key in 0..1u32 << (32 - CELL_SHIFT_F32) {
            let b = key << CELL_SHIFT_F32;
            for bits in [b, b.wrapping_add(1), b.wrapping_sub(1)] {
                check(f32::from_bits(bits));
            }
        }
        // A deterministic sample of all bit patterns.
        let mut state = 0x2545_f491u32;
        for _ in 0..2_000_000 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            check(f32::from_bits(state));
        }
    }

    #[test]
    fn uniform_and_explicit_match_reference_on_linspace_edges() {
        for (first, last, n) in [
            (0.0, 1.0, 10usize),
            (-3.7, 11.2, 37),
            (1e-320, 2e-320, 10),
            (-1e300, 1e300, 7),
        ] {
            let edges: Vec<f64> = (0..=n)
                .map(|i| {
                    if i == n {
                        last
                    } else {
                        first + (last - first) / n as f64 * i as f64
                    }
                })
                .collect();
            let mut xs = vec![first, last, next_up(first), next_down(last)];
            for &e in &edges {
                xs.extend([e, next_up(e), next_down(e)]);
            }
            for i in 0..1000 {
                xs.push(first + (last - first) * (f64::from(i) / 999.0));
            }
            for x in xs {
                let r = reference_bin(&edges, x).unwrap_or(n);
                assert_eq!(uniform_bin(&edges, x), r, "x = {x:e}");
                assert_eq!(explicit_bin(&edges, x), r, "x = {x:e}");
            }
        }
    }
}
