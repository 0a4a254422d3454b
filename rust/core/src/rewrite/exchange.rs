//! The whole-directory swap: a run directory's new tree is staged complete beside it (inside
//! the logdir's work directory, on the same filesystem), then exchanged with the live directory
//! in one `renameat2(RENAME_EXCHANGE)` (Linux), so that the run's path names the complete old
//! tree or the complete new one, never a mix (the protocol is in the parent module's doc). The
//! logdir-wide swap (module `logdir`) stages and retires the whole logdir's tree the same way:
//! the tree is then staged in a container beside the logdir, the new event files are linked in
//! rather than moved, and the work directory is not mirrored.
//!
//! The staged tree mirrors the live one: its directories are created with the same mode (and
//! owner, where that is not the rewriting user: only root can give it), its regular files
//! (other files of the run, and the whole trees of nested runs) are hard links to the live
//! ones, its symbolic links are recreated, and the run's own event files are the rewritten
//! ones. Event files wait in the staged tree under hidden names (no `tfevents` in them, so no
//! walker sees a run there) until just before the exchange. Whatever cannot be mirrored that
//! way (a FIFO or socket, a file that cannot be hard-linked, a directory the user neither
//! owns nor can give away, another filesystem mounted inside) makes [`stage_tree`] answer
//! [`Staged::Unsupported`], and the unit takes the per-file protocol instead; so does a kernel or filesystem without
//! `RENAME_EXCHANGE` ([`unsupported`] tells those errors).

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use super::filter::named;
use crate::reader::discovery;

/// A staged tree, or why the run cannot be swapped whole.
pub(super) enum Staged {
    /// The tree is staged: hidden names to give their final names (relative to the tree),
    /// directories whose mode must be set after that (they lack the owner's write or search
    /// bit), and the tree's identity (device, inode).
    Tree {
        hidden: Vec<(PathBuf, PathBuf)>,
        modes: Vec<(PathBuf, u32)>,
        id: (u64, u64),
    },
    /// Why not (the unit takes the per-file protocol).
    Unsupported(String),
}

/// True for the errors that mean "this cannot be swapped whole here" rather than a failure:
/// no `renameat2` or no `RENAME_EXCHANGE` on this kernel or filesystem, another mount, a file
/// that cannot be hard-linked or a directory that cannot be given its owner.
pub(super) fn unsupported(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::Unsupported {
        return true;
    }
    #[cfg(unix)]
    {
        matches!(
            e.raw_os_error(),
            Some(
                libc::EINVAL
                    | libc::ENOSYS
                    | libc::EXDEV
                    | libc::EPERM
                    | libc::EACCES
                    | libc::EMLINK
                    | libc::EOPNOTSUPP
                    | libc::EEXIST
            )
        )
    }
    #[cfg(not(unix))]
    false
}

/// Stops here when a test asks to.
#[cfg(test)]
pub(super) fn crash_point(point: &'static str) -> io::Result<()> {
    hooks::crash(point)
}

/// Stops here when a test asks to (a no-op outside tests).
#[cfg(not(test))]
#[inline]
#[allow(clippy::unnecessary_wraps)] // the test build's version can fail
pub(super) fn crash_point(_point: &'static str) -> io::Result<()> {
    Ok(())
}

/// True when the exchange failed for want of it on this system (no `renameat2`, no
/// `RENAME_EXCHANGE`, turned off), not for the run's place (another mount, permissions).
pub(super) fn refused_everywhere(e: &io::Error) -> bool {
    if e.kind() == io::ErrorKind::Unsupported {
        return true;
    }
    #[cfg(unix)]
    {
        matches!(e.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS))
    }
    #[cfg(not(unix))]
    false
}

/// Why no exchange is tried when [`turned_off`].
pub(super) const TURNED_OFF: &str = "turned off by FERROBOARD_REWRITE_EXCHANGE=0";

/// True when `FERROBOARD_REWRITE_EXCHANGE=0` (or a test says so, for its thread only).
pub(super) fn turned_off() -> bool {
    #[cfg(test)]
    if hooks::TURNED_OFF.with(|c| c.get()) {
        return true;
    }
    std::env::var_os("FERROBOARD_REWRITE_EXCHANGE").is_some_and(|v| v == "0")
}

/// `renameat2(a, b, RENAME_EXCHANGE)`: `a` and `b` trade places in one step. The environment
/// variable `FERROBOARD_REWRITE_EXCHANGE=0` makes it answer "unsupported" (the per-file
/// protocol, for a filesystem that claims the exchange but should not be trusted with it).
pub(super) fn exchange(a: &Path, b: &Path) -> io::Result<()> {
    #[cfg(test)]
    if hooks::NO_EXCHANGE.with(|c| c.get()) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    if turned_off() {
        return Err(io::Error::new(io::ErrorKind::Unsupported, TURNED_OFF));
    }
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let c = |p: &Path| {
            CString::new(p.as_os_str().as_bytes())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "NUL in a path"))
        };
        let (ca, cb) = (c(a)?, c(b)?);
        // SAFETY: two NUL-terminated paths that outlive the call; the raw system call, so
        // that no glibc version is required (glibc has the wrapper from 2.28 on).
        let rc = unsafe {
            libc::syscall(
                libc::SYS_renameat2,
                libc::AT_FDCWD,
                ca.as_ptr(),
                libc::AT_FDCWD,
                cb.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if rc == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no RENAME_EXCHANGE on this system",
        ))
    }
}

/// The (device, inode) of `p` itself (a link is not followed).
pub(super) fn id(p: &Path) -> io::Result<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let m = fs::symlink_metadata(p)?;
        Ok((m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        let _ = p;
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "no inode numbers",
        ))
    }
}

/// A failure while staging: either "not here" (fall back) or a real error.
enum Stop {
    Unsupported(String),
    Io(io::Error),
}

fn stop(e: io::Error, path: &Path) -> Stop {
    if unsupported(&e) {
        Stop::Unsupported(format!("{}: {e}", path.display()))
    } else {
        Stop::Io(named(e, path))
    }
}

const HIDDEN: &str = ".ferroboard-staged-";

struct Mirror<'a> {
    /// The event files left out (paths relative to the tree's top).
    own: &'a HashSet<PathBuf>,
    /// A top-level entry not mirrored (the logdir's work directory).
    skip: Option<&'a OsStr>,
    /// The device of the tree's top: a directory on another one is a mount point.
    dev: u64,
    hidden: Vec<(PathBuf, PathBuf)>,
    modes: Vec<(PathBuf, u32)>,
    dirs: Vec<PathBuf>,
    n: usize,
}

impl Mirror<'_> {
    fn hidden_name(&mut self) -> OsString {
        self.n += 1;
        OsString::from(format!("{HIDDEN}{}", self.n))
    }

    #[cfg(unix)]
    fn dir(&mut self, src: &Path, dst: &Path, rel: &Path, top: bool) -> Result<(), Stop> {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        let meta = fs::symlink_metadata(src).map_err(|e| stop(e, src))?;
        if meta.dev() != self.dev {
            return Err(Stop::Unsupported(format!(
                "{}: another filesystem is mounted there",
                src.display()
            )));
        }
        fs::create_dir(dst).map_err(|e| stop(e, dst))?;
        // SAFETY: geteuid cannot fail.
        let me = unsafe { libc::geteuid() };
        if meta.uid() != me || meta.gid() != fs::metadata(dst).map_err(|e| stop(e, dst))?.gid() {
            std::os::unix::fs::lchown(dst, Some(meta.uid()), Some(meta.gid()))
                .map_err(|e| stop(e, dst))?;
        }
        let mode = meta.mode() & 0o7777;
        // The owner needs to write and search it until the hidden names are final.
        fs::set_permissions(dst, fs::Permissions::from_mode(mode | 0o700))
            .map_err(|e| stop(e, dst))?;
        if mode & 0o700 != 0o700 {
            self.modes.push((rel.to_path_buf(), mode));
        }
        self.dirs.push(dst.to_path_buf());
        let entries = fs::read_dir(src).map_err(|e| stop(e, src))?;
        for e in entries {
            let e = e.map_err(|e| stop(e, src))?;
            let name = e.file_name();
            let from = e.path();
            let ft = e.file_type().map_err(|e| stop(e, &from))?;
            let is_event = discovery::is_event_file_name(&name.to_string_lossy());
            if top && self.skip == Some(name.as_os_str()) {
                continue;
            }
            if !ft.is_dir() && is_event && self.own.contains(&rel.join(&name)) {
                continue; // an old event file of the unit: its rewritten one takes its place
            }
            if ft.is_dir() {
                self.dir(&from, &dst.join(&name), &rel.join(&name), false)?;
                continue;
            }
            let at = if is_event {
                let h = self.hidden_name();
                self.hidden.push((rel.join(&h), rel.join(&name)));
                h
            } else {
                name.clone()
            };
            let to = dst.join(&at);
            if ft.is_file() {
                fs::hard_link(&from, &to).map_err(|e| stop(e, &from))?;
            } else if ft.is_symlink() {
                let target = fs::read_link(&from).map_err(|e| stop(e, &from))?;
                std::os::unix::fs::symlink(&target, &to).map_err(|e| stop(e, &to))?;
                let m = fs::symlink_metadata(&from).map_err(|e| stop(e, &from))?;
                if m.uid() != me {
                    std::os::unix::fs::lchown(&to, Some(m.uid()), Some(m.gid()))
                        .map_err(|e| stop(e, &to))?;
                }
            } else {
                return Err(Stop::Unsupported(format!(
                    "{}: not a file, directory or symbolic link",
                    from.display()
                )));
            }
        }
        Ok(())
    }

    #[cfg(not(unix))]
    fn dir(&mut self, _: &Path, _: &Path, _: &Path, _: bool) -> Result<(), Stop> {
        Err(Stop::Unsupported("not a Unix system".into()))
    }
}

/// What [`stage_tree`] puts in the new tree besides the mirror of the live one.
pub(super) struct Spec<'a> {
    /// The unit's old event files, left out (paths relative to the tree's top).
    pub(super) own: &'a HashSet<PathBuf>,
    /// `(staged file, final path relative to the tree's top)`: the new event files.
    pub(super) outputs: &'a [(PathBuf, PathBuf)],
    /// Hard-link the outputs in (they also stay where they are) rather than move them.
    pub(super) link: bool,
    /// A top-level entry that is not mirrored (the logdir's work directory).
    pub(super) skip: Option<&'a OsStr>,
}

/// Stages the new tree of the directory `live` at `tree`: a mirror of `live` without the
/// unit's old event files, with the outputs moved (or linked) in under hidden names, their
/// directories created where `live` lacks them. Everything is synced. A
/// [`Staged::Unsupported`] leaves `tree` for the caller to remove and the outputs where they
/// were.
pub(super) fn stage_tree(live: &Path, tree: &Path, spec: &Spec<'_>) -> io::Result<Staged> {
    let mut m = Mirror {
        own: spec.own,
        skip: spec.skip,
        dev: id(live).map_err(|e| named(e, live))?.0,
        hidden: Vec::new(),
        modes: Vec::new(),
        dirs: Vec::new(),
        n: 0,
    };
    match m.dir(live, tree, Path::new(""), true) {
        Ok(()) => {}
        Err(Stop::Unsupported(why)) => return Ok(Staged::Unsupported(why)),
        Err(Stop::Io(e)) => return Err(e),
    }
    for (staged, path) in spec.outputs {
        let dir = path.parent().unwrap_or(Path::new(""));
        if !tree.join(dir).is_dir() {
            fs::create_dir_all(tree.join(dir)).map_err(|e| named(e, &tree.join(dir)))?;
            m.dirs.extend(dir.ancestors().map(|a| tree.join(a)));
        }
        let h = dir.join(m.hidden_name());
        let to = tree.join(&h);
        if spec.link {
            fs::hard_link(staged, &to).map_err(|e| named(e, &to))?;
        } else {
            fs::rename(staged, &to).map_err(|e| named(e, &to))?;
        }
        m.hidden.push((h, path.clone()));
    }
    m.dirs.sort();
    m.dirs.dedup();
    for d in &m.dirs {
        super::swap::sync_dir(d)?;
    }
    Ok(Staged::Tree {
        hidden: m.hidden,
        modes: m.modes,
        id: id(tree).map_err(|e| named(e, tree))?,
    })
}

/// Gives the staged event files their final names and the staged directories their modes
/// (idempotent: a name already given is skipped).
pub(super) fn finish_names(
    tree: &Path,
    hidden: &[(PathBuf, PathBuf)],
    modes: &[(PathBuf, u32)],
) -> io::Result<()> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (h, f) in hidden {
        let (from, to) = (tree.join(h), tree.join(f));
        match fs::rename(&from, &to) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(named(e, &from)),
        }
        dirs.extend(to.parent().map(Path::to_path_buf));
        crash_point("named-one")?;
    }
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        super::swap::sync_dir(d)?;
    }
    // Deepest first: a directory's mode may take away the owner's search bit.
    for (rel, mode) in modes.iter().rev() {
        let d = tree.join(rel);
        set_mode(&d, *mode)?;
    }
    Ok(())
}

fn set_mode(p: &Path, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(p, fs::Permissions::from_mode(mode)).map_err(|e| named(e, p))
    }
    #[cfg(not(unix))]
    {
        let _ = (p, mode);
        Ok(())
    }
}

/// Lets the owner write into and search a directory about to be emptied.
fn writable(p: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let mode = fs::symlink_metadata(p).map_err(|e| named(e, p))?.mode() & 0o7777;
        if mode & 0o700 != 0o700 {
            set_mode(p, mode | 0o700)?;
        }
    }
    #[cfg(not(unix))]
    let _ = p;
    Ok(())
}

/// Removes the tree at `p` (a file, link or directory; gone already is fine), directories
/// the owner cannot write included.
pub(super) fn remove_all(p: &Path) -> io::Result<()> {
    let meta = match fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(named(e, p)),
    };
    if !meta.is_dir() {
        return match fs::remove_file(p) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(named(e, p)),
            _ => Ok(()),
        };
    }
    writable(p)?;
    for e in fs::read_dir(p).map_err(|e| named(e, p))? {
        remove_all(&e.map_err(|e| named(e, p))?.path())?;
    }
    match fs::remove_dir(p) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(named(e, p)),
        _ => Ok(()),
    }
}

/// Removes the old tree `old` (after the exchange): the unit's old event files (`own`, paths
/// relative to the tree's top) go, and so does the top-level entry `gone` (the logdir's work
/// directory: what the rewrite left in it is done with); anything else that the new tree
/// `live` lacks at the same path arrived after the tree was staged (a live writer's new file,
/// with `force`) and is moved into the live tree instead of being lost; the rest are links to
/// what the live tree holds, or old directories, and go. Idempotent.
pub(super) fn retire(
    old: &Path,
    live: &Path,
    own: &HashSet<PathBuf>,
    gone: Option<&OsStr>,
) -> io::Result<()> {
    retire_at(old, live, Path::new(""), own, gone)
}

fn retire_at(
    old: &Path,
    live: &Path,
    rel: &Path,
    own: &HashSet<PathBuf>,
    gone: Option<&OsStr>,
) -> io::Result<()> {
    match fs::symlink_metadata(old) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(named(e, old)),
        Ok(_) => writable(old)?,
    }
    for e in fs::read_dir(old).map_err(|e| named(e, old))? {
        let e = e.map_err(|e| named(e, old))?;
        let (name, from) = (e.file_name(), e.path());
        let is_dir = e.file_type().map_err(|e| named(e, &from))?.is_dir();
        let to = live.join(&name);
        let at = rel.join(&name);
        let top_gone = rel.as_os_str().is_empty() && gone == Some(name.as_os_str());
        if top_gone || !is_dir && own.contains(&at) {
            remove_all(&from)?;
        } else {
            match fs::symlink_metadata(&to) {
                Err(e) if e.kind() == io::ErrorKind::NotFound => {
                    fs::rename(&from, &to).map_err(|e| named(e, &from))?;
                }
                Err(e) => return Err(named(e, &to)),
                Ok(m) if is_dir && m.is_dir() => retire_at(&from, &to, &at, own, None)?,
                Ok(_) => remove_all(&from)?,
            }
        }
        crash_point("retiring")?;
    }
    match fs::remove_dir(old) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(named(e, old)),
        _ => Ok(()),
    }
}

/// Test hooks: make the exchange fail as a kernel without it does, and stop the protocol at a
/// named point as a SIGKILL would (the process state is dropped; what is on disk stays).
#[cfg(test)]
pub(super) mod hooks {
    use std::cell::Cell;
    use std::io;

    thread_local! {
        pub(in crate::rewrite) static NO_EXCHANGE: Cell<bool> = const { Cell::new(false) };
        pub(in crate::rewrite) static TURNED_OFF: Cell<bool> = const { Cell::new(false) };
        pub(in crate::rewrite) static CRASH_AT: Cell<Option<&'static str>> = const { Cell::new(None) };
    }

    pub(in crate::rewrite) fn crash(point: &'static str) -> io::Result<()> {
        if CRASH_AT.with(|c| c.get()) == Some(point) {
            return Err(io::Error::other(format!("simulated crash at {point}")));
        }
        Ok(())
    }
}
