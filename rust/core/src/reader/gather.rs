//! Columns of table entries by code, filled on every core.
//!
//! The reader returns run and tag names as `u32` codes into its `runs` and `tags` tables. A
//! column of names (`table[codes[i]]` for every row) is one pointer-sized entry per row: for
//! a million rows, writing them one at a time on the calling thread costs a noticeable share
//! of the parallel read itself. [`gather`] writes them on the reader's thread pool and
//! counts, per table entry, the rows that took it, so that a caller whose entries need
//! bookkeeping per copy (the Python binding: one reference per row) can do it once per entry.

use rayon::prelude::*;

/// Rows per task, at least: large enough that starting a task and its counts (one per table
/// entry; tasks are made longer for a longer table) cost little beside its rows.
const MIN_ROWS_PER_TASK: usize = 1 << 16;

/// Writes `out[i] = table[codes[i]]` for every row, in parallel on the reader's pool, and
/// returns how many rows took each entry of `table` (`counts[j]` for `table[j]`).
///
/// A code past the end of `table` gives `Err(code)` (one such code, not necessarily the
/// first); `out` is then partly written.
///
/// # Panics
/// If `codes` and `out` differ in length.
pub fn gather<T: Copy + Send + Sync>(
    table: &[T],
    codes: &[u32],
    out: &mut [T],
) -> Result<Vec<u64>, u32> {
    assert_eq!(
        codes.len(),
        out.len(),
        "gather: codes and out differ in length"
    );
    let rows_per_task = MIN_ROWS_PER_TASK.max(table.len());
    crate::runtime::parallel::install(|| {
        codes
            .par_chunks(rows_per_task)
            .zip(out.par_chunks_mut(rows_per_task))
            .map(|(codes, out)| gather_part(table, codes, out))
            .try_reduce(
                || vec![0; table.len()],
                |mut a, b| {
                    for (x, y) in a.iter_mut().zip(b) {
                        *x += y;
                    }
                    Ok(a)
                },
            )
    })
}

/// One task of [`gather`]. Rows usually come in runs of one code (one run's rows, one tag's
/// steps), so a run is counted in a register and added to its count once.
fn gather_part<T: Copy>(table: &[T], codes: &[u32], out: &mut [T]) -> Result<Vec<u64>, u32> {
    let mut counts = vec![0u64; table.len()];
    let Some(&first) = codes.first() else {
        return Ok(counts);
    };
    let mut code = first;
    let mut value = *table.get(code as usize).ok_or(code)?;
    let mut run = 0u64;
    for (&c, slot) in codes.iter().zip(out.iter_mut()) {
        if c != code {
            counts[code as usize] += run;
            run = 0;
            code = c;
            value = *table.get(c as usize).ok_or(c)?;
        }
        *slot = value;
        run += 1;
    }
    counts[code as usize] += run;
    Ok(counts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The parallel result against a plain serial gather, on a column long enough to be
    /// split into several tasks, with runs of one code and alternating codes.
    #[test]
    fn gathers_like_a_serial_loop() {
        let table: Vec<u64> = (0..7).map(|j| 100 + j).collect();
        let n = 3 * MIN_ROWS_PER_TASK + 17;
        let codes: Vec<u32> = (0..n)
            .map(|i| if i % 1000 < 600 { 3 } else { (i % 7) as u32 })
            .collect();
        let mut out = vec![0u64; n];
        let counts = gather(&table, &codes, &mut out).unwrap();
        let expect: Vec<u64> = codes.iter().map(|&c| table[c as usize]).collect();
        assert_eq!(out, expect);
        let mut expect_counts = vec![0u64; table.len()];
        for &c in &codes {
            expect_counts[c as usize] += 1;
        }
        assert_eq!(counts, expect_counts);
    }

    #[test]
    fn a_code_past_the_table_is_an_error_and_empty_input_is_fine() {
        let table = [1u8, 2];
        let mut out = [0u8; 3];
        assert_eq!(gather(&table, &[0, 2, 1], &mut out), Err(2));
        assert_eq!(gather(&table, &[], &mut []), Ok(vec![0, 0]));
        assert_eq!(gather(&[] as &[u8], &[], &mut []), Ok(vec![]));
        let mut far = vec![0u8; 2 * MIN_ROWS_PER_TASK];
        let mut codes = vec![1u32; far.len()];
        codes[MIN_ROWS_PER_TASK + 5] = 9;
        assert_eq!(gather(&table, &codes, &mut far), Err(9));
    }
}
