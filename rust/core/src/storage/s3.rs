//! S3-compatible object storage, through `object_store`'s `AmazonS3` (crate feature `s3`).
//!
//! Configuration is the AWS tools' and `object_store`'s: `AWS_ENDPOINT_URL` (or
//! `AWS_ENDPOINT`) for a server other than AWS, `AWS_REGION`, `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_ALLOW_HTTP=true` for a plain-HTTP
//! endpoint such as a server on loopback, `AWS_VIRTUAL_HOSTED_STYLE_REQUEST`; every `AWS_*`
//! variable `object_store` knows. A client is built per bucket and configuration, and per
//! process (a forked child builds its own).
//!
//! `object_store` is asynchronous; it runs on a private current-thread tokio runtime that
//! nothing outside this file sees, driven by whichever threads wait on it (the writer's
//! background thread, the reader's threads): no thread of its own, nothing to stop at fork. Requests are retried by `object_store` on server errors (5xx) and
//! broken connections (3 retries, backoff from 100 ms to 1 s, at most 5 s); client errors
//! (a wrong credential: 403) are not retried.
//!
//! **Reading**: a prefix is listed recursively into runs as a local logdir is walked; an
//! object is read with ranged GETs of [`READ_CHUNK`] bytes, [`READ_AHEAD`] in flight at once.
//!
//! **Writing** (objects cannot be appended to): an event file is a sequence of objects
//! `events.out.tfevents.{secs}.{host}.{pid}.{counter}.{part:010}{suffix}`, where everything
//! but `part` is fixed when the file is created and `part` counts from 0 (the first object
//! starts with the file's header record). Creating a file sends nothing.
//! TensorBoard and this crate's reader read a run's files in name order, so the parts read
//! as one stream. Records appended are kept in memory and uploaded, as one new object, when
//!   * [`ROLL_BYTES`] or more are pending, or
//!   * the writer's flush interval (`flush_secs`, at least [`MIN_UPLOAD_GAP`]) has passed since
//!     the last upload, or
//!   * `flush()` was called and at least [`MIN_UPLOAD_GAP`] has passed since the last upload
//!     (otherwise the upload happens as soon as that gap has passed), or
//!   * the writer closes;
//!
//! so a run makes at most one object per [`MIN_UPLOAD_GAP`] (plus one per [`ROLL_BYTES`]),
//! and nothing stored is ever uploaded again. A failed upload keeps its records in memory and
//! is tried again after a backoff (1 s, doubling up to 30 s; at close, at once); its error is
//! returned by the writer's next call. At most [`MAX_UNSENT`] bytes wait: records appended
//! beyond that are dropped and the error says so. Records still unsent when the writer closes
//! are lost, and `close()` returns the error.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::TryStreamExt;
use object_store::aws::{AmazonS3, AmazonS3Builder, AmazonS3ConfigKey};
use object_store::path::Path as ObjPath;
use object_store::{
    BackoffConfig, ClientOptions, ObjectStore, ObjectStoreExt, PutPayload, RetryConfig,
};
use tokio::runtime::Runtime;

use super::{
    locate, CreateError, Entry, FlushKind, Listing, Location, NewFile, PathKind, Sink, Source,
    Storage, StorageError,
};

/// Bytes per ranged GET.
pub const READ_CHUNK: u64 = 8 << 20;
/// Ranged GETs in flight per object being read.
pub const READ_AHEAD: usize = 4;
/// Pending bytes that are uploaded at once, whatever the time.
pub const ROLL_BYTES: usize = 8 << 20;
/// The shortest time between two uploads asked for by `flush()`.
pub const MIN_UPLOAD_GAP: Duration = Duration::from_secs(1);
/// The most bytes of records kept in memory while uploads fail.
pub const MAX_UNSENT: usize = 256 << 20;
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// The private runtime, per process (a forked child builds its own).
static RUNTIME: Mutex<Option<(u32, Arc<Runtime>)>> = Mutex::new(None);

fn runtime() -> io::Result<Arc<Runtime>> {
    let pid = std::process::id();
    let mut slot = RUNTIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some((p, rt)) = &*slot {
        if *p == pid {
            return Ok(Arc::clone(rt));
        }
    }
    if let Some(old) = slot.take() {
        // A forked child's copy: its threads do not exist here; dropping it could hang.
        std::mem::forget(old);
    }
    let rt = Arc::new(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?,
    );
    *slot = Some((pid, Arc::clone(&rt)));
    Ok(rt)
}

type ClientKey = (u32, String, Vec<(String, String)>);

/// Clients per process, bucket and `AWS_*` environment.
static CLIENTS: Mutex<Option<HashMap<ClientKey, Arc<S3Storage>>>> = Mutex::new(None);

/// One bucket of an S3-compatible store.
pub struct S3Storage {
    bucket: String,
    store: Arc<AmazonS3>,
    rt: Arc<Runtime>,
}

fn remote(url: String, e: &object_store::Error) -> io::Error {
    use object_store::Error as E;
    let kind = match e {
        E::NotFound { .. } => io::ErrorKind::NotFound,
        E::PermissionDenied { .. } | E::Unauthenticated { .. } => io::ErrorKind::PermissionDenied,
        E::AlreadyExists { .. } => io::ErrorKind::AlreadyExists,
        _ => io::ErrorKind::Other,
    };
    // The whole chain: object_store's message often names only the outermost layer.
    let mut message = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let m = s.to_string();
        if !message.contains(&m) {
            message.push_str(": ");
            message.push_str(&m);
        }
        source = s.source();
    }
    StorageError::Remote { url, kind, message }.into()
}

impl S3Storage {
    /// The client of `bucket` for this process and the current `AWS_*` environment.
    pub fn for_bucket(bucket: &str) -> io::Result<Arc<S3Storage>> {
        let mut env: Vec<(String, String)> = std::env::vars()
            .filter(|(k, _)| k.starts_with("AWS_"))
            .collect();
        env.sort();
        let key = (std::process::id(), bucket.to_owned(), env);
        let mut clients = CLIENTS
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let clients = clients.get_or_insert_with(HashMap::new);
        if let Some(c) = clients.get(&key) {
            return Ok(Arc::clone(c));
        }
        let retry = RetryConfig {
            backoff: BackoffConfig {
                init_backoff: Duration::from_millis(100),
                max_backoff: Duration::from_secs(1),
                base: 2.0,
            },
            max_retries: 3,
            retry_timeout: Duration::from_secs(5),
        };
        // `from_env`'s loop, after this crate's client defaults (which the environment may
        // override: `AWS_CONNECT_TIMEOUT`, `AWS_TIMEOUT`, ...).
        let mut builder = AmazonS3Builder::new()
            .with_client_options(
                ClientOptions::new()
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(120)),
            )
            .with_retry(retry);
        for (k, v) in &key.2 {
            if let Ok(config) = k.to_ascii_lowercase().parse::<AmazonS3ConfigKey>() {
                builder = builder.with_config(config, v);
            }
        }
        let store = builder
            .with_bucket_name(bucket)
            .build()
            .map_err(|e| remote(format!("s3://{bucket}"), &e))?;
        let c = Arc::new(S3Storage {
            bucket: bucket.to_owned(),
            store: Arc::new(store),
            rt: runtime()?,
        });
        clients.insert(key, Arc::clone(&c));
        Ok(c)
    }

    fn block_on<F: Future>(&self, f: F) -> F::Output {
        self.rt.block_on(f)
    }

    fn url(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// The key `path` names in this bucket.
    fn key<'p>(&self, path: &'p Path) -> io::Result<&'p str> {
        match locate(path)? {
            Location::S3 { bucket, key } if bucket == self.bucket => Ok(key),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: not in the bucket s3://{}", path.display(), self.bucket),
            )),
        }
    }

    fn head(&self, key: &str) -> io::Result<u64> {
        let meta = self
            .block_on(self.store.head(&ObjPath::from(key)))
            .map_err(|e| remote(self.url(key), &e))?;
        Ok(meta.size)
    }

    fn put(&self, key: &str, bytes: Bytes) -> io::Result<()> {
        self.block_on(self.store.put(&ObjPath::from(key), PutPayload::from(bytes)))
            .map(|_| ())
            .map_err(|e| remote(self.url(key), &e))
    }
}

fn join_key(dir: &str, name: &str) -> String {
    if dir.is_empty() {
        name.to_owned()
    } else {
        format!("{dir}/{name}")
    }
}

impl Storage for Arc<S3Storage> {
    fn stat(&self, path: &Path) -> io::Result<PathKind> {
        let key = self.key(path)?;
        if key.is_empty() {
            return Ok(PathKind::Dir);
        }
        match self.head(key) {
            Ok(_) => return Ok(PathKind::File),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let store = Arc::clone(&self.store);
        let prefix = ObjPath::from(key);
        let first = self
            .block_on(async move { store.list(Some(&prefix)).try_next().await })
            .map_err(|e| remote(self.url(key), &e))?;
        Ok(if first.is_some() {
            PathKind::Dir
        } else {
            PathKind::Missing
        })
    }

    fn list(&self, root: &Path, keep: &dyn Fn(&str) -> bool) -> io::Result<Listing> {
        let key = self.key(root)?;
        let prefix = (!key.is_empty()).then(|| ObjPath::from(key));
        let store = Arc::clone(&self.store);
        let metas: Vec<object_store::ObjectMeta> = self
            .block_on(async move { store.list(prefix.as_ref()).try_collect().await })
            .map_err(|e| remote(self.url(key), &e))?;
        if metas.is_empty() && !key.is_empty() {
            // Not a prefix: one object, or nothing.
            return match self.head(key) {
                Ok(len) => Ok(Listing::File { len: Some(len) }),
                Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StorageError::Remote {
                    url: self.url(key),
                    kind: io::ErrorKind::NotFound,
                    message: "no such object or prefix".to_owned(),
                }
                .into()),
                Err(e) => Err(e),
            };
        }
        let mut found: Vec<(String, Entry)> = Vec::new();
        for m in metas {
            let full = m.location.as_ref();
            let rel = if key.is_empty() {
                full
            } else {
                match full.strip_prefix(key).and_then(|r| r.strip_prefix('/')) {
                    Some(r) => r,
                    None => continue,
                }
            };
            let (dir, name) = rel.rsplit_once('/').unwrap_or(("", rel));
            if !keep(name) {
                continue;
            }
            found.push((
                rel.to_owned(),
                Entry {
                    dir: dir.to_owned(),
                    path: PathBuf::from(self.url(full)),
                    len: Some(m.size),
                },
            ));
        }
        // The order of a depth-first walk with entries in name order.
        found.sort_by(|a, b| a.0.split('/').cmp(b.0.split('/')));
        Ok(Listing::Dir(found.into_iter().map(|(_, e)| e).collect()))
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        self.head(self.key(path)?)
    }

    fn open(&self, path: &Path, offset: u64, len: Option<u64>) -> io::Result<Box<dyn Source>> {
        let key = self.key(path)?;
        let len = match len {
            Some(n) => n,
            None => self.head(key)?,
        };
        Ok(Box::new(S3Source {
            storage: Arc::clone(self),
            location: ObjPath::from(key),
            url: self.url(key),
            len,
            next: offset.min(len),
            inflight: VecDeque::new(),
            current: Bytes::new(),
        }))
    }

    fn create(&self, new: NewFile<'_>) -> Result<Box<dyn Sink>, CreateError> {
        let dir = self
            .key(new.dir)
            .map_err(|e| CreateError::new("cannot create", new.dir, e))?
            .to_owned();
        let mut name = new.name;
        let first = PathBuf::from(self.url(&join_key(&dir, &name(Some(0)))));
        // Nothing is sent here (creating a writer must not wait on the network, which may
        // hold a caller's lock such as Python's GIL): the header is the first pending record.
        Ok(Box::new(S3Sink {
            storage: Arc::clone(self),
            dir,
            name,
            first,
            next_part: 0,
            pending: new.header.to_vec(),
            last_upload: Instant::now(),
            flush_interval: new.flush_interval,
            retry_at: None,
            backoff: FIRST_BACKOFF,
            requested: false,
        }))
    }

    /// One PUT: an object is replaced whole (readers see the old one or the new one), there
    /// are no directories to create, and a PUT that returned is durable (`sync` adds nothing).
    fn write_file(&self, path: &Path, bytes: &[u8], _sync: bool) -> Result<(), CreateError> {
        let fail = |e| CreateError::new("cannot write", path, e);
        let key = self.key(path).map_err(fail)?;
        self.put(key, Bytes::copy_from_slice(bytes)).map_err(fail)
    }
}

/// An object read from an offset on, [`READ_AHEAD`] ranged GETs ahead.
struct S3Source {
    storage: Arc<S3Storage>,
    location: ObjPath,
    url: String,
    len: u64,
    /// The next byte not yet asked for.
    next: u64,
    inflight: VecDeque<tokio::task::JoinHandle<object_store::Result<Bytes>>>,
    current: Bytes,
}

impl S3Source {
    fn ask(&mut self) {
        while self.inflight.len() < READ_AHEAD && self.next < self.len {
            let end = (self.next + READ_CHUNK).min(self.len);
            let store = Arc::clone(&self.storage.store);
            let location = self.location.clone();
            let range = self.next..end;
            self.inflight.push_back(
                self.storage
                    .rt
                    .spawn(async move { store.get_range(&location, range).await }),
            );
            self.next = end;
        }
    }
}

impl Read for S3Source {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        while self.current.is_empty() {
            self.ask();
            let Some(h) = self.inflight.pop_front() else {
                return Ok(0);
            };
            let got = self
                .storage
                .block_on(h)
                .map_err(|e| io::Error::other(format!("{}: {e}", self.url)))?
                .map_err(|e| remote(self.url.clone(), &e))?;
            self.current = got;
            self.ask();
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current[..n]);
        self.current = self.current.slice(n..);
        Ok(n)
    }
}

impl Source for S3Source {
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.len)
    }
}

impl Drop for S3Source {
    fn drop(&mut self) {
        for h in &self.inflight {
            h.abort();
        }
    }
}

/// An event file rolled into objects; see the module documentation.
struct S3Sink {
    storage: Arc<S3Storage>,
    /// The directory's key.
    dir: String,
    name: Box<dyn FnMut(Option<u64>) -> String + Send>,
    first: PathBuf,
    next_part: u64,
    /// Whole records not yet uploaded.
    pending: Vec<u8>,
    last_upload: Instant,
    flush_interval: Duration,
    /// After a failed upload: not before then (except at close).
    retry_at: Option<Instant>,
    backoff: Duration,
    /// `flush()` was called since the last upload.
    requested: bool,
}

impl S3Sink {
    fn upload(&mut self) -> io::Result<()> {
        let key = join_key(&self.dir, &(self.name)(Some(self.next_part)));
        match self
            .storage
            .put(&key, Bytes::copy_from_slice(&self.pending))
        {
            Ok(()) => {
                self.next_part += 1;
                self.pending.clear();
                if self.pending.capacity() > 2 * ROLL_BYTES {
                    self.pending.shrink_to(ROLL_BYTES);
                }
                self.last_upload = Instant::now();
                self.retry_at = None;
                self.backoff = FIRST_BACKOFF;
                self.requested = false;
                Ok(())
            }
            Err(e) => {
                self.retry_at = Some(Instant::now() + self.backoff);
                let wait = self.backoff;
                self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                Err(io::Error::new(
                    e.kind(),
                    format!(
                        "cannot upload {} bytes of records ({e}); they are kept in memory and \
                         the upload is tried again in {} s",
                        self.pending.len(),
                        wait.as_secs()
                    ),
                ))
            }
        }
    }
}

impl Sink for S3Sink {
    fn path(&self) -> &Path {
        &self.first
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.pending.len() + bytes.len() > MAX_UNSENT {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                format!(
                    "{} bytes of records wait for an upload that keeps failing (at most {} \
                     are kept): {} bytes of new records were dropped",
                    self.pending.len(),
                    MAX_UNSENT,
                    bytes.len()
                ),
            ));
        }
        self.pending.extend_from_slice(bytes);
        Ok(())
    }

    fn dirty(&self) -> bool {
        !self.pending.is_empty()
    }

    fn flush(&mut self, kind: FlushKind) -> io::Result<()> {
        if self.pending.is_empty() {
            self.requested = false;
            return Ok(());
        }
        if matches!(kind, FlushKind::Explicit { .. }) {
            self.requested = true;
        }
        let due = upload_due(&UploadState {
            kind,
            pending: self.pending.len(),
            since_upload: self.last_upload.elapsed(),
            flush_interval: self.flush_interval,
            requested: self.requested,
            retry_in: self
                .retry_at
                .map(|t| t.saturating_duration_since(Instant::now())),
        });
        if due {
            self.upload()
        } else {
            Ok(())
        }
    }
}

/// What [`upload_due`] decides from.
struct UploadState {
    kind: FlushKind,
    /// Bytes pending (not zero).
    pending: usize,
    since_upload: Duration,
    flush_interval: Duration,
    /// `flush()` was called since the last upload.
    requested: bool,
    /// After a failed upload: the time left before the next try (zero: due).
    retry_in: Option<Duration>,
}

/// The coalescing rule of the module documentation: whether pending records go up now.
fn upload_due(s: &UploadState) -> bool {
    if matches!(s.kind, FlushKind::Close { .. }) {
        return true;
    }
    match s.retry_in {
        Some(left) if !left.is_zero() => false,
        Some(_) => true,
        None => {
            s.pending >= ROLL_BYTES
                || s.since_upload >= s.flush_interval.max(MIN_UPLOAD_GAP)
                || (s.requested && s.since_upload >= MIN_UPLOAD_GAP)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_are_coalesced_as_documented() {
        let secs = Duration::from_secs_f64;
        let base = UploadState {
            kind: FlushKind::Tick,
            pending: 100,
            since_upload: secs(0.5),
            flush_interval: secs(120.0),
            requested: false,
            retry_in: None,
        };
        let due = |f: &dyn Fn(&mut UploadState)| {
            let mut s = UploadState { ..base };
            f(&mut s);
            upload_due(&s)
        };
        // A tick with a little pending, well within flush_secs: wait.
        assert!(!due(&|_| {}));
        // flush_secs passed, or 8 MiB pending: upload.
        assert!(due(&|s| s.since_upload = secs(120.0)));
        assert!(due(&|s| s.pending = ROLL_BYTES));
        // flush_secs below the floor counts as 1 s.
        assert!(!due(&|s| s.flush_interval = Duration::ZERO));
        assert!(due(&|s| {
            s.flush_interval = Duration::ZERO;
            s.since_upload = MIN_UPLOAD_GAP;
        }));
        // flush(): at most one upload per MIN_UPLOAD_GAP; later ticks carry it out.
        assert!(!due(&|s| {
            s.kind = FlushKind::Explicit { sync: false };
            s.requested = true;
        }));
        assert!(due(&|s| {
            s.requested = true;
            s.since_upload = MIN_UPLOAD_GAP;
        }));
        // Backing off after a failure, even past flush_secs; due when the time comes.
        assert!(!due(&|s| {
            s.since_upload = secs(500.0);
            s.retry_in = Some(secs(3.0));
        }));
        assert!(due(&|s| s.retry_in = Some(Duration::ZERO)));
        // Close: always.
        assert!(due(&|s| {
            s.kind = FlushKind::Close { sync: false };
            s.retry_in = Some(secs(3.0));
        }));
    }
}
