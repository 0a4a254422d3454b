//! The merge: every group's scalar columns into one set, with global run and tag ids.

use super::{huge_pages, GroupOutput, ScalarColumns};

/// One run's rows in its group's columns: the rows, the run, its tag map (local to global).
pub(super) type RunRows<'a> = (std::ops::Range<usize>, u32, &'a [u32]);

/// The scalar columns of all groups as one set: the first group's columns, with the others'
/// rows appended (each column by its own task: they are independent), `run` built and tags
/// mapped to global ids. `parts` lists each group's runs' rows.
pub(super) fn merge_scalars(
    groups: &mut [GroupOutput],
    parts: &[Vec<RunRows<'_>>],
) -> ScalarColumns {
    let mut cols = std::mem::take(&mut groups[0].scalars);
    let total: usize = cols.len() + groups[1..].iter().map(|g| g.scalars.len()).sum::<usize>();
    cols.reserve(total - cols.len());
    let mut run = Vec::with_capacity(total);
    huge_pages::advise(&mut run);
    let rest = &groups[1..];
    {
        let ScalarColumns {
            file,
            tag,
            step,
            wall_time,
            value,
            encoding,
            ..
        } = &mut cols;
        fn append<T: Copy>(
            v: &mut Vec<T>,
            rest: &[GroupOutput],
            col: impl Fn(&ScalarColumns) -> &[T],
        ) {
            for g in rest {
                v.extend_from_slice(col(&g.scalars));
            }
        }
        rayon::scope(|sc| {
            sc.spawn(|_| append(step, rest, |c| &c.step));
            sc.spawn(|_| append(wall_time, rest, |c| &c.wall_time));
            sc.spawn(|_| append(value, rest, |c| &c.value));
            sc.spawn(|_| {
                for g in rest {
                    file.extend_from_slice(&g.scalars.file);
                    encoding.extend_from_slice(&g.scalars.encoding);
                }
            });
            sc.spawn(|_| {
                for (range, _, map) in &parts[0] {
                    for t in &mut tag[range.clone()] {
                        *t = map[*t as usize];
                    }
                }
                for (g, p) in rest.iter().zip(&parts[1..]) {
                    for (range, _, map) in p {
                        let tags = &g.scalars.tag[range.clone()];
                        tag.extend(tags.iter().map(|&t| map[t as usize]));
                    }
                }
            });
            sc.spawn(|_| {
                for (range, r, _) in parts.iter().flatten() {
                    run.resize(run.len() + range.len(), *r);
                }
            });
        });
    }
    cols.run = run;
    cols
}
