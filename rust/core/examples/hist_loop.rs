//! Times `histogram` of 1M normally distributed `f32` values with the default bins: the best
//! and the median of N calls (for profiling and A/B checks of the counting pass; wall time, or
//! instruction counts under `valgrind --tool=callgrind`): `cargo run --profile quick --example
//! hist_loop [N] [LEN]`.
mod common;

use ferroboard_core::summary::histogram::{histogram, Bins};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(20, |s| s.parse().expect("N"));
    assert!(n > 0, "N: expected at least one call");
    let len: usize = args.next().map_or(1 << 20, |s| s.parse().expect("LEN"));
    let values = common::normal_values(len);
    let mut times = Vec::with_capacity(n);
    let mut check = 0.0;
    for _ in 0..n {
        let t = Instant::now();
        let h = histogram(&values, Bins::Default, None).expect("histogram");
        times.push(t.elapsed().as_secs_f64());
        check += h.sum + h.bucket.len() as f64;
    }
    times.sort_by(f64::total_cmp);
    let (best, median) = (times[0], times[n / 2]);
    println!(
        "{len} values: best of {n} {:.3} ms ({:.3} ns/value), median {:.3} ms [{check:e}]",
        best * 1e3,
        best * 1e9 / len as f64,
        median * 1e3
    );
}
