//! The local filesystem: the only place `std::fs` touches event files.
//!
//! Listing walks a directory recursively, depth-first with entries in name order (so a
//! directory's files come in name order); symbolic links are followed, to files and to
//! directories, as TensorBoard and tbparse follow them (a logdir often gathers runs by links),
//! except a link to a directory that is already being walked (an ancestor: the tree would be
//! infinite); a directory below the root that vanished or is unreadable is skipped, as
//! TensorBoard does. Files are appended to; a failed write is cut
//! back to the last whole record. A file written whole goes to a temporary file beside it,
//! renamed over it.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use super::{CreateError, Entry, FlushKind, Listing, NewFile, PathKind, Sink, Source, Storage};

/// The local filesystem.
#[derive(Debug, Clone, Copy, Default)]
pub struct LocalStorage;

impl Source for File {
    fn size(&mut self) -> io::Result<u64> {
        Ok(self.metadata()?.len())
    }
}

impl Storage for LocalStorage {
    fn stat(&self, path: &Path) -> io::Result<PathKind> {
        match fs::metadata(path) {
            Ok(m) if m.is_dir() => Ok(PathKind::Dir),
            Ok(_) => Ok(PathKind::File),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(PathKind::Missing),
            Err(e) => Err(e),
        }
    }

    fn list(&self, root: &Path, keep: &dyn Fn(&str) -> bool) -> io::Result<Listing> {
        let meta = fs::metadata(root)?;
        if meta.is_file() {
            return Ok(Listing::File {
                len: Some(meta.len()),
            });
        }
        let mut out = Vec::new();
        let mut open = Vec::new();
        walk(root, "", keep, &mut open, &mut out)?;
        Ok(Listing::Dir(out))
    }

    fn len(&self, path: &Path) -> io::Result<u64> {
        Ok(fs::metadata(path)?.len())
    }

    fn open(&self, path: &Path, offset: u64, _len: Option<u64>) -> io::Result<Box<dyn Source>> {
        let mut f = File::open(path)?;
        if offset > 0 {
            f.seek(SeekFrom::Start(offset))?;
        }
        Ok(Box::new(f))
    }

    fn create(&self, new: NewFile<'_>) -> Result<Box<dyn Sink>, CreateError> {
        Ok(Box::new(LocalSink::create(new)?))
    }

    fn write_file(&self, path: &Path, bytes: &[u8], sync: bool) -> Result<(), CreateError> {
        write_file(path, bytes, sync)
    }
}

/// Numbers the temporary files of [`write_file`] within this process.
static TEMP_SEQ: AtomicU64 = AtomicU64::new(0);

/// A temporary file in `path`'s directory, renamed over `path`; with `sync`, the data and then
/// the directory entry are on the storage device before it returns.
fn write_file(path: &Path, bytes: &[u8], sync: bool) -> Result<(), CreateError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    if let Err(e) = fs::create_dir_all(dir) {
        // Name the component that is in the way, as Python does (`NotADirectoryError`).
        let blocked = dir.ancestors().find(|a| a.is_file()).unwrap_or(dir);
        let e = if blocked.is_file() {
            io::Error::from_raw_os_error(libc::ENOTDIR)
        } else {
            e
        };
        return Err(CreateError::new("cannot create directory", blocked, e));
    }
    let file_name = path.file_name().and_then(|n| n.to_str()).unwrap_or("file");
    let tmp = dir.join(format!(
        ".{file_name}.{}.{}.tmp",
        std::process::id(),
        TEMP_SEQ.fetch_add(1, Ordering::Relaxed)
    ));
    let write = || -> io::Result<()> {
        let mut f = File::create(&tmp)?;
        f.write_all(bytes)?;
        if sync {
            f.sync_data()?;
        }
        Ok(())
    };
    let result = write()
        .map_err(|e| CreateError::new("cannot write", &tmp, e))
        .and_then(|()| {
            fs::rename(&tmp, path).map_err(|e| CreateError::new("cannot rename", path, e))
        })
        .and_then(|()| {
            if sync {
                File::open(dir)
                    .and_then(|d| d.sync_all())
                    .map_err(|e| CreateError::new("cannot sync", dir, e))
            } else {
                Ok(())
            }
        });
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

/// Walks `dir` (`rel` below the root); `open` holds the directories being walked (`dir`'s
/// ancestors), by device and inode, so a link back to one of them is not followed.
fn walk(
    dir: &Path,
    rel: &str,
    keep: &dyn Fn(&str) -> bool,
    open: &mut Vec<(u64, u64)>,
    out: &mut Vec<Entry>,
) -> io::Result<()> {
    let mut entries: Vec<(String, PathBuf, bool)> = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        // A directory that vanished or is unreadable below the root is skipped.
        Err(_) if !rel.is_empty() => return Ok(()),
        Err(e) => return Err(e),
    };
    let id = dir_id(dir);
    if id.is_some_and(|id| open.contains(&id)) {
        return Ok(()); // reached again through a link: its tree is being walked already
    }
    open.extend(id);
    for entry in rd {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(ft) = entry.file_type() else { continue };
        let (is_dir, is_file) = if ft.is_symlink() {
            // A link is what it points to; a dangling one is nothing.
            match fs::metadata(entry.path()) {
                Ok(m) => (m.is_dir(), m.is_file()),
                Err(_) => (false, false),
            }
        } else {
            (ft.is_dir(), ft.is_file())
        };
        if is_dir || (is_file && keep(&name)) {
            entries.push((name, entry.path(), is_dir));
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, path, is_dir) in entries {
        if is_dir {
            let sub = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            walk(&path, &sub, keep, open, out)?;
        } else {
            out.push(Entry {
                dir: rel.to_owned(),
                path,
                len: None,
            });
        }
    }
    if id.is_some() {
        open.pop();
    }
    Ok(())
}

/// A directory's identity (device, inode), following links; `None` where it cannot be had.
#[cfg(unix)]
fn dir_id(dir: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    fs::metadata(dir).ok().map(|m| (m.dev(), m.ino()))
}

/// A directory's identity: its canonical path's hash stands in for an inode off Unix.
#[cfg(not(unix))]
fn dir_id(dir: &Path) -> Option<(u64, u64)> {
    use std::hash::{Hash, Hasher};
    let canon = fs::canonicalize(dir).ok()?;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    canon.hash(&mut h);
    Some((0, h.finish()))
}

/// A local event file, appended to.
pub struct LocalSink {
    path: PathBuf,
    file: File,
    /// Bytes of whole records written so far.
    good_len: u64,
    dirty: bool,
}

impl LocalSink {
    /// Creates a new file in `new.dir` (created if missing) under a fresh name, and writes and
    /// flushes its header.
    fn create(mut new: NewFile<'_>) -> Result<LocalSink, CreateError> {
        let dir = new.dir;
        fs::create_dir_all(dir).map_err(|e| CreateError::new("cannot create directory", dir, e))?;
        let (path, mut file) = loop {
            let path = dir.join((new.name)(None));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(f) => break (path, f),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(CreateError::new("cannot create", &path, e)),
            }
        };
        if let Err(e) = file.write_all(new.header).and_then(|()| file.flush()) {
            // Leave no half-written header behind (a full disk, a file-size limit).
            let _ = fs::remove_file(&path);
            return Err(CreateError::new("cannot write", &path, e));
        }
        Ok(LocalSink {
            path,
            file,
            good_len: new.header.len() as u64,
            dirty: false,
        })
    }
}

impl Sink for LocalSink {
    fn path(&self) -> &Path {
        &self.path
    }

    fn append(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.good_len += bytes.len() as u64;
                self.dirty = true;
                Ok(())
            }
            Err(e) => {
                // Roll back a partly written record so the file stays readable and later
                // records (once the fault clears) follow whole records.
                let _ = self.file.set_len(self.good_len);
                let _ = self.file.seek(SeekFrom::Start(self.good_len));
                Err(e)
            }
        }
    }

    fn dirty(&self) -> bool {
        self.dirty
    }

    fn flush(&mut self, kind: FlushKind) -> io::Result<()> {
        let sync = matches!(
            kind,
            FlushKind::Explicit { sync: true } | FlushKind::Close { sync: true }
        );
        self.dirty = false;
        self.file.flush()?;
        if sync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    fn deleted(&self) -> bool {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            matches!(self.file.metadata(), Ok(m) if m.nlink() == 0)
        }
        #[cfg(not(unix))]
        {
            !self.path.exists()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_file_replaces_whole_files_and_names_what_is_in_the_way() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("a/b/f.txt");
        LocalStorage.write_file(&path, b"old", false).unwrap();
        LocalStorage.write_file(&path, b"new", true).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"new");
        // Only the file: no temporary file is left beside it.
        assert_eq!(fs::read_dir(root.path().join("a/b")).unwrap().count(), 1);

        // A file where a directory must go: ENOTDIR, naming that file.
        fs::write(root.path().join("blocked"), b"x").unwrap();
        let e = LocalStorage
            .write_file(&root.path().join("blocked/sub/f.txt"), b"y", false)
            .unwrap_err();
        assert_eq!(e.path, root.path().join("blocked"));
        assert_eq!(e.source.raw_os_error(), Some(libc::ENOTDIR));

        // A directory where the file goes: the rename fails, naming the target, and the
        // temporary file is removed.
        let dir_target = root.path().join("a/b/d");
        fs::create_dir(&dir_target).unwrap();
        let e = LocalStorage
            .write_file(&dir_target, b"z", false)
            .unwrap_err();
        assert_eq!(e.path, dir_target);
        assert_eq!(fs::read_dir(root.path().join("a/b")).unwrap().count(), 2);
    }
}
