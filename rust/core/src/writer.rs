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

use std::io;
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{bounded, Receiver, RecvTimeoutError, Sender, TrySendError};

use crate::format::record::encode_record;
use crate::runtime::fork;
use crate::storage::{self, FlushKind, NewFile, Sink};
use crate::summary::{self, WallTime};

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

enum Op {
    /// Framed records in `Batch::bytes`, up to (not including) `end`.
    Inline { file: FileId, end: usize },
    /// Framed records built outside the lock (large payloads).
    Framed { file: FileId, bytes: Vec<u8> },
    /// A payload resolved on the background thread.
    Deferred {
        file: FileId,
        item: Box<dyn DeferredPayload>,
    },
    /// Hands a newly created file to the background thread.
    Attach { file: FileId, open: OpenFile },
}

#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    ops: Vec<Op>,
    events: usize,
}

impl Batch {
    fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    fn push_inline(&mut self, file: FileId, payload: &[u8]) {
        encode_record(&mut self.bytes, payload);
        let end = self.bytes.len();
        match self.ops.last_mut() {
            Some(Op::Inline { file: f, end: e }) if *f == file => *e = end,
            _ => self.ops.push(Op::Inline { file, end }),
        }
        self.events += 1;
    }
}

enum Msg {
    Batch(Batch),
    Flush(Sender<Result<(), WriteError>>),
    Close(Sender<Result<(), WriteError>>),
}

struct OpenFile {
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
    fn create(dir: &Path, suffix: &str, flush_interval: Duration) -> Result<OpenFile, WriteError> {
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

    fn path(&self) -> &Path {
        self.sink.path()
    }
}

/// Names of a new event file: `None` asks for a fresh name of a file appended to (a new
/// counter each call, for when a name is taken); `Some(part)` the name of the `part`-th
/// object of a file rolled into objects, every part sharing the time and counter of the first
/// call (see [`event_object_name`]).
fn file_namer(suffix: &str) -> Box<dyn FnMut(Option<u64>) -> String + Send> {
    let host = hostname();
    let pid = std::process::id();
    let suffix = suffix.to_owned();
    let mut base: Option<(u64, u64)> = None;
    Box::new(move |part| {
        let fresh = || {
            (
                WallTime::now().0 as u64,
                FILE_COUNTER.fetch_add(1, Ordering::Relaxed),
            )
        };
        match part {
            None => {
                let (secs, counter) = fresh();
                event_file_name(secs, &host, pid, counter, &suffix)
            }
            Some(part) => {
                let (secs, counter) = *base.get_or_insert_with(fresh);
                event_object_name(secs, &host, pid, counter, part, &suffix)
            }
        }
    })
}

struct Shared {
    pending: Mutex<Batch>,
    error: Mutex<Option<WriteError>>,
    has_error: AtomicBool,
    closed: AtomicBool,
    /// Set when the background thread ends, normally or by a panic.
    worker_gone: AtomicBool,
}

impl Shared {
    fn record_error(&self, e: WriteError) {
        let mut slot = lock(&self.error);
        if slot.is_none() {
            *slot = Some(e);
        }
        self.has_error.store(true, Ordering::Release);
    }

    fn take_error(&self) -> Option<WriteError> {
        if !self.has_error.load(Ordering::Acquire) {
            return None;
        }
        let mut slot = lock(&self.error);
        self.has_error.store(false, Ordering::Release);
        slot.take()
    }
}

/// Waits for the background thread's answer to a flush or close. A bounded channel keeps the
/// messages already in it when its receiver is dropped, so a request queued just before the
/// thread died (a panic) would never be answered nor dropped: poll for the thread's end instead
/// of waiting forever.
fn wait_ack(shared: &Shared, ack: &Receiver<Result<(), WriteError>>) -> Result<(), WriteError> {
    loop {
        match ack.recv_timeout(Duration::from_millis(50)) {
            Ok(r) => return r,
            Err(RecvTimeoutError::Disconnected) => return Err(WriteError::ThreadGone),
            Err(RecvTimeoutError::Timeout) => {
                if shared.worker_gone.load(Ordering::Acquire) {
                    // The answer may have come just before the thread ended.
                    return ack.try_recv().unwrap_or(Err(WriteError::ThreadGone));
                }
            }
        }
    }
}

/// Locks a mutex, ignoring poisoning (the data is plain bytes and stays consistent).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
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

/// Per-process counter in event file names, as TensorBoard's writer keeps one.
static FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// This machine's host name, as Python's `socket.gethostname()` reports it.
pub fn hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for `buf.len()` bytes; gethostname NUL-terminates on success.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    "localhost".to_owned()
}

/// The name TensorBoard's writer gives an event file:
/// `events.out.tfevents.{10-digit seconds}.{hostname}.{pid}.{counter}{suffix}`.
pub fn event_file_name(seconds: u64, host: &str, pid: u32, counter: u64, suffix: &str) -> String {
    format!("events.out.tfevents.{seconds:010}.{host}.{pid}.{counter}{suffix}")
}

/// The name of the `part`-th object of an event file rolled into objects (object stores
/// cannot append): [`event_file_name`] with a 10-digit part number before the suffix,
/// `events.out.tfevents.{seconds}.{hostname}.{pid}.{counter}.{part:010}{suffix}`. TensorBoard
/// reads a run's files in name order, so the parts of one file read as one stream.
pub fn event_object_name(
    seconds: u64,
    host: &str,
    pid: u32,
    counter: u64,
    part: u64,
    suffix: &str,
) -> String {
    format!("events.out.tfevents.{seconds:010}.{host}.{pid}.{counter}.{part:010}{suffix}")
}

impl EventWriter {
    /// Starts the background thread.
    pub fn spawn(options: WriterOptions) -> io::Result<Self> {
        let generation = fork::generation();
        let (tx, rx) = bounded(options.max_queue.max(1));
        let shared = Arc::new(Shared {
            pending: Mutex::new(Batch::default()),
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

    /// Takes the pending lock, failing with [`WriteError::Closed`] if `close()` got it first.
    /// (`close()` sets the flag under this lock, so a record queued after the check here is
    /// always written by the background thread; one refused here was never queued.)
    fn lock_open(inner: &Inner) -> Result<MutexGuard<'_, Batch>, WriteError> {
        let pending = lock(&inner.shared.pending);
        if inner.shared.closed.load(Ordering::Acquire) {
            return Err(WriteError::Closed);
        }
        Ok(pending)
    }

    fn full(options: &WriterOptions, b: &Batch) -> bool {
        b.events >= options.batch_events || b.bytes.len() >= options.batch_bytes
    }

    /// Hands the pending batch to the background thread (blocking while the channel is full).
    /// Called with the pending lock held, which keeps hand-offs in order.
    fn hand_off(inner: &Inner, pending: &mut Batch) -> Result<(), WriteError> {
        if pending.is_empty() {
            return Ok(());
        }
        let batch = std::mem::take(pending);
        inner
            .tx
            .send(Msg::Batch(batch))
            .map_err(|_| WriteError::ThreadGone)
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
            let batch = std::mem::take(&mut *pending);
            match inner.tx.try_send(Msg::Batch(batch)) {
                Ok(()) => {}
                Err(TrySendError::Full(Msg::Batch(b))) => *pending = b,
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

struct Worker {
    shared: Arc<Shared>,
    rx: Receiver<Msg>,
    files: Vec<Option<OpenFile>>,
    fsync: bool,
}

impl Drop for Worker {
    /// Runs when the thread ends, also by a panic: callers waiting for an answer stop waiting.
    fn drop(&mut self) {
        self.shared.worker_gone.store(true, Ordering::Release);
    }
}

impl Worker {
    fn run(mut self, drain: Duration) {
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
            (msgs, std::mem::take(&mut *pending))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::record::{Frame, RecordReader};
    use crate::proto::Event;
    use prost::Message;
    use std::fs::{self, File};

    fn read_all(path: &Path) -> Vec<Event> {
        let mut r = RecordReader::new(File::open(path).unwrap());
        let mut out = Vec::new();
        while let Frame::Record { payload, .. } = r.read_next().unwrap() {
            out.push(Event::decode(payload).unwrap());
        }
        out
    }

    fn scalar(step: i64) -> Vec<u8> {
        let ev = summary::summary_event(
            WallTime(1.0),
            summary::Step(step),
            vec![summary::scalar_simple("x".into(), step as f64)],
        );
        ev.encode_to_vec()
    }

    #[test]
    fn header_then_events_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions {
            batch_events: 7,
            ..Default::default()
        })
        .unwrap();
        let (f, path) = w.create_file(dir.path(), ".suffix").unwrap();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with("events.out.tfevents."));
        assert!(name.ends_with(".suffix"));
        // The header is on disk before any flush.
        assert_eq!(read_all(&path).len(), 1);
        for s in 0..100 {
            w.append(f, &scalar(s)).unwrap();
        }
        w.flush().unwrap();
        let events = read_all(&path);
        assert_eq!(events.len(), 101);
        let steps: Vec<i64> = events[1..].iter().map(|e| e.step).collect();
        assert_eq!(steps, (0..100).collect::<Vec<_>>());
        w.close().unwrap();
        w.close().unwrap();
        assert!(matches!(w.append(f, &scalar(0)), Err(WriteError::Closed)));
    }

    #[test]
    fn drain_interval_writes_without_flush() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions {
            drain_interval: Duration::from_millis(5),
            ..Default::default()
        })
        .unwrap();
        let (f, path) = w.create_file(dir.path(), "").unwrap();
        w.append(f, &scalar(1)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while read_all(&path).len() < 2 {
            assert!(Instant::now() < deadline, "event never reached the file");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn deferred_keeps_its_place_and_errors_surface() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions::default()).unwrap();
        let (f, path) = w.create_file(dir.path(), "").unwrap();
        w.append(f, &scalar(1)).unwrap();
        w.append_deferred(f, Box::new(|| Ok(scalar(2)))).unwrap();
        w.append_large(f, &scalar(3)).unwrap();
        assert!(w.try_append(f, &scalar(4)).unwrap());
        w.flush().unwrap();
        let steps: Vec<i64> = read_all(&path)[1..].iter().map(|e| e.step).collect();
        assert_eq!(steps, vec![1, 2, 3, 4]);
        w.append_deferred(f, Box::new(|| Err("boom".to_owned())))
            .unwrap();
        assert!(matches!(w.flush(), Err(WriteError::Deferred(m)) if m == "boom"));
        // The writer keeps working after reporting the error.
        w.append(f, &scalar(5)).unwrap();
        w.flush().unwrap();
        assert_eq!(read_all(&path).last().unwrap().step, 5);
    }

    #[test]
    fn many_threads_keep_their_own_order() {
        let dir = tempfile::tempdir().unwrap();
        let w = Arc::new(
            EventWriter::spawn(WriterOptions {
                max_queue: 2,
                batch_events: 64,
                ..Default::default()
            })
            .unwrap(),
        );
        let (f, path) = w.create_file(dir.path(), "").unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let w = Arc::clone(&w);
                std::thread::spawn(move || {
                    for i in 0..5000 {
                        w.append(f, &scalar(t * 1_000_000 + i)).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        w.close().unwrap();
        let events = read_all(&path);
        assert_eq!(events.len(), 1 + 4 * 5000);
        for t in 0..4 {
            let mine: Vec<i64> = events[1..]
                .iter()
                .filter(|e| e.step / 1_000_000 == t)
                .map(|e| e.step % 1_000_000)
                .collect();
            assert_eq!(mine, (0..5000).collect::<Vec<_>>(), "thread {t}");
        }
    }

    #[test]
    fn discarding_writer_creates_nothing_and_still_reports() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions {
            discard: true,
            batch_events: 3,
            ..Default::default()
        })
        .unwrap();
        let (f, path) = w.create_file(&dir.path().join("run"), ".s").unwrap();
        assert!(path.starts_with(dir.path().join("run")));
        let (g, _) = w.create_file(&dir.path().join("run/sub"), "").unwrap();
        assert_ne!(f, g);
        for s in 0..10 {
            w.append(f, &scalar(s)).unwrap();
            w.append_large(g, &scalar(s)).unwrap();
            assert!(w.try_append(f, &scalar(s)).unwrap());
        }
        w.flush().unwrap();
        // A deferred value is still produced, and its failure reported.
        w.append_deferred(f, Box::new(|| Err("boom".to_owned())))
            .unwrap();
        assert!(matches!(w.flush(), Err(WriteError::Deferred(m)) if m == "boom"));
        w.append(f, &scalar(11)).unwrap();
        w.close().unwrap();
        assert!(w.is_closed());
        assert!(matches!(w.append(f, &scalar(0)), Err(WriteError::Closed)));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn several_files_on_one_thread() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions::default()).unwrap();
        let (a, pa) = w.create_file(&dir.path().join("a"), "").unwrap();
        let (b, pb) = w.create_file(&dir.path().join("b"), "").unwrap();
        for s in 0..10 {
            w.append(a, &scalar(s)).unwrap();
            w.append(b, &scalar(100 + s)).unwrap();
        }
        w.close().unwrap();
        assert_eq!(read_all(&pa).len(), 11);
        assert_eq!(read_all(&pb)[1].step, 100);
        assert_ne!(pa, pb);
    }

    /// TensorBoard reads a run's files in name order: the parts of a rolled file must sort
    /// in part order whatever the suffix, and stay event file names.
    #[test]
    fn rolled_object_names_sort_in_part_order() {
        for suffix in ["", ".v2", ".profile-empty"] {
            let names: Vec<String> = [0u64, 1, 9, 10, 11, 99_999, 1_000_000]
                .iter()
                .map(|&p| event_object_name(1_700_000_000, "host", 7, 3, p, suffix))
                .collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted, "{suffix}");
            assert!(names
                .iter()
                .all(|n| crate::reader::discovery::is_event_file_name(n) && n.ends_with(suffix)));
        }
    }
}

#[cfg(test)]
mod robustness_tests {
    use super::*;
    use crate::format::record::{Frame, RecordReader};
    use crate::proto::Event;
    use prost::Message;
    use std::fs::{self, File};

    fn steps(path: &Path) -> Vec<i64> {
        let mut r = RecordReader::new(File::open(path).unwrap());
        let mut out = Vec::new();
        while let Frame::Record { payload, .. } = r.read_next().unwrap() {
            out.push(Event::decode(payload).unwrap().step);
        }
        out
    }

    fn scalar(step: i64) -> Vec<u8> {
        summary::summary_event(
            WallTime(1.0),
            summary::Step(step),
            vec![summary::scalar_simple("x".into(), 0.0)],
        )
        .encode_to_vec()
    }

    #[test]
    fn a_panicking_deferred_value_is_an_error_not_a_dead_thread() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions::default()).unwrap();
        let (f, path) = w.create_file(dir.path(), "").unwrap();
        w.append(f, &scalar(1)).unwrap();
        w.append_deferred(
            f,
            Box::new(|| -> Result<Vec<u8>, String> { panic!("kaboom") }),
        )
        .unwrap();
        let err = w.flush().unwrap_err();
        assert!(
            matches!(&err, WriteError::Deferred(m) if m.contains("kaboom")),
            "{err:?}"
        );
        w.append(f, &scalar(2)).unwrap();
        w.close().unwrap();
        assert_eq!(steps(&path), vec![0, 1, 2]);
    }

    #[test]
    fn appends_racing_close_are_written_or_refused_never_lost() {
        // Each thread appends until refused with `Closed`; every append that returned Ok must
        // be in the file (close() sets the flag under the pending lock).
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let w = Arc::new(
                EventWriter::spawn(WriterOptions {
                    batch_events: 3,
                    max_queue: 1,
                    ..Default::default()
                })
                .unwrap(),
            );
            let (f, path) = w.create_file(dir.path(), "").unwrap();
            let threads: Vec<_> = (0..4)
                .map(|t| {
                    let w = Arc::clone(&w);
                    std::thread::spawn(move || {
                        let mut ok = 0i64;
                        loop {
                            let step = t * 1_000_000 + ok;
                            let r = if ok % 2 == 0 {
                                w.append(f, &scalar(step))
                            } else {
                                match w.try_append(f, &scalar(step)) {
                                    Ok(true) => Ok(()),
                                    Ok(false) => w.append(f, &scalar(step)),
                                    Err(e) => Err(e),
                                }
                            };
                            match r {
                                Ok(()) => ok += 1,
                                Err(WriteError::Closed) => return ok,
                                Err(e) => panic!("{e}"),
                            }
                        }
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_millis(2 + round % 5));
            w.close().unwrap();
            let counts: Vec<i64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            let on_disk = steps(&path);
            assert_eq!(
                on_disk.len() as i64 - 1,
                counts.iter().sum::<i64>(),
                "round {round}"
            );
            for (t, n) in counts.iter().enumerate() {
                let mine: Vec<i64> = on_disk[1..]
                    .iter()
                    .filter(|s| **s / 1_000_000 == t as i64)
                    .map(|s| s % 1_000_000)
                    .collect();
                assert_eq!(mine, (0..*n).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn a_dead_background_thread_is_reported_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions {
            batch_events: 4,
            ..Default::default()
        })
        .unwrap();
        let (f, _) = w.create_file(dir.path(), "").unwrap();
        w.flush().unwrap();
        // Kill the background thread with a panic outside any deferred value: a batch whose
        // op points past its bytes (no public API can build one).
        let bad = Batch {
            bytes: Vec::new(),
            ops: vec![Op::Inline { file: f, end: 10 }],
            events: 1,
        };
        w.inner.tx.send(Msg::Batch(bad)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match w.flush() {
                Err(WriteError::ThreadGone) => break,
                Ok(()) => assert!(Instant::now() < deadline, "the thread did not die"),
                Err(e) => panic!("{e}"),
            }
        }
        // Appends fail once they need the thread; close() reports instead of hanging.
        let mut failed = false;
        for s in 0..10 {
            if let Err(e) = w.append(f, &scalar(s)) {
                assert!(matches!(e, WriteError::ThreadGone), "{e}");
                failed = true;
                break;
            }
        }
        assert!(failed);
        assert!(matches!(w.close(), Err(WriteError::ThreadGone)));
    }

    #[test]
    fn flush_after_close_is_refused_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions::default()).unwrap();
        let (_, _) = w.create_file(dir.path(), "").unwrap();
        w.close().unwrap();
        assert!(matches!(w.flush(), Err(WriteError::Closed)));
        assert!(matches!(
            w.create_file(dir.path(), ""),
            Err(WriteError::Closed)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_removed_directory_is_reported_and_logging_goes_on_in_a_new_file() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("run");
        let w = EventWriter::spawn(WriterOptions::default()).unwrap();
        let (f, path) = w.create_file(&dir, ".s").unwrap();
        w.append(f, &scalar(1)).unwrap();
        w.flush().unwrap();
        fs::remove_dir_all(&dir).unwrap();
        w.append(f, &scalar(2)).unwrap();
        let err = w.flush().unwrap_err();
        assert!(
            matches!(&err, WriteError::Io { kind: io::ErrorKind::NotFound, path: p, .. } if *p == path),
            "{err:?}"
        );
        // The next records go to a new file in the recreated directory.
        w.append(f, &scalar(3)).unwrap();
        w.flush().unwrap();
        w.close().unwrap();
        let files: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert!(files[0].to_str().unwrap().ends_with(".s"));
        assert_eq!(steps(&files[0]), vec![0, 3]);
    }
}
