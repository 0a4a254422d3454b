//! TensorBoard's restart rule: a record at step `s` drops the earlier-written records of its tag
//! at steps `>= s`.

use std::collections::HashMap;

use super::{RunOutput, ScalarColumns};

/// Applies TensorBoard's restart rule within one run's output: per tag, a record at step `s`
/// drops the earlier-written records of the same tag with step `>= s`.
///
/// Records returned by earlier polls cannot be taken back: when a record of this poll at step
/// `s` supersedes some of them (its tag had a record at step `>= s` before), `(tag, s)` goes
/// into `out.purges`, and `last_steps` carries each tag's largest surviving step to the next
/// poll.
pub(super) fn purge_restarts(
    out: &mut RunOutput,
    cols: &mut ScalarColumns,
    start: usize,
    last_steps: &mut HashMap<u32, i64>,
) {
    let scalar_keys: Vec<(u32, i64)> = cols.tag[start..]
        .iter()
        .copied()
        .zip(cols.step[start..].iter().copied())
        .collect();
    let item_keys: Vec<(u32, i64)> = out.items.iter().map(|it| (it.tag, it.step)).collect();
    // Per tag: the smallest step of this poll, and the largest that survives it.
    let mut lowest: HashMap<u32, i64> = HashMap::new();
    for &(tag, step) in scalar_keys.iter().chain(&item_keys) {
        let e = lowest.entry(tag).or_insert(step);
        *e = (*e).min(step);
    }
    let scalar_mask = restart_mask(&scalar_keys);
    let item_mask = restart_mask(&item_keys);
    let mut highest: HashMap<u32, i64> = HashMap::new();
    let kept = scalar_keys.iter().zip(&scalar_mask);
    for (&(tag, step), _) in kept
        .chain(item_keys.iter().zip(&item_mask))
        .filter(|k| *k.1)
    {
        let e = highest.entry(tag).or_insert(step);
        *e = (*e).max(step);
    }
    let mut tags: Vec<u32> = lowest.keys().copied().collect();
    tags.sort_unstable();
    for tag in tags {
        let (low, high) = (lowest[&tag], highest.get(&tag).copied());
        let high = high.unwrap_or(low);
        match last_steps.get(&tag) {
            // Earlier polls returned records at steps >= low: superseded.
            Some(&prev) if low <= prev => {
                out.purges.push((tag, low));
                last_steps.insert(tag, high);
            }
            Some(&prev) => {
                last_steps.insert(tag, prev.max(high));
            }
            None => {
                last_steps.insert(tag, high);
            }
        }
    }
    cols.keep_from(start, &scalar_mask);
    let mut i = 0;
    out.items.retain(|_| {
        i += 1;
        item_mask[i - 1]
    });
}

/// Which of `(tag, step)` records, in write order, survive the restart rule.
pub fn restart_mask(keys: &[(u32, i64)]) -> Vec<bool> {
    let mut keep = vec![true; keys.len()];
    let mut per_tag: HashMap<u32, (i64, Vec<usize>)> = HashMap::new();
    for (i, &(tag, step)) in keys.iter().enumerate() {
        let e = per_tag.entry(tag).or_insert((i64::MIN, Vec::new()));
        if !e.1.is_empty() && step <= e.0 {
            let mut max = i64::MIN;
            e.1.retain(|&j| {
                if keys[j].1 >= step {
                    keep[j] = false;
                    false
                } else {
                    max = max.max(keys[j].1);
                    true
                }
            });
            e.0 = max;
        }
        e.1.push(i);
        e.0 = e.0.max(step);
    }
    keep
}
