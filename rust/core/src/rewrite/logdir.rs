//! The logdir-wide swap: every unit of an in-place rewrite swapped in at once, by exchanging
//! the logdir itself with a staged mirror of its whole new tree (`renameat2(RENAME_EXCHANGE)`,
//! Linux). It is what makes whole the units that span more than one run directory: the
//! logdir's own run (its files sit beside the other runs) and runs merged into one (several
//! directories). The protocol is in the parent module's doc; the mirroring and the retiring of
//! the old tree are [`exchange`]'s, the same as for one run.
//!
//! The staged tree lives outside the logdir, in a container beside it:
//! `PARENT/.ferroboard-rewrite-NAME/tree` (the same filesystem: the logdir must not be a
//! mount point). It holds the same directories with the same modes and owners, every other
//! file hard-linked (event files under hidden names until just before the exchange), symbolic
//! links recreated, the units' new files linked in, their old event files left out, and a work
//! directory holding only the lock (the same file: the `flock` keeps excluding another
//! rewrite). The exchange is the commit: `PARENT/.ferroboard-rewrite-NAME/journal` records the
//! staged tree's (device, inode), and recovery tells by the logdir's inode whether the
//! exchange happened. If it did, the tree in the container is the old one and is retired
//! (what arrived in it after the staging moves into the new tree); if not, it is the staged one
//! and is deleted: every run is still the old one.

use std::collections::HashSet;
use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::exchange::{self, crash_point, Spec, Staged};
use super::filter::named;
use super::swap::{hex, sync_dir, unhex};
use super::{cwd, WORK_DIR};
use crate::reader::discovery::REWRITE_CONTAINER_PREFIX;

/// Where a logdir's exchange is staged: the logdir (canonical), its parent, the container.
pub(super) struct Place {
    logdir: PathBuf,
    parent: PathBuf,
    container: PathBuf,
}

/// Why the logdir was not exchanged (nothing changed), and whether the refusal is the
/// system's (no exchange anywhere: the units do not try their own).
pub(super) struct NotExchanged {
    pub(super) why: String,
    pub(super) system: bool,
}

/// `PARENT/.ferroboard-rewrite-NAME` for the canonical logdir `PARENT/NAME`.
fn container_of(logdir: &Path) -> Option<PathBuf> {
    let mut name = OsString::from(REWRITE_CONTAINER_PREFIX);
    name.push(logdir.file_name()?);
    Some(logdir.parent()?.join(name))
}

/// What a container holds while a rewrite uses it (see the module docs' steps).
const CONTAINER_ENTRIES: [&str; 3] = ["tree", "journal", "journal.tmp"];

/// True when `container` is a directory holding nothing but what a rewrite puts there (false
/// when there is none): one that holds anything else is another program's directory of the
/// same name, which recovery leaves alone (and the logdir is then not exchanged).
fn ours(container: &Path) -> io::Result<bool> {
    if !fs::symlink_metadata(container).is_ok_and(|m| m.is_dir()) {
        return Ok(false);
    }
    for entry in fs::read_dir(container).map_err(|e| named(e, container))? {
        let name = entry?.file_name();
        if !CONTAINER_ENTRIES.iter().any(|n| name == OsStr::new(n)) {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(unix)]
fn writable(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a NUL-terminated path that outlives the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

#[cfg(not(unix))]
fn writable(_dir: &Path) -> bool {
    false
}

/// Where the logdir `root` can be exchanged, or why it cannot: exchanges turned off, not
/// Linux, the logdir a mount point (or the filesystem's root), its parent not writable, or
/// another process standing inside it ([`cwd`]).
pub(super) fn place(root: &Path) -> Result<Place, String> {
    if exchange::turned_off() {
        return Err(exchange::TURNED_OFF.into());
    }
    if !cfg!(target_os = "linux") {
        return Err("no RENAME_EXCHANGE on this system".into());
    }
    let logdir = fs::canonicalize(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let (Some(parent), Some(container)) = (logdir.parent(), container_of(&logdir)) else {
        return Err("the logdir is the filesystem's root".into());
    };
    match (exchange::id(&logdir), exchange::id(parent)) {
        (Ok(a), Ok(b)) if a.0 == b.0 && a != b => {}
        (Ok(_), Ok(_)) => return Err(format!("{} is a mount point", logdir.display())),
        (Err(e), _) | (_, Err(e)) => return Err(format!("{}: {e}", logdir.display())),
    }
    if !writable(parent) {
        return Err(format!(
            "its parent {} is not writable (the new tree is staged there)",
            parent.display()
        ));
    }
    // Recovery (under the lock, before planning) removed any container a rewrite left.
    if fs::symlink_metadata(&container).is_ok() {
        return Err(format!(
            "{} exists and was not made by a rewrite (move it away for the logdir-wide swap)",
            container.display()
        ));
    }
    if let Some((pid, what)) = cwd::inside(&logdir) {
        return Err(format!(
            "process {pid} has its {what} in {} (it would be left in the old tree)",
            logdir.display()
        ));
    }
    Ok(Place {
        parent: parent.to_path_buf(),
        logdir,
        container,
    })
}

/// The logdir exchange's journal: the staged tree's (device, inode), the hidden names to make
/// final and the directory modes to set (relative to the tree), and the old event files that
/// the new tree replaces or drops (relative to the logdir).
struct Journal {
    id: (u64, u64),
    hidden: Vec<(PathBuf, PathBuf)>,
    modes: Vec<(PathBuf, u32)>,
    own: Vec<PathBuf>,
}

const MAGIC: &str = "ferroboard-rewrite-logdir 1";

impl Journal {
    fn encode(&self) -> String {
        let mut s = format!("{MAGIC}\ntree {} {}\n", self.id.0, self.id.1);
        for (h, f) in &self.hidden {
            s += &format!("hidden {} {}\n", hex(h), hex(f));
        }
        for (d, m) in &self.modes {
            s += &format!("mode {} {m:o}\n", hex(d));
        }
        for p in &self.own {
            s += &format!("own {}\n", hex(p));
        }
        s + "end\n"
    }

    fn decode(s: &str) -> Option<Journal> {
        let mut lines = s.lines();
        if lines.next()? != MAGIC {
            return None;
        }
        let mut j = match lines.next()?.split(' ').collect::<Vec<_>>().as_slice() {
            ["tree", dev, ino] => Journal {
                id: (dev.parse().ok()?, ino.parse().ok()?),
                hidden: Vec::new(),
                modes: Vec::new(),
                own: Vec::new(),
            },
            _ => return None,
        };
        for line in lines {
            match line.split(' ').collect::<Vec<_>>().as_slice() {
                ["hidden", a, b] => j.hidden.push((unhex(a)?, unhex(b)?)),
                ["mode", d, m] => j.modes.push((unhex(d)?, u32::from_str_radix(m, 8).ok()?)),
                ["own", p] => j.own.push(unhex(p)?),
                ["end"] => return Some(j),
                _ => return None,
            }
        }
        None
    }
}

/// Errors that mean the container cannot be made here (the units go their own way instead).
fn cannot_create(e: &io::Error) -> bool {
    #[cfg(unix)]
    if matches!(
        e.raw_os_error(),
        Some(libc::EACCES | libc::EPERM | libc::EROFS | libc::ENAMETOOLONG | libc::EEXIST)
    ) {
        return true;
    }
    exchange::unsupported(e)
}

/// Swaps every staged unit in at once (steps L1 to L6 of the parent module's doc): `outputs`
/// are `(staged file, final path relative to the logdir)`, `own` the old event files they
/// replace or drop (relative to the logdir). `Ok(Err(_))`: the logdir could not be exchanged
/// and nothing changed; the staged files are still where they were (they were linked into the
/// tree, not moved), for the units to be swapped in one by one.
pub(super) fn swap_in(
    place: &Place,
    outputs: &[(PathBuf, PathBuf)],
    own: &HashSet<PathBuf>,
) -> io::Result<Result<(), NotExchanged>> {
    let Place {
        logdir,
        parent,
        container,
    } = place;
    let not = |why: String| Ok(Err(NotExchanged { why, system: false }));
    match fs::create_dir(container) {
        Ok(()) => {}
        Err(e) if cannot_create(&e) => return not(format!("{}: {e}", container.display())),
        Err(e) => return Err(named(e, container)),
    }
    sync_dir(parent)?;
    // L1. The new tree.
    let tree = container.join("tree");
    let spec = Spec {
        own,
        outputs,
        link: true,
        skip: Some(OsStr::new(WORK_DIR)),
    };
    let (hidden, modes, id) = match exchange::stage_tree(logdir, &tree, &spec)? {
        Staged::Tree { hidden, modes, id } => (hidden, modes, id),
        Staged::Unsupported(why) => {
            discard(container, parent)?;
            return not(why);
        }
    };
    // Its work directory holds the lock only: the same file, so that the lock holds on.
    let work = tree.join(WORK_DIR);
    fs::create_dir(&work).map_err(|e| named(e, &work))?;
    let lock = logdir.join(WORK_DIR).join("lock");
    fs::hard_link(&lock, work.join("lock")).map_err(|e| named(e, &lock))?;
    sync_dir(&work)?;
    sync_dir(&tree)?;
    crash_point("logdir-staged")?;
    // L2. The journal.
    let mut own: Vec<PathBuf> = own.iter().cloned().collect();
    own.sort();
    let j = Journal {
        id,
        hidden,
        modes,
        own,
    };
    let tmp = container.join("journal.tmp");
    {
        let mut f = File::create(&tmp).map_err(|e| named(e, &tmp))?;
        f.write_all(j.encode().as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, container.join("journal")).map_err(|e| named(e, &tmp))?;
    sync_dir(container)?;
    crash_point("logdir-journal")?;
    // L3. Final names, then the exchange: the commit.
    exchange::finish_names(&tree, &j.hidden, &j.modes)?;
    let cwd = cwd::own_inside(logdir);
    match exchange::exchange(&tree, logdir) {
        Ok(()) => {}
        Err(e) if exchange::unsupported(&e) => {
            discard(container, parent)?;
            return Ok(Err(NotExchanged {
                why: format!("renameat2(RENAME_EXCHANGE) on {}: {e}", logdir.display()),
                system: exchange::refused_everywhere(&e),
            }));
        }
        Err(e) => return Err(named(e, logdir)),
    }
    // This process stood in the old tree: it stands at the same path in the new one.
    cwd::stand_again(cwd, logdir);
    crash_point("logdir-exchanged")?;
    sync_dir(parent)?;
    sync_dir(container)?;
    finish(logdir, parent, container, &j)?;
    Ok(Ok(()))
}

/// L4 to L6: retires the old tree (now in the container), then removes the container.
fn finish(logdir: &Path, parent: &Path, container: &Path, j: &Journal) -> io::Result<()> {
    let own: HashSet<PathBuf> = j.own.iter().cloned().collect();
    exchange::retire(
        &container.join("tree"),
        logdir,
        &own,
        Some(OsStr::new(WORK_DIR)),
    )?;
    sync_dir(logdir)?;
    crash_point("logdir-retired")?;
    discard(container, parent)
}

/// Removes the container (what is left in it is not in the logdir's tree).
fn discard(container: &Path, parent: &Path) -> io::Result<()> {
    exchange::remove_all(container)?;
    sync_dir(parent)
}

/// True when the logdir `root` has a container left by an interrupted rewrite.
pub(super) fn leftover(root: &Path) -> bool {
    fs::canonicalize(root)
        .ok()
        .and_then(|l| container_of(&l))
        .is_some_and(|c| ours(&c).unwrap_or(false))
}

/// Finishes or undoes an interrupted logdir exchange of `root` (idempotent; under the lock):
/// the logdir is the staged tree (exchanged: the old tree in the container is retired) or not
/// (the staged tree is deleted; every run is still the old one). Returns the container when
/// an exchange was finished.
pub(super) fn recover(root: &Path) -> io::Result<Option<PathBuf>> {
    let Ok(logdir) = fs::canonicalize(root) else {
        return Ok(None);
    };
    let (Some(parent), Some(container)) = (logdir.parent(), container_of(&logdir)) else {
        return Ok(None);
    };
    if !ours(&container)? {
        return Ok(None);
    }
    let journal = container.join("journal");
    let tree = container.join("tree");
    let text = match fs::read_to_string(&journal) {
        Ok(text) => text,
        // Not committed: the tree is a staged one (the old tree is only ever there with a
        // journal beside it).
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            discard(&container, parent)?;
            return Ok(None);
        }
        Err(e) => return Err(named(e, &journal)),
    };
    let Some(j) = Journal::decode(&text) else {
        return Err(io::Error::other(format!(
            "{}: an unreadable rewrite journal; {} is {}'s old tree (if the logdir is new) or \
             its new one (if not)",
            journal.display(),
            tree.display(),
            logdir.display()
        )));
    };
    if exchange::id(&logdir).ok() == Some(j.id) {
        finish(&logdir, parent, &container, &j)?;
        return Ok(Some(container));
    }
    match exchange::id(&tree) {
        Ok(id) if id != j.id => Err(io::Error::other(format!(
            "{}: neither {} nor {} is the staged tree the journal names",
            journal.display(),
            logdir.display(),
            tree.display()
        ))),
        _ => {
            discard(&container, parent)?;
            Ok(None)
        }
    }
}
