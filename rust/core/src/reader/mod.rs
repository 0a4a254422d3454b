//! The bulk reader: every record of every summary kind in a logdir, into columns.
//!
//! * [`discovery`]: runs and event files, as TensorBoard finds them.
//! * `decode`: zero-allocation scanning of the `Event` wire format (the scalar fast path).
//! * [`tensor`]: owned decoding of tensors, histograms, images and audio.
//! * `huge_pages`: transparent huge pages for large output buffers.
//! * [`plan`]: byte-balanced grouping of runs (one group per thread, or per machine).
//! * [`events`]: the events of one file one at a time, read as the bulk reader reads them.
//! * private, by concern: `output` (the output types, re-exported here), `tags` (tag
//!   interning), `error` ([`ReaderError`], [`CorruptKind`]), `scan` (the per-file hot path), `classify` (the general path: values sorted
//!   into kinds by plugin), `hparams`, `restarts` (TensorBoard's restart rule), `merge` (the
//!   groups' outputs into one).
//!
//! [`LogReader`] holds the reading state of one logdir (or file): where each file was left,
//! each tag's plugin per run, interned tags. [`LogReader::poll`] reads whatever was appended
//! since the last call (everything, the first time) and never fails on an incomplete tail: it
//! stops there and resumes there next time. Runs are read in contiguous groups of about equal
//! bytes, one per thread of the `runtime::parallel` pool, each group's scalars into one
//! set of columns that the merge appends to the first group's; a run's files are read in order
//! (a tag's plugin comes from its first metadata), each streamed through one reusable buffer.
//! Each record goes through a hot path inside the framing loop: a plain scalar of
//! a known tag is located without decoding its numbers, then dropped (filtered out) or
//! appended to the columns; every other record takes the general path, out of line.
//!
//! A file big enough to be worth it is split between the pool's threads (`split`): each part
//! finds its first record boundary, is read with the tag facts known at the split, and is
//! checked against the parts before it (its start must be the previous part's real end, its
//! tags' plugins those the parts before it set); a part that fails a check is read again in
//! order, so the output is the one-thread read's.
//!
//! Fault policy: an incomplete tail is normal; a record whose payload CRC fails is skipped and
//! counted; after a corrupt length the reader resynchronises on the next position where a
//! record's length and payload CRCs both hold and reports the bytes passed over
//! ([`FileReport::skipped`]); with [`ReadOptions::strict`] both raise [`ReaderError::Corrupt`]
//! instead.
//!
//! ```no_run
//! use ferroboard_core::reader::{LogReader, ReadOptions};
//! let mut r = LogReader::new("runs".as_ref(), ReadOptions::default());
//! let out = r.poll()?;
//! println!("{} scalars", out.scalars.len());
//! # Ok::<(), ferroboard_core::reader::ReaderError>(())
//! ```

mod classify;
#[doc(hidden)] // the zero-copy wire scanner: public for the fuzz tests and benchmarks
pub mod decode;
pub mod discovery;
mod error;
pub mod events;
mod frames;
pub mod gather;
mod hparams;
#[doc(hidden)] // an allocation hint for the binding
pub mod huge_pages;
mod merge;
mod output;
pub mod plan;
mod restarts;
mod scan;
mod split;
mod tags;
pub mod tensor;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

pub use decode::ScalarEncoding;
pub use error::{CorruptKind, ReaderError};
pub use output::{
    FileReport, HValue, Item, Payload, Purge, ReadOutput, RunHParams, ScalarColumns, TagInfo,
};
pub use restarts::restart_mask;
pub use tensor::{Audio, Histogram, Image, TensorData, TensorValue};

pub use crate::format::plugins::Kind;
use plan::group_sizes;
use tags::LocalTags;

/// A set of kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindSet(pub u16);

impl KindSet {
    /// Every kind.
    pub const ALL: KindSet = KindSet(0xff);
    /// Whether `k` is in the set.
    #[inline]
    pub fn has(self, k: Kind) -> bool {
        self.0 & k.bit() != 0
    }
    /// The set of the given kinds.
    pub fn of(kinds: &[Kind]) -> KindSet {
        KindSet(kinds.iter().fold(0, |acc, k| acc | k.bit()))
    }
}

/// What to read and how.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Kinds to decode; values of other kinds are skipped undecoded.
    pub kinds: KindSet,
    /// Only these runs (`None`: all).
    pub runs: Option<HashSet<String>>,
    /// Only these tags (`None`: all). Values of other tags are not decoded.
    pub tags: Option<HashSet<String>>,
    /// Check the payload CRC of every record whose data is returned (lengths' CRCs are
    /// always checked). With a tag filter, the plain scalar records of tags already known to
    /// be filtered out are skipped unverified, since nothing of them is returned; corrupt
    /// records among them are then not counted. `strict` verifies every record.
    pub check_crc: bool,
    /// Raise on a corrupt record instead of skipping it (bad payload CRC) or resynchronising
    /// after it (bad length CRC).
    pub strict: bool,
    /// TensorBoard data server's view of restarted runs: per run and tag, a record at step `s`
    /// drops the earlier-written records of that tag with step `>= s`. Off: every record as
    /// written. Across [`LogReader::poll`] calls, records already returned are not taken back:
    /// each result lists in [`ReadOutput::purges`] those a restart in it supersedes.
    pub purge_restarts: bool,
    /// How a big file is split between the pool's threads (the result is the same).
    pub split: SplitOptions,
}

/// How a big file is split between the pool's threads: after a head of `head` bytes read in
/// order, into at most one part per thread and parts of at least `min_part` bytes (a file is
/// split only if that gives two parts or more). Strict reads are never split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitOptions {
    /// Bytes read in order first (their tags' plugins are known to every part).
    pub head: u64,
    /// The smallest part (`u64::MAX`: never split).
    pub min_part: u64,
}

impl Default for SplitOptions {
    fn default() -> Self {
        SplitOptions {
            head: 256 << 10,
            min_part: 4 << 20,
        }
    }
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            kinds: KindSet::ALL,
            runs: None,
            tags: None,
            check_crc: true,
            strict: false,
            purge_restarts: false,
            split: SplitOptions::default(),
        }
    }
}

#[derive(Debug)]
struct FileState {
    path: PathBuf,
    /// The length the listing gave, for files that cannot grow (objects); `None`: ask.
    len: Option<u64>,
    offset: u64,
    /// The last read ended inside a resynchronisation: the next one resumes it.
    resyncing: bool,
    global: u32,
}

#[derive(Debug, Default)]
struct RunState {
    name: String,
    global: u32,
    files: Vec<FileState>,
    tags: LocalTags,
    has_graph: bool,
    /// The last `graph_def` event's bytes (the graph TensorBoard shows for the run).
    graph_def: Option<std::sync::Arc<[u8]>>,
    run_metadata: Vec<String>,
    hparams: RunHParams,
    /// With `purge_restarts`: per local tag, the largest step among the records returned so
    /// far that no later record has superseded.
    last_steps: HashMap<u32, i64>,
    /// In a part of a split file: the hparams plugin contents noted, in order, replayed on
    /// the run when the part is merged.
    hparams_log: Option<Vec<Vec<u8>>>,
}

/// One run's share of a poll, with run-local tag ids. Its scalars are the rows `scalars` of
/// its group's columns.
#[derive(Debug, Default)]
struct RunOutput {
    scalars: std::ops::Range<usize>,
    items: Vec<Item>,
    reports: Vec<(u32, FileReport)>,
    counts: Vec<[u64; 8]>,
    /// `(local tag, step)`: records of earlier polls superseded by a restart in this one.
    purges: Vec<(u32, i64)>,
}

/// A contiguous group of runs' share of a poll: their scalars back to back in one set of
/// columns (`run` not filled yet, tags run-local), and each run's output in order.
#[derive(Debug, Default)]
struct GroupOutput {
    scalars: ScalarColumns,
    runs: Vec<RunOutput>,
}

/// The reading state of one logdir or event file; see the module documentation.
#[derive(Debug)]
pub struct LogReader {
    root: PathBuf,
    opts: ReadOptions,
    runs: Vec<RunState>,
    run_index: HashMap<String, usize>,
    known_files: HashSet<PathBuf>,
    tags: Vec<String>,
    tag_index: HashMap<String, u32>,
    next_file: u32,
}

impl LogReader {
    /// A reader of `root` (a logdir or one event file) that has read nothing yet.
    pub fn new(root: &Path, opts: ReadOptions) -> Self {
        LogReader {
            root: root.to_path_buf(),
            opts,
            runs: Vec::new(),
            run_index: HashMap::new(),
            known_files: HashSet::new(),
            tags: Vec::new(),
            tag_index: HashMap::new(),
            next_file: 0,
        }
    }

    /// The options.
    pub fn options(&self) -> &ReadOptions {
        &self.opts
    }

    /// Reads everything appended since the last call (everything, the first time).
    ///
    /// Run, file and tag indices are stable across calls: each output lists all runs, files
    /// and tags known so far, and reports only the files read by this call.
    pub fn poll(&mut self) -> Result<ReadOutput, ReaderError> {
        crate::runtime::parallel::install(|| self.poll_now())
    }

    /// [`LogReader::poll`], on the current thread pool.
    fn poll_now(&mut self) -> Result<ReadOutput, ReaderError> {
        let found = discovery::discover(&self.root).map_err(|source| ReaderError::Io {
            path: self.root.clone(),
            source,
        })?;
        for f in found {
            if self.known_files.contains(&f.path) {
                continue;
            }
            if let Some(runs) = &self.opts.runs {
                if !runs.contains(&f.run) {
                    continue;
                }
            }
            let idx = match self.run_index.get(&f.run) {
                Some(&i) => i,
                None => {
                    let i = self.runs.len();
                    self.runs.push(RunState {
                        name: f.run.clone(),
                        global: i as u32,
                        ..Default::default()
                    });
                    self.run_index.insert(f.run.clone(), i);
                    i
                }
            };
            self.known_files.insert(f.path.clone());
            let run = &mut self.runs[idx];
            run.files.push(FileState {
                path: f.path,
                len: f.len.filter(|_| crate::storage::is_remote(&self.root)),
                offset: 0,
                resyncing: false,
                global: self.next_file,
            });
            self.next_file += 1;
            run.files.sort_by(|a, b| a.path.cmp(&b.path));
        }
        // Runs are read in contiguous groups of about equal bytes, one per thread, each
        // group's scalars into one set of columns. The first group reserves room for all of
        // them, so that merging appends the other groups' rows in place.
        let opts = &self.opts;
        let weights: Vec<u64> = self.runs.par_iter().map(RunState::unread_bytes).collect();
        let total_bytes: u64 = weights.iter().sum();
        let mut jobs: Vec<(&mut [RunState], u64)> = Vec::new();
        let mut rest: &mut [RunState] = &mut self.runs;
        for (len, bytes) in group_sizes(&weights, rayon::current_num_threads()) {
            let (head, tail) = std::mem::take(&mut rest).split_at_mut(len);
            let reserve = if jobs.is_empty() { total_bytes } else { bytes };
            jobs.push((head, reserve));
            rest = tail;
        }
        let results: Vec<Result<GroupOutput, ReaderError>> = jobs
            .into_par_iter()
            .map(|(runs, bytes)| {
                let mut g = GroupOutput::default();
                if opts.kinds.has(Kind::Scalar) {
                    // Address space only: a scalar record takes at least ~40 bytes.
                    g.scalars.reserve((bytes / 40).min(1 << 28) as usize);
                }
                for r in runs {
                    g.runs.push(r.poll(opts, &mut g.scalars)?);
                }
                Ok(g)
            })
            .collect();
        let mut outs = Vec::with_capacity(results.len());
        for r in results {
            outs.push(r?);
        }
        Ok(self.merge(outs))
    }
}

/// Reads everything under `path` once.
pub fn read(path: &Path, opts: ReadOptions) -> Result<ReadOutput, ReaderError> {
    LogReader::new(path, opts).poll()
}

#[cfg(test)]
mod tests;
