//! Finding event files and the runs they belong to, the way TensorBoard does.
//!
//! A path is either one event file or a logdir. A logdir is walked recursively; every file whose
//! name contains `tfevents` is an event file; its run is its directory relative to the logdir
//! (`.` for the logdir itself). Directories are visited depth-first with entries in name order,
//! so a run's files come in name order. Symbolic links to files are followed, links to
//! directories are not (they could loop).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// One event file and the run it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFile {
    /// The run: the file's directory relative to the logdir, `/`-separated, `.` for the root.
    pub run: String,
    /// The file's path.
    pub path: PathBuf,
}

/// True when `name` is an event file's name (it contains `tfevents`).
pub fn is_event_file_name(name: &str) -> bool {
    name.contains("tfevents")
}

/// All event files under `path` (or `path` itself when it is a file), in reading order.
pub fn discover(path: &Path) -> io::Result<Vec<EventFile>> {
    let meta = fs::metadata(path)?;
    if meta.is_file() {
        return Ok(vec![EventFile {
            run: ".".to_owned(),
            path: path.to_path_buf(),
        }]);
    }
    let mut out = Vec::new();
    walk(path, "", &mut out)?;
    Ok(out)
}

fn walk(dir: &Path, rel: &str, out: &mut Vec<EventFile>) -> io::Result<()> {
    let mut entries: Vec<(String, PathBuf, bool)> = Vec::new();
    let rd = match fs::read_dir(dir) {
        Ok(rd) => rd,
        // A directory that vanished or is unreadable below the root is skipped, as TensorBoard does.
        Err(e) if !rel.is_empty() => {
            let _ = e;
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    for entry in rd {
        let Ok(entry) = entry else { continue };
        let name = entry.file_name().to_string_lossy().into_owned();
        let Ok(ft) = entry.file_type() else { continue };
        let is_dir = if ft.is_symlink() { false } else { ft.is_dir() };
        let is_file = if ft.is_symlink() {
            fs::metadata(entry.path())
                .map(|m| m.is_file())
                .unwrap_or(false)
        } else {
            ft.is_file()
        };
        if is_dir || (is_file && is_event_file_name(&name)) {
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
            walk(&path, &sub, out)?;
        } else {
            out.push(EventFile {
                run: if rel.is_empty() {
                    ".".to_owned()
                } else {
                    rel.to_owned()
                },
                path,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
