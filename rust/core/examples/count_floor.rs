//! What the default-bins histogram of 1M `f32` values cannot go below on one core, part by
//! part, on the same normally distributed values as `hist_loop`: reading the values once (a
//! plain `f32` sum with 32 running sums, four vectors' worth, so that the additions' latency
//! does not bound it), and counting their slots (already computed, the default bins' own,
//! into four rows of counters as the scan keeps them: one load of the slot and one increment
//! in memory per value, after clearing the counters). Best of N calls each, one thread:
//! `cargo run --release --example count_floor -p ferroboard-core [N]`. The scan does both and
//! computes the slots and the `f64` sums besides (BENCHMARKS.md, session 13).
mod common;

use ferroboard_core::summary::histogram::{default_bin, DEFAULT_BIN_COUNT};
use std::hint::black_box;

/// Counter rows, and the counters of a row: one per default bin, plus "below" and "above"
/// (the scan's slots: bin + 1).
const ROWS: usize = 4;
const ROW: usize = DEFAULT_BIN_COUNT + 2;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(200, |s| s.parse().expect("N"));
    let len: usize = 1 << 20;
    let values = common::normal_values(len);
    // Each value's slot as the scan counts it: its default bin plus one (0 outside the edges;
    // these values all lie within them).
    let slots: Vec<u32> = values
        .iter()
        .map(|&x| default_bin(f64::from(x)).map_or(0, |bin| bin + 1) as u32)
        .collect();

    let sum = common::best_of(n, || {
        let mut s = [0.0f32; 32];
        for c in black_box(&values).chunks_exact(32) {
            for (a, &x) in s.iter_mut().zip(c) {
                *a += x;
            }
        }
        f64::from(s.iter().sum::<f32>())
    });
    let mut counts = vec![0u32; ROWS * ROW];
    let count = common::best_of(n, || {
        counts.fill(0);
        for c in black_box(&slots).chunks_exact(ROWS) {
            for (row, &s) in c.iter().enumerate() {
                // SAFETY: every slot is at most `DEFAULT_BIN_COUNT`, below `ROW`, so within
                // `counts`; no bounds check, as in the scan.
                unsafe { *counts.get_unchecked_mut(row * ROW + s as usize) += 1 };
            }
        }
        f64::from(counts[ROW + 800])
    });
    for (what, t) in [("read (f32 sum)", sum), ("count slots", count)] {
        println!(
            "{what:>15}: best of {n} {:.3} ms ({:.3} ns/value)",
            t * 1e3,
            t * 1e9 / len as f64
        );
    }
}
