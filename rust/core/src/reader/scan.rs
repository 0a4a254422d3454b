//! The per-file hot path: each record of a file, inside the framing loop; plain scalars of
//! known tags go straight to the columns, everything else to [`RunState::process`].

use std::io;

use super::classify::bump;
use super::restarts::purge_restarts;
use super::{
    decode, frames, FileReport, Kind, ReadOptions, ReaderError, RunOutput, RunState, ScalarColumns,
    ScalarEncoding,
};
use crate::format::plugins;
use crate::storage;

/// Why a file's scan stopped early.
pub(super) enum ScanError {
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

impl RunState {
    /// Bytes of this run's files past where the last read stopped (0 for files it cannot stat;
    /// the length the listing gave, for files that cannot grow such as objects).
    pub(super) fn unread_bytes(&self) -> u64 {
        self.files
            .iter()
            .filter(|f| !f.stopped)
            .map(|f| {
                f.len
                    .map_or_else(|| storage::len(&f.path), Ok)
                    .map(|n| n.saturating_sub(f.offset))
                    .unwrap_or(0)
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
        let (path, offset, file_id, len) = {
            let f = &self.files[i];
            (f.path.clone(), f.offset, f.global, f.len)
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
        if len.is_some_and(|n| n <= offset) {
            // An object read to its end: it cannot grow, nothing to ask for.
            return Ok(report);
        }
        let file = match storage::open(&path, offset, len) {
            Ok(f) => f,
            // A file that vanished between discovery and reading: nothing to read.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(report),
            Err(e) => return Err(io_err(e)),
        };
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
