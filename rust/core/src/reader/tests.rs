use prost::Message;

use super::*;
use crate::format::plugins;
use crate::format::record::{encode_record, HEADER_LEN};
use crate::proto::{summary, DataType, Event, HistogramProto, TensorProto};
use crate::summary::{self as event, Step, WallTime};
use std::fs;

fn frame(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        encode_record(&mut out, &e.encode_to_vec());
    }
    out
}

fn scalars(tag: &str, steps: std::ops::Range<i64>) -> Vec<Event> {
    steps
        .map(|s| {
            event::summary_event(
                WallTime(s as f64),
                Step(s),
                vec![event::scalar_simple(tag.into(), s as f64 * 0.5)],
            )
        })
        .collect()
}

fn header() -> Event {
    event::file_header(WallTime(1.0))
}

#[test]
fn reads_runs_and_scalars() {
    let d = tempfile::tempdir().unwrap();
    fs::create_dir_all(d.path().join("a")).unwrap();
    let mut evs = vec![header()];
    evs.extend(scalars("loss", 0..5));
    fs::write(d.path().join("a/events.out.tfevents.1"), frame(&evs)).unwrap();
    let mut evs = vec![header()];
    evs.extend(scalars("acc", 0..3));
    evs.push(event::summary_event(
        WallTime(9.0),
        Step(3),
        vec![event::scalar_tensor("acc".into(), 0.25, true)],
    ));
    fs::write(d.path().join("events.out.tfevents.2"), frame(&evs)).unwrap();
    let out = read(d.path(), ReadOptions::default()).unwrap();
    assert_eq!(out.runs, vec!["a", "."]);
    assert_eq!(out.scalars.len(), 9);
    assert_eq!(out.tags, vec!["loss", "acc"]);
    assert_eq!(out.scalars.value[8], 0.25);
    assert_eq!(out.scalars.encoding[8], ScalarEncoding::Double as u8);
    assert_eq!(out.scalars.run[8], 1);
    assert_eq!(out.files.len(), 2);
    assert!(out
        .files
        .iter()
        .all(|f| f.pending == 0 && f.corrupt.is_empty()));
}

#[test]
fn tag_filter_and_kind_filter() {
    let d = tempfile::tempdir().unwrap();
    let mut evs = vec![header()];
    for s in 0..10 {
        evs.push(event::summary_event(
            WallTime(0.0),
            Step(s),
            vec![
                event::scalar_simple("a".into(), 1.0),
                event::scalar_simple("b".into(), 2.0),
                event::text("t", "hi"),
            ],
        ));
    }
    let p = d.path().join("x.tfevents.1");
    fs::write(&p, frame(&evs)).unwrap();
    let opts = ReadOptions {
        tags: Some(["b".to_owned()].into_iter().collect()),
        ..Default::default()
    };
    let out = read(&p, opts).unwrap();
    assert_eq!(out.scalars.len(), 10);
    assert!(out.scalars.value.iter().all(|&v| v == 2.0));
    assert!(out.items.is_empty());
    let opts = ReadOptions {
        kinds: KindSet::of(&[Kind::Text]),
        ..Default::default()
    };
    let out = read(&p, opts).unwrap();
    assert!(out.scalars.is_empty());
    assert_eq!(out.items.len(), 10);
    assert_eq!(out.items[0].kind, Kind::Text);
    assert_eq!(out.tags[out.items[0].tag as usize], "t/text_summary");
}

#[test]
fn plugin_is_remembered_across_files_of_a_run() {
    let d = tempfile::tempdir().unwrap();
    let with_md = event::summary_event(
        WallTime(0.0),
        Step(0),
        vec![event::scalar_tensor("s".into(), 1.0, false)],
    );
    let mut bare = event::scalar_tensor("s".into(), 2.0, false);
    bare.metadata = None;
    let without = event::summary_event(WallTime(0.0), Step(1), vec![bare]);
    fs::write(d.path().join("e.tfevents.1"), frame(&[with_md])).unwrap();
    fs::write(d.path().join("e.tfevents.2"), frame(&[without])).unwrap();
    let out = read(d.path(), ReadOptions::default()).unwrap();
    assert_eq!(out.scalars.value, vec![1.0, 2.0]);
    assert!(out.items.is_empty());
}

#[test]
fn corrupt_payload_is_skipped_and_counted_bad_length_resyncs() {
    let d = tempfile::tempdir().unwrap();
    let mut evs = vec![header()];
    evs.extend(scalars("x", 0..4));
    let mut bytes = frame(&evs);
    let rec_len = |e: &Event| HEADER_LEN + e.encoded_len() + 4;
    let second = rec_len(&evs[0]) + rec_len(&evs[1]);
    bytes[second + HEADER_LEN + 2] ^= 0x55; // payload of step 1
    let p = d.path().join("c.tfevents");
    fs::write(&p, &bytes).unwrap();
    let out = read(&p, ReadOptions::default()).unwrap();
    assert_eq!(out.scalars.step, vec![0, 2, 3]);
    assert_eq!(out.files[0].corrupt, vec![second as u64]);
    let err = read(
        &p,
        ReadOptions {
            strict: true,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(&format!("offset {second}")),
        "{err}"
    );
    // Now break a length instead.
    let mut bytes = frame(&evs);
    bytes[second] ^= 1;
    fs::write(&p, &bytes).unwrap();
    let out = read(&p, ReadOptions::default()).unwrap();
    // Resynchronised on the next record: only the damaged one is lost, and its bytes are
    // reported as skipped.
    assert_eq!(out.scalars.step, vec![0, 2, 3]);
    assert_eq!(out.files[0].bad_length_at, Some(second as u64));
    assert_eq!(
        out.files[0].skipped,
        vec![(second as u64, rec_len(&evs[2]) as u64)]
    );
    assert_eq!(out.files[0].end_offset, bytes.len() as u64);
    let err = read(
        &p,
        ReadOptions {
            strict: true,
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(&format!("offset {second}")),
        "{err}"
    );
}

#[test]
fn incomplete_tail_resumes() {
    let d = tempfile::tempdir().unwrap();
    let mut evs = vec![header()];
    evs.extend(scalars("x", 0..6));
    let bytes = frame(&evs);
    let p = d.path().join("g.tfevents");
    let mut r = LogReader::new(d.path(), ReadOptions::default());
    let mut seen = Vec::new();
    for cut in [0, 5, 40, 41, 100, 133, bytes.len() - 1, bytes.len()] {
        fs::write(&p, &bytes[..cut]).unwrap();
        let out = r.poll().unwrap();
        seen.extend(out.scalars.step.iter().copied());
    }
    assert_eq!(seen, vec![0, 1, 2, 3, 4, 5]);
    assert!(r.poll().unwrap().scalars.is_empty());
}

#[test]
fn restart_purge_view() {
    let d = tempfile::tempdir().unwrap();
    let mut evs = vec![header()];
    evs.extend(scalars("x", 0..6));
    evs.extend(scalars("x", 3..5));
    evs.extend(scalars("y", 0..2));
    let p = d.path().join("r.tfevents");
    fs::write(&p, frame(&evs)).unwrap();
    let out = read(&p, ReadOptions::default()).unwrap();
    assert_eq!(out.scalars.step, vec![0, 1, 2, 3, 4, 5, 3, 4, 0, 1]);
    let out = read(
        &p,
        ReadOptions {
            purge_restarts: true,
            ..Default::default()
        },
    )
    .unwrap();
    assert_eq!(out.scalars.step, vec![0, 1, 2, 3, 4, 0, 1]);
    assert_eq!(
        restart_mask(&[(0, 5), (0, 1), (0, 7), (0, 2)]),
        vec![false, true, false, true]
    );
}

#[test]
fn other_kinds() {
    let d = tempfile::tempdir().unwrap();
    let histo = HistogramProto {
        min: 0.0,
        max: 1.0,
        num: 2.0,
        sum: 1.0,
        sum_squares: 1.0,
        bucket_limit: vec![0.5, 1.0],
        bucket: vec![1.0, 1.0],
    };
    let pr = TensorProto {
        dtype: DataType::DtFloat as i32,
        tensor_shape: Some(event::shape(&[6, 2])),
        float_val: (0..12).map(|i| i as f32).collect(),
        ..Default::default()
    };
    let ev = event::summary_event(
        WallTime(0.0),
        Step(7),
        vec![
            event::value("h".into(), None, summary::value::Value::Histo(histo)),
            event::value(
                "pr".into(),
                Some(event::plugin_metadata(plugins::PR_CURVES, vec![])),
                summary::value::Value::Tensor(pr),
            ),
            event::value(
                "img".into(),
                None,
                summary::value::Value::Image(summary::Image {
                    height: 2,
                    width: 3,
                    colorspace: 3,
                    encoded_image_string: b"png".to_vec(),
                }),
            ),
        ],
    );
    let graph = Event {
        what: Some(crate::proto::event::What::GraphDef(vec![1, 2])),
        ..Default::default()
    };
    let p = d.path().join("k.tfevents");
    fs::write(&p, frame(&[header(), ev, graph])).unwrap();
    let out = read(&p, ReadOptions::default()).unwrap();
    let kinds: Vec<Kind> = out.items.iter().map(|i| i.kind).collect();
    assert_eq!(kinds, vec![Kind::Histogram, Kind::PrCurve, Kind::Image]);
    assert!(out.has_graph[0]);
    assert_eq!(out.graph_defs[0].as_deref(), Some(&[1u8, 2][..]));
    match &out.items[1].payload {
        Payload::Tensor(t) => {
            assert_eq!(t.shape, vec![6, 2]);
            assert_eq!(t.to_f64()[11], 11.0);
        }
        other => panic!("{other:?}"),
    }
    match &out.items[2].payload {
        Payload::Image(im) => {
            assert_eq!((im.width, im.height, &im.encoded[..]), (3, 2, &b"png"[..]));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn tf_written_fixtures() {
    // Vendored in the repository: this test fails rather than skips when it is missing.
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/tf2-written");
    assert!(root.is_dir(), "{} is missing", root.display());
    let out = read(&root, ReadOptions::default()).unwrap();
    assert_eq!(out.corrupt_records(), 0);
    let run = |name: &str| out.runs.iter().position(|r| r == name).unwrap() as u32;
    let tag = |name: &str| out.tags.iter().position(|t| t == name).unwrap() as u32;
    let train_loss = (0..out.scalars.len())
        .filter(|&i| out.scalars.run[i] == run("train") && out.scalars.tag[i] == tag("loss"))
        .count();
    assert!(train_loss > 10);
    assert!(out.items.iter().any(|i| i.kind == Kind::Histogram));
    assert!(out.items.iter().any(|i| i.kind == Kind::Image));
    assert!(out.items.iter().any(|i| i.kind == Kind::Audio));
    assert!(out.items.iter().any(|i| i.kind == Kind::Text));
    assert!(out.has_graph[run("graph") as usize]);
    let hp = &out.hparams[run("hparams/trial0") as usize];
    assert!(!hp.hparams.is_empty(), "{hp:?}");
}

#[test]
fn hparams_in_metadata_of_an_empty_value() {
    use crate::proto::hparams::{h_params_plugin_data, HParamsPluginData, SessionStartInfo};
    let mut ssi = SessionStartInfo::default();
    ssi.hparams.insert(
        "lr".into(),
        prost_types::Value {
            kind: Some(prost_types::value::Kind::NumberValue(0.1)),
        },
    );
    let content = HParamsPluginData {
        version: 0,
        data: Some(h_params_plugin_data::Data::SessionStartInfo(ssi)),
    }
    .encode_to_vec();
    let v = summary::Value {
        tag: plugins::HPARAMS_SESSION_START_TAG.into(),
        metadata: Some(event::plugin_metadata(plugins::HPARAMS, content)),
        ..Default::default()
    };
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("h.tfevents");
    fs::write(
        &p,
        frame(&[
            header(),
            event::summary_event(WallTime(0.0), Step(0), vec![v]),
        ]),
    )
    .unwrap();
    let out = read(&p, ReadOptions::default()).unwrap();
    assert_eq!(
        out.hparams[0].hparams,
        vec![("lr".to_owned(), HValue::Number(0.1))]
    );
    assert_eq!(out.items.len(), 1);
    assert_eq!(out.items[0].kind, Kind::HParams);
}

/// Plain `simple_value` records of a tag that earlier metadata made an hparams tag are hparams
/// records, not scalars, with or without a tag filter that leaves the tag out (the hot path
/// must hand them to the general one).
#[test]
fn plain_records_of_an_hparams_tag_are_not_scalars() {
    let tag = plugins::HPARAMS_SESSION_START_TAG;
    let first = summary::Value {
        tag: tag.into(),
        metadata: Some(event::plugin_metadata(plugins::HPARAMS, Vec::new())),
        ..Default::default()
    };
    let mut evs = vec![
        header(),
        event::summary_event(WallTime(0.0), Step(0), vec![first]),
    ];
    for s in 1..4 {
        evs.extend(scalars(tag, s..s + 1));
        evs.extend(scalars("loss", s..s + 1));
    }
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("h.tfevents");
    fs::write(&p, frame(&evs)).unwrap();
    for tags in [None, Some(["loss".to_owned()].into())] {
        let filtered = tags.is_some();
        let out = read(
            &p,
            ReadOptions {
                tags,
                ..Default::default()
            },
        )
        .unwrap();
        let loss = out.tags.iter().position(|t| t == "loss").unwrap() as u32;
        assert_eq!(out.scalars.len(), 3, "filtered: {filtered}");
        assert!(out.scalars.tag.iter().all(|&t| t == loss));
        assert_eq!(out.scalars.step, vec![1, 2, 3]);
        let hparams = out.items.iter().filter(|i| i.kind == Kind::HParams).count();
        // Unfiltered, every record of the tag is an hparams row; the filter leaves it out.
        assert_eq!(
            hparams,
            if filtered { 0 } else { 4 },
            "filtered: {filtered}"
        );
        assert!(out.files[0].corrupt.is_empty() && out.files[0].malformed.is_empty());
    }
}

#[test]
fn group_sizes_cover_every_run_in_balanced_contiguous_groups() {
    use proptest::prelude::*;
    proptest!(ProptestConfig::with_cases(2_000), |(weights in proptest::collection::vec(0u64..10_000, 0..60), n in 1usize..9)| {
        let groups = group_sizes(&weights, n);
        let total: u64 = weights.iter().sum();
        prop_assert!(!groups.is_empty());
        prop_assert!(groups.len() <= n.max(1));
        prop_assert_eq!(groups.iter().map(|g| g.0).sum::<usize>(), weights.len());
        let mut at = 0;
        let max_w = weights.iter().copied().max().unwrap_or(0);
        for &(len, bytes) in &groups {
            prop_assert!(len > 0 || weights.is_empty());
            prop_assert_eq!(bytes, weights[at..at + len].iter().sum::<u64>());
            // No group holds much more than its share.
            prop_assert!(bytes <= total / groups.len() as u64 + 2 * max_w + 1);
            at += len;
        }
    });
}

/// Reading with 1, 2, 3 or 7 threads (1 to 7 groups of runs, merged in order) gives the same
/// columns: runs, tags, steps, values, files, per-tag counts.
#[test]
fn output_does_not_depend_on_the_number_of_threads() {
    let d = tempfile::tempdir().unwrap();
    for r in 0..23i64 {
        let dir = d.path().join(format!("run{r:02}"));
        fs::create_dir_all(&dir).unwrap();
        for f in 0..=(r % 3) {
            let mut evs = vec![header()];
            // Runs of very different sizes, tags in a run-dependent order.
            let n = r * 37 % 200;
            evs.extend(scalars(&format!("t{}", (r + f) % 4), 0..n));
            evs.extend(scalars("shared", f * 1000..f * 1000 + n / 2));
            fs::write(dir.join(format!("events.out.tfevents.{f}")), frame(&evs)).unwrap();
        }
    }
    let read_with = |threads: usize| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| read(d.path(), ReadOptions::default()).unwrap())
    };
    let rows = |o: &ReadOutput| -> Vec<(String, String, String, i64, u64)> {
        (0..o.scalars.len())
            .map(|i| {
                let s = &o.scalars;
                (
                    o.runs[s.run[i] as usize].clone(),
                    o.tags[s.tag[i] as usize].clone(),
                    o.files[s.file[i] as usize].path.display().to_string(),
                    s.step[i],
                    s.value[i].to_bits(),
                )
            })
            .collect()
    };
    let one = read_with(1);
    assert!(one.scalars.len() > 3000);
    for t in [2, 3, 7] {
        let many = read_with(t);
        assert_eq!(rows(&many), rows(&one), "{t} threads");
        assert_eq!(many.runs, one.runs);
        let counts = |o: &ReadOutput| -> Vec<(String, String, u64)> {
            o.tag_info
                .iter()
                .map(|ti| {
                    (
                        o.runs[ti.run as usize].clone(),
                        o.tags[ti.tag as usize].clone(),
                        ti.counts[0],
                    )
                })
                .collect()
        };
        assert_eq!(counts(&many), counts(&one), "{t} threads");
    }
}

/// With a tag filter, plain scalar records of tags already known to be filtered out are not
/// verified (nothing of them is returned); the first record of a tag, every record of a wanted
/// tag, and everything in strict mode still are.
#[test]
fn filtered_out_records_are_not_verified() {
    let d = tempfile::tempdir().unwrap();
    let mut evs = vec![header()];
    for s in 0..4 {
        evs.extend(scalars("keep", s..s + 1));
        evs.extend(scalars("drop", s..s + 1));
    }
    let rec_len = |e: &Event| HEADER_LEN + e.encoded_len() + 4;
    let offset_of = |i: usize| evs[..i].iter().map(rec_len).sum::<usize>();
    let mut bytes = frame(&evs);
    // Damage the value byte (the last payload byte) of: "drop" at step 0 (its first record),
    // "drop" at step 2 (known by then), and "keep" at step 3.
    let (drop0, drop2, keep3) = (offset_of(2), offset_of(6), offset_of(7));
    for (at, i) in [(drop0, 2), (drop2, 6), (keep3, 7)] {
        bytes[at + HEADER_LEN + evs[i].encoded_len() - 1] ^= 0x40;
    }
    let p = d.path().join("events.out.tfevents.1");
    fs::write(&p, &bytes).unwrap();
    let only_keep = ReadOptions {
        tags: Some(["keep".to_owned()].into()),
        ..Default::default()
    };
    let out = read(&p, only_keep.clone()).unwrap();
    assert_eq!(out.scalars.step, vec![0, 1, 2]);
    assert_eq!(out.files[0].corrupt, vec![drop0 as u64, keep3 as u64]);
    assert_eq!(out.files[0].records, evs.len() as u64);
    // Everything verified without the filter, and in strict mode with it.
    let all = read(&p, ReadOptions::default()).unwrap();
    let expected = vec![drop0 as u64, drop2 as u64, keep3 as u64];
    assert_eq!(all.files[0].corrupt, expected);
    let err = read(
        &p,
        ReadOptions {
            strict: true,
            ..only_keep
        },
    )
    .unwrap_err();
    assert!(
        err.to_string().contains(&format!("offset {drop0}")),
        "{err}"
    );
}

/// Incremental reading with `purge_restarts`: applying each poll's `purges` to the rows
/// returned before, then appending the poll's rows, gives exactly the one-shot view, however
/// the file's growth is cut into polls.
#[test]
fn purges_across_polls_rebuild_the_one_shot_view() {
    use proptest::prelude::*;
    proptest!(ProptestConfig::with_cases(300), |(
        steps in proptest::collection::vec((0u8..2, 0i64..12), 1..40),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..5),
    )| {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("events.out.tfevents.1");
        let mut evs = vec![header()];
        for (i, &(t, s)) in steps.iter().enumerate() {
            evs.push(event::summary_event(
                WallTime(i as f64),
                Step(s),
                vec![event::scalar_simple(format!("t{t}"), i as f64)],
            ));
        }
        let records: Vec<Vec<u8>> = evs.iter().map(|e| frame(std::slice::from_ref(e))).collect();
        let mut points: Vec<usize> = cuts.iter().map(|c| c.index(records.len() + 1)).collect();
        points.push(records.len());
        points.sort_unstable();
        let opts = ReadOptions { purge_restarts: true, ..Default::default() };
        let mut tail = LogReader::new(d.path(), opts.clone());
        let mut rows: Vec<(String, i64, u64)> = Vec::new();
        for &n in &points {
            fs::write(&p, records[..n].concat()).unwrap();
            let out = tail.poll().unwrap();
            for pg in &out.purges {
                let tag = &out.tags[pg.tag as usize];
                rows.retain(|r| !(&r.0 == tag && r.1 >= pg.step));
            }
            for i in 0..out.scalars.len() {
                rows.push((
                    out.tags[out.scalars.tag[i] as usize].clone(),
                    out.scalars.step[i],
                    out.scalars.value[i].to_bits(),
                ));
            }
        }
        let once = read(d.path(), opts).unwrap();
        prop_assert!(once.purges.is_empty());
        let expected: Vec<(String, i64, u64)> = (0..once.scalars.len())
            .map(|i| {
                (
                    once.tags[once.scalars.tag[i] as usize].clone(),
                    once.scalars.step[i],
                    once.scalars.value[i].to_bits(),
                )
            })
            .collect();
        prop_assert_eq!(rows, expected);
    });
}
