//! Telling a run that is still being written: an event file modified within the last few
//! seconds, or (on Linux) open for writing by a live process, ferroboard's writer, torch's or
//! TensorFlow's alike (none of them takes a lock on its file, so an open file descriptor is
//! what there is to see).

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, SystemTime};

/// Files open for writing by some process: `(device, inode)` -> a process id holding one.
#[derive(Debug, Default)]
pub(super) struct OpenFiles {
    scanned: bool,
    writers: HashMap<(u64, u64), u32>,
}

impl OpenFiles {
    #[cfg(target_os = "linux")]
    fn scan(&mut self) {
        use std::os::unix::fs::MetadataExt;
        self.scanned = true;
        let Ok(procs) = std::fs::read_dir("/proc") else {
            return;
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
                    self.writers.insert((meta.dev(), meta.ino()), pid);
                }
            }
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn scan(&mut self) {
        self.scanned = true;
    }

    #[cfg(unix)]
    fn writer_of(&mut self, path: &Path) -> Option<u32> {
        use std::os::unix::fs::MetadataExt;
        if !self.scanned {
            self.scan();
        }
        let meta = std::fs::metadata(path).ok()?;
        self.writers.get(&(meta.dev(), meta.ino())).copied()
    }

    #[cfg(not(unix))]
    fn writer_of(&mut self, _path: &Path) -> Option<u32> {
        None
    }
}

/// Why `path` looks like it is still being written, if it does.
pub(super) fn why_live(path: &Path, window: Duration, open: &mut OpenFiles) -> Option<String> {
    if let Some(pid) = open.writer_of(path) {
        return Some(format!("open for writing by process {pid}"));
    }
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or(Duration::ZERO);
    (age < window).then(|| format!("modified {:.1} s ago", age.as_secs_f64()))
}
