//! The background thread: it owns the event files, writes batches with one `write` per
//! file, resolves deferred payloads, flushes, notices deleted files and reports every failure
//! through [`Shared`] (see the parent module for the policy).

use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::{Arc, TryLockError};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::batch::{Batch, Msg, Op, Shared};
use super::naming::file_namer;
use super::{DeferredPayload, FileId, WriteError};
use crate::format::record::encode_record;
use crate::storage::{self, FlushKind, NewFile, Sink};
use crate::summary::{self, WallTime};

pub(super) struct OpenFile {
    dir: PathBuf,
    suffix: String,
    /// Where the records go: a local file, or an object store's rolled objects.
    sink: Box<dyn Sink>,
    flush_interval: Duration,
    /// The file was found deleted (its directory removed); a new one is needed.
    gone: bool,
}

impl OpenFile {
    /// Creates a new event file in `dir` (created if missing; a local path or an object store
    /// URL, see [`crate::storage`]), named as TensorBoard's writer names them, and writes and
    /// flushes its header.
    pub(super) fn create(
        dir: &Path,
        suffix: &str,
        flush_interval: Duration,
    ) -> Result<OpenFile, WriteError> {
        let mut header = Vec::new();
        summary::encode_into(&summary::file_header(WallTime::now()), &mut header);
        let mut framed = Vec::new();
        encode_record(&mut framed, &header);
        let sink = storage::create(NewFile {
            dir,
            name: file_namer(suffix),
            header: &framed,
            flush_interval,
        })
        .map_err(|e| WriteError::io(e.op, &e.path, &e.source))?;
        Ok(OpenFile {
            dir: dir.to_owned(),
            suffix: suffix.to_owned(),
            sink,
            flush_interval,
            gone: false,
        })
    }

    pub(super) fn path(&self) -> &Path {
        self.sink.path()
    }
}

/// Part of a batch bound for one file.
enum Segment {
    /// `Batch::bytes[start..end]`.
    Range(usize, usize),
    /// Bytes framed elsewhere.
    Owned(Vec<u8>),
}

impl Segment {
    fn bytes<'a>(&'a self, batch: &'a [u8]) -> &'a [u8] {
        match self {
            Segment::Range(a, b) => &batch[*a..*b],
            Segment::Owned(v) => v,
        }
    }
}

/// Resolves a deferred payload; a panic in it becomes an error instead of stopping the thread.
fn resolve(item: Box<dyn DeferredPayload>) -> Result<Vec<u8>, String> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| item.resolve())) {
        Ok(r) => r,
        Err(panic) => {
            let msg = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".to_owned());
            Err(format!("producing it panicked: {msg}"))
        }
    }
}

pub(super) struct Worker {
    pub(super) shared: Arc<Shared>,
    pub(super) rx: Receiver<Msg>,
    pub(super) files: Vec<Option<OpenFile>>,
    pub(super) fsync: bool,
}

impl Drop for Worker {
    /// Runs when the thread ends, also by a panic: callers waiting for an answer stop waiting.
    fn drop(&mut self) {
        self.shared.worker_gone.store(true, Ordering::Release);
    }
}

impl Worker {
    pub(super) fn run(mut self, drain: Duration) {
        let mut next_drain = Instant::now() + drain;
        loop {
            let timeout = next_drain.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(timeout) {
                Ok(msg) => {
                    if self.handle(msg) {
                        return;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.drain_pending() {
                        return;
                    }
                    next_drain = Instant::now() + drain;
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let _ = self.flush_all(FlushKind::Close { sync: false });
                    return;
                }
            }
        }
    }

    /// Takes queued messages and the pending batch (in that order, which is the order they were
    /// made in), unless a caller is appending right now. Returns true when told to stop.
    fn drain_pending(&mut self) -> bool {
        let (msgs, batch) = {
            let mut pending = match self.shared.pending.try_lock() {
                Ok(g) => g,
                Err(TryLockError::Poisoned(p)) => p.into_inner(),
                Err(TryLockError::WouldBlock) => return false,
            };
            let msgs: Vec<Msg> = self.rx.try_iter().collect();
            (msgs, self.shared.take_batch(&mut pending))
        };
        for msg in msgs {
            if self.handle(msg) {
                return true;
            }
        }
        self.write_batch(batch);
        if let Err(e) = self.flush_all(FlushKind::Tick) {
            self.shared.record_error(e);
        }
        false
    }

    /// Returns true when told to stop.
    fn handle(&mut self, msg: Msg) -> bool {
        match msg {
            Msg::Batch(b) => {
                self.write_batch(b);
                false
            }
            Msg::Flush(ack) => {
                let r = self.flush_all(FlushKind::Explicit { sync: self.fsync });
                let _ = ack.send(r);
                false
            }
            Msg::Close(ack) => {
                // Anything still queued (nothing should be) is written first.
                let rest: Vec<Msg> = self.rx.try_iter().collect();
                for m in rest {
                    if let Msg::Batch(b) = m {
                        self.write_batch(b);
                    }
                }
                let r = self.flush_all(FlushKind::Close { sync: self.fsync });
                self.files.clear();
                let _ = ack.send(r);
                true
            }
        }
    }

    /// Writes a batch with one `write` per file: records bound for the same file are gathered
    /// (in order) first, so interleaved appends to several files (`add_scalars`) cost no more
    /// system calls than appends to one.
    fn write_batch(&mut self, batch: Batch) {
        let Batch { bytes, ops, .. } = batch;
        let mut start = 0;
        // Per file, in first-seen order: the segments to write, in append order.
        let mut plan: Vec<(FileId, Vec<Segment>)> = Vec::new();
        let push = |plan: &mut Vec<(FileId, Vec<Segment>)>, file: FileId, seg: Segment| match plan
            .iter_mut()
            .find(|(f, _)| *f == file)
        {
            Some((_, segs)) => segs.push(seg),
            None => plan.push((file, vec![seg])),
        };
        for op in ops {
            match op {
                Op::Inline { file, end } => {
                    push(&mut plan, file, Segment::Range(start, end));
                    start = end;
                }
                Op::Framed { file, bytes } => push(&mut plan, file, Segment::Owned(bytes)),
                Op::Deferred { file, item } => match resolve(item) {
                    Ok(payload) => {
                        let mut framed = Vec::with_capacity(payload.len() + 16);
                        encode_record(&mut framed, &payload);
                        push(&mut plan, file, Segment::Owned(framed));
                    }
                    Err(msg) => self.shared.record_error(WriteError::Deferred(msg)),
                },
                Op::Attach { file, open } => {
                    let i = file.0 as usize;
                    if self.files.len() <= i {
                        self.files.resize_with(i + 1, || None);
                    }
                    self.files[i] = Some(open);
                }
            }
        }
        let mut scratch = Vec::new();
        for (file, segs) in plan {
            if let [seg] = &segs[..] {
                self.write(file, seg.bytes(&bytes));
                continue;
            }
            scratch.clear();
            for seg in &segs {
                scratch.extend_from_slice(seg.bytes(&bytes));
            }
            self.write(file, &scratch);
        }
        self.shared.recycle(bytes);
    }

    fn write(&mut self, file: FileId, bytes: &[u8]) {
        let Some(Some(f)) = self.files.get_mut(file.0 as usize) else {
            return;
        };
        if f.gone {
            // The file was deleted: continue in a new file in the same (recreated) directory,
            // as TensorFlow's event writer does. While that fails, records are dropped and
            // every failure is reported.
            match OpenFile::create(&f.dir, &f.suffix, f.flush_interval) {
                Ok(new) => *f = new,
                Err(e) => {
                    self.shared.record_error(e);
                    return;
                }
            }
        }
        // On failure the sink keeps none of `bytes` (a local file is cut back to its last
        // whole record), so later records (once the fault clears) follow whole records.
        if let Err(e) = f.sink.append(bytes) {
            self.shared
                .record_error(WriteError::io("cannot write", f.sink.path(), &e));
        }
    }

    fn flush_all(&mut self, kind: FlushKind) -> Result<(), WriteError> {
        let sync = matches!(
            kind,
            FlushKind::Explicit { sync: true } | FlushKind::Close { sync: true }
        );
        let mut first = Ok(());
        for f in self.files.iter_mut().flatten() {
            if !f.sink.dirty() && !sync {
                continue;
            }
            if !f.gone && f.sink.deleted() {
                f.gone = true;
                if first.is_ok() {
                    first = Err(WriteError::Io {
                        op: "event file deleted (log directory removed?):",
                        path: f.path().to_owned(),
                        message: "records written since it was deleted are lost; later \
                                  records go to a new event file"
                            .to_owned(),
                        kind: io::ErrorKind::NotFound,
                        errno: Some(libc::ENOENT),
                    });
                }
                continue;
            }
            if let Err(e) = f.sink.flush(kind) {
                if first.is_ok() {
                    first = Err(WriteError::io("cannot flush", f.sink.path(), &e));
                }
            }
        }
        first
    }
}
