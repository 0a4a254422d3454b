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

fn drop_b() -> RewriteOptions {
    RewriteOptions {
        drop_tags: vec!["b".into()],
        ..opts()
    }
}

/// Scalars `a` (1.0) and `b` (2.0) at each of `steps`.
fn a_and_b(steps: std::ops::Range<i64>) -> Vec<Vec<u8>> {
    steps
        .flat_map(|s| [scalar("a", s, 1.0), scalar("b", s, 2.0)])
        .collect()
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
    let ev = a_and_b(0..6);
    write_file(&root.join("r/e.tfevents.1"), &ev);
    write_file(&root.join("r/e.tfevents.2"), &ev);
    let o = drop_b();
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
fn a_run_reached_through_a_directory_link_is_left_alone() {
    // The reader follows links to directories (as TensorBoard does); a rewrite does not:
    // swapping the link's path would put a copy where the link was.
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("logs");
    let ev = a_and_b(0..3);
    write_file(&root.join("r/e.tfevents.1"), &ev);
    write_file(&d.path().join("other/e.tfevents.2"), &ev);
    std::os::unix::fs::symlink(d.path().join("other"), root.join("linked")).unwrap();
    let o = drop_b();
    let rep = rewrite(&root, None, &o).unwrap();
    let runs: Vec<&str> = rep.runs.iter().map(|r| r.run.as_str()).collect();
    assert_eq!(runs, vec!["r"]);
    assert!(fs::symlink_metadata(root.join("linked"))
        .unwrap()
        .is_symlink());
    assert_eq!(
        steps_of(&d.path().join("other/e.tfevents.2"), "b"),
        vec![0, 1, 2]
    );
    assert_eq!(
        steps_of(&root.join("r/e.tfevents.1"), "b"),
        Vec::<i64>::new()
    );
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
        exchange: None,
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

/// A forked child holds a copy of the lock's descriptor, and so the lock, until it exits: a
/// rewrite right after the holder let go waits for the child (`swap::LOCK_PATIENCE`) instead of
/// calling the logdir busy.
#[test]
fn a_lock_a_forked_child_still_holds_for_a_moment_is_waited_for() {
    crate::test_process::alone(
        "rewrite::tests::a_lock_a_forked_child_still_holds_for_a_moment_is_waited_for",
        || {
            let d = tempfile::tempdir().unwrap();
            let root = d.path().join("logs");
            write_file(&root.join("r/e.tfevents.1"), &[scalar("a", 0, 1.0)]);
            let held = swap::Lock::take(&root).unwrap();
            let pause = swap::LOCK_PATIENCE / 5;
            let start = std::time::Instant::now();
            let child = crate::test_process::fork(|| std::thread::sleep(pause));
            drop(held);
            let rep = rewrite(&root, None, &opts());
            let waited = start.elapsed();
            crate::test_process::wait_ok(child);
            rep.unwrap();
            assert!(waited >= pause, "{waited:?}");
        },
    );
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

// ------------------------------------------------------------------ whole-run swap

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use super::exchange::hooks::{CRASH_AT, NO_EXCHANGE, TURNED_OFF};

/// A run `r` of two event files (tags a and b), a nested run `r/sub` of one, a non-event
/// file, a symbolic link, a plugin directory and a read-only directory; another run `q`.
fn nested_logdir(root: &Path) {
    let ev = |k: i64| a_and_b(k..k + 4);
    write_file(&root.join("r/e.tfevents.1"), &ev(0));
    write_file(&root.join("r/e.tfevents.2"), &ev(10));
    write_file(&root.join("r/sub/e.tfevents.3"), &ev(20));
    write_file(&root.join("q/e.tfevents.4"), &ev(30));
    fs::write(root.join("r/notes.txt"), b"kept").unwrap();
    fs::create_dir_all(root.join("r/plugins/projector")).unwrap();
    fs::write(root.join("r/plugins/projector/config.pbtxt"), b"cfg").unwrap();
    std::os::unix::fs::symlink("notes.txt", root.join("r/link")).unwrap();
    fs::create_dir_all(root.join("r/ro")).unwrap();
    fs::write(root.join("r/ro/f"), b"ro").unwrap();
    let mode = |p: &str, m: u32| {
        fs::set_permissions(root.join(p), fs::Permissions::from_mode(m)).unwrap();
    };
    mode("r/ro", 0o555);
    mode("r", 0o750);
    mode("r/e.tfevents.1", 0o600);
    mode("r/notes.txt", 0o640);
}

/// Every file of `dir`'s tree: relative path -> bytes (link targets for links).
fn tree(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    fn walk(base: &Path, dir: &Path, out: &mut BTreeMap<String, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(base).unwrap().display().to_string();
            let m = fs::symlink_metadata(&p).unwrap();
            if m.is_symlink() {
                let t = fs::read_link(&p).unwrap();
                out.insert(rel, t.display().to_string().into_bytes());
            } else if m.is_dir() {
                walk(base, &p, out);
            } else {
                out.insert(rel, fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

/// (old tree, new tree) of the nested logdir under `drop_b`, made into a destination.
fn old_and_new(d: &Path) -> (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>) {
    let src = d.join("ref-src");
    nested_logdir(&src);
    let old = tree(&src);
    rewrite(&src, Some(&d.join("ref-dst")), &drop_b()).unwrap();
    let mut new = old.clone();
    for (k, v) in tree(&d.join("ref-dst")) {
        new.insert(k, v); // the event files; the other files are the old ones
    }
    assert_ne!(old, new);
    (old, new)
}

fn part(t: &BTreeMap<String, Vec<u8>>, run: &str) -> BTreeMap<String, Vec<u8>> {
    // The run's own event files (not its sub-runs'), and its other files.
    t.iter()
        .filter(|(k, _)| {
            let (dir, _) = k.rsplit_once('/').unwrap_or(("", k));
            if k.contains("tfevents") {
                dir == run
            } else {
                k.starts_with(&format!("{run}/"))
            }
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[test]
fn a_run_with_nested_runs_is_swapped_whole_keeping_its_other_files() {
    let d = tempfile::tempdir().unwrap();
    let (_, new) = old_and_new(d.path());
    let root = d.path().join("logs");
    nested_logdir(&root);
    // Another group on the run, a file and the sub-run, where the user may give it (root).
    let can_chown = ["r", "r/e.tfevents.2", "r/sub"]
        .iter()
        .all(|p| std::os::unix::fs::lchown(root.join(p), None, Some(4242)).is_ok());
    let ino = |p: &str| fs::symlink_metadata(root.join(p)).unwrap().ino();
    let (r_ino, notes_ino) = (ino("r"), ino("r/notes.txt"));
    let rep = rewrite(&root, None, &drop_b()).unwrap();
    for r in &rep.runs {
        assert_eq!(r.swap.as_deref(), Some("exchange"), "{}", r.run);
    }
    assert_eq!(tree(&root), new);
    assert_ne!(ino("r"), r_ino, "the run directory was exchanged");
    assert_eq!(
        ino("r/notes.txt"),
        notes_ino,
        "other files are the same files"
    );
    let mode = |p: &str| fs::symlink_metadata(root.join(p)).unwrap().mode() & 0o7777;
    assert_eq!(mode("r"), 0o750);
    assert_eq!(mode("r/ro"), 0o555);
    assert_eq!(mode("r/notes.txt"), 0o640);
    assert_eq!(
        mode("r/e.tfevents.1"),
        0o600,
        "a rewritten file keeps its mode"
    );
    if can_chown {
        let gid = |p: &str| fs::symlink_metadata(root.join(p)).unwrap().gid();
        assert_eq!(
            (gid("r"), gid("r/e.tfevents.2"), gid("r/sub")),
            (4242, 4242, 4242)
        );
    }
    assert!(fs::symlink_metadata(root.join("r/link"))
        .unwrap()
        .is_symlink());
    assert!(!root.join(WORK_DIR).exists());
    fs::set_permissions(root.join("r/ro"), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn without_rename_exchange_the_units_go_file_by_file() {
    let d = tempfile::tempdir().unwrap();
    let (_, new) = old_and_new(d.path());
    let root = d.path().join("logs");
    nested_logdir(&root);
    let r_ino = fs::metadata(root.join("r")).unwrap().ino();
    NO_EXCHANGE.with(|c| c.set(true));
    let rep = rewrite(&root, None, &drop_b());
    NO_EXCHANGE.with(|c| c.set(false));
    let rep = rep.unwrap();
    assert_eq!(tree(&root), new);
    assert_eq!(fs::metadata(root.join("r")).unwrap().ino(), r_ino);
    // The first unit met the refusal; the others knew it already.
    for r in &rep.runs {
        let swap = r.swap.as_deref().unwrap();
        assert!(
            swap.starts_with("per-file: renameat2(RENAME_EXCHANGE)"),
            "{}: {swap}",
            r.run
        );
    }
    assert!(!root.join(WORK_DIR).exists());
    fs::set_permissions(root.join("r/ro"), fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_crash_at_every_point_leaves_old_or_new_and_recovery_finishes_it() {
    let points = [
        "staged",
        "committed",
        "named-one",
        "renamed-one",
        "exchanged",
        "retiring",
        "retired",
    ];
    let d = tempfile::tempdir().unwrap();
    let (old, new) = old_and_new(d.path());
    for no_exchange in [false, true] {
        for point in points {
            let root = d.path().join(format!("logs-{point}-{no_exchange}"));
            nested_logdir(&root);
            fs::remove_dir_all(root.join("q")).unwrap(); // r is the unit the crash hits
            NO_EXCHANGE.with(|c| c.set(no_exchange));
            CRASH_AT.with(|c| c.set(Some(point)));
            let res = rewrite(&root, None, &drop_b());
            CRASH_AT.with(|c| c.set(None));
            let what = format!("{point}, no_exchange={no_exchange}");
            let unreached = if no_exchange {
                ["exchanged", "retiring"].contains(&point)
            } else {
                point == "renamed-one" // the per-file renames
            };
            if unreached {
                assert!(res.is_ok(), "{what}: never reached");
            } else {
                let err = res.unwrap_err().to_string();
                assert!(err.contains("simulated crash"), "{what}: {err}");
            }
            let got = tree(&root);
            for run in ["r", "r/sub"] {
                let p = part(&got, run);
                let ok = p == part(&old, run) || p == part(&new, run);
                // Only the per-file protocol leaves a mix: after the first of r's two renames
                // (until the next rewrite finishes its journal).
                let mix = no_exchange && point == "renamed-one" && run == "r";
                assert_eq!(ok, !mix, "{what}: {run}: {:?}", p.keys());
            }
            let journal = fs::read_dir(root.join(WORK_DIR)).is_ok_and(|it| {
                it.filter_map(Result::ok)
                    .any(|e| e.path().join("journal").exists())
            });
            let rep = rewrite(&root, None, &opts()).unwrap();
            NO_EXCHANGE.with(|c| c.set(false));
            assert_eq!(rep.recovered.len(), usize::from(journal), "{what}");
            // Finished, or (crashed before the commit point) still old: rewrite again.
            rewrite(&root, None, &drop_b()).unwrap();
            let mut want = new.clone();
            want.retain(|k, _| !k.starts_with("q/"));
            assert_eq!(tree(&root), want, "{what}");
            assert!(!root.join(WORK_DIR).exists(), "{what}");
            fs::set_permissions(root.join("r/ro"), fs::Permissions::from_mode(0o755)).unwrap();
        }
    }
}

#[test]
fn a_file_created_in_the_run_during_the_swap_is_kept() {
    // What a live writer (with force) creates in the old tree after it was staged is moved
    // into the new tree, not deleted with the old one.
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("logs");
    nested_logdir(&root);
    CRASH_AT.with(|c| c.set(Some("exchanged")));
    fs::remove_dir_all(root.join("q")).unwrap(); // r is the first unit
    let _ = rewrite(&root, None, &drop_b()).unwrap_err();
    CRASH_AT.with(|c| c.set(None));
    // The old tree is now inside the unit directory: a late file, and a late sub-run.
    let unit = fs::read_dir(root.join(WORK_DIR))
        .unwrap()
        .filter_map(Result::ok)
        .find(|e| e.path().join("journal").exists())
        .unwrap()
        .path();
    fs::write(unit.join("tree/late.txt"), b"late").unwrap();
    write_file(&unit.join("tree/sub2/e.tfevents.9"), &[scalar("a", 9, 1.0)]);
    rewrite(&root, None, &opts()).unwrap();
    assert_eq!(fs::read(root.join("r/late.txt")).unwrap(), b"late");
    assert_eq!(steps_of(&root.join("r/sub2/e.tfevents.9"), "a"), vec![9]);
    fs::set_permissions(root.join("r/ro"), fs::Permissions::from_mode(0o755)).unwrap();
}

/// `rewrite(root, None, opts)` while another process (a `sleep`) stands in `dir`; also
/// that process's id.
fn rewrite_with_a_process_in(
    root: &Path,
    dir: &Path,
    opts: &RewriteOptions,
) -> (Result<RewriteReport, RewriteError>, u32) {
    let mut child = std::process::Command::new("sleep")
        .arg("30")
        .current_dir(dir)
        .spawn()
        .unwrap();
    let rep = rewrite(root, None, opts);
    child.kill().unwrap();
    child.wait().unwrap();
    (rep, child.id())
}

/// Every run of `rep` in `exchanged` was exchanged; every other one went file by file with a
/// reason that contains `why`.
fn assert_swaps(rep: &RewriteReport, exchanged: &[&str], why: &str) {
    for r in &rep.runs {
        let swap = r.swap.as_deref().unwrap();
        if exchanged.contains(&r.run.as_str()) {
            assert_eq!(swap, "exchange", "{}", r.run);
        } else {
            assert!(
                swap.starts_with("per-file: ") && swap.contains(why),
                "{swap}"
            );
        }
    }
}

/// A process standing in a run's directory (a shell `cd`'d there) keeps that run from being
/// exchanged: it would be left in the deleted old directory. The run goes file by file; a run
/// nested inside it, where the process does not stand, and the other runs are exchanged.
#[test]
fn a_process_standing_in_a_run_keeps_that_run_from_being_exchanged() {
    let d = tempfile::tempdir().unwrap();
    let (_, new) = old_and_new(d.path());
    let root = d.path().join("logs");
    nested_logdir(&root);
    let r_ino = fs::symlink_metadata(root.join("r")).unwrap().ino();
    let (rep, pid) = rewrite_with_a_process_in(&root, &root.join("r"), &drop_b());
    let rep = rep.unwrap();
    assert_eq!(tree(&root), new);
    assert_swaps(
        &rep,
        &["q", "r/sub"],
        &format!("process {pid} has its working directory in"),
    );
    assert_eq!(
        fs::symlink_metadata(root.join("r")).unwrap().ino(),
        r_ino,
        "the run directory the process stands in is the same directory"
    );
}

// ------------------------------------------------------------------ logdir-wide swap

/// A logdir whose plan (under [`wide_rules`]) has a root run of two event files, a merge of `x`
/// (two files) and `y` (one), an ordinary run `x/sub` inside `x`, other files at the top and
/// in `x`, and a symbolic link.
fn wide_logdir(root: &Path) {
    let ev = |k: i64| a_and_b(k..k + 4);
    write_file(&root.join("e.tfevents.1"), &ev(0));
    write_file(&root.join("e.tfevents.2"), &ev(10));
    write_file(&root.join("x/e.tfevents.3"), &ev(20));
    write_file(&root.join("x/e.tfevents.4"), &ev(30));
    write_file(&root.join("y/e.tfevents.5"), &ev(40));
    write_file(&root.join("x/sub/e.tfevents.6"), &ev(50));
    fs::write(root.join("notes.txt"), b"top").unwrap();
    fs::write(root.join("x/cfg.txt"), b"cfg").unwrap();
    std::os::unix::fs::symlink("notes.txt", root.join("link")).unwrap();
    fs::set_permissions(root, fs::Permissions::from_mode(0o750)).unwrap();
}

fn wide_rules() -> RewriteOptions {
    RewriteOptions {
        merge_runs: vec![("x".into(), vec!["y".into()])],
        ..drop_b()
    }
}

const WIDE_RUNS: [&str; 4] = [".", "x", "y", "x/sub"];

/// (old tree, new tree) of the wide logdir under `wide_rules`: the new one is the old one's
/// other files with the rewritten event files (made into a destination).
fn wide_old_and_new(d: &Path) -> (BTreeMap<String, Vec<u8>>, BTreeMap<String, Vec<u8>>) {
    let src = d.join("wide-src");
    wide_logdir(&src);
    let old = tree(&src);
    rewrite(&src, Some(&d.join("wide-dst")), &wide_rules()).unwrap();
    let mut new: BTreeMap<String, Vec<u8>> = old
        .iter()
        .filter(|(k, _)| !k.contains("tfevents"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    new.extend(
        tree(&d.join("wide-dst"))
            .into_iter()
            .filter(|(k, _)| k.contains("tfevents")),
    );
    (old, new)
}

/// A run's own event files in a tree (`.`: those at the top).
fn own_events(t: &BTreeMap<String, Vec<u8>>, run: &str) -> BTreeMap<String, Vec<u8>> {
    t.iter()
        .filter(|(k, _)| {
            let dir = k.rsplit_once('/').map_or(".", |(d, _)| d);
            k.contains("tfevents") && dir == run
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// `old` or `new` for the whole tree, each run judged alone (`mix` where a run is neither).
fn state(
    got: &BTreeMap<String, Vec<u8>>,
    old: &BTreeMap<String, Vec<u8>>,
    new: &BTreeMap<String, Vec<u8>>,
) -> String {
    let each: Vec<&str> = WIDE_RUNS
        .iter()
        .map(|run| {
            let p = own_events(got, run);
            if p == own_events(old, run) {
                "old"
            } else if p == own_events(new, run) {
                "new"
            } else {
                "mix"
            }
        })
        .collect();
    if each.iter().all(|s| *s == each[0]) {
        each[0].to_owned()
    } else {
        format!("{:?}", WIDE_RUNS.iter().zip(&each).collect::<Vec<_>>())
    }
}

fn container(root: &Path) -> PathBuf {
    let name = root.file_name().unwrap().to_string_lossy();
    root.parent()
        .unwrap()
        .join(format!(".ferroboard-rewrite-{name}"))
}

#[test]
fn a_root_run_and_merged_runs_are_swapped_by_exchanging_the_logdir() {
    let d = tempfile::tempdir().unwrap();
    let (_, new) = wide_old_and_new(d.path());
    let root = d.path().join("logs");
    wide_logdir(&root);
    let ino = |p: &str| fs::symlink_metadata(root.join(p)).unwrap().ino();
    let (root_ino, notes, cfg) = (ino("."), ino("notes.txt"), ino("x/cfg.txt"));
    let rep = rewrite(&root, None, &wide_rules()).unwrap();
    let swaps: Vec<(&str, &str)> = rep
        .runs
        .iter()
        .map(|r| (r.run.as_str(), r.swap.as_deref().unwrap_or("-")))
        .collect();
    assert_eq!(
        swaps,
        vec![
            (".", "logdir-exchange"),
            ("x", "logdir-exchange"),
            ("x/sub", "logdir-exchange")
        ]
    );
    assert_eq!(tree(&root), new);
    assert_ne!(ino("."), root_ino, "the logdir was exchanged");
    assert_eq!((ino("notes.txt"), ino("x/cfg.txt")), (notes, cfg));
    assert!(
        root.join("y").is_dir(),
        "a merged-away run's directory stays"
    );
    assert_eq!(fs::metadata(&root).unwrap().mode() & 0o7777, 0o750);
    assert!(fs::symlink_metadata(root.join("link"))
        .unwrap()
        .is_symlink());
    assert!(!root.join(WORK_DIR).exists());
    assert!(!container(&root).exists());
}

#[test]
fn a_merge_of_two_runs_is_swapped_by_exchanging_the_logdir() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("logs");
    for (run, k) in [("a", 0), ("b", 10), ("c", 20)] {
        for f in 0..2 {
            let ev: Vec<Vec<u8>> = (0..3)
                .flat_map(|s| [scalar("a", s + k + f, 1.0), scalar("b", s, 2.0)])
                .collect();
            write_file(&root.join(format!("{run}/e.tfevents.{k}{f}")), &ev);
        }
    }
    let o = RewriteOptions {
        merge_runs: vec![("a".into(), vec!["b".into()])],
        ..drop_b()
    };
    let rep = rewrite(&root, None, &o).unwrap();
    let swaps: Vec<(&str, &str)> = rep
        .runs
        .iter()
        .map(|r| (r.run.as_str(), r.swap.as_deref().unwrap_or("-")))
        .collect();
    assert_eq!(
        swaps,
        vec![("a", "logdir-exchange"), ("c", "logdir-exchange")]
    );
    assert_eq!(
        steps_of(&root.join("a/e.tfevents.00"), "a"),
        vec![0, 1, 2, 1, 2, 3, 10, 11, 12, 11, 12, 13]
    );
    assert_eq!(
        steps_of(&root.join("a/e.tfevents.00"), "b"),
        Vec::<i64>::new()
    );
    assert!(!root.join("a/e.tfevents.01").exists());
    assert_eq!(fs::read_dir(root.join("b")).unwrap().count(), 0);
    assert!(!container(&root).exists());
}

#[test]
fn a_crash_at_every_step_of_the_logdir_exchange_leaves_old_or_new() {
    // Before the journal, after it, while naming, just after the exchange, while the old tree
    // is retired, before the container is removed.
    let points = [
        ("logdir-staged", "old"),
        ("logdir-journal", "old"),
        ("named-one", "old"),
        ("logdir-exchanged", "new"),
        ("retiring", "new"),
        ("logdir-retired", "new"),
    ];
    let d = tempfile::tempdir().unwrap();
    let (old, new) = wide_old_and_new(d.path());
    for (point, want) in points {
        let root = d.path().join(format!("logs-{point}"));
        wide_logdir(&root);
        let ino = |p: &str| fs::symlink_metadata(root.join(p)).unwrap().ino();
        let (notes, cfg) = (ino("notes.txt"), ino("x/cfg.txt"));
        CRASH_AT.with(|c| c.set(Some(point)));
        let res = rewrite(&root, None, &wide_rules());
        CRASH_AT.with(|c| c.set(None));
        let err = res.unwrap_err().to_string();
        assert!(err.contains("simulated crash"), "{point}: {err}");
        // Every run old, or every run new: the logdir switched at once.
        assert_eq!(state(&tree(&root), &old, &new), want, "{point}");
        assert!(container(&root).exists(), "{point}");
        // The next rewrite (no rules) finishes it, or deletes what was staged.
        let rep = rewrite(&root, None, &opts()).unwrap();
        assert_eq!(rep.recovered.len(), usize::from(want == "new"), "{point}");
        assert_eq!(state(&tree(&root), &old, &new), want, "{point}");
        assert!(!container(&root).exists(), "{point}");
        assert!(!root.join(WORK_DIR).exists(), "{point}");
        assert_eq!(
            (ino("notes.txt"), ino("x/cfg.txt")),
            (notes, cfg),
            "{point}"
        );
        // Then the rewrite itself (again, when it was undone).
        rewrite(&root, None, &wide_rules()).unwrap();
        assert_eq!(tree(&root), new, "{point}");
        assert!(!container(&root).exists(), "{point}");
        assert!(!root.join(WORK_DIR).exists(), "{point}");
    }
}

#[test]
fn a_file_created_in_the_logdir_during_its_exchange_is_kept() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("logs");
    wide_logdir(&root);
    CRASH_AT.with(|c| c.set(Some("logdir-exchanged")));
    let _ = rewrite(&root, None, &wide_rules()).unwrap_err();
    CRASH_AT.with(|c| c.set(None));
    // The old tree is in the container now: a late file, a late run, a late file in a run.
    let old = container(&root).join("tree");
    fs::write(old.join("late.txt"), b"late").unwrap();
    write_file(&old.join("late/e.tfevents.9"), &[scalar("a", 9, 1.0)]);
    write_file(&old.join("x/sub/e.tfevents.10"), &[scalar("a", 10, 1.0)]);
    rewrite(&root, None, &opts()).unwrap();
    assert_eq!(fs::read(root.join("late.txt")).unwrap(), b"late");
    assert_eq!(steps_of(&root.join("late/e.tfevents.9"), "a"), vec![9]);
    assert_eq!(steps_of(&root.join("x/sub/e.tfevents.10"), "a"), vec![10]);
    assert!(!container(&root).exists());
}

#[test]
fn the_lock_holds_across_the_logdir_exchange() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("logs");
    wide_logdir(&root);
    let held = swap::Lock::take(&root).unwrap();
    let lock_ino = fs::metadata(root.join(WORK_DIR).join("lock"))
        .unwrap()
        .ino();
    drop(held);
    CRASH_AT.with(|c| c.set(Some("logdir-exchanged")));
    let _ = rewrite(&root, None, &wide_rules()).unwrap_err();
    CRASH_AT.with(|c| c.set(None));
    // The new tree's lock is the same file as the one the rewrite locked.
    let lock = root.join(WORK_DIR).join("lock");
    assert_eq!(fs::metadata(&lock).unwrap().ino(), lock_ino);
    let _held = swap::Lock::take(&root).unwrap();
    assert!(matches!(
        rewrite(&root, None, &opts()),
        Err(RewriteError::Busy(_))
    ));
}

/// The per-file reason of the wide units, and that the result is the new tree anyway.
fn wide_fallback(root: &Path, set: impl Fn(bool)) -> Vec<(String, String)> {
    wide_logdir(root);
    set(true);
    let rep = rewrite(root, None, &wide_rules());
    set(false);
    assert!(!container(root).exists());
    assert!(!root.join(WORK_DIR).exists());
    rep.unwrap()
        .runs
        .into_iter()
        .map(|r| (r.run, r.swap.unwrap_or_default()))
        .collect()
}

#[test]
fn the_logdir_exchange_turned_off_or_refused_falls_back_to_per_file() {
    let d = tempfile::tempdir().unwrap();
    let (_, new) = wide_old_and_new(d.path());
    let root = d.path().join("off");
    let swaps = wide_fallback(&root, |on| TURNED_OFF.with(|c| c.set(on)));
    assert_eq!(tree(&root), new);
    let why = "turned off by FERROBOARD_REWRITE_EXCHANGE=0";
    for (run, swap) in &swaps {
        assert!(
            swap.starts_with("per-file: ") && swap.ends_with(why),
            "{run}: {swap}"
        );
    }
    assert!(swaps[0].1.contains("the logdir's own run"), "{swaps:?}");
    // Refused by the system after the journal: undone, then each unit file by file.
    let root = d.path().join("refused");
    let swaps = wide_fallback(&root, |on| NO_EXCHANGE.with(|c| c.set(on)));
    assert_eq!(tree(&root), new);
    for (run, swap) in &swaps {
        assert!(
            swap.starts_with("per-file: renameat2(RENAME_EXCHANGE)"),
            "{run}: {swap}"
        );
    }
}

/// A directory of the container's name that another program made (it holds a file of its
/// own) is left alone, by recovery too, and the logdir is then not exchanged.
#[test]
fn a_foreign_directory_of_the_containers_name_is_left_alone() {
    let d = tempfile::tempdir().unwrap();
    let (_, new) = wide_old_and_new(d.path());
    let root = d.path().join("logs");
    wide_logdir(&root);
    let foreign = d.path().join(".ferroboard-rewrite-logs");
    fs::create_dir_all(foreign.join("tree")).unwrap();
    fs::write(foreign.join("mine.txt"), b"not a rewrite's").unwrap();
    let rep = rewrite(&root, None, &wide_rules()).unwrap();
    assert_eq!(tree(&root), new);
    assert_swaps(&rep, &["x/sub"], "was not made by a rewrite");
    assert_eq!(
        fs::read(foreign.join("mine.txt")).unwrap(),
        b"not a rewrite's"
    );
    assert!(foreign.join("tree").is_dir());
    // Recovery alone (a rewrite with no rules) leaves it too.
    rewrite(&root, None, &opts()).unwrap();
    assert!(foreign.join("mine.txt").is_file());
}

#[test]
fn a_process_standing_in_the_logdir_keeps_it_from_being_exchanged() {
    let d = tempfile::tempdir().unwrap();
    let (_, new) = wide_old_and_new(d.path());
    let root = d.path().join("logs");
    wide_logdir(&root);
    let (rep, pid) = rewrite_with_a_process_in(&root, &root.join("x"), &wide_rules());
    let rep = rep.unwrap();
    assert_eq!(tree(&root), new);
    // x/sub is an ordinary run: its own directory is exchanged (the process stands in x).
    assert_swaps(
        &rep,
        &["x/sub"],
        &format!("process {pid} has its working directory in"),
    );
}

#[test]
fn an_unwritable_parent_keeps_the_logdir_from_being_exchanged() {
    // SAFETY: geteuid cannot fail.
    if unsafe { libc::geteuid() } == 0 {
        eprintln!("skipped: running as root, a directory's mode does not stop root writing");
        return;
    }
    let d = tempfile::tempdir().unwrap();
    let (_, new) = wide_old_and_new(d.path());
    let parent = d.path().join("ro");
    let root = parent.join("logs");
    fs::create_dir_all(&parent).unwrap();
    wide_logdir(&root);
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o555)).unwrap();
    let rep = rewrite(&root, None, &wide_rules());
    fs::set_permissions(&parent, fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(tree(&root), new);
    let swap = rep.unwrap().runs[0].swap.clone().unwrap();
    assert!(swap.contains("is not writable"), "{swap}");
}

#[test]
fn a_single_file_root_run_is_one_rename_and_needs_no_logdir_exchange() {
    let d = tempfile::tempdir().unwrap();
    let root = d.path().join("logs");
    write_file(
        &root.join("e.tfevents.0"),
        &[scalar("a", 0, 1.0), scalar("b", 0, 1.0)],
    );
    write_file(&root.join("r/e.tfevents.1"), &[scalar("b", 1, 1.0)]);
    let root_ino = fs::metadata(&root).unwrap().ino();
    let rep = rewrite(&root, None, &drop_b()).unwrap();
    let swaps: Vec<(&str, &str)> = rep
        .runs
        .iter()
        .map(|r| (r.run.as_str(), r.swap.as_deref().unwrap()))
        .collect();
    assert_eq!(
        swaps,
        vec![
            (
                ".",
                "per-file: the logdir's own run (its directory holds the other runs)"
            ),
            ("r", "exchange"),
        ]
    );
    assert_eq!(fs::metadata(&root).unwrap().ino(), root_ino);
}
