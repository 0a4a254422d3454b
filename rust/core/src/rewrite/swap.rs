//! The in-place commit of one unit, and the recovery of an interrupted one (the protocol is in
//! the parent module's doc).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use std::collections::HashSet;

use super::cwd;
use super::exchange::{self, crash_point, Staged};
use super::filter::{self, named, Filter, Rules};
use super::{run_dir, run_report, RewriteError, RunAction, RunReport, Unit, WORK_DIR};

/// The exclusive lock of a logdir's in-place rewrites (`flock` on Unix; released when the
/// process dies, so a killed rewrite never leaves the logdir locked).
pub(super) struct Lock {
    _file: File,
}

/// How long [`Lock::take`] waits for a lock that is taken before calling the logdir busy.
///
/// A `flock` belongs to the open file description, and a child process that another thread
/// forks gets a copy of every descriptor, the lock's among them, until it calls `exec` (or
/// exits): for that moment the lock outlives the rewrite that released it, and a rewrite that
/// follows at once found its logdir "busy" (seen in the tests, which spawn processes on other
/// threads). A rewrite that really holds the lock holds it for much longer than this.
pub(super) const LOCK_PATIENCE: Duration = Duration::from_millis(500);

impl Lock {
    pub(super) fn take(root: &Path) -> Result<Lock, RewriteError> {
        let work = root.join(WORK_DIR);
        fs::create_dir_all(&work).map_err(|e| named(e, &work))?;
        let path = work.join("lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| named(e, &path))?;
        #[cfg(unix)]
        {
            use std::os::unix::io::AsRawFd;
            let deadline = std::time::Instant::now() + LOCK_PATIENCE;
            loop {
                // SAFETY: flock on a file descriptor this function owns.
                let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
                if rc == 0 {
                    break;
                }
                let e = io::Error::last_os_error();
                if e.kind() != io::ErrorKind::WouldBlock {
                    return Err(named(e, &path).into());
                }
                if std::time::Instant::now() >= deadline {
                    return Err(RewriteError::Busy(root.to_path_buf()));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        Ok(Lock { _file: file })
    }
}

/// Removes the work directory once every unit is done (under the lock).
pub(super) fn finish(root: &Path) -> io::Result<()> {
    let work = root.join(WORK_DIR);
    for e in fs::read_dir(&work).map_err(|e| named(e, &work))? {
        let e = e?;
        if e.file_name() != "lock" {
            // A unit left behind would be recovered next time; there is none after a
            // successful run.
            return Ok(());
        }
    }
    let _ = fs::remove_file(work.join("lock"));
    let _ = fs::remove_dir(&work);
    Ok(())
}

pub(super) fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| named(e, dir))?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

pub(super) fn hex(p: &Path) -> String {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = p.to_string_lossy().as_bytes().to_vec();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(super) fn unhex(s: &str) -> Option<PathBuf> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect();
    let bytes = bytes?;
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Some(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
    }
    #[cfg(not(unix))]
    Some(PathBuf::from(String::from_utf8(bytes).ok()?))
}

/// A committed unit: staged files and their final paths, old files (paths relative to the
/// logdir, so that a logdir moved after a crash still recovers), and for a whole-run swap what
/// to exchange.
pub(super) struct Journal {
    pub(super) new: Vec<(PathBuf, PathBuf)>,
    pub(super) old: Vec<PathBuf>,
    pub(super) exchange: Option<Exchange>,
}

/// A whole-run swap: the run directory (relative to the logdir), the staged tree (relative to
/// the unit directory) and its (device, inode), the hidden names to make final (relative to
/// the tree) and the modes to give its directories after that.
pub(super) struct Exchange {
    pub(super) run: PathBuf,
    pub(super) tree: PathBuf,
    pub(super) id: (u64, u64),
    pub(super) hidden: Vec<(PathBuf, PathBuf)>,
    pub(super) modes: Vec<(PathBuf, u32)>,
}

impl Journal {
    pub(super) fn encode(&self) -> String {
        // Version 2 journals hold an exchange: a ferroboard that predates it refuses them (an
        // unreadable journal) rather than finishing them file by file.
        let version = if self.exchange.is_some() { 2 } else { 1 };
        let mut s = format!("ferroboard-rewrite-journal {version}\n");
        if let Some(x) = &self.exchange {
            s += &format!(
                "exchange {} {} {} {}\n",
                hex(&x.run),
                hex(&x.tree),
                x.id.0,
                x.id.1
            );
            for (h, f) in &x.hidden {
                s += &format!("hidden {} {}\n", hex(h), hex(f));
            }
            for (d, m) in &x.modes {
                s += &format!("mode {} {m:o}\n", hex(d));
            }
        }
        for (stage, dest) in &self.new {
            s += &format!("new {} {}\n", hex(stage), hex(dest));
        }
        for old in &self.old {
            s += &format!("old {}\n", hex(old));
        }
        s + "end\n"
    }

    fn decode(s: &str) -> Option<Journal> {
        let mut lines = s.lines();
        let version = match lines.next()? {
            "ferroboard-rewrite-journal 1" => 1,
            "ferroboard-rewrite-journal 2" => 2,
            _ => return None,
        };
        let mut j = Journal {
            new: Vec::new(),
            old: Vec::new(),
            exchange: None,
        };
        for line in lines {
            let parts: Vec<&str> = line.split(' ').collect();
            match (parts.as_slice(), j.exchange.as_mut()) {
                (["exchange", run, tree, dev, ino], None) if version == 2 => {
                    j.exchange = Some(Exchange {
                        run: unhex(run)?,
                        tree: unhex(tree)?,
                        id: (dev.parse().ok()?, ino.parse().ok()?),
                        hidden: Vec::new(),
                        modes: Vec::new(),
                    });
                }
                (["hidden", a, b], Some(x)) => x.hidden.push((unhex(a)?, unhex(b)?)),
                (["mode", d, m], Some(x)) => {
                    x.modes.push((unhex(d)?, u32::from_str_radix(m, 8).ok()?));
                }
                (["new", a, b], _) => j.new.push((unhex(a)?, unhex(b)?)),
                (["old", a], _) => j.old.push(unhex(a)?),
                (["end"], _) => return (version == 1 || j.exchange.is_some()).then_some(j),
                _ => return None,
            }
        }
        None
    }
}

/// Writes `j` as `unit`'s journal (a temporary name, synced, renamed over, the directory
/// synced): replacing a journal is one step too.
fn write_journal(unit: &Path, j: &Journal) -> io::Result<()> {
    let tmp = unit.join("journal.tmp");
    {
        let mut f = File::create(&tmp).map_err(|e| named(e, &tmp))?;
        f.write_all(j.encode().as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, unit.join("journal")).map_err(|e| named(e, &tmp))?;
    sync_dir(unit)
}

fn rel<'a>(root: &Path, p: &'a Path) -> &'a Path {
    p.strip_prefix(root).unwrap_or(p)
}

/// Why an exchange was refused, and whether for the whole system (then the later units of the
/// rewrite do not try).
struct Refused {
    why: String,
    system: bool,
}

/// Finishes a committed unit (idempotent): by exchange when its journal holds one and the
/// system allows it, else file by file. Returns how it was swapped.
fn commit(root: &Path, unit: &Path, j: &Journal) -> io::Result<Result<(), Refused>> {
    match &j.exchange {
        Some(x) => commit_exchange(root, unit, j, x),
        None => commit_files(root, unit, j).map(|()| {
            Err(Refused {
                why: String::new(),
                system: false,
            })
        }),
    }
}

/// Steps 5 (file by file) and 6 for the unit directory `unit` (idempotent).
fn commit_files(root: &Path, unit: &Path, j: &Journal) -> io::Result<()> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (stage, dest) in &j.new {
        let (stage, dest) = (unit.join(stage), root.join(dest));
        if stage.exists() {
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(|e| named(e, parent))?;
            }
            fs::rename(&stage, &dest).map_err(|e| named(e, &dest))?;
            crash_point("renamed-one")?;
        }
        dirs.extend(dest.parent().map(Path::to_path_buf));
    }
    for old in &j.old {
        if j.new.iter().any(|(_, d)| d == old) {
            continue;
        }
        let old = root.join(old);
        match fs::remove_file(&old) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(named(e, &old)),
        }
        dirs.extend(old.parent().map(Path::to_path_buf));
    }
    dirs.sort();
    dirs.dedup();
    for d in &dirs {
        sync_dir(d)?;
    }
    crash_point("retired")?;
    finish_unit(unit)
}

/// Removes a finished unit's journal, then the unit directory.
fn finish_unit(unit: &Path) -> io::Result<()> {
    let journal = unit.join("journal");
    fs::remove_file(&journal).map_err(|e| named(e, &journal))?;
    sync_dir(unit)?;
    exchange::remove_all(unit)
}

/// The whole-run steps (idempotent): hidden names made final, the exchange, the parent
/// synced, the old tree retired, the journal removed. Whether the exchange happened is told by
/// the run directory's inode: the staged tree's once exchanged. A system without
/// `RENAME_EXCHANGE` gets the journal replaced by its per-file form (one rename: recovery
/// sees one or the other) and the unit finished file by file: `Err(why)`.
fn commit_exchange(
    root: &Path,
    unit: &Path,
    j: &Journal,
    x: &Exchange,
) -> io::Result<Result<(), Refused>> {
    let live = root.join(&x.run);
    let tree = unit.join(&x.tree);
    let own: HashSet<PathBuf> = j
        .old
        .iter()
        .filter_map(|p| p.file_name().map(PathBuf::from))
        .collect();
    if exchange::id(&live).ok() != Some(x.id) {
        if exchange::id(&tree).ok() != Some(x.id) {
            return Err(io::Error::other(format!(
                "{}: neither {} nor {} is the staged tree the journal names; the old files \
                 are in {}",
                unit.join("journal").display(),
                live.display(),
                tree.display(),
                unit.join("backup").display()
            )));
        }
        exchange::finish_names(&tree, &x.hidden, &x.modes)?;
        let cwd = cwd::own_inside(&live);
        match exchange::exchange(&tree, &live) {
            Ok(()) => {}
            Err(e) if exchange::unsupported(&e) => {
                let refused = Refused {
                    why: format!("renameat2(RENAME_EXCHANGE) on {}: {e}", live.display()),
                    // No exchange on this system at all (rather than for this run's place).
                    system: exchange::refused_everywhere(&e),
                };
                let files = Journal {
                    new: j.new.clone(),
                    old: j.old.clone(),
                    exchange: None,
                };
                write_journal(unit, &files)?;
                commit_files(root, unit, &files)?;
                return Ok(Err(refused));
            }
            Err(e) => return Err(named(e, &live)),
        }
        // This process stood in the old tree: it stands at the same path in the new one.
        cwd::stand_again(cwd, &live);
        crash_point("exchanged")?;
        if let Some(parent) = live.parent() {
            sync_dir(parent)?;
        }
        sync_dir(unit)?;
    }
    exchange::retire(&tree, &live, &own, None)?;
    sync_dir(&live)?;
    crash_point("retired")?;
    finish_unit(unit)?;
    Ok(Ok(()))
}

/// Finishes the committed units left by an interrupted rewrite and deletes the uncommitted
/// ones (their runs were never touched); returns the finished units' directories.
pub(super) fn recover(root: &Path) -> io::Result<Vec<PathBuf>> {
    let work = root.join(WORK_DIR);
    let mut done = Vec::new();
    let mut units: Vec<PathBuf> = fs::read_dir(&work)
        .map_err(|e| named(e, &work))?
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("unit-"))
        .map(|e| e.path())
        .collect();
    units.sort();
    for unit in units {
        let journal = unit.join("journal");
        match fs::read_to_string(&journal) {
            Ok(text) => match Journal::decode(&text) {
                Some(j) => {
                    let _how = commit(root, &unit, &j)?;
                    done.push(unit);
                }
                None => {
                    return Err(io::Error::other(format!(
                        "{}: an unreadable rewrite journal; the old files are in {}",
                        journal.display(),
                        unit.join("backup").display()
                    )))
                }
            },
            Err(e) if e.kind() == io::ErrorKind::NotFound => exchange::remove_all(&unit)?,
            Err(e) => return Err(named(e, &journal)),
        }
    }
    Ok(done)
}

/// The run directory a unit can be swapped whole in, or why not: one run, not the logdir's
/// own (its directory holds the other runs and the work directory), its outputs in it.
fn whole_run_dir(root: &Path, u: &Unit) -> Result<PathBuf, String> {
    if u.merged {
        return Err("merged runs span several directories".into());
    }
    if u.run == "." {
        return Err("the logdir's own run (its directory holds the other runs)".into());
    }
    let dir = run_dir(root, &u.run);
    let inside = |p: &PathBuf| p.parent() == Some(dir.as_path());
    if !u.inputs.iter().all(inside) || !u.outputs.iter().all(inside) {
        return Err("files outside the run directory".into());
    }
    match fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        _ => return Err(format!("{} is not a plain directory", dir.display())),
    }
    // Another process standing in the run would be left in its old directory, then deleted.
    let canonical = fs::canonicalize(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if let Some((pid, what)) = cwd::inside(&canonical) {
        return Err(format!(
            "process {pid} has its {what} in {} (it would be left in the old directory)",
            dir.display()
        ));
    }
    Ok(dir)
}

/// True for a unit that spans more than its own directory (the logdir's own run, or runs
/// merged into one) and whose per-file swap takes more than one step (a rename or removal):
/// the units the logdir-wide exchange is for.
pub(super) fn wide(u: &Unit) -> bool {
    let steps = u.outputs.len() + u.inputs.iter().filter(|i| !u.outputs.contains(i)).count();
    (u.merged || u.run == ".") && steps > 1
}

/// A unit whose new files are staged (step 1), not yet swapped in.
pub(super) struct StagedUnit {
    /// The unit directory.
    dir: PathBuf,
    /// The staged files, one per output.
    pub(super) files: Vec<PathBuf>,
    /// The run's report so far.
    pub(super) report: RunReport,
}

/// Step 1: writes unit `k`'s new files to `unit-N/stage/`, synced and read back. A unit that
/// does not change is `Err(its report)`, its unit directory removed.
pub(super) fn stage_unit(
    root: &Path,
    k: usize,
    u: &Unit,
    rules: &Rules,
) -> Result<Result<StagedUnit, RunReport>, RewriteError> {
    let unit = root.join(WORK_DIR).join(format!("unit-{k:06}"));
    let stage = unit.join("stage");
    fs::create_dir_all(&stage).map_err(|e| named(e, &stage))?;
    let staged: Vec<PathBuf> = (0..u.outputs.len())
        .map(|i| stage.join(format!("{i}")))
        .collect();
    let (files, mut sinks) = super::create_sinks(&staged)?;
    let out = Filter::new(rules, u.drop_all, u.merged, u.outputs.len()).run(
        &u.inputs,
        &u.output_of,
        Some(&mut sinks),
    )?;
    super::flush(sinks)?;
    let (records, bytes) = (out.out_records.clone(), out.out_bytes.clone());
    let report = run_report(u, out);
    if report.action == RunAction::Unchanged {
        drop(files);
        fs::remove_dir_all(&unit).map_err(|e| named(e, &unit))?;
        return Ok(Err(report));
    }
    super::keep_mtimes(u, &files)?;
    // A rewritten file keeps its old file's permissions, and its owner where the user may
    // give it (root; else the file stays the user's, as a file the user writes).
    for (f, out) in files.iter().zip(&u.outputs) {
        if let Some(old) = u.inputs.iter().find(|p| *p == out) {
            let meta = fs::metadata(old).map_err(|e| named(e, old))?;
            #[cfg(unix)]
            {
                use std::os::unix::fs::MetadataExt;
                let _ = std::os::unix::fs::fchown(f, Some(meta.uid()), Some(meta.gid()));
            }
            f.set_permissions(meta.permissions())?;
        }
    }
    for f in &files {
        f.sync_all()?;
    }
    drop(files);
    for (i, p) in staged.iter().enumerate() {
        filter::verify(p, records[i], bytes[i])?;
    }
    sync_dir(&stage)?;
    Ok(Ok(StagedUnit {
        dir: unit,
        files: staged,
        report,
    }))
}

/// Steps 2 to 6 of a staged unit: whole where it can be, else file by file. `wide_why` is
/// why the logdir could not be exchanged, for a [`wide`] unit that falls back.
pub(super) fn commit_unit(
    root: &Path,
    u: &Unit,
    s: StagedUnit,
    no_exchange: &mut Option<String>,
    wide_why: Option<&str>,
) -> Result<RunReport, RewriteError> {
    let StagedUnit {
        dir: unit,
        files: staged,
        mut report,
    } = s;
    // 2. Back up the old files.
    let backup = unit.join("backup");
    fs::create_dir_all(&backup).map_err(|e| named(e, &backup))?;
    for (i, old) in u.inputs.iter().enumerate() {
        let to = backup.join(format!("{i}"));
        if fs::hard_link(old, &to).is_err() {
            fs::copy(old, &to).map_err(|e| named(e, old))?;
            File::open(&to)?.sync_all()?;
        }
    }
    sync_dir(&backup)?;
    let mut j = Journal {
        new: staged
            .iter()
            .zip(&u.outputs)
            .map(|(s, d)| (rel(&unit, s).to_path_buf(), rel(root, d).to_path_buf()))
            .collect(),
        old: u
            .inputs
            .iter()
            .map(|p| rel(root, p).to_path_buf())
            .collect(),
        exchange: None,
    };
    // 3. The whole run's new tree, where the run can be swapped whole.
    let whole = match no_exchange.clone() {
        Some(why) => Err(why),
        None => whole_run_dir(root, u).map_err(|why| match wide_why {
            Some(w) if wide(u) => format!("{why}, and the logdir cannot be exchanged: {w}"),
            _ => why,
        }),
    };
    let whole = match whole {
        Err(why) => Err(why),
        Ok(live) => {
            let tree = unit.join("tree");
            let own: HashSet<PathBuf> = u
                .inputs
                .iter()
                .filter_map(|p| p.file_name().map(PathBuf::from))
                .collect();
            let outputs: Vec<(PathBuf, PathBuf)> = staged
                .iter()
                .zip(&u.outputs)
                .map(|(s, o)| (s.clone(), PathBuf::from(o.file_name().unwrap_or_default())))
                .collect();
            let spec = exchange::Spec {
                own: &own,
                outputs: &outputs,
                link: false,
                skip: None,
            };
            match exchange::stage_tree(&live, &tree, &spec)? {
                Staged::Tree { hidden, modes, id } => {
                    j.new = outputs
                        .iter()
                        .zip(&u.outputs)
                        .map(|((_, name), o)| {
                            (Path::new("tree").join(name), rel(root, o).to_path_buf())
                        })
                        .collect();
                    j.exchange = Some(Exchange {
                        run: rel(root, &live).to_path_buf(),
                        tree: PathBuf::from("tree"),
                        id,
                        hidden,
                        modes,
                    });
                    Ok(())
                }
                Staged::Unsupported(why) => {
                    exchange::remove_all(&tree)?;
                    Err(why)
                }
            }
        }
    };
    crash_point("staged")?;
    // 4. The journal: the commit point.
    write_journal(&unit, &j)?;
    crash_point("committed")?;
    // 5 and 6.
    let swap = match whole {
        Ok(()) => match commit(root, &unit, &j)? {
            Ok(()) => "exchange".to_owned(),
            Err(Refused { why, system }) => {
                if system {
                    *no_exchange = Some(why.clone());
                }
                format!("per-file: {why}")
            }
        },
        Err(why) => {
            commit_files(root, &unit, &j)?;
            format!("per-file: {why}")
        }
    };
    report.swap = Some(swap);
    Ok(report)
}
