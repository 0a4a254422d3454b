use std::time::Duration;

use prost::Message;

use super::*;
use crate::format::record::encode_record;
use crate::reader::restart_mask;
use crate::summary::{self, Step, WallTime};

fn scalar(tag: &str, step: i64, v: f64) -> Vec<u8> {
    let value = summary::scalar_simple(tag.into(), v);
    summary::summary_event(WallTime(1.0), Step(step), vec![value]).encode_to_vec()
}

fn write_file(path: &Path, events: &[Vec<u8>]) {
    let mut out = Vec::new();
    for e in events {
        encode_record(&mut out, e);
    }
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, out).unwrap();
}

fn steps_of(path: &Path, tag: &str) -> Vec<i64> {
    let mut out = Vec::new();
    filter::stream_file(path, |fr| {
        if let filter::FrameRef::Record { payload, .. } = fr {
            if let Some(ps) = crate::reader::decode::PlainScalar::of(payload) {
                if ps.tag() == tag.as_bytes() {
                    out.push(ps.fields().1);
                }
            }
        }
        Ok(())
    })
    .unwrap();
    out
}

fn opts() -> RewriteOptions {
    RewriteOptions {
        live_window: Duration::ZERO,
        ..RewriteOptions::default()
    }
}

#[test]
fn streaming_restarts_match_restart_mask() {
    // Random step sequences of two tags: the rewrite keeps what restart_mask keeps.
    let mut seed = 7u64;
    let mut rnd = move |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for trial in 0..40 {
        let d = tempfile::tempdir().unwrap();
        let mut keys = Vec::new();
        let mut events = Vec::new();
        for _ in 0..(5 + rnd(40)) {
            let tag = rnd(2) as u32;
            let step = rnd(20) as i64;
            keys.push((tag, step));
            events.push(scalar(&format!("t{tag}"), step, 0.0));
        }
        let src = d.path().join("src/run/x.tfevents.1");
        write_file(&src, &events);
        let o = RewriteOptions {
            apply_restarts: true,
            ..opts()
        };
        rewrite(&d.path().join("src"), Some(&d.path().join("dst")), &o).unwrap();
        let mask = restart_mask(&keys);
        for tag in 0..2u32 {
            let want: Vec<i64> = keys
                .iter()
                .zip(&mask)
                .filter(|(k, &m)| m && k.0 == tag)
                .map(|(k, _)| k.1)
                .collect();
            let got = steps_of(&d.path().join("dst/run/x.tfevents.1"), &format!("t{tag}"));
            assert_eq!(got, want, "trial {trial}");
        }
    }
}

#[test]
fn limits_keep_first_and_last() {
    let d = tempfile::tempdir().unwrap();
    let events: Vec<Vec<u8>> = (0..10).map(|s| scalar("x", s, 0.0)).collect();
    write_file(&d.path().join("src/r/a.tfevents.1"), &events);
    for (every, max, want) in [
        (Some(3), None, vec![0, 3, 6, 9]),
        (Some(4), None, vec![0, 4, 8, 9]),
        (None, Some(4), vec![0, 3, 6, 9]),
        (None, Some(2), vec![0, 9]),
        (Some(4), Some(3), vec![0, 4, 9]),
        (None, Some(20), (0..10).collect()),
    ] {
        let dst = d.path().join(format!("dst{every:?}{max:?}"));
        let o = RewriteOptions {
            every,
            max_points_per_tag: max,
            ..opts()
        };
        rewrite(&d.path().join("src"), Some(&dst), &o).unwrap();
        assert_eq!(
            steps_of(&dst.join("r/a.tfevents.1"), "x"),
            want,
            "{every:?} {max:?}"
        );
    }
}

#[test]
fn in_place_rewrite_then_nothing_left_to_change() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("logs");
    let ev: Vec<Vec<u8>> = (0..6)
        .flat_map(|s| [scalar("a", s, 1.0), scalar("b", s, 2.0)])
        .collect();
    write_file(&root.join("r/e.tfevents.1"), &ev);
    write_file(&root.join("r/e.tfevents.2"), &ev);
    let o = RewriteOptions {
        drop_tags: vec!["b".into()],
        ..opts()
    };
    let rep = rewrite(&root, None, &o).unwrap();
    assert_eq!(rep.runs[0].action, RunAction::Rewritten);
    assert_eq!(
        steps_of(&root.join("r/e.tfevents.2"), "b"),
        Vec::<i64>::new()
    );
    assert_eq!(
        steps_of(&root.join("r/e.tfevents.2"), "a"),
        (0..6).collect::<Vec<_>>()
    );
    assert!(!root.join(WORK_DIR).exists());
    // Nothing left to change: unchanged, and the files stay as they are.
    let rep = rewrite(&root, None, &o).unwrap();
    assert_eq!(rep.runs[0].action, RunAction::Unchanged);
}

#[test]
fn a_committed_journal_is_finished_and_an_uncommitted_unit_dropped() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("logs");
    let old: Vec<Vec<u8>> = (0..4).map(|s| scalar("a", s, 1.0)).collect();
    let new: Vec<Vec<u8>> = (0..2).map(|s| scalar("a", s, 1.0)).collect();
    for run in ["r", "q"] {
        write_file(&root.join(format!("{run}/e.tfevents.1")), &old);
        write_file(&root.join(format!("{run}/e.tfevents.2")), &old);
    }
    // Unit 0 (run r) was killed after its journal: one of its two files already swapped.
    let unit = root.join(WORK_DIR).join("unit-000000");
    write_file(&unit.join("stage/1"), &new);
    write_file(&root.join("r/e.tfevents.1"), &new);
    let journal = swap::Journal {
        new: vec![
            ("stage/0".into(), "r/e.tfevents.1".into()),
            ("stage/1".into(), "r/e.tfevents.2".into()),
        ],
        old: vec!["r/e.tfevents.1".into(), "r/e.tfevents.2".into()],
    };
    fs::write(unit.join("journal"), journal.encode()).unwrap();
    // Unit 1 (run q) was killed while staging: no journal.
    write_file(&root.join(WORK_DIR).join("unit-000001/stage/0"), &new);
    let rep = rewrite(&root, None, &opts()).unwrap();
    assert_eq!(rep.recovered, vec![unit]);
    assert_eq!(steps_of(&root.join("r/e.tfevents.1"), "a"), vec![0, 1]);
    assert_eq!(steps_of(&root.join("r/e.tfevents.2"), "a"), vec![0, 1]);
    assert_eq!(
        steps_of(&root.join("q/e.tfevents.1"), "a"),
        vec![0, 1, 2, 3]
    );
    assert!(!root.join(WORK_DIR).exists());
    // A torn journal is an error that names the backup, not a guess.
    let unit = root.join(WORK_DIR).join("unit-000000");
    fs::create_dir_all(&unit).unwrap();
    fs::write(unit.join("journal"), "ferroboard-rewrite-journal 1\nnew 00").unwrap();
    let err = rewrite(&root, None, &opts()).unwrap_err().to_string();
    assert!(err.contains("backup"), "{err}");
}

#[test]
fn a_second_rewrite_of_the_same_logdir_is_refused_while_one_runs() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("logs");
    write_file(&root.join("r/e.tfevents.1"), &[scalar("a", 0, 1.0)]);
    let _held = swap::Lock::take(&root).unwrap();
    match rewrite(&root, None, &opts()) {
        Err(RewriteError::Busy(p)) => assert_eq!(p, root),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_corrupt_length_is_reported_with_the_bytes_left_out() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("logs");
    let path = root.join("r/e.tfevents.1");
    let events: Vec<Vec<u8>> = (0..5).map(|s| scalar("a", s, 1.0)).collect();
    write_file(&path, &events);
    let mut bytes = fs::read(&path).unwrap();
    let third = events[0].len() + events[1].len() + 32;
    bytes[third + 8] ^= 0xff; // the third record's length CRC
    fs::write(&path, &bytes).unwrap();
    let rep = rewrite(&root, Some(&d.path().join("out")), &opts()).unwrap();
    let damage = &rep.runs[0].damage;
    assert_eq!(damage.len(), 1);
    assert_eq!(damage[0].offset, third as u64);
    let rest = bytes.len() - third;
    assert!(
        damage[0].what.contains(&format!("remaining {rest} bytes")),
        "{damage:?}"
    );
    assert_eq!(
        steps_of(&d.path().join("out/r/e.tfevents.1"), "a"),
        vec![0, 1]
    );
    assert_eq!(rep.runs[0].action, RunAction::Rewritten);
}
