//! What a read returns: the scalar columns, the items of every other kind, per-file reports,
//! tag information, hparams and purges.

use std::path::PathBuf;

use super::{huge_pages, Audio, Histogram, Image, Kind, TensorValue};

/// Scalars, one entry per record in each column.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScalarColumns {
    /// Index into [`ReadOutput::runs`].
    pub run: Vec<u32>,
    /// Index into [`ReadOutput::files`].
    pub file: Vec<u32>,
    /// Index into [`ReadOutput::tags`].
    pub tag: Vec<u32>,
    /// The event's step.
    pub step: Vec<i64>,
    /// The event's wall time.
    pub wall_time: Vec<f64>,
    /// The value, widened to f64.
    pub value: Vec<f64>,
    /// How it was encoded ([`ScalarEncoding`](super::ScalarEncoding) as u8).
    pub encoding: Vec<u8>,
}

impl ScalarColumns {
    /// Number of records.
    pub fn len(&self) -> usize {
        self.step.len()
    }
    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.step.is_empty()
    }
    /// Sets `file` of the records pushed since it was last filled (`run` is filled when the
    /// runs' rows are merged).
    pub(super) fn fill_file(&mut self, file: u32) {
        self.file.resize(self.step.len(), file);
    }
    /// Reserves room for `n` more rows (run excepted), on huge pages where that is worth it.
    pub(super) fn reserve(&mut self, n: usize) {
        fn r<T>(v: &mut Vec<T>, n: usize) {
            v.reserve(n);
            huge_pages::advise(v);
        }
        r(&mut self.file, n);
        r(&mut self.tag, n);
        r(&mut self.step, n);
        r(&mut self.wall_time, n);
        r(&mut self.value, n);
        r(&mut self.encoding, n);
    }
    /// Appends one record; its `file` entry is filled in by [`ScalarColumns::fill_file`] once
    /// the file is read, its `run` entry when the runs' rows are merged.
    #[inline]
    pub(super) fn push(&mut self, tag: u32, step: i64, wt: f64, v: f64, enc: u8) {
        self.tag.push(tag);
        self.step.push(step);
        self.wall_time.push(wt);
        self.value.push(v);
        self.encoding.push(enc);
    }
    /// Appends the rows of `other` (whose `run` is not filled yet), its tags mapped by `map`,
    /// each column by its own task (they are independent).
    pub(super) fn append_mapped(&mut self, other: &ScalarColumns, map: &[u32]) {
        let ScalarColumns {
            file,
            tag,
            step,
            wall_time,
            value,
            encoding,
            ..
        } = self;
        rayon::scope(|sc| {
            sc.spawn(|_| step.extend_from_slice(&other.step));
            sc.spawn(|_| wall_time.extend_from_slice(&other.wall_time));
            sc.spawn(|_| value.extend_from_slice(&other.value));
            sc.spawn(|_| tag.extend(other.tag.iter().map(|&t| map[t as usize])));
            file.extend_from_slice(&other.file);
            encoding.extend_from_slice(&other.encoding);
        });
    }
    /// Keeps the rows from `start` on whose `mask` entry is true (the `run` column, not
    /// filled yet while a group is read, is left alone).
    pub(super) fn keep_from(&mut self, start: usize, mask: &[bool]) {
        fn k<T: Copy>(v: &mut Vec<T>, start: usize, mask: &[bool]) {
            let mut w = start;
            for (i, &keep) in mask.iter().enumerate() {
                if keep {
                    v[w] = v[start + i];
                    w += 1;
                }
            }
            v.truncate(w);
        }
        k(&mut self.file, start, mask);
        k(&mut self.tag, start, mask);
        k(&mut self.step, start, mask);
        k(&mut self.wall_time, start, mask);
        k(&mut self.value, start, mask);
        k(&mut self.encoding, start, mask);
    }
}

/// The data of a non-scalar record.
#[derive(Debug, Clone, PartialEq)]
pub enum Payload {
    /// A legacy `HistogramProto`.
    Histogram(Histogram),
    /// A `Summary.Image`.
    Image(Image),
    /// A `Summary.Audio`.
    Audio(Audio),
    /// A tensor (of any kind: which one is [`Item::kind`]).
    Tensor(TensorValue),
    /// A value whose data lives in its tag's plugin content (hparams).
    None,
}

/// A non-scalar record.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// Its kind.
    pub kind: Kind,
    /// Index into [`ReadOutput::runs`].
    pub run: u32,
    /// Index into [`ReadOutput::files`].
    pub file: u32,
    /// Index into [`ReadOutput::tags`].
    pub tag: u32,
    /// The event's step.
    pub step: i64,
    /// The event's wall time.
    pub wall_time: f64,
    /// The data.
    pub payload: Payload,
}

/// A hyperparameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum HValue {
    /// A number.
    Number(f64),
    /// A string.
    Str(String),
    /// A boolean.
    Bool(bool),
    /// Null or an unsupported kind.
    Null,
}

/// What the hparams plugin says about one run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunHParams {
    /// Hyperparameters from `session_start_info`, in the order they were decoded.
    pub hparams: Vec<(String, HValue)>,
    /// Metric tags named by an `experiment` summary in this run.
    pub metric_tags: Vec<String>,
    /// `session_end_info` status, if any (1 success, 2 failure, 3 running).
    pub status: Option<i32>,
    /// `session_start_info.group_name`.
    pub group_name: String,
    /// `session_start_info.start_time_secs`.
    pub start_time_secs: f64,
}

/// What one file's read did.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FileReport {
    /// Index into [`ReadOutput::runs`].
    pub run: u32,
    /// The file.
    pub path: PathBuf,
    /// Offset this read started at.
    pub start_offset: u64,
    /// Offset of the first byte not consumed: where the next read resumes.
    pub end_offset: u64,
    /// Records read (including skipped corrupt ones).
    pub records: u64,
    /// Offsets of records skipped because their payload CRC failed.
    pub corrupt: Vec<u64>,
    /// Offsets of records whose CRC matched but whose `Event` could not be parsed (skipped).
    pub malformed: Vec<u64>,
    /// Where the first damage of this read that broke the framing starts: a record whose
    /// length CRC fails (or, resuming an unfinished resynchronisation, this read's start).
    /// Without `strict` the reader resynchronised after it: see `skipped`.
    pub bad_length_at: Option<u64>,
    /// Byte ranges `(offset, length)` passed over by resynchronisation after a corrupt
    /// length, in file order: from the damaged record to the next position where a record's
    /// length CRC and payload CRC both hold.
    pub skipped: Vec<(u64, u64)>,
    /// Bytes of an incomplete record at the end (0: the file ends on a record boundary).
    pub pending: u64,
}

/// Per-tag facts of a run.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TagInfo {
    /// Index into [`ReadOutput::runs`].
    pub run: u32,
    /// Index into [`ReadOutput::tags`].
    pub tag: u32,
    /// The plugin named by the tag's first metadata (empty: none).
    pub plugin: String,
    /// Records of this tag in this read, per [`Kind`] as u8.
    pub counts: [u64; 8],
}

/// Everything one read returned.
#[derive(Debug, Clone, Default)]
pub struct ReadOutput {
    /// Run names (`.` for the logdir itself), indexed by the `run` columns.
    pub runs: Vec<String>,
    /// Event files, indexed by the `file` columns: reports of this read.
    pub files: Vec<FileReport>,
    /// Tags, indexed by the `tag` columns.
    pub tags: Vec<String>,
    /// Scalars.
    pub scalars: ScalarColumns,
    /// Everything else, per run in file and write order.
    pub items: Vec<Item>,
    /// Tags seen per run, in first-seen order.
    pub tag_info: Vec<TagInfo>,
    /// Whether each run (indexed like `runs`) holds a graph (`graph_def`, `meta_graph_def` or
    /// a summary of a graph plugin).
    pub has_graph: Vec<bool>,
    /// Per run: the serialized `GraphDef` of its last `graph_def` event (the one
    /// TensorBoard's graph dashboard shows), if any; shared, not copied, between polls.
    pub graph_defs: Vec<Option<std::sync::Arc<[u8]>>>,
    /// Tags of `tagged_run_metadata` events per run.
    pub run_metadata: Vec<Vec<String>>,
    /// hparams plugin data per run (default when none).
    pub hparams: Vec<RunHParams>,
    /// With [`ReadOptions::purge_restarts`](super::ReadOptions::purge_restarts), in
    /// incremental reading: records returned by earlier polls that a restart in this one
    /// supersedes.
    pub purges: Vec<Purge>,
}

/// Records of earlier polls superseded by a restart: those of `run` and `tag` at steps
/// `>= step` (what TensorBoard's data server would drop).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purge {
    /// Index into [`ReadOutput::runs`].
    pub run: u32,
    /// Index into [`ReadOutput::tags`].
    pub tag: u32,
    /// The first superseded step.
    pub step: i64,
}

impl ReadOutput {
    /// Records with a bad payload CRC in this read.
    pub fn corrupt_records(&self) -> usize {
        self.files.iter().map(|f| f.corrupt.len()).sum()
    }
    /// Bytes passed over by resynchronisation after corrupt lengths in this read.
    pub fn skipped_bytes(&self) -> u64 {
        self.files
            .iter()
            .flat_map(|f| &f.skipped)
            .map(|&(_, len)| len)
            .sum()
    }
}
