//! Telling a run that is still being written: an event file modified within the last few
//! seconds, or (on Linux) open for writing by a live process, ferroboard's writer, torch's or
//! TensorFlow's alike (none of them takes a lock on its file, so an open file descriptor is
//! what there is to see).

use std::collections::HashMap;
use std::fs::Metadata;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Files open for writing by some process: `(device, inode)` -> a process id holding one.
type Writers = HashMap<(u64, u64), u32>;

/// What a rewrite has seen of the files open for writing: looked up once, and looked at again
/// ([`WRITER_CONFIRM`]) the first time a file asked about is among them.
#[derive(Debug, Default)]
pub(super) struct OpenFiles {
    seen: Option<Writers>,
    confirmed: bool,
}

/// How long a file seen open for writing is given to be seen so again before it counts.
///
/// A child process that another thread forks holds a copy of every descriptor of its parent
/// until it calls `exec` (or exits). A file its parent has just closed looks "open for
/// writing" by that child for that moment: a rewrite refused a run no one was writing (seen in
/// the tests, which spawn processes on other threads). A writer holds its file far longer.
pub(super) const WRITER_CONFIRM: Duration = Duration::from_millis(100);

impl OpenFiles {
    /// Every file some process holds open for writing now (from `/proc`).
    #[cfg(target_os = "linux")]
    fn writers_now() -> Writers {
        use std::os::unix::fs::MetadataExt;
        let mut writers = HashMap::new();
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return writers;
        };
        for p in procs.filter_map(Result::ok) {
            let Ok(pid) = p.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(fds) = std::fs::read_dir(p.path().join("fd")) else {
                continue;
            };
            for fd in fds.filter_map(Result::ok) {
                let Ok(target) = std::fs::read_link(fd.path()) else {
                    continue;
                };
                if !target.to_string_lossy().contains("tfevents") {
                    continue;
                }
                let Ok(meta) = std::fs::metadata(fd.path()) else {
                    continue;
                };
                // fdinfo's `flags` are octal; O_WRONLY = 1, O_RDWR = 2.
                let info = p.path().join("fdinfo").join(fd.file_name());
                let writes = std::fs::read_to_string(info)
                    .ok()
                    .and_then(|s| {
                        s.lines()
                            .find_map(|l| l.strip_prefix("flags:"))
                            .and_then(|f| u32::from_str_radix(f.trim(), 8).ok())
                    })
                    .is_some_and(|flags| flags & 3 != 0);
                if writes {
                    writers.insert((meta.dev(), meta.ino()), pid);
                }
            }
        }
        writers
    }

    #[cfg(not(target_os = "linux"))]
    fn writers_now() -> Writers {
        Writers::new()
    }

    /// A process holding the file of `meta` open for writing, seen twice [`WRITER_CONFIRM`]
    /// apart.
    #[cfg(unix)]
    fn writer_of(&mut self, meta: &Metadata) -> Option<u32> {
        use std::os::unix::fs::MetadataExt;
        let file = (meta.dev(), meta.ino());
        let seen = self.seen.get_or_insert_with(Self::writers_now);
        if !seen.contains_key(&file) {
            return None;
        }
        if !self.confirmed {
            self.confirmed = true;
            std::thread::sleep(WRITER_CONFIRM);
            // Held then and now (by the process holding it now).
            let again: Writers = Self::writers_now()
                .into_iter()
                .filter(|(f, _)| seen.contains_key(f))
                .collect();
            *seen = again;
        }
        seen.get(&file).copied()
    }

    #[cfg(not(unix))]
    fn writer_of(&mut self, _meta: &Metadata) -> Option<u32> {
        None
    }
}

/// Why `path` looks like it is still being written, if it does.
pub(super) fn why_live(path: &Path, window: Duration, open: &mut OpenFiles) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if let Some(pid) = open.writer_of(&meta) {
        return Some(format!("open for writing by process {pid}"));
    }
    let modified = meta.modified().ok()?;
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or(Duration::ZERO);
    (age < window).then(|| format!("modified {:.1} s ago", age.as_secs_f64()))
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// A file held for writing is live; one a forked child holds only for a moment after its
    /// parent closed it is not.
    #[test]
    fn a_descriptor_held_only_by_a_passing_child_is_not_a_writer() {
        crate::test_process::alone(
            "rewrite::live::tests::a_descriptor_held_only_by_a_passing_child_is_not_a_writer",
            || {
                let d = tempfile::tempdir().unwrap();
                let path = d.path().join("e.tfevents.1");
                let file = std::fs::File::create(&path).unwrap();
                let why = why_live(&path, Duration::ZERO, &mut OpenFiles::default());
                let me = std::process::id();
                assert_eq!(why, Some(format!("open for writing by process {me}")));

                let child = crate::test_process::fork(|| std::thread::sleep(WRITER_CONFIRM / 10));
                drop(file);
                let why = why_live(&path, Duration::ZERO, &mut OpenFiles::default());
                crate::test_process::wait_ok(child);
                assert_eq!(why, None);
            },
        );
    }
}
