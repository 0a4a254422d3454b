//! The bulk reader: every record of every summary kind in a logdir, into columns.
//!
//! * [`discovery`]: runs and event files, as TensorBoard finds them.
//! * `decode`: zero-allocation scanning of the `Event` wire format (the scalar fast path).
//! * [`tensor`]: owned decoding of tensors, histograms, images and audio.
//! * `huge_pages`: transparent huge pages for large output buffers.
//! * [`plan`]: byte-balanced grouping of runs (one group per thread, or per machine).
//! * `output`, `tags`, `restarts`, `merge` (private): the output types (re-exported here), tag
//!   interning, TensorBoard's restart rule, and the merge of the groups' columns.
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
//! Fault policy: an incomplete tail is normal; a record whose payload CRC fails is skipped and
//! counted; a corrupt length stops that file and is reported with its byte offset; with
//! [`ReadOptions::strict`] both raise [`ReaderError::Corrupt`] instead.
//!
//! ```no_run
//! use ferroboard_core::reader::{LogReader, ReadOptions};
//! let mut r = LogReader::new("runs".as_ref(), ReadOptions::default());
//! let out = r.poll()?;
//! println!("{} scalars", out.scalars.len());
//! # Ok::<(), ferroboard_core::reader::ReaderError>(())
//! ```

#[doc(hidden)] // the zero-copy wire scanner: public for the fuzz tests and benchmarks
pub mod decode;
pub mod discovery;
mod frames;
#[doc(hidden)] // an allocation hint for the binding
pub mod huge_pages;
mod merge;
mod output;
pub mod plan;
mod restarts;
mod tags;
pub mod tensor;

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use prost::Message;
use rayon::prelude::*;

use crate::proto::hparams::{h_params_plugin_data, HParamsPluginData};
pub use decode::ScalarEncoding;
use decode::{plugin_of, scan_event, tensor_scalar, ValueKind, WhatView};
pub use tensor::{Audio, Histogram, Image, TensorData, TensorValue};

use crate::format::plugins;
pub use crate::format::plugins::Kind;
use merge::{merge_scalars, RunRows};
pub use output::{
    FileReport, HValue, Item, Payload, Purge, ReadOutput, RunHParams, ScalarColumns, TagInfo,
};
use plan::group_sizes;
use restarts::purge_restarts;
pub use restarts::restart_mask;
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
    /// Raise on a corrupt record instead of skipping (bad payload CRC) or stopping the file
    /// (bad length CRC).
    pub strict: bool,
    /// TensorBoard data server's view of restarted runs: per run and tag, a record at step `s`
    /// drops the earlier-written records of that tag with step `>= s`. Off: every record as
    /// written. Across [`LogReader::poll`] calls, records already returned are not taken back:
    /// each result lists in [`ReadOutput::purges`] those a restart in it supersedes.
    pub purge_restarts: bool,
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
        }
    }
}

/// Errors of the reader.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    /// The path (or a file under it) could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Strict mode: a corrupt record.
    #[error("{path}: {what} at byte offset {offset}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
}

#[derive(Debug)]
struct FileState {
    path: PathBuf,
    offset: u64,
    stopped: bool,
    global: u32,
}

#[derive(Debug, Default)]
struct RunState {
    name: String,
    global: u32,
    files: Vec<FileState>,
    tags: LocalTags,
    has_graph: bool,
    run_metadata: Vec<String>,
    hparams: RunHParams,
    /// With `purge_restarts`: per local tag, the largest step among the records returned so
    /// far that no later record has superseded.
    last_steps: HashMap<u32, i64>,
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

/// Why a file's scan stopped early.
enum ScanError {
    /// Reading the file failed.
    Io(io::Error),
    /// Strict mode met a corrupt record: its offset, and what is wrong.
    Strict(u64, &'static str),
}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        ScanError::Io(e)
    }
}

/// A contiguous group of runs' share of a poll: their scalars back to back in one set of
/// columns (`run` not filled yet, tags run-local), and each run's output in order.
#[derive(Debug, Default)]
struct GroupOutput {
    scalars: ScalarColumns,
    runs: Vec<RunOutput>,
}

impl RunState {
    /// Bytes of this run's files past where the last read stopped (0 for files it cannot stat).
    fn unread_bytes(&self) -> u64 {
        self.files
            .iter()
            .filter(|f| !f.stopped)
            .map(|f| {
                std::fs::metadata(&f.path)
                    .map(|m| m.len().saturating_sub(f.offset))
                    .unwrap_or(0)
            })
            .sum()
    }

    /// Reads what was appended to this run's files, scalars appended to `cols`.
    fn poll(
        &mut self,
        opts: &ReadOptions,
        cols: &mut ScalarColumns,
    ) -> Result<RunOutput, ReaderError> {
        let start = cols.len();
        let mut out = RunOutput::default();
        for i in 0..self.files.len() {
            if self.files[i].stopped {
                continue;
            }
            let report = self.read_file(i, opts, &mut out, cols)?;
            let f = &mut self.files[i];
            f.offset = report.end_offset;
            f.stopped = report.bad_length_at.is_some();
            out.reports.push((f.global, report));
        }
        if opts.purge_restarts {
            purge_restarts(&mut out, cols, start, &mut self.last_steps);
        }
        out.scalars = start..cols.len();
        Ok(out)
    }

    fn read_file(
        &mut self,
        i: usize,
        opts: &ReadOptions,
        out: &mut RunOutput,
        cols: &mut ScalarColumns,
    ) -> Result<FileReport, ReaderError> {
        let (path, offset, file_id) = {
            let f = &self.files[i];
            (f.path.clone(), f.offset, f.global)
        };
        let io_err = |source| ReaderError::Io {
            path: path.clone(),
            source,
        };
        let mut report = FileReport {
            run: self.global,
            path: path.clone(),
            start_offset: offset,
            end_offset: offset,
            ..Default::default()
        };
        let mut file = match File::open(&path) {
            Ok(f) => f,
            // A file that vanished between discovery and reading: nothing to read.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(report),
            Err(e) => return Err(io_err(e)),
        };
        if offset > 0 {
            file.seek(SeekFrom::Start(offset)).map_err(io_err)?;
        }
        // With a tag filter, scalar records of tags known to be filtered out are skipped
        // before their payload CRC is computed (strict mode checks everything).
        let filtered = !opts.strict && opts.tags.is_some();
        let scalars = opts.kinds.has(Kind::Scalar);
        let result = frames::with_buffer(|buf| -> Result<(), ReaderError> {
            let mut framer = frames::Framer::new(file, offset, opts.check_crc, buf);
            let corrupt = |offset, what| ReaderError::Corrupt {
                path: path.clone(),
                offset,
                what,
            };
            let stop = framer
                .each(FileScan {
                    run: &mut *self,
                    file: file_id,
                    opts,
                    filtered,
                    scalars,
                    out: &mut *out,
                    cols: &mut *cols,
                    report: &mut report,
                })
                .map_err(|e| match e {
                    ScanError::Io(e) => io_err(e),
                    ScanError::Strict(offset, what) => corrupt(offset, what),
                })?;
            match stop {
                frames::Stop::End { offset, pending } => {
                    report.end_offset = offset;
                    report.pending = pending;
                }
                frames::Stop::BadLength { offset } => {
                    if opts.strict {
                        return Err(corrupt(offset, "record length CRC mismatch"));
                    }
                    report.end_offset = offset;
                    report.bad_length_at = Some(offset);
                }
            }
            Ok(())
        });
        cols.fill_file(file_id);
        result?;
        Ok(report)
    }
}

/// One file's scan: where its records go (see [`RunState::read_file`]).
struct FileScan<'a> {
    run: &'a mut RunState,
    file: u32,
    opts: &'a ReadOptions,
    /// A tag filter is set and may skip records unverified (not in strict mode).
    filtered: bool,
    /// Scalars are among the kinds read.
    scalars: bool,
    out: &'a mut RunOutput,
    cols: &'a mut ScalarColumns,
    report: &'a mut FileReport,
}

impl frames::Visit for FileScan<'_> {
    type Error = ScanError;

    /// The hot path, compiled into the framing loop: a plain scalar record (numbers not
    /// decoded yet) of a known tag is dropped unverified if a tag filter leaves it out (see
    /// `ReadOptions::check_crc`), or appended to the columns once its CRC matches. Anything
    /// else goes the general way, out of line.
    #[inline(always)]
    fn record(&mut self, rec: frames::Record<'_>) -> Result<(), ScanError> {
        self.report.records += 1;
        let tags = &mut self.run.tags;
        let plain = decode::PlainScalar::of(rec.payload);
        let mut known = None;
        if let Some(p) = &plain {
            known = tags.lookup(p.tag());
            if let Some(id) = known {
                let slot = &tags.slots[id as usize];
                if slot.plugin != plugins::HPARAMS {
                    if !slot.wanted {
                        if self.filtered {
                            return Ok(());
                        }
                    } else if self.scalars && rec.intact() {
                        let (wall_time, step, _, x) = p.fields();
                        let simple = ScalarEncoding::Simple as u8;
                        self.cols.push(id, step, wall_time, f64::from(x), simple);
                        bump(&mut self.out.counts, id, Kind::Scalar);
                        return Ok(());
                    }
                }
            }
        }
        self.general(rec, plain.map(|p| (p, known)))
    }
}

impl FileScan<'_> {
    /// Verifies and reads a record the hot path did not take (`plain`: the plain scalar it
    /// is, with its tag's id if known): damage is counted in the report or, in strict mode,
    /// returned.
    #[inline(never)]
    fn general(
        &mut self,
        rec: frames::Record<'_>,
        plain: Option<(decode::PlainScalar<'_>, Option<u32>)>,
    ) -> Result<(), ScanError> {
        let strict = self.opts.strict;
        if !rec.intact() {
            if strict {
                return Err(ScanError::Strict(rec.offset, "record payload CRC mismatch"));
            }
            self.report.corrupt.push(rec.offset);
            return Ok(());
        }
        let read = self.run.process(
            rec.payload,
            plain,
            self.file,
            self.opts,
            self.out,
            self.cols,
        );
        if read.is_err() {
            if strict {
                return Err(ScanError::Strict(
                    rec.offset,
                    "malformed event (CRC matched)",
                ));
            }
            self.report.malformed.push(rec.offset);
        }
        Ok(())
    }
}

impl RunState {
    /// Reads one verified record into the run's outputs (`plain` as for
    /// [`FileScan::general`]).
    #[inline]
    fn process(
        &mut self,
        payload: &[u8],
        plain: Option<(decode::PlainScalar<'_>, Option<u32>)>,
        file: u32,
        opts: &ReadOptions,
        out: &mut RunOutput,
        cols: &mut ScalarColumns,
    ) -> Result<(), decode::WireError> {
        if let Some((p, known)) = plain {
            let (wall_time, step, tag, x) = p.fields();
            let id = known.unwrap_or_else(|| self.tags.insert(tag, opts));
            let slot = &self.tags.slots[id as usize];
            if slot.plugin != plugins::HPARAMS {
                if slot.wanted && opts.kinds.has(Kind::Scalar) {
                    cols.push(
                        id,
                        step,
                        wall_time,
                        f64::from(x),
                        ScalarEncoding::Simple as u8,
                    );
                    bump(&mut out.counts, id, Kind::Scalar);
                }
                return Ok(());
            }
        }
        let ev = scan_event(payload)?;
        match ev.what {
            WhatView::Summary(s) => {
                for f in decode::Fields::new(s) {
                    let (field, w) = f?;
                    let (1, decode::Wire::Bytes(vb)) = (field, w) else {
                        continue;
                    };
                    let v = decode::scan_value(vb)?;
                    let tag = if v.tag.is_empty() && matches!(v.value, ValueKind::Tensor(_)) {
                        v.node_name
                    } else {
                        v.tag
                    };
                    let id = self.tags.intern(tag, opts);
                    let slot = &mut self.tags.slots[id as usize];
                    if let Some(md) = v.metadata {
                        if !slot.has_metadata {
                            slot.has_metadata = true;
                            let (name, content) = plugin_of(md)?;
                            slot.plugin = String::from_utf8_lossy(name).into_owned();
                            slot.content = content.to_vec();
                            if plugins::is_graph(&slot.plugin) {
                                self.has_graph = true;
                            }
                        }
                    }
                    if slot.plugin == plugins::HPARAMS {
                        // torch and TensorFlow put the hparams data in the metadata, with an
                        // empty value or a dummy tensor: the kind follows the plugin.
                        let content = match v.metadata {
                            Some(md) => plugin_of(md)?.1.to_vec(),
                            None => slot.content.clone(),
                        };
                        let wanted = slot.wanted;
                        self.note_hparams(&content);
                        if wanted && opts.kinds.has(Kind::HParams) {
                            bump(&mut out.counts, id, Kind::HParams);
                            out.items.push(Item {
                                kind: Kind::HParams,
                                run: self.global,
                                file,
                                tag: id,
                                step: ev.step,
                                wall_time: ev.wall_time,
                                payload: Payload::None,
                            });
                        }
                        continue;
                    }
                    if !slot.wanted {
                        continue;
                    }
                    let kind_payload = match v.value {
                        ValueKind::Simple(x) => {
                            if opts.kinds.has(Kind::Scalar) {
                                cols.push(
                                    id,
                                    ev.step,
                                    ev.wall_time,
                                    f64::from(x),
                                    ScalarEncoding::Simple as u8,
                                );
                                bump(&mut out.counts, id, Kind::Scalar);
                            }
                            None
                        }
                        ValueKind::Histogram(b) => want(opts, Kind::Histogram, || {
                            Ok(Payload::Histogram(tensor::decode_histogram(b)?))
                        })?,
                        ValueKind::Image(b) => want(opts, Kind::Image, || {
                            Ok(Payload::Image(tensor::decode_image(b)?))
                        })?,
                        ValueKind::Audio(b) => want(opts, Kind::Audio, || {
                            Ok(Payload::Audio(tensor::decode_audio(b)?))
                        })?,
                        ValueKind::Tensor(b) => {
                            let kind = plugins::tensor_kind(&slot.plugin);
                            match kind {
                                Kind::Scalar => match tensor_scalar(b)? {
                                    Some((x, enc)) => {
                                        if opts.kinds.has(Kind::Scalar) {
                                            cols.push(id, ev.step, ev.wall_time, x, enc as u8);
                                            bump(&mut out.counts, id, Kind::Scalar);
                                        }
                                        None
                                    }
                                    None => want(opts, Kind::Tensor, || {
                                        Ok(Payload::Tensor(tensor::decode_tensor(b)?))
                                    })?,
                                },
                                k => want(opts, k, || {
                                    Ok(Payload::Tensor(tensor::decode_tensor(b)?))
                                })?,
                            }
                        }
                        ValueKind::ObsoleteHistogram(_) | ValueKind::None => None,
                    };
                    if let Some((kind, payload)) = kind_payload {
                        bump(&mut out.counts, id, kind);
                        out.items.push(Item {
                            kind,
                            run: self.global,
                            file,
                            tag: id,
                            step: ev.step,
                            wall_time: ev.wall_time,
                            payload,
                        });
                    }
                }
            }
            WhatView::GraphDef(_) | WhatView::MetaGraphDef(_) => self.has_graph = true,
            WhatView::TaggedRunMetadata(b) => {
                for f in decode::Fields::new(b) {
                    if let (1, w) = f? {
                        let t = String::from_utf8_lossy(w.bytes()).into_owned();
                        if !self.run_metadata.contains(&t) {
                            self.run_metadata.push(t);
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn note_hparams(&mut self, content: &[u8]) {
        let Ok(pd) = HParamsPluginData::decode(content) else {
            return;
        };
        match pd.data {
            Some(h_params_plugin_data::Data::SessionStartInfo(ssi)) => {
                let mut hp: Vec<(String, HValue)> = ssi
                    .hparams
                    .into_iter()
                    .map(|(k, v)| (k, hvalue(v)))
                    .collect();
                hp.sort_by(|a, b| a.0.cmp(&b.0));
                self.hparams.hparams = hp;
                self.hparams.group_name = ssi.group_name;
                self.hparams.start_time_secs = ssi.start_time_secs;
            }
            Some(h_params_plugin_data::Data::Experiment(exp)) => {
                for m in exp.metric_infos {
                    if let Some(name) = m.name {
                        if !self.hparams.metric_tags.contains(&name.tag) {
                            self.hparams.metric_tags.push(name.tag);
                        }
                    }
                }
            }
            Some(h_params_plugin_data::Data::SessionEndInfo(sei)) => {
                self.hparams.status = Some(sei.status);
            }
            None => {}
        }
    }
}

fn hvalue(v: prost_types::Value) -> HValue {
    use prost_types::value::Kind as K;
    match v.kind {
        Some(K::NumberValue(x)) => HValue::Number(x),
        Some(K::StringValue(s)) => HValue::Str(s),
        Some(K::BoolValue(b)) => HValue::Bool(b),
        _ => HValue::Null,
    }
}

#[inline]
fn bump(counts: &mut Vec<[u64; 8]>, tag: u32, kind: Kind) {
    let i = tag as usize;
    if counts.len() <= i {
        counts.resize(i + 1, [0; 8]);
    }
    counts[i][kind as usize] += 1;
}

type KP = Option<(Kind, Payload)>;

#[inline]
fn want(
    opts: &ReadOptions,
    kind: Kind,
    f: impl FnOnce() -> Result<Payload, decode::WireError>,
) -> Result<KP, decode::WireError> {
    if opts.kinds.has(kind) {
        Ok(Some((kind, f()?)))
    } else {
        Ok(None)
    }
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
                offset: 0,
                stopped: false,
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

    fn merge(&mut self, groups: Vec<GroupOutput>) -> ReadOutput {
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
        result.tags = self.tags.clone();
        result
    }
}

/// Reads everything under `path` once.
pub fn read(path: &Path, opts: ReadOptions) -> Result<ReadOutput, ReaderError> {
    LogReader::new(path, opts).poll()
}

#[cfg(test)]
mod tests;
