//! The in-place commit of one unit, and the recovery of an interrupted one (the protocol is in
//! the parent module's doc).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use super::filter::{self, named, Filter, Rules};
use super::{run_report, RewriteError, RunAction, RunReport, Unit, WORK_DIR};

/// The exclusive lock of a logdir's in-place rewrites (`flock` on Unix; released when the
/// process dies, so a killed rewrite never leaves the logdir locked).
pub(super) struct Lock {
    _file: File,
}

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
            // SAFETY: flock on a file descriptor this function owns.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if rc != 0 {
                return Err(RewriteError::Busy(root.to_path_buf()));
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

fn sync_dir(dir: &Path) -> io::Result<()> {
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

fn hex(p: &Path) -> String {
    #[cfg(unix)]
    let bytes = {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().to_vec()
    };
    #[cfg(not(unix))]
    let bytes = p.to_string_lossy().as_bytes().to_vec();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<PathBuf> {
    if s.len() % 2 != 0 {
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
/// logdir, so that a logdir moved after a crash still recovers).
pub(super) struct Journal {
    pub(super) new: Vec<(PathBuf, PathBuf)>,
    pub(super) old: Vec<PathBuf>,
}

impl Journal {
    pub(super) fn encode(&self) -> String {
        let mut s = String::from("ferroboard-rewrite-journal 1\n");
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
        if lines.next()? != "ferroboard-rewrite-journal 1" {
            return None;
        }
        let mut j = Journal {
            new: Vec::new(),
            old: Vec::new(),
        };
        for line in lines {
            let parts: Vec<&str> = line.split(' ').collect();
            match parts.as_slice() {
                ["new", a, b] => j.new.push((unhex(a)?, unhex(b)?)),
                ["old", a] => j.old.push(unhex(a)?),
                ["end"] => return Some(j),
                _ => return None,
            }
        }
        None
    }
}

fn rel<'a>(root: &Path, p: &'a Path) -> &'a Path {
    p.strip_prefix(root).unwrap_or(p)
}

/// Steps 4 and 5 of the protocol for the unit directory `unit` (idempotent).
fn commit(root: &Path, unit: &Path, j: &Journal) -> io::Result<()> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    for (stage, dest) in &j.new {
        let (stage, dest) = (unit.join(stage), root.join(dest));
        if stage.exists() {
            if let Some(parent) = dest.parent() {
                fs::create_dir_all(parent).map_err(|e| named(e, parent))?;
            }
            fs::rename(&stage, &dest).map_err(|e| named(e, &dest))?;
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
    let journal = unit.join("journal");
    fs::remove_file(&journal).map_err(|e| named(e, &journal))?;
    sync_dir(unit)?;
    fs::remove_dir_all(unit).map_err(|e| named(e, unit))
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
                    commit(root, &unit, &j)?;
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
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::remove_dir_all(&unit).map_err(|e| named(e, &unit))?;
            }
            Err(e) => return Err(named(e, &journal)),
        }
    }
    Ok(done)
}

/// Rewrites unit `k` in place (steps 1 to 5).
pub(super) fn rewrite_in_place(
    root: &Path,
    k: usize,
    u: &Unit,
    rules: &Rules,
) -> Result<RunReport, RewriteError> {
    let unit = root.join(WORK_DIR).join(format!("unit-{k:06}"));
    let stage = unit.join("stage");
    fs::create_dir_all(&stage).map_err(|e| named(e, &stage))?;
    let staged: Vec<PathBuf> = (0..u.outputs.len())
        .map(|i| stage.join(format!("{i}")))
        .collect();
    // 1. Stage, sync, read back.
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
        return Ok(report);
    }
    super::keep_mtimes(u, &files)?;
    for f in &files {
        f.sync_all()?;
    }
    drop(files);
    for (i, p) in staged.iter().enumerate() {
        filter::verify(p, records[i], bytes[i])?;
    }
    sync_dir(&stage)?;
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
    // 3. The journal: the commit point.
    let j = Journal {
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
    };
    let tmp = unit.join("journal.tmp");
    {
        let mut f = File::create(&tmp).map_err(|e| named(e, &tmp))?;
        f.write_all(j.encode().as_bytes())?;
        f.sync_all()?;
    }
    fs::rename(&tmp, unit.join("journal")).map_err(|e| named(e, &tmp))?;
    sync_dir(&unit)?;
    // 4 and 5.
    commit(root, &unit, &j)?;
    Ok(report)
}
