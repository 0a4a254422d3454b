//! Byte-balanced grouping: how a read splits runs into contiguous groups of about equal bytes,
//! one per thread. Public so that a caller can split a logdir's runs the same way, to read the
//! groups on several machines.

/// Splits runs with these byte counts into at most `n` contiguous groups of about equal bytes:
/// `(number of runs, bytes)` per group.
pub fn group_sizes(weights: &[u64], n: usize) -> Vec<(usize, u64)> {
    let total: u64 = weights.iter().sum();
    let n = n.clamp(1, weights.len().max(1)) as u64;
    let mut out = Vec::new();
    let (mut len, mut bytes, mut done) = (0usize, 0u64, 0u64);
    for &w in weights {
        len += 1;
        bytes += w;
        done += w;
        // Close the group once the groups so far hold their share of the bytes.
        if (out.len() as u64) < n - 1 && done * n >= total * (out.len() as u64 + 1) {
            out.push((len, bytes));
            (len, bytes) = (0, 0);
        }
    }
    if len > 0 || out.is_empty() {
        out.push((len, bytes));
    }
    out
}
