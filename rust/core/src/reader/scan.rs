//! The per-file hot path: each record of a file, inside the framing loop; plain scalars of
//! known tags go straight to the columns, everything else to [`RunState::process`].

use std::io;
use std::path::Path;

use super::classify::bump;
use super::restarts::purge_restarts;
use super::{
    decode, frames, CorruptKind, FileReport, Kind, ReadOptions, ReaderError, RunOutput, RunState,
    ScalarColumns, ScalarEncoding,
};
use crate::format::plugins;
use crate::storage;

/// Why a file's scan stopped early.
pub(super) enum ScanError {
    /// Reading the file failed.
    Io(io::Error),
    /// Strict mode met a corrupt record: its offset, and what is wrong.
    Strict(u64, CorruptKind),
}

impl From<io::Error> for ScanError {
    fn from(e: io::Error) -> Self {
        ScanError::Io(e)
    }
}

impl RunState {
    /// Bytes of this run's files past where the last read stopped (0 for files it cannot stat;
    /// the length the listing gave, for files that cannot grow such as objects).
    pub(super) fn unread_bytes(&self) -> u64 {
        self.files
            .iter()
            .map(|f| {
                f.len
                    .map_or_else(|| storage::len(&f.path), Ok)
                    .map_or(0, |n| n.saturating_sub(f.offset))
            })
            .sum()
    }

    /// Reads what was appended to this run's files, scalars appended to `cols`.
    pub(super) fn poll(
        &mut self,
        opts: &ReadOptions,
        cols: &mut ScalarColumns,
    ) -> Result<RunOutput, ReaderError> {
        let start = cols.len();
        let mut out = RunOutput::default();
        for i in 0..self.files.len() {
            let (report, resyncing) = self.read_file(i, opts, &mut out, cols)?;
            let f = &mut self.files[i];
            f.offset = report.end_offset;
            f.resyncing = resyncing;
            out.reports.push((f.global, report));
        }
        if opts.purge_restarts {
            purge_restarts(&mut out, cols, start, &mut self.last_steps);
        }
        out.scalars = start..cols.len();
        Ok(out)
    }

    /// Reads file `i` from where the last read ended: split between threads when it is big
    /// enough (see `split`), else whole. Returns its report and whether the read ended inside
    /// a resynchronisation.
    fn read_file(
        &mut self,
        i: usize,
        opts: &ReadOptions,
        out: &mut RunOutput,
        cols: &mut ScalarColumns,
    ) -> Result<(FileReport, bool), ReaderError> {
        let (path, offset, file_id, resyncing, len) = {
            let f = &self.files[i];
            (f.path.clone(), f.offset, f.global, f.resyncing, f.len)
        };
        let mut report = FileReport {
            run: self.global,
            path: path.clone(),
            start_offset: offset,
            end_offset: offset,
            ..Default::default()
        };
        if len.is_some_and(|n| n <= offset) {
            // An object read to its end: it cannot grow, nothing to ask for.
            return Ok((report, resyncing));
        }
        let mut stop = None;
        // One big local file is read in parts on every core; objects in remote storage whole.
        if !resyncing && !opts.strict && len.is_none() {
            stop = self.read_split(&path, file_id, offset, opts, out, cols, &mut report)?;
        }
        if stop.is_none() {
            let how = if resyncing {
                frames::Start::Resyncing
            } else {
                frames::Start::Boundary
            };
            let whole = Stretch {
                start: offset,
                how,
                limit: u64::MAX,
            };
            stop = self
                .scan_stretch(&path, file_id, whole, opts, out, cols, &mut report)?
                .map(|s| s.stop);
        }
        report.bad_length_at = report.skipped.first().map(|&(at, _)| at);
        let resyncing = match stop {
            // A file that vanished between discovery and reading: nothing read.
            None => resyncing,
            Some(frames::Stop::Incomplete {
                offset,
                pending,
                resyncing,
            }) => {
                report.end_offset = offset;
                report.pending = pending;
                resyncing
            }
            Some(frames::Stop::Limit { offset }) => {
                report.end_offset = offset;
                false
            }
            Some(frames::Stop::BadLengthCrc { offset }) => {
                // Only in strict mode: resynchronisation is off there.
                return Err(ReaderError::Corrupt {
                    path,
                    offset,
                    kind: CorruptKind::BadLengthCrc,
                });
            }
        };
        Ok((report, resyncing))
    }

    /// Frames one stretch of a file into this run's outputs; the bytes passed over by
    /// resynchronisation go into `report`, and the stop and first boundary are returned
    /// (`None`: the file no longer exists).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn scan_stretch(
        &mut self,
        path: &Path,
        file_id: u32,
        stretch: Stretch,
        opts: &ReadOptions,
        out: &mut RunOutput,
        cols: &mut ScalarColumns,
        report: &mut FileReport,
    ) -> Result<Option<Scanned>, ReaderError> {
        let io_err = |source| ReaderError::Io {
            path: path.to_path_buf(),
            source,
        };
        let len = self
            .files
            .iter()
            .find(|f| f.global == file_id)
            .and_then(|f| f.len);
        let file = match storage::open(path, stretch.start, len) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(e)),
        };
        // With a tag filter, scalar records of tags known to be filtered out are skipped
        // before their payload CRC is computed (strict mode checks everything).
        let filtered = !opts.strict && opts.tags.is_some();
        let scalars = opts.kinds.has(Kind::Scalar);
        let result = frames::with_buffer(|buf| -> Result<Scanned, ReaderError> {
            let mut framer = frames::Framer::new(file, stretch.start, opts.check_crc, buf);
            framer.set_start(stretch.how);
            framer.set_limit(stretch.limit);
            if opts.strict {
                framer.stop_at_bad_length();
            }
            let stop = framer
                .each(FileScan {
                    run: &mut *self,
                    file: file_id,
                    opts,
                    filtered,
                    scalars,
                    out: &mut *out,
                    cols: &mut *cols,
                    report: &mut *report,
                })
                .map_err(|e| match e {
                    ScanError::Io(e) => io_err(e),
                    ScanError::Strict(offset, kind) => ReaderError::Corrupt {
                        path: path.to_path_buf(),
                        offset,
                        kind,
                    },
                })?;
            report.skipped.extend(framer.take_skipped());
            Ok(Scanned {
                stop,
                found: framer.found(),
            })
        });
        cols.fill_file(file_id);
        result.map(Some)
    }
}

/// A stretch of a file to frame: where it starts, how, and the boundary to stop at.
pub(super) struct Stretch {
    pub(super) start: u64,
    pub(super) how: frames::Start,
    pub(super) limit: u64,
}

/// How a stretch's framing ended, and (for [`frames::Start::Anywhere`]) its first boundary.
pub(super) struct Scanned {
    pub(super) stop: frames::Stop,
    pub(super) found: Option<u64>,
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
                    } else if self.scalars && rec.data_crc_ok() {
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
        if !rec.data_crc_ok() {
            if strict {
                return Err(ScanError::Strict(rec.offset, CorruptKind::BadDataCrc));
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
                return Err(ScanError::Strict(rec.offset, CorruptKind::MalformedEvent));
            }
            self.report.malformed.push(rec.offset);
        }
        Ok(())
    }
}
