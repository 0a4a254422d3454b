//! The names of event files, as TensorBoard's writer gives them.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::summary::WallTime;

/// Per-process counter in event file names, as TensorBoard's writer keeps one.
pub(super) static FILE_COUNTER: AtomicU64 = AtomicU64::new(0);

/// This machine's host name, as Python's `socket.gethostname()` reports it.
pub fn hostname() -> String {
    #[cfg(unix)]
    {
        let mut buf = [0u8; 256];
        // SAFETY: the buffer is valid for `buf.len()` bytes; gethostname NUL-terminates on success.
        let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
        if rc == 0 {
            let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
            return String::from_utf8_lossy(&buf[..end]).into_owned();
        }
    }
    "localhost".to_owned()
}

/// The name TensorBoard's writer gives an event file:
/// `events.out.tfevents.{10-digit seconds}.{hostname}.{pid}.{counter}{suffix}`.
pub fn event_file_name(seconds: u64, host: &str, pid: u32, counter: u64, suffix: &str) -> String {
    format!("events.out.tfevents.{seconds:010}.{host}.{pid}.{counter}{suffix}")
}

/// The name of the `part`-th object of an event file rolled into objects (object stores
/// cannot append): [`event_file_name`] with a 10-digit part number before the suffix,
/// `events.out.tfevents.{seconds}.{hostname}.{pid}.{counter}.{part:010}{suffix}`. TensorBoard
/// reads a run's files in name order, so the parts of one file read as one stream.
pub fn event_object_name(
    seconds: u64,
    host: &str,
    pid: u32,
    counter: u64,
    part: u64,
    suffix: &str,
) -> String {
    format!("events.out.tfevents.{seconds:010}.{host}.{pid}.{counter}.{part:010}{suffix}")
}

/// Names of a new event file: `None` asks for a fresh name of a file appended to (a new
/// counter each call, for when a name is taken); `Some(part)` the name of the `part`-th
/// object of a file rolled into objects, every part sharing the time and counter of the first
/// call (see [`event_object_name`]).
pub(super) fn file_namer(suffix: &str) -> Box<dyn FnMut(Option<u64>) -> String + Send> {
    let host = hostname();
    let pid = std::process::id();
    let suffix = suffix.to_owned();
    let mut base: Option<(u64, u64)> = None;
    Box::new(move |part| {
        let fresh = || {
            (
                WallTime::now().0 as u64,
                FILE_COUNTER.fetch_add(1, Ordering::Relaxed),
            )
        };
        match part {
            None => {
                let (secs, counter) = fresh();
                event_file_name(secs, &host, pid, counter, &suffix)
            }
            Some(part) => {
                let (secs, counter) = *base.get_or_insert_with(fresh);
                event_object_name(secs, &host, pid, counter, part, &suffix)
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// TensorBoard reads a run's files in name order: the parts of a rolled file must sort
    /// in part order whatever the suffix, and stay event file names.
    #[test]
    fn rolled_object_names_sort_in_part_order() {
        for suffix in ["", ".v2", ".profile-empty"] {
            let names: Vec<String> = [0u64, 1, 9, 10, 11, 99_999, 1_000_000]
                .iter()
                .map(|&p| event_object_name(1_700_000_000, "host", 7, 3, p, suffix))
                .collect();
            let mut sorted = names.clone();
            sorted.sort();
            assert_eq!(names, sorted, "{suffix}");
            assert!(names
                .iter()
                .all(|n| crate::reader::discovery::is_event_file_name(n) && n.ends_with(suffix)));
        }
    }
}
