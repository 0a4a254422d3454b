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

/// The runs under `root` (a logdir or one event file), in reading order, split into at most
/// `n` contiguous groups of about equal bytes by [`group_sizes`]: a read plan whose groups
/// can be read independently (`ReadOptions::runs`), on other threads or machines, and
/// concatenated in order to give what one read of `root` gives.
pub fn run_groups(root: &std::path::Path, n: usize) -> std::io::Result<Vec<Vec<String>>> {
    let mut runs: Vec<(String, u64)> = Vec::new();
    for f in super::discovery::discover(root)? {
        // Sized as the reader sizes it (the listing's length for objects, else the storage
        // layer's); a file that vanished between listing and sizing weighs nothing.
        let size = f
            .len
            .or_else(|| crate::storage::len(&f.path).ok())
            .unwrap_or(0);
        match runs.last_mut() {
            Some((run, bytes)) if *run == f.run => *bytes += size,
            _ => runs.push((f.run, size)),
        }
    }
    if runs.is_empty() {
        return Ok(Vec::new());
    }
    let weights: Vec<u64> = runs.iter().map(|(_, b)| *b).collect();
    let mut names = runs.into_iter().map(|(r, _)| r);
    Ok(group_sizes(&weights, n)
        .into_iter()
        .map(|(len, _)| names.by_ref().take(len).collect())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_groups_cover_every_run_once_in_reading_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut want = Vec::new();
        for (i, size) in [10usize, 500, 20, 20, 480, 5].into_iter().enumerate() {
            let run = format!("run{i}");
            std::fs::create_dir(dir.path().join(&run)).unwrap();
            let file = dir.path().join(&run).join("events.out.tfevents.1.h");
            std::fs::write(file, vec![0u8; size]).unwrap();
            want.push(run);
        }
        let groups = run_groups(dir.path(), 3).unwrap();
        assert_eq!(groups.len(), 3);
        assert_eq!(groups.concat(), want);
        assert!(run_groups(dir.path(), 100).unwrap().len() <= 6);
        assert_eq!(run_groups(dir.path(), 1).unwrap(), vec![want]);
    }
}
