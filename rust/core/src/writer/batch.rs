//! The batch protocol between the calling threads and the background thread.
//!
//! Callers append framed records to the pending [`Batch`] under a short-held lock; a full
//! batch is handed to the background thread over the bounded channel (as a [`Msg::Batch`]),
//! always with the pending lock held, so batches reach the thread in the order they were
//! filled. Flushes and closes follow the batches before them on the same channel and are
//! answered on a channel of their own ([`wait_ack`]). Errors of the background thread wait in
//! [`Shared`] for the next call. The buffer of a written batch goes back to [`Shared`] and
//! the next batch fills it ([`Shared::take_batch`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use super::worker::OpenFile;
use super::{DeferredPayload, EventWriter, FileId, Inner, WriteError, WriterOptions};
use crate::format::record::encode_record;

pub(super) enum Op {
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
pub(super) struct Batch {
    pub(super) bytes: Vec<u8>,
    pub(super) ops: Vec<Op>,
    pub(super) events: usize,
}

impl Batch {
    pub(super) fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    pub(super) fn push_inline(&mut self, file: FileId, payload: &[u8]) {
        encode_record(&mut self.bytes, payload);
        let end = self.bytes.len();
        match self.ops.last_mut() {
            Some(Op::Inline { file: f, end: e }) if *f == file => *e = end,
            _ => self.ops.push(Op::Inline { file, end }),
        }
        self.events += 1;
    }
}

pub(super) enum Msg {
    Batch(Batch),
    Flush(Sender<Result<(), WriteError>>),
    Close(Sender<Result<(), WriteError>>),
}

pub(super) struct Shared {
    pub(super) pending: Mutex<Batch>,
    /// The bytes buffer of a written batch, emptied, for the next batch to fill (see
    /// [`Shared::take_batch`]).
    pub(super) spare: Mutex<Option<Vec<u8>>>,
    /// The largest buffer kept in `spare` (a few batches' size).
    pub(super) spare_limit: usize,
    pub(super) error: Mutex<Option<WriteError>>,
    pub(super) has_error: AtomicBool,
    pub(super) closed: AtomicBool,
    /// Set when the background thread ends, normally or by a panic.
    pub(super) worker_gone: AtomicBool,
}

impl Shared {
    pub(super) fn record_error(&self, e: WriteError) {
        let mut slot = lock(&self.error);
        if slot.is_none() {
            *slot = Some(e);
        }
        self.has_error.store(true, Ordering::Release);
    }

    /// The pending batch, taken to be written: `pending` is left empty, to be filled next in
    /// the buffer of a batch already written when one is spare. An empty batch is left where
    /// it is (nothing to write; it keeps its buffer) and an empty one returned.
    ///
    /// Why: a batch's bytes grow to about `batch_bytes` (1 MiB by default) by doubling, and a
    /// fresh buffer's pages are faulted in as they are first written (the allocator had given
    /// the last one back to the system), so each batch cost the calling thread copies and
    /// page faults. Appending a 9.6 KB event (a histogram's) from Python took a median of
    /// 4.8-6.0 us in runs of 200 between flushes and 1.7-2.0 us in runs of 50; with the
    /// buffer reused, 1.2-2.0 and 0.9-1.5 us (BENCHMARKS.md, session 16). The test
    /// `batch_buffers_are_reused` checks that a written batch's buffer is kept.
    pub(super) fn take_batch(&self, pending: &mut Batch) -> Batch {
        if pending.is_empty() {
            return Batch::default();
        }
        let next = Batch {
            bytes: lock(&self.spare).take().unwrap_or_default(),
            ..Batch::default()
        };
        std::mem::replace(pending, next)
    }

    /// Keeps `bytes` (written) for [`Shared::take_batch`], unless one is kept already or it is
    /// larger than `spare_limit`.
    pub(super) fn recycle(&self, mut bytes: Vec<u8>) {
        if bytes.capacity() == 0 || bytes.capacity() > self.spare_limit {
            return;
        }
        bytes.clear();
        let mut spare = lock(&self.spare);
        if spare.is_none() {
            *spare = Some(bytes);
        }
    }

    pub(super) fn take_error(&self) -> Option<WriteError> {
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
pub(super) fn wait_ack(
    shared: &Shared,
    ack: &Receiver<Result<(), WriteError>>,
) -> Result<(), WriteError> {
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
pub(super) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl EventWriter {
    /// Takes the pending lock, failing with [`WriteError::Closed`] if `close()` got it first.
    /// (`close()` sets the flag under this lock, so a record queued after the check here is
    /// always written by the background thread; one refused here was never queued.)
    pub(super) fn lock_open(inner: &Inner) -> Result<MutexGuard<'_, Batch>, WriteError> {
        let pending = lock(&inner.shared.pending);
        if inner.shared.closed.load(Ordering::Acquire) {
            return Err(WriteError::Closed);
        }
        Ok(pending)
    }

    pub(super) fn full(options: &WriterOptions, b: &Batch) -> bool {
        b.events >= options.batch_events || b.bytes.len() >= options.batch_bytes
    }

    /// Hands the pending batch to the background thread (blocking while the channel is full).
    /// Called with the pending lock held, which keeps hand-offs in order.
    pub(super) fn hand_off(inner: &Inner, pending: &mut Batch) -> Result<(), WriteError> {
        if pending.is_empty() {
            return Ok(());
        }
        let batch = inner.shared.take_batch(pending);
        inner
            .tx
            .send(Msg::Batch(batch))
            .map_err(|_| WriteError::ThreadGone)
    }
}
