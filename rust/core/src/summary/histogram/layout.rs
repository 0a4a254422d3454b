//! torch's `make_histogram` after `numpy.histogram`: `max_bins` merging and the occupied
//! range with its leading empty bucket.

/// The merge factor for `n` bins and at most `max_bins` (torch uses `n / max_bins`, which can
/// leave more than `max_bins` bins; rounding up never does).
pub(super) fn merge_factor(n: usize, max_bins: Option<usize>) -> usize {
    match max_bins {
        Some(m) if m > 0 && n > m => n.div_ceil(m),
        _ => 1,
    }
}

/// torch's `make_histogram` after `np.histogram`: merge adjacent bins for `max_bins`, then keep
/// the occupied range preceded by one empty bucket (the bin left of it, or a zero-count bucket
/// ending at the first edge when the first bin is occupied). `None` when no bin is occupied.
/// Returns (bucket limits, bucket counts).
pub(super) fn layout(
    counts: &[u64],
    edges: &[f64],
    max_bins: Option<usize>,
) -> Option<(Vec<f64>, Vec<f64>)> {
    let n = counts.len();
    debug_assert_eq!(edges.len(), n + 1);
    let s = merge_factor(n, max_bins);
    // Merged into new vectors only when merging: otherwise the counts and edges as they are
    // (copying them was half the time of a 16-value histogram with the default bins).
    let (merged, merged_edges): (Vec<u64>, Vec<f64>);
    let (counts, edges) = if s > 1 {
        merged = counts.chunks(s).map(|c| c.iter().sum()).collect();
        let mut e: Vec<f64> = edges[..n].iter().step_by(s).copied().collect();
        e.push(edges[n]);
        merged_edges = e;
        (merged.as_slice(), merged_edges.as_slice())
    } else {
        (counts, edges)
    };
    let start = first_occupied(counts)?;
    let last = last_occupied(counts)?;
    let mut out_counts = Vec::with_capacity(last - start + 2);
    if start == 0 {
        out_counts.push(0.0);
    } else {
        out_counts.push(counts[start - 1] as f64);
    }
    out_counts.extend(counts[start..=last].iter().map(|&c| c as f64));
    let out_limits = edges[start..=last + 1].to_vec();
    Some((out_limits, out_counts))
}

/// Counters looked at together by [`first_occupied`]: one vector's worth (AVX-512), or two.
const CHUNK: usize = 8;

/// The index of the first non-zero count. Most of the default bins' 774 counters are empty
/// (those beyond the values' extremes, at both ends), and a loop that stops at the first
/// non-zero one compiles to a test and a branch per counter: whole chunks are tested first,
/// with an OR that compiles to vector instructions (the occupied range's search was the
/// larger part of a 16-value histogram's time).
fn first_occupied(counts: &[u64]) -> Option<usize> {
    let chunks = counts.chunks_exact(CHUNK);
    let skipped = CHUNK * chunks.clone().take_while(|c| or(c) == 0).count();
    let at = counts[skipped..].iter().position(|&c| c > 0)?;
    Some(skipped + at)
}

/// The index of the last non-zero count, searched from the end as [`first_occupied`] searches
/// from the start.
fn last_occupied(counts: &[u64]) -> Option<usize> {
    let chunks = counts.rchunks_exact(CHUNK);
    let skipped = CHUNK * chunks.clone().take_while(|c| or(c) == 0).count();
    counts[..counts.len() - skipped]
        .iter()
        .rposition(|&c| c > 0)
}

fn or(chunk: &[u64]) -> u64 {
    chunk.iter().fold(0, |a, &c| a | c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::histogram::{default_edges, DEFAULT_BIN_COUNT};

    #[test]
    fn layout_like_torch() {
        // Occupied bins 2..=3 of 5: the bucket left of them comes along.
        let edges = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let (l, c) = layout(&[0, 0, 3, 1, 0], &edges, None).unwrap();
        assert_eq!(l, vec![2.0, 3.0, 4.0]);
        assert_eq!(c, vec![0.0, 3.0, 1.0]);
        // First bin occupied: a zero bucket ending at the first edge.
        let (l, c) = layout(&[2, 0, 0, 0, 1], &edges, None).unwrap();
        assert_eq!(l, edges.to_vec());
        assert_eq!(c, vec![0.0, 2.0, 0.0, 0.0, 0.0, 1.0]);
        assert!(layout(&[0, 0, 0, 0, 0], &edges, None).is_none());
    }

    /// The chunked searches find the first and last non-zero count wherever they are
    /// (against a plain search; lengths around the chunk size, the occupied ones at every
    /// position).
    #[test]
    fn occupied_range_is_found_everywhere() {
        for n in 0..3 * CHUNK + 3 {
            for a in 0..n {
                for b in a..n {
                    let mut c = vec![0u64; n];
                    c[a] = 1;
                    c[b] = 5;
                    assert_eq!(first_occupied(&c), Some(a), "n={n} a={a} b={b}");
                    assert_eq!(last_occupied(&c), Some(b), "n={n} a={a} b={b}");
                }
            }
            let zeros = vec![0u64; n];
            assert_eq!(first_occupied(&zeros), None);
            assert_eq!(last_occupied(&zeros), None);
        }
    }

    #[test]
    fn max_bins_is_never_exceeded() {
        for n in 1..200usize {
            for m in 1..n + 3 {
                let s = merge_factor(n, Some(m));
                assert!(n.div_ceil(s) <= m, "n={n} m={m}");
                // Minimal: one less would overshoot (or there was nothing to merge).
                assert!(s == 1 || n.div_ceil(s - 1) > m);
            }
        }
        let counts = vec![1u64; DEFAULT_BIN_COUNT];
        let (l, c) = layout(&counts, default_edges(), Some(100)).unwrap();
        // 100 bins plus the leading empty bucket.
        assert_eq!(c.len(), 97 + 1);
        assert_eq!(l.len(), c.len());
        assert_eq!(c.iter().sum::<f64>(), DEFAULT_BIN_COUNT as f64);
        assert_eq!(l[0], default_edges()[0]);
        assert_eq!(*l.last().unwrap(), default_edges()[DEFAULT_BIN_COUNT]);
    }
}
