//! Where event files live: the one layer through which the reader and the writer reach bytes.
//!
//! A location is a plain path (the local filesystem, [`local`]) or an `s3://bucket/prefix`
//! URL (S3-compatible object storage, `s3`, behind the crate feature `s3`). Any other URL
//! scheme (`gs://`, `hdfs://`, `az://`, `http://`, ...) is refused with
//! [`StorageError::UnsupportedScheme`] rather than taken for a local folder named `gs:`.
//! `file:///abs/path` is the local path `/abs/path`.
//!
//! One [`Storage`] per backend, in the style of TensorBoard's Rust data server (`logdir.rs`,
//! `disk_logdir.rs`, `gcs/logdir.rs`): list a directory or prefix recursively, the length of
//! a file, a sequential [`Source`] from a byte offset on (ranged, parallel GETs on S3), and a
//! [`Sink`] for a new event file. Local files are appended to; objects cannot be, so the S3
//! sink *rolls*: each upload is a new object (see `s3`'s module documentation for the rule).
//! Small files that are written whole (the embedding projector's) are replaced atomically by
//! [`Storage::write_file`]: a reader sees the old file or the new one, never part of one.
//!
//! Failures are `io::Error`s whose kind says what happened (`NotFound`, `PermissionDenied`,
//! `Unsupported` for a scheme this build cannot reach, `InvalidInput` for a malformed URL) and
//! whose message names the path or URL; the reader and the writer wrap them in their own error
//! enums. [`StorageError`] is the error of this layer, carried inside those `io::Error`s.

pub mod local;
#[cfg(feature = "s3")]
pub mod s3;

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// Errors of the storage layer (carried in `io::Error`s, see the module documentation).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A URL whose scheme no backend of this build reads or writes.
    #[error(
        "{url}: the URL scheme '{scheme}://' is not supported (supported: local paths and \
         s3://bucket/prefix)"
    )]
    UnsupportedScheme {
        /// The URL.
        url: String,
        /// Its scheme.
        scheme: String,
    },
    /// An `s3://` URL, in a build without the `s3` feature.
    #[error("{url}: this build of ferroboard has no S3 support (the `s3` feature)")]
    NotBuiltIn {
        /// The URL.
        url: String,
    },
    /// A malformed URL.
    #[error("{url}: {reason}")]
    InvalidUrl {
        /// The URL.
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The remote store answered with an error (after its retries).
    #[error("{url}: {message}")]
    Remote {
        /// The object or prefix.
        url: String,
        /// The kind of failure.
        kind: io::ErrorKind,
        /// The store's message.
        message: String,
    },
}

impl From<StorageError> for io::Error {
    fn from(e: StorageError) -> io::Error {
        let kind = match &e {
            StorageError::UnsupportedScheme { .. } | StorageError::NotBuiltIn { .. } => {
                io::ErrorKind::Unsupported
            }
            StorageError::InvalidUrl { .. } => io::ErrorKind::InvalidInput,
            StorageError::Remote { kind, .. } => *kind,
        };
        io::Error::new(kind, e)
    }
}

/// Where a path points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location<'a> {
    /// A local path.
    Local(&'a Path),
    /// An object or prefix in an S3 bucket (`key` without leading or trailing `/`; may be empty).
    S3 {
        /// The bucket.
        bucket: &'a str,
        /// The key or prefix.
        key: &'a str,
    },
}

/// The scheme of `s`, when it is a URL (`scheme://...`, scheme as RFC 3986 spells them).
fn scheme(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once("://")?;
    let mut chars = scheme.chars();
    let first = chars.next()?;
    (first.is_ascii_alphabetic()
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')))
    .then_some(scheme)
}

/// Where `path` points: a local path, or an object store URL this crate knows.
pub fn locate(path: &Path) -> Result<Location<'_>, StorageError> {
    let Some(s) = path.to_str() else {
        return Ok(Location::Local(path));
    };
    let Some(sch) = scheme(s) else {
        return Ok(Location::Local(path));
    };
    let rest = &s[sch.len() + 3..];
    match sch.to_ascii_lowercase().as_str() {
        "file" => Ok(Location::Local(Path::new(rest))),
        "s3" => {
            let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(StorageError::InvalidUrl {
                    url: s.to_owned(),
                    reason: "an s3:// URL needs a bucket: s3://bucket/prefix",
                });
            }
            Ok(Location::S3 {
                bucket,
                key: key.trim_matches('/'),
            })
        }
        _ => Err(StorageError::UnsupportedScheme {
            url: s.to_owned(),
            scheme: sch.to_owned(),
        }),
    }
}

/// What a listing found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Listing {
    /// The path is one file (its length when the listing knows it).
    File {
        /// Its length, when known without another request.
        len: Option<u64>,
    },
    /// The path is a directory (or prefix): the files under it, in reading order.
    Dir(Vec<Entry>),
}

/// A file found under a listed directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Its directory relative to the listed one, `/`-separated, empty for the listed one.
    pub dir: String,
    /// Its path (or URL).
    pub path: PathBuf,
    /// Its length, when the listing knows it (object stores do; local listings do not stat).
    pub len: Option<u64>,
}

/// A file being read from an offset on.
pub trait Source: Read + Send {
    /// The file's length now (it may grow while read).
    fn size(&mut self) -> io::Result<u64>;
}

impl Source for io::Cursor<Vec<u8>> {
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.get_ref().len() as u64)
    }
}

/// Why a [`Sink`] is asked to flush.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushKind {
    /// The writer's periodic drain: hand bytes to the OS; an object store uploads only when
    /// its coalescing rule says so.
    Tick,
    /// The user's `flush()` (with `sync`: `fsync` too).
    Explicit {
        /// Also sync to stable storage.
        sync: bool,
    },
    /// The writer is closing: everything pending is written now (with `sync`: `fsync` too).
    Close {
        /// Also sync to stable storage.
        sync: bool,
    },
}

/// A new event file being written (local: appended to; object store: rolled into objects).
pub trait Sink: Send {
    /// The file's path (on object stores: the URL of its first object).
    fn path(&self) -> &Path;
    /// Appends whole records. On failure none of `bytes` is kept (a local file is cut back
    /// to its last whole record) and the error says why.
    fn append(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Whether anything appended is not yet flushed (or uploaded).
    fn dirty(&self) -> bool;
    /// Flushes (or uploads) what was appended; see [`FlushKind`].
    fn flush(&mut self, kind: FlushKind) -> io::Result<()>;
    /// Whether the file was deleted while open (a removed log directory), so that appends
    /// would reach no one. Object stores: never.
    fn deleted(&self) -> bool {
        false
    }
}

/// What a new event file needs: where, its name, its first record.
pub struct NewFile<'a> {
    /// The directory (or prefix) it goes in, created if missing.
    pub dir: &'a Path,
    /// Its name, a fresh one per call: `None` for a file appended to, `Some(part)` for the
    /// `part`-th object of a rolled file. Local files call it again when a name is taken.
    pub name: Box<dyn FnMut(Option<u64>) -> String + Send>,
    /// The framed header record, written (uploaded) before `create` returns.
    pub header: &'a [u8],
    /// The writer's flush interval (an object store's upload interval).
    pub flush_interval: Duration,
}

/// Why a new event file could not be created: what was being done, on which path.
#[derive(Debug)]
pub struct CreateError {
    /// What was being done ("cannot create directory", "cannot create", "cannot write", ...).
    pub op: &'static str,
    /// The directory, file or object.
    pub path: PathBuf,
    /// The failure.
    pub source: io::Error,
}

impl CreateError {
    /// A failure of `op` on `path`.
    pub fn new(op: &'static str, path: &Path, source: io::Error) -> Self {
        CreateError {
            op,
            path: path.to_owned(),
            source,
        }
    }
}

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathKind {
    /// A file (an object).
    File,
    /// A directory (a prefix with objects under it, or a bucket).
    Dir,
    /// Nothing.
    Missing,
}

/// One storage backend. See the module documentation.
pub trait Storage: Send + Sync {
    /// Whether `path` is a file, a directory, or nothing.
    fn stat(&self, path: &Path) -> io::Result<PathKind>;
    /// The files under `root` whose name passes `keep` (recursively, in reading order), or
    /// [`Listing::File`] when `root` is a file.
    fn list(&self, root: &Path, keep: &dyn Fn(&str) -> bool) -> io::Result<Listing>;
    /// The length of a file.
    fn len(&self, path: &Path) -> io::Result<u64>;
    /// Reads `path` from `offset` on; `len` is its length when the caller knows it (an object
    /// store then asks nothing more before reading).
    fn open(&self, path: &Path, offset: u64, len: Option<u64>) -> io::Result<Box<dyn Source>>;
    /// Creates a new event file and writes its header.
    fn create(&self, new: NewFile<'_>) -> Result<Box<dyn Sink>, CreateError>;
    /// Writes `bytes` as the whole of the file at `path`, atomically (a reader sees the old
    /// file or the new one, never part of one), creating missing parent directories; with
    /// `sync`, on the storage device before returning. The error names the path that failed
    /// (a parent in the way, a temporary file, the target).
    fn write_file(&self, path: &Path, bytes: &[u8], sync: bool) -> Result<(), CreateError>;
}

/// The backend that holds `path`.
pub fn backend(path: &Path) -> io::Result<Arc<dyn Storage>> {
    match locate(path)? {
        Location::Local(_) => Ok(Arc::new(local::LocalStorage)),
        #[cfg(feature = "s3")]
        Location::S3 { bucket, .. } => Ok(Arc::new(s3::S3Storage::for_bucket(bucket)?)),
        #[cfg(not(feature = "s3"))]
        Location::S3 { .. } => Err(StorageError::NotBuiltIn {
            url: path.to_string_lossy().into_owned(),
        }
        .into()),
    }
}

/// Checks that `path` names a location this build can read and write (a local path, or an
/// `s3://` URL with the `s3` feature), without touching it.
pub fn check(path: &Path) -> Result<(), StorageError> {
    match locate(path)? {
        Location::Local(_) => Ok(()),
        Location::S3 { .. } if cfg!(feature = "s3") => Ok(()),
        Location::S3 { .. } => Err(StorageError::NotBuiltIn {
            url: path.to_string_lossy().into_owned(),
        }),
    }
}

/// Whether `path` is a remote location (an object store URL).
pub fn is_remote(path: &Path) -> bool {
    matches!(locate(path), Ok(Location::S3 { .. }))
}

/// [`Storage::stat`] on `path`'s backend.
pub fn stat(path: &Path) -> io::Result<PathKind> {
    backend(path)?.stat(path)
}

/// [`Storage::list`] on `root`'s backend.
pub fn list(root: &Path, keep: &dyn Fn(&str) -> bool) -> io::Result<Listing> {
    backend(root)?.list(root, keep)
}

/// [`Storage::len`] on `path`'s backend.
pub fn len(path: &Path) -> io::Result<u64> {
    backend(path)?.len(path)
}

/// [`Storage::open`] on `path`'s backend.
pub fn open(path: &Path, offset: u64, len: Option<u64>) -> io::Result<Box<dyn Source>> {
    backend(path)?.open(path, offset, len)
}

/// The whole of a file.
pub fn read_all(path: &Path) -> io::Result<Vec<u8>> {
    let mut src = open(path, 0, None)?;
    let mut out = Vec::new();
    src.read_to_end(&mut out)?;
    Ok(out)
}

/// [`Storage::create`] on `new.dir`'s backend.
pub fn create(new: NewFile<'_>) -> Result<Box<dyn Sink>, CreateError> {
    backend(new.dir)
        .map_err(|e| CreateError::new("cannot open", new.dir, e))?
        .create(new)
}

/// [`Storage::write_file`] on `path`'s backend.
pub fn write_file(path: &Path, bytes: &[u8], sync: bool) -> Result<(), CreateError> {
    backend(path)
        .map_err(|e| CreateError::new("cannot open", path, e))?
        .write_file(path, bytes, sync)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_dispatched_by_scheme() {
        let p = |s: &str| PathBuf::from(s);
        assert_eq!(
            locate(&p("runs/a")).unwrap(),
            Location::Local(Path::new("runs/a"))
        );
        assert_eq!(
            locate(&p("C:\\runs")).unwrap(),
            Location::Local(Path::new("C:\\runs"))
        );
        assert_eq!(
            locate(&p("file:///tmp/x")).unwrap(),
            Location::Local(Path::new("/tmp/x"))
        );
        assert_eq!(
            locate(&p("s3://b/p/q/")).unwrap(),
            Location::S3 {
                bucket: "b",
                key: "p/q"
            }
        );
        assert_eq!(
            locate(&p("s3://b")).unwrap(),
            Location::S3 {
                bucket: "b",
                key: ""
            }
        );
        for url in [
            "gs://b/x",
            "hdfs://nn/x",
            "az://c/x",
            "http://h/x",
            "S3a://b/x",
        ] {
            let e = locate(&p(url)).unwrap_err();
            assert!(matches!(e, StorageError::UnsupportedScheme { .. }), "{url}");
            let io: io::Error = e.into();
            assert_eq!(io.kind(), io::ErrorKind::Unsupported);
            assert!(io.to_string().contains(url), "{io}");
        }
        assert!(matches!(
            locate(&p("s3:///x")),
            Err(StorageError::InvalidUrl { .. })
        ));
        // Not a scheme: a colon-separated name is a local path.
        assert!(matches!(locate(&p("a b://x")), Ok(Location::Local(_))));
    }
}
