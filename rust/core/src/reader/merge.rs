//! The merge: every group's scalar columns into one set, with global run and tag ids.

use std::path::PathBuf;

use super::{
    huge_pages, FileReport, GroupOutput, LogReader, Purge, ReadOutput, ScalarColumns, TagInfo,
};

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
        fn append<T: Copy>(
            v: &mut Vec<T>,
            rest: &[GroupOutput],
            col: impl Fn(&ScalarColumns) -> &[T],
        ) {
            for g in rest {
                v.extend_from_slice(col(&g.scalars));
            }
        }
        let ScalarColumns {
            file,
            tag,
            step,
            wall_time,
            value,
            encoding,
            ..
        } = &mut cols;
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

impl LogReader {
    fn global_tag(&mut self, run: usize, local: u32) -> u32 {
        let slot = &mut self.runs[run].tags.slots[local as usize];
        if let Some(g) = slot.global {
            return g;
        }
        let g = match self.tag_index.get(&slot.name) {
            Some(&g) => g,
            None => {
                let g = self.tags.len() as u32;
                self.tags.push(slot.name.clone());
                self.tag_index.insert(slot.name.clone(), g);
                g
            }
        };
        slot.global = Some(g);
        g
    }

    pub(super) fn merge(&mut self, groups: Vec<GroupOutput>) -> ReadOutput {
        let mut result = ReadOutput::default();
        let maps: Vec<Vec<u32>> = (0..self.runs.len())
            .map(|ri| {
                let n = self.runs[ri].tags.slots.len() as u32;
                (0..n).map(|l| self.global_tag(ri, l)).collect()
            })
            .collect();
        // Per group, its runs' rows: (rows in the group's columns, run, tag map).
        let mut parts: Vec<Vec<RunRows<'_>>> = Vec::new();
        let mut ri = 0usize;
        for g in &groups {
            parts.push(
                g.runs
                    .iter()
                    .map(|o| {
                        ri += 1;
                        (o.scalars.clone(), (ri - 1) as u32, maps[ri - 1].as_slice())
                    })
                    .collect(),
            );
        }
        let mut groups = groups;
        result.scalars = merge_scalars(&mut groups, &parts);
        let mut files: Vec<Option<FileReport>> = vec![None; self.next_file as usize];
        let outs = groups.into_iter().flat_map(|g| g.runs);
        for (ri, mut o) in outs.enumerate() {
            let map = &maps[ri];
            for it in &mut o.items {
                it.tag = map[it.tag as usize];
            }
            result.items.append(&mut o.items);
            result
                .purges
                .extend(o.purges.iter().map(|&(tag, step)| Purge {
                    run: ri as u32,
                    tag: map[tag as usize],
                    step,
                }));
            for (gi, rep) in o.reports {
                files[gi as usize] = Some(rep);
            }
            let run = &self.runs[ri];
            for (l, slot) in run.tags.slots.iter().enumerate() {
                result.tag_info.push(TagInfo {
                    run: ri as u32,
                    tag: map[l],
                    plugin: slot.plugin.clone(),
                    counts: o.counts.get(l).copied().unwrap_or_default(),
                });
            }
        }
        result.runs = self.runs.iter().map(|r| r.name.clone()).collect();
        result.has_graph = self.runs.iter().map(|r| r.has_graph).collect();
        result.graph_defs = self.runs.iter().map(|r| r.graph_def.clone()).collect();
        result.run_metadata = self.runs.iter().map(|r| r.run_metadata.clone()).collect();
        result.hparams = self.runs.iter().map(|r| r.hparams.clone()).collect();
        // Files not read this time still get an entry (their path, no records).
        let mut all_files: Vec<FileReport> = Vec::with_capacity(files.len());
        let mut paths: Vec<(u32, PathBuf, u32, u64)> = Vec::new();
        for r in &self.runs {
            for f in &r.files {
                paths.push((f.global, f.path.clone(), r.global, f.offset));
            }
        }
        paths.sort_by_key(|p| p.0);
        for (gi, path, run, offset) in paths {
            all_files.push(files[gi as usize].take().unwrap_or(FileReport {
                run,
                path,
                start_offset: offset,
                end_offset: offset,
                ..Default::default()
            }));
        }
        result.files = all_files;
        result.tags.clone_from(&self.tags);
        result
    }
}
