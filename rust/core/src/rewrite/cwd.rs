//! Processes that stand inside a directory: their working directory (or root directory) is
//! in it. Exchanging a logdir or a run leaves such a process in the old tree, which is then
//! deleted (a TensorBoard started with `--logdir .` from inside it would serve an empty logdir
//! from then on; a shell there would list nothing), so neither exchange is done while one
//! exists (Linux: `/proc/*/cwd` and `/proc/*/root`; elsewhere there is no exchange to
//! protect). This process, standing in a directory it exchanges, moves to the same path in
//! the new tree ([`own_inside`], [`stand_again`]).

use std::path::{Path, PathBuf};

/// A process other than this one whose working directory or root directory is `dir` or inside
/// it (`dir` canonical): its id, and which of the two. Processes this user may not inspect
/// are not seen.
#[cfg(target_os = "linux")]
pub(super) fn inside(dir: &Path) -> Option<(u32, &'static str)> {
    let me = std::process::id();
    let procs = std::fs::read_dir("/proc").ok()?;
    for p in procs.filter_map(Result::ok) {
        let Ok(pid) = p.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == me {
            continue;
        }
        for (link, what) in [("cwd", "working directory"), ("root", "root directory")] {
            // A deleted directory reads as "PATH (deleted)": not inside `dir`.
            let Ok(target) = std::fs::read_link(p.path().join(link)) else {
                continue;
            };
            if target.starts_with(dir) {
                return Some((pid, what));
            }
        }
    }
    None
}

/// No process table to read: nothing is seen.
#[cfg(not(target_os = "linux"))]
pub(super) fn inside(_dir: &Path) -> Option<(u32, &'static str)> {
    None
}

/// This process's working directory when it is `dir` or inside it: to return to with
/// [`stand_again`] once `dir` has been exchanged (the process is then in the old tree).
pub(super) fn own_inside(dir: &Path) -> Option<PathBuf> {
    let dir = std::fs::canonicalize(dir).ok()?;
    std::env::current_dir().ok().filter(|c| c.starts_with(&dir))
}

/// Changes back to `cwd` (from [`own_inside`]), now in the new tree, or to `dir` itself if
/// that path is gone from it.
pub(super) fn stand_again(cwd: Option<PathBuf>, dir: &Path) {
    if let Some(c) = cwd {
        if std::env::set_current_dir(&c).is_err() {
            let _ = std::env::set_current_dir(dir);
        }
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_child_standing_in_a_directory_is_seen_and_this_process_is_not() {
        let d = tempfile::tempdir().unwrap();
        let dir = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir(dir.join("sub")).unwrap();
        assert_eq!(inside(&dir), None);
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .current_dir(dir.join("sub"))
            .spawn()
            .unwrap();
        let seen = inside(&dir);
        child.kill().unwrap();
        child.wait().unwrap();
        assert_eq!(seen, Some((child.id(), "working directory")));
    }
}
