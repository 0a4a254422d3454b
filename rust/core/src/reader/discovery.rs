//! Finding event files and the runs they belong to, the way TensorBoard does.
//!
//! A path is either one event file or a logdir. A logdir is walked recursively; every file whose
//! name contains `tfevents` is an event file; its run is its directory relative to the logdir
//! (`.` for the logdir itself). Directories are visited depth-first with entries in name order,
//! so a run's files come in name order. Symbolic links are followed, to files and to
//! directories (as TensorBoard and tbparse do), except a link to a directory being walked
//! already (an ancestor). The listing itself is [`storage`]'s: a local directory or an object
//! store prefix.
//!
//! Two directories are never runs: [`REWRITE_WORK_DIR`], where `ferroboard rewrite` stages a
//! run's new tree before swapping it in, and `.ferroboard-rewrite-NAME`
//! ([`REWRITE_CONTAINER_PREFIX`]), beside the logdir `NAME`, where it stages the whole
//! logdir's. A rewrite killed in the instant between giving the staged files their final names
//! and removing the old tree leaves event files there until the next rewrite finishes; read as
//! a run, they would show the logdir's data twice.

use std::io;
use std::path::{Path, PathBuf};

use crate::storage::{self, Listing};

/// One event file and the run it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFile {
    /// The run: the file's directory relative to the logdir, `/`-separated, `.` for the root.
    pub run: String,
    /// The file's path (or URL).
    pub path: PathBuf,
    /// Its length when the listing gave it (object stores), else `None`.
    pub len: Option<u64>,
}

/// True when `name` is an event file's name (it contains `tfevents`).
pub fn is_event_file_name(name: &str) -> bool {
    name.contains("tfevents")
}

/// The work directory of `ferroboard rewrite` (in the logdir's root): skipped by [`discover`].
pub const REWRITE_WORK_DIR: &str = ".ferroboard-rewrite";

/// How the directory beside a logdir where `ferroboard rewrite` stages the logdir's whole new
/// tree is named (`.ferroboard-rewrite-NAME` for the logdir `NAME`): skipped by [`discover`].
pub const REWRITE_CONTAINER_PREFIX: &str = ".ferroboard-rewrite-";

/// True for a directory name [`discover`] never looks into: a rewrite's work directory or
/// container.
pub fn is_rewrite_dir(name: &str) -> bool {
    name == REWRITE_WORK_DIR || name.starts_with(REWRITE_CONTAINER_PREFIX)
}

/// All event files under `path` (or `path` itself when it is a file), in reading order.
/// `path` is a local path or a URL [`storage`] reads.
pub fn discover(path: &Path) -> io::Result<Vec<EventFile>> {
    Ok(match storage::list(path, &is_event_file_name)? {
        Listing::File { len } => vec![EventFile {
            run: ".".to_owned(),
            path: path.to_path_buf(),
            len,
        }],
        Listing::Dir(entries) => entries
            .into_iter()
            .filter(|e| !e.dir.split('/').any(is_rewrite_dir))
            .map(|e| EventFile {
                run: if e.dir.is_empty() {
                    ".".to_owned()
                } else {
                    e.dir
                },
                path: e.path,
                len: e.len,
            })
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    #[test]
    fn walks_like_tensorboard() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        fs::create_dir_all(root.join("b/inner")).unwrap();
        fs::create_dir_all(root.join("a")).unwrap();
        for p in [
            "events.out.tfevents.2.x",
            "events.out.tfevents.1.x",
            "notes.txt",
            "a/events.out.tfevents.1.y",
            "b/inner/x.tfevents.z",
            "b/events.out.tfevents.9",
        ] {
            fs::write(root.join(p), b"").unwrap();
        }
        let found = discover(root).unwrap();
        let got: Vec<(String, String)> = found
            .iter()
            .map(|f| {
                (
                    f.run.clone(),
                    f.path.file_name().unwrap().to_string_lossy().into_owned(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("a".into(), "events.out.tfevents.1.y".into()),
                ("b".into(), "events.out.tfevents.9".into()),
                ("b/inner".into(), "x.tfevents.z".into()),
                (".".into(), "events.out.tfevents.1.x".into()),
                (".".into(), "events.out.tfevents.2.x".into()),
            ]
        );
        let single = discover(&root.join("a/events.out.tfevents.1.y")).unwrap();
        assert_eq!(single[0].run, ".");
        assert!(discover(&root.join("missing")).is_err());
    }

    #[cfg(unix)]
    #[test]
    fn links_to_directories_are_followed_but_not_round_a_loop() {
        let d = tempfile::tempdir().unwrap();
        let (root, other) = (d.path().join("logdir"), d.path().join("other"));
        fs::create_dir_all(root.join("own")).unwrap();
        fs::create_dir_all(&other).unwrap();
        fs::write(root.join("own/events.out.tfevents.1.x"), b"").unwrap();
        fs::write(other.join("events.out.tfevents.2.x"), b"").unwrap();
        std::os::unix::fs::symlink(&other, root.join("linked")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("own/up")).unwrap();
        std::os::unix::fs::symlink(root.join("gone"), root.join("dangling")).unwrap();
        let runs: Vec<String> = discover(&root)
            .unwrap()
            .into_iter()
            .map(|f| f.run)
            .collect();
        assert_eq!(runs, vec!["linked".to_owned(), "own".to_owned()]);
    }

    #[test]
    fn a_rewrites_staged_tree_is_not_a_run() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let staged = root.join(REWRITE_WORK_DIR).join("unit-0/tree");
        fs::create_dir_all(&staged).unwrap();
        fs::create_dir_all(root.join("run")).unwrap();
        fs::write(staged.join("events.out.tfevents.1.x"), b"").unwrap();
        fs::write(root.join("run/events.out.tfevents.1.x"), b"").unwrap();
        let runs: Vec<String> = discover(root).unwrap().into_iter().map(|f| f.run).collect();
        assert_eq!(runs, vec!["run".to_owned()]);
    }

    #[test]
    fn a_rewrites_staged_logdir_beside_a_logdir_is_not_a_run() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        let staged = root.join(".ferroboard-rewrite-logs/tree/run");
        fs::create_dir_all(&staged).unwrap();
        fs::create_dir_all(root.join("logs/run")).unwrap();
        fs::write(staged.join("events.out.tfevents.1.x"), b"").unwrap();
        fs::write(root.join("logs/run/events.out.tfevents.1.x"), b"").unwrap();
        let runs: Vec<String> = discover(root).unwrap().into_iter().map(|f| f.run).collect();
        assert_eq!(runs, vec!["logs/run".to_owned()]);
    }
}
