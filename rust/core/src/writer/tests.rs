//! Tests of the event writer through its API (and, for a dead thread, its batch protocol).

use std::fs::File;
use std::path::Path;

use prost::Message;

use crate::format::record::{Frame, RecordReader};
use crate::proto::Event;
use crate::summary::{self, Step, WallTime};

/// Every event of the file at `path`, in order (shared with the session's tests).
pub(super) fn read_events(path: &Path) -> Vec<Event> {
    let mut r = RecordReader::new(File::open(path).unwrap());
    let mut out = Vec::new();
    while let Frame::Record { payload, .. } = r.read_next().unwrap() {
        out.push(Event::decode(payload).unwrap());
    }
    out
}

/// A serialized scalar event at `step` (tag `x`, the step as its value).
pub(super) fn scalar(step: i64) -> Vec<u8> {
    summary::summary_event(
        WallTime(1.0),
        Step(step),
        vec![summary::scalar_simple("x".into(), step as f64)],
    )
    .encode_to_vec()
}

mod api {
    use super::super::*;
    use super::{read_events, scalar};
    use std::fs;
    use std::time::Instant;

    #[test]
    fn header_then_events_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions {
            batch_events: 7,
            ..Default::default()
        })
        .unwrap();
        let (f, path) = w.create_file(dir.path(), ".suffix").unwrap();
        let name = path.file_name().unwrap().to_str().unwrap().to_owned();
        assert!(name.starts_with("events.out.tfevents."));
        assert!(name.ends_with(".suffix"));
        // The header is on disk before any flush.
        assert_eq!(read_events(&path).len(), 1);
        for s in 0..100 {
            w.append(f, &scalar(s)).unwrap();
        }
        w.flush().unwrap();
        let events = read_events(&path);
        assert_eq!(events.len(), 101);
        let steps: Vec<i64> = events[1..].iter().map(|e| e.step).collect();
        assert_eq!(steps, (0..100).collect::<Vec<_>>());
        w.close().unwrap();
        w.close().unwrap();
        assert!(matches!(w.append(f, &scalar(0)), Err(WriteError::Closed)));
    }

    /// A written batch's buffer comes back for a later batch to fill (cleared: every event is
    /// written once, in order), instead of each batch growing a fresh one.
    #[test]
    fn batch_buffers_are_reused() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions {
            batch_bytes: 2048,
            ..Default::default()
        })
        .unwrap();
        let (f, path) = w.create_file(dir.path(), "").unwrap();
        let grown = |w: &EventWriter| {
            let shared = &w.inner.shared;
            let pending = lock(&shared.pending).bytes.capacity();
            let spare = lock(&shared.spare).as_ref().map_or(0, Vec::capacity);
            pending.max(spare)
        };
        assert_eq!(grown(&w), 0, "no batch was filled yet");
        for s in 0..300 {
            w.append(f, &scalar(s)).unwrap();
        }
        // The flushed batch is written before the flush returns, and its buffer is kept (as
        // the spare, or already taken as the pending batch's by a drain since).
        w.flush().unwrap();
        assert!(grown(&w) >= 1024, "no buffer kept: {}", grown(&w));
        for s in 300..600 {
            w.append(f, &scalar(s)).unwrap();
        }
        w.flush().unwrap();
        let steps: Vec<i64> = read_events(&path)[1..].iter().map(|e| e.step).collect();
        assert_eq!(steps, (0..600).collect::<Vec<_>>());
        let spare = lock(&w.inner.shared.spare)
            .as_ref()
            .map_or(0, Vec::capacity);
        assert!(
            spare <= w.inner.shared.spare_limit,
            "a spare beyond the limit"
        );
        w.close().unwrap();
    }

    #[test]
    fn drain_interval_writes_without_flush() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions {
            drain_interval: Duration::from_millis(5),
            ..Default::default()
        })
        .unwrap();
        let (f, path) = w.create_file(dir.path(), "").unwrap();
        w.append(f, &scalar(1)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while read_events(&path).len() < 2 {
            assert!(Instant::now() < deadline, "event never reached the file");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn deferred_keeps_its_place_and_errors_surface() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions::default()).unwrap();
        let (f, path) = w.create_file(dir.path(), "").unwrap();
        w.append(f, &scalar(1)).unwrap();
        w.append_deferred(f, Box::new(|| Ok(scalar(2)))).unwrap();
        w.append_large(f, &scalar(3)).unwrap();
        assert!(w.try_append(f, &scalar(4)).unwrap());
        w.flush().unwrap();
        let steps: Vec<i64> = read_events(&path)[1..].iter().map(|e| e.step).collect();
        assert_eq!(steps, vec![1, 2, 3, 4]);
        w.append_deferred(f, Box::new(|| Err("boom".to_owned())))
            .unwrap();
        assert!(matches!(w.flush(), Err(WriteError::Deferred(m)) if m == "boom"));
        // The writer keeps working after reporting the error.
        w.append(f, &scalar(5)).unwrap();
        w.flush().unwrap();
        assert_eq!(read_events(&path).last().unwrap().step, 5);
    }

    #[test]
    fn many_threads_keep_their_own_order() {
        let dir = tempfile::tempdir().unwrap();
        let w = Arc::new(
            EventWriter::spawn(WriterOptions {
                max_queue: 2,
                batch_events: 64,
                ..Default::default()
            })
            .unwrap(),
        );
        let (f, path) = w.create_file(dir.path(), "").unwrap();
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let w = Arc::clone(&w);
                std::thread::spawn(move || {
                    for i in 0..5000 {
                        w.append(f, &scalar(t * 1_000_000 + i)).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        w.close().unwrap();
        let events = read_events(&path);
        assert_eq!(events.len(), 1 + 4 * 5000);
        for t in 0..4 {
            let mine: Vec<i64> = events[1..]
                .iter()
                .filter(|e| e.step / 1_000_000 == t)
                .map(|e| e.step % 1_000_000)
                .collect();
            assert_eq!(mine, (0..5000).collect::<Vec<_>>(), "thread {t}");
        }
    }

    #[test]
    fn discarding_writer_creates_nothing_and_still_reports() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions {
            discard: true,
            batch_events: 3,
            ..Default::default()
        })
        .unwrap();
        let (f, path) = w.create_file(&dir.path().join("run"), ".s").unwrap();
        assert!(path.starts_with(dir.path().join("run")));
        let (g, _) = w.create_file(&dir.path().join("run/sub"), "").unwrap();
        assert_ne!(f, g);
        for s in 0..10 {
            w.append(f, &scalar(s)).unwrap();
            w.append_large(g, &scalar(s)).unwrap();
            assert!(w.try_append(f, &scalar(s)).unwrap());
        }
        w.flush().unwrap();
        // A deferred value is still produced, and its failure reported.
        w.append_deferred(f, Box::new(|| Err("boom".to_owned())))
            .unwrap();
        assert!(matches!(w.flush(), Err(WriteError::Deferred(m)) if m == "boom"));
        w.append(f, &scalar(11)).unwrap();
        w.close().unwrap();
        assert!(w.is_closed());
        assert!(matches!(w.append(f, &scalar(0)), Err(WriteError::Closed)));
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn several_files_on_one_thread() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions::default()).unwrap();
        let (a, pa) = w.create_file(&dir.path().join("a"), "").unwrap();
        let (b, pb) = w.create_file(&dir.path().join("b"), "").unwrap();
        for s in 0..10 {
            w.append(a, &scalar(s)).unwrap();
            w.append(b, &scalar(100 + s)).unwrap();
        }
        w.close().unwrap();
        assert_eq!(read_events(&pa).len(), 11);
        assert_eq!(read_events(&pb)[1].step, 100);
        assert_ne!(pa, pb);
    }
}

mod robustness {
    use super::super::*;
    use super::{read_events, scalar};
    use std::fs;
    use std::time::Instant;

    fn steps(path: &Path) -> Vec<i64> {
        read_events(path).iter().map(|e| e.step).collect()
    }

    #[test]
    fn a_panicking_deferred_value_is_an_error_not_a_dead_thread() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions::default()).unwrap();
        let (f, path) = w.create_file(dir.path(), "").unwrap();
        w.append(f, &scalar(1)).unwrap();
        w.append_deferred(
            f,
            Box::new(|| -> Result<Vec<u8>, String> { panic!("kaboom") }),
        )
        .unwrap();
        let err = w.flush().unwrap_err();
        assert!(
            matches!(&err, WriteError::Deferred(m) if m.contains("kaboom")),
            "{err:?}"
        );
        w.append(f, &scalar(2)).unwrap();
        w.close().unwrap();
        assert_eq!(steps(&path), vec![0, 1, 2]);
    }

    #[test]
    fn appends_racing_close_are_written_or_refused_never_lost() {
        // Each thread appends until refused with `Closed`; every append that returned Ok must
        // be in the file (close() sets the flag under the pending lock).
        for round in 0..20 {
            let dir = tempfile::tempdir().unwrap();
            let w = Arc::new(
                EventWriter::spawn(WriterOptions {
                    batch_events: 3,
                    max_queue: 1,
                    ..Default::default()
                })
                .unwrap(),
            );
            let (f, path) = w.create_file(dir.path(), "").unwrap();
            let threads: Vec<_> = (0..4)
                .map(|t| {
                    let w = Arc::clone(&w);
                    std::thread::spawn(move || {
                        let mut ok = 0i64;
                        loop {
                            let step = t * 1_000_000 + ok;
                            let r = if ok % 2 == 0 {
                                w.append(f, &scalar(step))
                            } else {
                                match w.try_append(f, &scalar(step)) {
                                    Ok(true) => Ok(()),
                                    Ok(false) => w.append(f, &scalar(step)),
                                    Err(e) => Err(e),
                                }
                            };
                            match r {
                                Ok(()) => ok += 1,
                                Err(WriteError::Closed) => return ok,
                                Err(e) => panic!("{e}"),
                            }
                        }
                    })
                })
                .collect();
            std::thread::sleep(Duration::from_millis(2 + round % 5));
            w.close().unwrap();
            let counts: Vec<i64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
            let on_disk = steps(&path);
            assert_eq!(
                on_disk.len() as i64 - 1,
                counts.iter().sum::<i64>(),
                "round {round}"
            );
            for (t, n) in counts.iter().enumerate() {
                let mine: Vec<i64> = on_disk[1..]
                    .iter()
                    .filter(|s| **s / 1_000_000 == t as i64)
                    .map(|s| s % 1_000_000)
                    .collect();
                assert_eq!(mine, (0..*n).collect::<Vec<_>>());
            }
        }
    }

    #[test]
    fn a_dead_background_thread_is_reported_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions {
            batch_events: 4,
            ..Default::default()
        })
        .unwrap();
        let (f, _) = w.create_file(dir.path(), "").unwrap();
        w.flush().unwrap();
        // Kill the background thread with a panic outside any deferred value: a batch whose
        // op points past its bytes (no public API can build one).
        let bad = Batch {
            bytes: Vec::new(),
            ops: vec![Op::Inline { file: f, end: 10 }],
            events: 1,
        };
        w.inner.tx.send(Msg::Batch(bad)).unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match w.flush() {
                Err(WriteError::ThreadGone) => break,
                Ok(()) => assert!(Instant::now() < deadline, "the thread did not die"),
                Err(e) => panic!("{e}"),
            }
        }
        // Appends fail once they need the thread; close() reports instead of hanging.
        let mut failed = false;
        for s in 0..10 {
            if let Err(e) = w.append(f, &scalar(s)) {
                assert!(matches!(e, WriteError::ThreadGone), "{e}");
                failed = true;
                break;
            }
        }
        assert!(failed);
        assert!(matches!(w.close(), Err(WriteError::ThreadGone)));
    }

    #[test]
    fn flush_after_close_is_refused_cleanly() {
        let dir = tempfile::tempdir().unwrap();
        let w = EventWriter::spawn(WriterOptions::default()).unwrap();
        let (_, _) = w.create_file(dir.path(), "").unwrap();
        w.close().unwrap();
        assert!(matches!(w.flush(), Err(WriteError::Closed)));
        assert!(matches!(
            w.create_file(dir.path(), ""),
            Err(WriteError::Closed)
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_removed_directory_is_reported_and_logging_goes_on_in_a_new_file() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("run");
        let w = EventWriter::spawn(WriterOptions::default()).unwrap();
        let (f, path) = w.create_file(&dir, ".s").unwrap();
        w.append(f, &scalar(1)).unwrap();
        w.flush().unwrap();
        fs::remove_dir_all(&dir).unwrap();
        w.append(f, &scalar(2)).unwrap();
        let err = w.flush().unwrap_err();
        assert!(
            matches!(&err, WriteError::Io { kind: io::ErrorKind::NotFound, path: p, .. } if *p == path),
            "{err:?}"
        );
        // The next records go to a new file in the recreated directory.
        w.append(f, &scalar(3)).unwrap();
        w.flush().unwrap();
        w.close().unwrap();
        let files: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1);
        assert!(files[0].to_str().unwrap().ends_with(".s"));
        assert_eq!(steps(&files[0]), vec![0, 3]);
    }
}
