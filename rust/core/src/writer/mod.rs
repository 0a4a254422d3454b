//! The event writer: one background thread that owns any number of event files.
//!
//! Callers encode events on their own thread and append the framed records to a *pending
//! batch* under a short-held lock; no thread hand-off happens per event. A batch goes to the
//! background thread over a bounded channel when it holds [`WriterOptions::batch_events`]
//! events or [`WriterOptions::batch_bytes`] bytes; the channel's capacity
//! ([`WriterOptions::max_queue`] batches) gives back-pressure instead of unbounded memory. The
//! background thread also takes whatever is pending every [`WriterOptions::drain_interval`],
//! so events reach the operating system within that time even when logging is slow.
//!
//! Ordering: every hand-off of a batch happens under the pending lock, so records reach each
//! file in the order the appends were made.
//!
//! Errors in the background thread (a full disk, a removed directory, a deferred value that
//! failed) are kept and returned by the next call on the writer (an append that returns such an
//! error has still queued its own record); a failed write is rolled back
//! to the last whole record, so the file stays readable and later records land after it.
//!
//! A file deleted while open (its log directory removed) still accepts writes that reach no
//! one; the background thread notices at its next flush (`fstat` shows no link left), reports
//! it, and continues in a new file in the recreated directory, as TensorFlow's writer does.
//!
//! `close()` racing appends on other threads: an append either queues its record before
//! `close()` takes the pending lock (and the record is written), or fails with
//! [`WriteError::Closed`] having queued nothing; no append returns `Ok` for a lost record.
//!
//! Discarding ([`WriterOptions::discard`]): every call behaves as usual (records are framed,
//! deferred values produced, flushes and closes answered) but no directory or file is created
//! and the background thread drops every record: the sink of a process that must not write,
//! such as a non-zero rank in distributed training.
//!
//! `fork()`: a forked child's copy of a writer has no background thread. Every call on it
//! returns [`WriteError::Forked`] without touching its locks, and dropping it leaks its state
//! rather than risk a deadlock. Open a new writer in the child.
//!
//! The module is split by concern: this file holds the public API ([`EventWriter`], its
//! options and errors); `batch` the batch protocol between the calling threads and the
//! background thread; `worker` the background thread and the files it owns; `naming` the
//! names of event files; [`session`] what torch's `SummaryWriter` keeps between calls (the
//! main file, sub-run files and their path rule, reopening after close or fork).

mod batch;
mod naming;
pub mod session;
mod worker;

#[cfg(test)]
mod tests;

use std::io;
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, TryLockError};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{bounded, Sender, TrySendError};

use crate::format::record::encode_record;
use crate::runtime::fork;
use crate::summary::WallTime;

use batch::{lock, wait_ack, Batch, Msg, Op, Shared};
use naming::FILE_COUNTER;
pub use naming::{event_file_name, event_object_name, hostname};
pub use session::{Session, SessionConfig, SessionError, SubRunError};
use worker::{OpenFile, Worker};

/// Tuning of an [`EventWriter`].
#[derive(Debug, Clone)]
pub struct WriterOptions {
    /// Capacity of the channel to the background thread, in batches (at least 1).
    pub max_queue: usize,
    /// Longest time an event waits in memory before it is handed to the operating system.
    pub flush_interval: Duration,
    /// How often the background thread takes a partly filled batch (capped by `flush_interval`).
    pub drain_interval: Duration,
    /// Call `fsync` on every file at `flush()` and `close()`.
    pub fsync: bool,
    /// Events per batch before it is handed off.
    pub batch_events: usize,
    /// Bytes per batch before it is handed off.
    pub batch_bytes: usize,
    /// Write nothing: [`EventWriter::create_file`] creates no directory or file, and every
    /// record appended is dropped by the background thread (after deferred values are
    /// produced, so their errors are still reported).
    pub discard: bool,
}

impl Default for WriterOptions {
    fn default() -> Self {
        WriterOptions {
            max_queue: 10,
            flush_interval: Duration::from_secs(120),
            drain_interval: Duration::from_millis(50),
            fsync: false,
            batch_events: 1024,
            batch_bytes: 1 << 20,
            discard: false,
        }
    }
}

/// A record whose payload is produced later, on the background thread (for example a GPU
/// value whose copy to the host has not finished when it is logged).
pub trait DeferredPayload: Send {
    /// Produces the serialized `Event`; an `Err` is reported by the writer's next call.
    fn resolve(self: Box<Self>) -> Result<Vec<u8>, String>;
}

impl<F: FnOnce() -> Result<Vec<u8>, String> + Send> DeferredPayload for F {
    fn resolve(self: Box<Self>) -> Result<Vec<u8>, String> {
        (*self)()
    }
}

/// Identifies one event file of an [`EventWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FileId(u32);

impl FileId {
    /// The id as a number (for caches kept outside Rust).
    pub fn raw(self) -> u32 {
        self.0
    }

    /// An id from [`FileId::raw`]. Appending to an id that no `create_file` returned writes
    /// nothing.
    pub fn from_raw(raw: u32) -> Self {
        FileId(raw)
    }
}

/// Errors of an [`EventWriter`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum WriteError {
    /// Creating, writing, flushing or syncing a file failed.
    #[error("{op} {path}: {message}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's message.
        message: String,
        /// The `io::ErrorKind`.
        kind: io::ErrorKind,
        /// The operating system's error number, where there is one.
        errno: Option<i32>,
    },
    /// A deferred payload failed to resolve.
    #[error("a deferred value could not be written: {0}")]
    Deferred(String),
    /// The writer was closed.
    #[error("the writer is closed")]
    Closed,
    /// This is a forked child's copy of the writer.
    #[error("this writer was created in the parent process before fork(); open a new one")]
    Forked,
    /// The background thread is gone (it panicked).
    #[error("the background writer thread stopped unexpectedly")]
    ThreadGone,
}

impl WriteError {
    fn io(op: &'static str, path: &Path, e: &io::Error) -> Self {
        WriteError::Io {
            op,
            path: path.to_owned(),
            message: e.to_string(),
            kind: e.kind(),
            errno: e.raw_os_error(),
        }
    }
}

struct Inner {
    shared: Arc<Shared>,
    tx: Sender<Msg>,
    thread: Mutex<Option<JoinHandle<()>>>,
    next_file: AtomicU32,
    options: WriterOptions,
}

/// A background thread writing framed event records to one or more event files.
pub struct EventWriter {
    inner: ManuallyDrop<Inner>,
    generation: u64,
}

impl EventWriter {
    /// Starts the background thread.
    pub fn spawn(options: WriterOptions) -> io::Result<Self> {
        let generation = fork::generation();
        let (tx, rx) = bounded(options.max_queue.max(1));
        let shared = Arc::new(Shared {
            pending: Mutex::new(Batch::default()),
            spare: Mutex::new(None),
            spare_limit: options.batch_bytes.saturating_mul(4),
            error: Mutex::new(None),
            has_error: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            worker_gone: AtomicBool::new(false),
        });
        let drain = options
            .drain_interval
            .min(options.flush_interval)
            .max(Duration::from_millis(1));
        let worker = Worker {
            shared: Arc::clone(&shared),
            rx,
            files: Vec::new(),
            fsync: options.fsync,
        };
        let thread = std::thread::Builder::new()
            .name("ferroboard-writer".into())
            .spawn(move || worker.run(drain))?;
        Ok(EventWriter {
            inner: ManuallyDrop::new(Inner {
                shared,
                tx,
                thread: Mutex::new(Some(thread)),
                next_file: AtomicU32::new(0),
                options,
            }),
            generation,
        })
    }

    /// The options this writer was started with.
    pub fn options(&self) -> &WriterOptions {
        &self.inner.options
    }

    #[inline]
    fn usable(&self) -> Result<&Inner, WriteError> {
        if fork::generation() != self.generation {
            return Err(WriteError::Forked);
        }
        let inner = &*self.inner;
        if inner.shared.closed.load(Ordering::Acquire) {
            return Err(WriteError::Closed);
        }
        Ok(inner)
    }

    /// After a successful append: the background thread's error since the last call, if any.
    /// The append itself has already been queued.
    #[inline]
    fn report(inner: &Inner) -> Result<(), WriteError> {
        inner.shared.take_error().map_or(Ok(()), Err)
    }

    /// Whether `close()` has been called.
    pub fn is_closed(&self) -> bool {
        self.inner.shared.closed.load(Ordering::Acquire)
    }

    /// Whether this is a forked child's copy (see the module documentation).
    pub fn is_forked_copy(&self) -> bool {
        fork::generation() != self.generation
    }

    /// Creates a new event file in `dir` (created if missing), named as TensorBoard's writer
    /// names them, and writes and flushes its header before returning. A discarding writer
    /// creates nothing and returns the name the file would have had.
    pub fn create_file(&self, dir: &Path, suffix: &str) -> Result<(FileId, PathBuf), WriteError> {
        let inner = self.usable()?;
        if inner.options.discard {
            // The background thread holds no file for this id: what is appended to it is
            // dropped there.
            let id = FileId(inner.next_file.fetch_add(1, Ordering::Relaxed));
            let counter = FILE_COUNTER.fetch_add(1, Ordering::Relaxed);
            let name = event_file_name(
                WallTime::now().0 as u64,
                &hostname(),
                std::process::id(),
                counter,
                suffix,
            );
            return Ok((id, dir.join(name)));
        }
        let open = OpenFile::create(dir, suffix, inner.options.flush_interval)?;
        let path = open.path().to_owned();
        let id = FileId(inner.next_file.fetch_add(1, Ordering::Relaxed));
        let mut pending = lock(&inner.shared.pending);
        if inner.shared.closed.load(Ordering::Acquire) {
            // close() ran since the check above; the file keeps its header only.
            return Err(WriteError::Closed);
        }
        pending.ops.push(Op::Attach { file: id, open });
        Ok((id, path))
    }

    /// Appends one serialized `Event`, blocking if the queue to the background thread is full.
    pub fn append(&self, file: FileId, payload: &[u8]) -> Result<(), WriteError> {
        let inner = self.usable()?;
        let mut pending = Self::lock_open(inner)?;
        pending.push_inline(file, payload);
        if Self::full(&inner.options, &pending) {
            Self::hand_off(inner, &mut pending)?;
        }
        drop(pending);
        Self::report(inner)
    }

    /// Appends one serialized `Event` if that cannot block: returns `Ok(false)`, appending
    /// nothing, when the pending lock is taken or the batch would have to wait for a full queue.
    /// (A caller holding a lock the background thread may need, such as Python's GIL, tries
    /// this first and falls back to [`EventWriter::append`] after releasing that lock.)
    pub fn try_append(&self, file: FileId, payload: &[u8]) -> Result<bool, WriteError> {
        let inner = self.usable()?;
        let mut pending = match inner.shared.pending.try_lock() {
            Ok(g) => g,
            Err(TryLockError::Poisoned(p)) => p.into_inner(),
            Err(TryLockError::WouldBlock) => return Ok(false),
        };
        if inner.shared.closed.load(Ordering::Acquire) {
            return Err(WriteError::Closed);
        }
        let will_send = pending.events + 1 >= inner.options.batch_events
            || pending.bytes.len() + payload.len() + 16 >= inner.options.batch_bytes;
        if will_send && inner.tx.is_full() {
            return Ok(false);
        }
        pending.push_inline(file, payload);
        if will_send {
            let batch = inner.shared.take_batch(&mut pending);
            match inner.tx.try_send(Msg::Batch(batch)) {
                Ok(()) => {}
                Err(TrySendError::Full(Msg::Batch(b))) => {
                    inner
                        .shared
                        .recycle(std::mem::replace(&mut *pending, b).bytes);
                }
                Err(TrySendError::Full(_)) => unreachable!("only batches are sent here"),
                Err(TrySendError::Disconnected(_)) => return Err(WriteError::ThreadGone),
            }
        }
        drop(pending);
        Self::report(inner).map(|()| true)
    }

    /// Appends a large serialized `Event`: framing (CRC) happens before taking the lock.
    pub fn append_large(&self, file: FileId, payload: &[u8]) -> Result<(), WriteError> {
        let mut bytes = Vec::with_capacity(payload.len() + 16);
        encode_record(&mut bytes, payload);
        self.append_framed(file, bytes)
    }

    fn append_framed(&self, file: FileId, bytes: Vec<u8>) -> Result<(), WriteError> {
        let inner = self.usable()?;
        let mut pending = Self::lock_open(inner)?;
        pending.events += 1;
        let len = bytes.len();
        pending.ops.push(Op::Framed { file, bytes });
        if Self::full(&inner.options, &pending) || len >= inner.options.batch_bytes {
            Self::hand_off(inner, &mut pending)?;
        }
        drop(pending);
        Self::report(inner)
    }

    /// Appends a record whose payload is produced later on the background thread; it keeps its
    /// place in the order of records.
    pub fn append_deferred(
        &self,
        file: FileId,
        item: Box<dyn DeferredPayload>,
    ) -> Result<(), WriteError> {
        let inner = self.usable()?;
        let mut pending = Self::lock_open(inner)?;
        pending.events += 1;
        pending.ops.push(Op::Deferred { file, item });
        if Self::full(&inner.options, &pending) {
            Self::hand_off(inner, &mut pending)?;
        }
        drop(pending);
        Self::report(inner)
    }

    /// Returns once every record appended before this call is written and flushed to the
    /// operating system (and synced to disk with `fsync`), or the first error since the last call.
    pub fn flush(&self) -> Result<(), WriteError> {
        let inner = self.usable()?;
        let (ack_tx, ack_rx) = bounded(1);
        {
            let mut pending = Self::lock_open(inner)?;
            Self::hand_off(inner, &mut pending)?;
            inner
                .tx
                .send(Msg::Flush(ack_tx))
                .map_err(|_| WriteError::ThreadGone)?;
        }
        wait_ack(&inner.shared, &ack_rx)?;
        inner.shared.take_error().map_or(Ok(()), Err)
    }

    /// Writes everything pending, closes every file and stops the background thread.
    /// Idempotent: later calls return `Ok(())`. Appends after it fail with [`WriteError::Closed`].
    pub fn close(&self) -> Result<(), WriteError> {
        if fork::generation() != self.generation {
            return Err(WriteError::Forked);
        }
        let inner = &*self.inner;
        let Some(thread) = lock(&inner.thread).take() else {
            return Ok(());
        };
        let (ack_tx, ack_rx) = bounded(1);
        let sent = {
            let mut pending = lock(&inner.shared.pending);
            inner.shared.closed.store(true, Ordering::Release);
            Self::hand_off(inner, &mut pending).and_then(|()| {
                inner
                    .tx
                    .send(Msg::Close(ack_tx))
                    .map_err(|_| WriteError::ThreadGone)
            })
        };
        let result = sent.and_then(|()| wait_ack(&inner.shared, &ack_rx));
        let joined = thread.join();
        result?;
        if joined.is_err() {
            return Err(WriteError::ThreadGone);
        }
        inner.shared.take_error().map_or(Ok(()), Err)
    }

    /// The error the background thread met since the last call, if any (taken).
    pub fn take_error(&self) -> Option<WriteError> {
        if self.is_forked_copy() {
            return None;
        }
        self.inner.shared.take_error()
    }
}

impl Drop for EventWriter {
    fn drop(&mut self) {
        if self.is_forked_copy() {
            // Another thread of the parent may have held these locks at fork(): leak them.
            return;
        }
        let _ = self.close();
        // SAFETY: `inner` is dropped exactly once, here, and never used afterwards.
        unsafe { ManuallyDrop::drop(&mut self.inner) };
    }
}
