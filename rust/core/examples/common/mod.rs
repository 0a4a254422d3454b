//! What the histogram examples share (`mod common;` in each): their input, and the timing of
//! the ones that report a best of N calls.

/// `len` normally distributed `f32` values, the same on every run and machine: Box-Muller over
/// a fixed linear congruential generator.
pub fn normal_values(len: usize) -> Vec<f32> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut uniform = || {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        ((state >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..len)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            ((-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()) as f32
        })
        .collect()
}

/// Seconds of the fastest of `n` calls of `f` (each result kept from the optimizer).
#[allow(dead_code)] // `hist_loop` keeps every time, for its median
pub fn best_of<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut best = f64::INFINITY;
    for _ in 0..n {
        let t = std::time::Instant::now();
        std::hint::black_box(f());
        best = best.min(t.elapsed().as_secs_f64());
    }
    best
}
