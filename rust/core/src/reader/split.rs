//! One big file on every core: a file is cut at byte offsets into parts read by the pool's
//! threads, with the one-thread read's result.
//!
//! 1. A head (the first [`SplitOptions::head`](super::SplitOptions) bytes) is read first, in order, into the run: the tags'
//!    plugins it names (usually all of them: writers name a tag's plugin with its first
//!    record) are known to every part.
//! 2. The rest is cut into equal parts. The first starts where the head really ended and is
//!    read into the run itself. Each other part searches for its first record boundary (a
//!    position where a record's length CRC and payload CRC both hold) and is read into outputs
//!    of its own, starting from the tags whose plugin the run knows at the split.
//! 3. The parts are then taken in order. A part is kept only if its first boundary is exactly
//!    where the part before it really ended (a candidate boundary inside a payload fails this)
//!    and it read its records as the run would have: every tag it met without a plugin had
//!    none in the run either, or got the same plugin from its first record there; no record
//!    was malformed (whose reading may depend on earlier metadata); with a tag filter, no
//!    record was corrupt (whose counting depends on the tags known). A kept part's outputs
//!    are appended to the run's, its tags and plugins merged in order; any other part is read
//!    again from the real end of the part before it, in order, into the run.
//!
//! Restart purges, hparams and tag order then come out as in a one-thread read, since the
//! run's outputs are in file order. Strict reads and files resuming a resynchronisation are
//! read whole.

use std::path::Path;

use rayon::prelude::*;

use super::frames::{Start, Stop};
use super::scan::{Scanned, Stretch};
use super::{FileReport, ReadOptions, ReaderError, RunOutput, RunState, ScalarColumns};

/// One part of a split file, read on its own.
struct Part {
    /// Its nominal start: its first boundary is searched from here.
    from: u64,
    /// Where its reading stops: the next part's nominal start.
    limit: u64,
    /// Tags in its table before it read anything (the run's tags with a plugin).
    seeded: usize,
    run: RunState,
    out: RunOutput,
    cols: ScalarColumns,
    report: FileReport,
    result: Result<Option<Scanned>, ReaderError>,
}

impl RunState {
    /// Reads a file from `offset` in parts on the pool's threads (see the module
    /// documentation) and returns how it ended; `None` when it is not worth splitting (the
    /// caller reads it whole).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn read_split(
        &mut self,
        path: &Path,
        file_id: u32,
        offset: u64,
        opts: &ReadOptions,
        out: &mut RunOutput,
        cols: &mut ScalarColumns,
        report: &mut FileReport,
    ) -> Result<Option<Stop>, ReaderError> {
        let threads = rayon::current_num_threads() as u64;
        let Ok(size) = crate::storage::len(path) else {
            return Ok(None);
        };
        let (head, min_part) = (opts.split.head, opts.split.min_part.max(1));
        let n = (size.saturating_sub(offset.saturating_add(head)) / min_part).min(threads);
        if n < 2 {
            return Ok(None);
        }
        let head = Stretch {
            start: offset,
            how: Start::Boundary,
            limit: offset + head,
        };
        let Some(head) = self.scan_stretch(path, file_id, head, opts, out, cols, report)? else {
            return Ok(None);
        };
        let Stop::Limit { offset: start } = head.stop else {
            return Ok(Some(head.stop));
        };
        if start >= size {
            return Ok(Some(head.stop));
        }
        let bounds: Vec<u64> = (0..=n).map(|j| start + (size - start) * j / n).collect();
        let limit = |j: u64| {
            if j + 1 == n {
                u64::MAX
            } else {
                bounds[j as usize + 1]
            }
        };
        let seed = self.tags.with_metadata_only();
        let mut parts: Vec<Part> = (1..n)
            .map(|j| Part {
                from: bounds[j as usize],
                limit: limit(j),
                seeded: seed.slots.len(),
                run: RunState {
                    global: self.global,
                    tags: seed.clone(),
                    hparams_log: Some(Vec::new()),
                    ..Default::default()
                },
                out: RunOutput::default(),
                cols: ScalarColumns::default(),
                report: FileReport::default(),
                result: Ok(None),
            })
            .collect();
        let first = Stretch {
            start,
            how: Start::Boundary,
            limit: limit(0),
        };
        let (first, ()) = rayon::join(
            || self.scan_stretch(path, file_id, first, opts, out, cols, report),
            || {
                parts.par_iter_mut().for_each(|p| {
                    // Address space only: a scalar record takes at least ~40 bytes.
                    let bytes = p.limit.min(size) - p.from;
                    p.cols.reserve((bytes / 40).min(1 << 28) as usize);
                    let stretch = Stretch {
                        start: p.from,
                        how: Start::Anywhere,
                        limit: p.limit,
                    };
                    p.result = p.run.scan_stretch(
                        path,
                        file_id,
                        stretch,
                        opts,
                        &mut p.out,
                        &mut p.cols,
                        &mut p.report,
                    );
                });
            },
        );
        // A file that vanished while being read ends where the reading got to.
        let gone = |offset| Stop::Incomplete {
            offset,
            pending: 0,
            resyncing: false,
        };
        let Some(first) = first? else {
            return Ok(Some(gone(start)));
        };
        let mut stop = first.stop;
        for mut p in parts {
            // The file ended before this part: what it read is not there for the run.
            let Stop::Limit { offset: at } = stop else {
                break;
            };
            let found = match &mut p.result {
                Ok(Some(s)) => s.found,
                _ => None,
            };
            #[cfg(test)]
            tests::note(found, at);
            if found == Some(at) && self.fits(&mut p, opts) {
                let Ok(Some(s)) = std::mem::replace(&mut p.result, Ok(None)) else {
                    unreachable!("checked above");
                };
                stop = s.stop;
                self.merge_part(p, opts, out, cols, report);
            } else {
                let again = Stretch {
                    start: at,
                    how: Start::Boundary,
                    limit: p.limit,
                };
                match self.scan_stretch(path, file_id, again, opts, out, cols, report)? {
                    Some(s) => stop = s.stop,
                    None => return Ok(Some(gone(at))),
                }
            }
        }
        Ok(Some(stop))
    }

    /// Whether part `p` read its records as this run, having read everything before it,
    /// would have (see the module documentation).
    fn fits(&mut self, p: &mut Part, opts: &ReadOptions) -> bool {
        if !p.report.malformed.is_empty() {
            return false;
        }
        if opts.tags.is_some() && !p.report.corrupt.is_empty() {
            return false;
        }
        let tags = &p.run.tags;
        for (slot, key) in tags.slots.iter().zip(&tags.keys).skip(p.seeded) {
            let Some(id) = self.tags.lookup(key) else {
                continue;
            };
            let mine = &self.tags.slots[id as usize];
            if mine.has_metadata
                && !(slot.has_metadata
                    && slot.meta_on_first
                    && slot.plugin == mine.plugin
                    && slot.content == mine.content)
            {
                return false;
            }
        }
        true
    }

    /// Appends a part's outputs to this run's, in order.
    fn merge_part(
        &mut self,
        p: Part,
        opts: &ReadOptions,
        out: &mut RunOutput,
        cols: &mut ScalarColumns,
        report: &mut FileReport,
    ) {
        let Part {
            run,
            out: part_out,
            cols: part_cols,
            report: part_report,
            ..
        } = p;
        let map: Vec<u32> = run
            .tags
            .slots
            .iter()
            .zip(&run.tags.keys)
            .map(|(slot, key)| {
                let id = self
                    .tags
                    .lookup(key)
                    .unwrap_or_else(|| self.tags.insert(key, opts));
                let mine = &mut self.tags.slots[id as usize];
                if !mine.has_metadata && slot.has_metadata {
                    mine.has_metadata = true;
                    mine.plugin.clone_from(&slot.plugin);
                    mine.content.clone_from(&slot.content);
                }
                id
            })
            .collect();
        cols.append_mapped(&part_cols, &map);
        out.items.extend(part_out.items.into_iter().map(|mut it| {
            it.tag = map[it.tag as usize];
            it
        }));
        for (local, c) in part_out.counts.iter().enumerate() {
            let id = map[local] as usize;
            if out.counts.len() <= id {
                out.counts.resize(id + 1, [0; 8]);
            }
            for (total, n) in out.counts[id].iter_mut().zip(c) {
                *total += n;
            }
        }
        self.has_graph |= run.has_graph;
        for t in run.run_metadata {
            if !self.run_metadata.contains(&t) {
                self.run_metadata.push(t);
            }
        }
        for content in run.hparams_log.into_iter().flatten() {
            self.note_hparams(&content);
        }
        report.records += part_report.records;
        report.corrupt.extend(part_report.corrupt);
        report.malformed.extend(part_report.malformed);
        report.skipped.extend(part_report.skipped);
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use prost::Message;

    use super::super::{read, KindSet, LogReader, ReadOutput, SplitOptions};
    use super::*;
    use crate::format::plugins;
    use crate::format::record::encode_record;
    use crate::proto::{summary, DataType, Event, HistogramProto, TensorProto};
    use crate::summary::{self as event, Step, WallTime};

    use std::sync::atomic::{AtomicUsize, Ordering};

    /// Parts whose first boundary was the previous part's end, and parts that found a
    /// boundary elsewhere (a fake one).
    static CHAINED: AtomicUsize = AtomicUsize::new(0);
    static FAKE: AtomicUsize = AtomicUsize::new(0);

    pub(super) fn note(found: Option<u64>, at: u64) {
        if found == Some(at) {
            CHAINED.fetch_add(1, Ordering::Relaxed);
        } else if found.is_some() {
            FAKE.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Hparams plugin content: a session start with one value.
    fn session_start(lr: f64) -> Vec<u8> {
        use crate::proto::hparams::{h_params_plugin_data, HParamsPluginData, SessionStartInfo};
        let mut ssi = SessionStartInfo::default();
        ssi.hparams.insert(
            "lr".into(),
            prost_types::Value {
                kind: Some(prost_types::value::Kind::NumberValue(lr)),
            },
        );
        HParamsPluginData {
            version: 0,
            data: Some(h_params_plugin_data::Data::SessionStartInfo(ssi)),
        }
        .encode_to_vec()
    }

    fn string_tensor(bytes: Vec<u8>) -> summary::value::Value {
        summary::value::Value::Tensor(TensorProto {
            dtype: DataType::DtString as i32,
            tensor_shape: Some(event::shape(&[1])),
            string_val: vec![bytes],
            ..Default::default()
        })
    }

    /// The event of record kind `k` (see `file`), at `step`, with `x` for its value.
    fn event_of(k: u8, step: i64, x: f64) -> Event {
        let v = match k {
            0..=3 => event::scalar_simple(["a", "b", "c", "hp"][k as usize].into(), x),
            // A tensor scalar: metadata on some records only (TensorFlow 2 writes it once).
            4 | 5 => {
                let mut v = event::scalar_tensor("ts".into(), x, false);
                if k == 5 {
                    v.metadata = None;
                }
                v
            }
            6 => event::text("t", &format!("{x}")),
            // The hparams tag: its metadata makes the plain scalars of "hp" hparams records.
            7 => event::value(
                "hp".into(),
                Some(event::plugin_metadata(plugins::HPARAMS, session_start(x))),
                summary::value::Value::SimpleValue(0.0),
            ),
            // A tag whose plugin is named only by a later record.
            8 | 9 => event::value(
                "late".into(),
                (k == 9).then(|| event::plugin_metadata(plugins::TEXT, Vec::new())),
                string_tensor(b"late".to_vec()),
            ),
            // A payload holding whole framed records: fake boundaries for a part's search.
            10 => {
                let mut fake = Vec::new();
                for i in 0..3 {
                    let inner = event::summary_event(
                        WallTime(x),
                        Step(step + i),
                        vec![event::scalar_simple("fake".into(), x)],
                    );
                    encode_record(&mut fake, &inner.encode_to_vec());
                }
                event::value(
                    "trap".into(),
                    Some(event::plugin_metadata(plugins::TEXT, Vec::new())),
                    string_tensor(fake),
                )
            }
            11 => event::value(
                "h".into(),
                None,
                summary::value::Value::Histo(HistogramProto {
                    min: 0.0,
                    max: x,
                    num: 2.0,
                    sum: x,
                    sum_squares: x * x,
                    bucket_limit: vec![0.5, 1.0],
                    bucket: vec![1.0, 1.0],
                }),
            ),
            _ => {
                return Event {
                    wall_time: x,
                    step,
                    what: Some(crate::proto::event::What::GraphDef(vec![1, 2, 3])),
                    ..Default::default()
                }
            }
        };
        event::summary_event(WallTime(x), Step(step), vec![v])
    }

    /// A file of `recs` (kind, step), then damage: `flips` (record index, byte in its header
    /// (< 12: its length) or payload, xor), and the last `cut` bytes cut off.
    fn file(recs: &[(u8, i64)], flips: &[(usize, usize, u8)], cut: usize) -> Vec<u8> {
        let mut out = Vec::new();
        encode_record(&mut out, &event::file_header(WallTime(1.0)).encode_to_vec());
        let mut starts = Vec::new();
        for (i, &(k, step)) in recs.iter().enumerate() {
            starts.push((out.len(), 0));
            encode_record(
                &mut out,
                &event_of(k, step, i as f64 * 0.25).encode_to_vec(),
            );
            starts.last_mut().unwrap().1 = out.len();
        }
        for &(r, at, x) in flips {
            if let Some(&(s, e)) = starts.get(r % starts.len().max(1)) {
                out[s + at % (e - s)] ^= x.max(1);
            }
        }
        out.truncate(out.len().saturating_sub(cut));
        out
    }

    /// Everything a read returns, comparable.
    fn view(o: &ReadOutput) -> String {
        format!(
            "{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}\n{:?}",
            o.runs,
            o.tags,
            o.scalars,
            o.items,
            o.files,
            o.tag_info,
            o.has_graph,
            o.run_metadata,
            o.hparams
        )
    }

    fn read_on(threads: usize, path: &Path, opts: ReadOptions) -> ReadOutput {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap()
            .install(|| read(path, opts).unwrap())
    }

    fn options(filter: bool, purge: bool, head: u64, min_part: u64) -> ReadOptions {
        ReadOptions {
            tags: filter.then(|| ["a", "ts", "hp", "late"].map(String::from).into()),
            purge_restarts: purge,
            split: SplitOptions { head, min_part },
            ..Default::default()
        }
    }

    fn recs() -> impl Strategy<Value = Vec<(u8, i64)>> {
        // Mostly plain scalars, as real files; steps with restarts.
        let kind = prop_oneof![6 => 0u8..4, 6 => 4u8..13];
        proptest::collection::vec((kind, 0i64..40), 1..160)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        /// Reading a file split between threads, at any split points, gives exactly the
        /// one-thread read: with fake boundaries in payloads, damaged lengths and payloads,
        /// a cut tail, a tag filter and the restart rule.
        #[test]
        fn split_read_equals_the_one_thread_read(
            recs in recs(),
            flips in proptest::collection::vec((0usize..200, 0usize..400, any::<u8>()), 0..3),
            cut in prop_oneof![3 => Just(0usize), 1 => 0usize..60],
            threads in 2usize..5,
            head in 0u64..400,
            min_part in 1u64..1500,
            filter in any::<bool>(),
            purge in any::<bool>(),
        ) {
            let d = tempfile::tempdir().unwrap();
            let p = d.path().join("events.out.tfevents.1");
            std::fs::write(&p, file(&recs, &flips, cut)).unwrap();
            let one = read_on(1, &p, options(filter, purge, 0, u64::MAX));
            let many = read_on(threads, &p, options(filter, purge, head, min_part));
            prop_assert_eq!(view(&many), view(&one));
        }

        /// A growing file read by polls (a `LogTail`): split polls give what one-thread
        /// polls give, an incomplete tail and a damaged region cut by the end of the bytes
        /// included.
        #[test]
        fn split_polls_equal_one_thread_polls(
            recs in recs(),
            flips in proptest::collection::vec((0usize..200, 0usize..12, any::<u8>()), 0..2),
            cuts in proptest::collection::vec(0.0f64..1.0, 1..4),
            threads in 2usize..4,
            min_part in 1u64..800,
        ) {
            let whole = file(&recs, &flips, 0);
            let mut cuts: Vec<usize> =
                cuts.iter().map(|c| (c * whole.len() as f64) as usize).collect();
            cuts.sort_unstable();
            cuts.push(whole.len());
            let d = tempfile::tempdir().unwrap();
            let p = d.path().join("events.out.tfevents.1");
            let polls = |threads: usize, split: SplitOptions| -> Vec<String> {
                let opts = ReadOptions { split, kinds: KindSet::ALL, ..Default::default() };
                let mut r = LogReader::new(&p, opts);
                let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
                cuts.iter()
                    .map(|&c| {
                        std::fs::write(&p, &whole[..c]).unwrap();
                        view(&pool.install(|| r.poll().unwrap()))
                    })
                    .collect()
            };
            let never = SplitOptions { head: 0, min_part: u64::MAX };
            let one = polls(1, never);
            prop_assert_eq!(polls(threads, SplitOptions { head: 0, min_part }), one);
        }
    }

    /// A fake boundary right at a split point (inside a payload that holds framed records)
    /// is rejected: the part is read again from the real end of the part before it.
    #[test]
    fn a_fake_boundary_at_the_split_point_is_rejected() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("events.out.tfevents.1");
        let fake = FAKE.load(Ordering::Relaxed);
        // A first record of every length moves the split point (the middle of the rest)
        // over every byte of the records that hold fake ones.
        for pad in 0..400usize {
            let mut bytes = Vec::new();
            let first = event::summary_event(
                WallTime(0.0),
                Step(0),
                vec![event::text("pad", &"x".repeat(pad))],
            );
            encode_record(&mut bytes, &first.encode_to_vec());
            for i in 0..12 {
                let k = if i % 2 == 0 { 10 } else { 0 };
                encode_record(&mut bytes, &event_of(k, i, i as f64).encode_to_vec());
            }
            std::fs::write(&p, &bytes).unwrap();
            let one = read_on(1, &p, options(false, false, 0, u64::MAX));
            assert!(one.tags.iter().all(|t| t != "fake"));
            let many = read_on(2, &p, options(false, false, 0, 1));
            assert_eq!(view(&many), view(&one), "pad {pad}");
        }
        // Some split points fell inside a payload and found a fake boundary there.
        assert!(FAKE.load(Ordering::Relaxed) > fake);
        assert!(CHAINED.load(Ordering::Relaxed) > 0);
    }
}
