//! Times `histogram` of 1M normally distributed `f32` values with the default bins: the best
//! and the median of N calls (for profiling and A/B checks of the counting pass; wall time, or
//! instruction counts under `valgrind --tool=callgrind`): `cargo run --profile quick --example
//! hist_loop [N] [LEN]`.
use ferroboard_core::summary::histogram::{histogram, Bins};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args.next().map_or(20, |s| s.parse().expect("N"));
    assert!(n > 0, "N: expected at least one call");
    let len: usize = args.next().map_or(1 << 20, |s| s.parse().expect("LEN"));
    // Normal values by Box-Muller over a fixed linear congruential generator.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let values: Vec<f32> = (0..len)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect();
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
