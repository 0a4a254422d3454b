//! Per-event iteration over one event file: [`EventReader`] yields each [`Event`] in file
//! order, its values read as the bulk reader reads them.
//!
//! It is the bulk reader one event at a time: the same framer (`frames`, resynchronising after
//! a bad length CRC), the same decoder (`decode`, `tensor`) and the same rule from a value to
//! its kind (`classify::read_value`, by the plugin of the tag's first metadata in the file),
//! so a value here holds what a record of [`super::LogReader`] holds. The same fault policy
//! too, reported in [`EventReader::report`] (a [`FileReport`]):
//!
//! * an incomplete tail ends the iteration (`pending` bytes from `end_offset`);
//! * a record whose data CRC fails is skipped and its offset listed (`corrupt`);
//! * a record whose CRCs hold but which is not an `Event` is skipped and listed (`malformed`);
//! * after a bad length CRC the reader resynchronises on the next record whose length and data
//!   CRCs both hold, and lists the bytes passed over (`skipped`; `bad_length_at` is the first);
//! * with `strict`, each of the last three is [`ReaderError::Corrupt`] instead, naming the file,
//!   the offset and the [`CorruptKind`], and the iteration ends.

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use super::classify::{read_value, ValueRead};
use super::decode::{self, scan_event, Fields, ValueKind, WhatView, WireError};
use super::frames::{Framer, Record, Stop};
use super::{CorruptKind, FileReport, Kind, KindSet, Payload, ReaderError, ScalarEncoding};
use crate::format::plugins;
use crate::proto::session_log::SessionStatus;
use crate::storage::{self, Source};

/// How to read the events of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventOptions {
    /// Check every record's data CRC (lengths' CRCs are always checked).
    pub check_crc: bool,
    /// Raise on damage instead of skipping it (see the module documentation).
    pub strict: bool,
}

impl Default for EventOptions {
    fn default() -> Self {
        EventOptions {
            check_crc: true,
            strict: false,
        }
    }
}

/// One event of a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// Byte offset of its record in the file.
    pub offset: u64,
    /// Seconds since the epoch.
    pub wall_time: f64,
    /// The step.
    pub step: i64,
    /// What it holds.
    pub what: What,
    /// `source_metadata.writer`, when the event names its writer.
    pub source_writer: Option<String>,
}

/// What an event holds (its `what` field).
#[derive(Debug, Clone, PartialEq)]
pub enum What {
    /// Nothing.
    Empty,
    /// The file's version (`brain.Event:2`).
    FileVersion(String),
    /// A serialized `GraphDef`.
    GraphDef(Vec<u8>),
    /// A serialized `MetaGraphDef`.
    MetaGraphDef(Vec<u8>),
    /// A summary's values.
    Summary(Vec<Value>),
    /// A log message.
    LogMessage {
        /// Its level (`LogMessage.Level`).
        level: i32,
        /// The message.
        message: String,
    },
    /// A session log entry.
    SessionLog {
        /// The status name (`START`, `STOP`, `CHECKPOINT`, `STATUS_UNSPECIFIED`).
        status: &'static str,
        /// The message.
        msg: String,
    },
    /// Run metadata of a step.
    TaggedRunMetadata {
        /// Its tag.
        tag: String,
        /// The serialized `RunMetadata`.
        run_metadata: Vec<u8>,
    },
}

impl What {
    /// The name of the `Event.what` field set (`"empty"` when none).
    pub fn name(&self) -> &'static str {
        match self {
            What::Empty => "empty",
            What::FileVersion(_) => "file_version",
            What::GraphDef(_) => "graph_def",
            What::MetaGraphDef(_) => "meta_graph_def",
            What::Summary(_) => "summary",
            What::LogMessage { .. } => "log_message",
            What::SessionLog { .. } => "session_log",
            What::TaggedRunMetadata { .. } => "tagged_run_metadata",
        }
    }
}

/// One value of a summary, as the bulk reader reads it.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    /// The tag (the node name of an old tensor summary without one, as the bulk reader).
    pub tag: String,
    /// The plugin named by the tag's first metadata in this file (empty: none).
    pub plugin: String,
    /// The data.
    pub data: ValueData,
}

/// The data of a value.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueData {
    /// A scalar, widened to f64, and how it was written.
    Scalar(f64, ScalarEncoding),
    /// A value of another kind: its kind and data ([`Payload::None`] for hparams, whose data
    /// is the plugin content).
    Item(Kind, Payload),
    /// No value the reader reads (an obsolete histogram, or none).
    Nothing,
}

/// Why the framing loop stopped at a record.
enum Halt {
    Io(io::Error),
    Event(Event),
    Strict(u64, CorruptKind),
}

impl From<io::Error> for Halt {
    fn from(e: io::Error) -> Self {
        Halt::Io(e)
    }
}

/// The events of one file, one at a time; see the module documentation.
pub struct EventReader {
    framer: Framer<Vec<u8>>,
    opts: EventOptions,
    /// Per tag: the plugin of its first metadata.
    plugins: HashMap<Vec<u8>, String>,
    report: FileReport,
    done: bool,
}

impl EventReader {
    /// Opens `path` (a local file, or an object in remote storage, which is fetched whole
    /// here so that iterating never waits on the network).
    pub fn open(path: &Path, opts: EventOptions) -> Result<Self, ReaderError> {
        let io_err = |source| ReaderError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file: Box<dyn Source> = if storage::is_remote(path) {
            Box::new(io::Cursor::new(storage::read_all(path).map_err(io_err)?))
        } else {
            storage::open(path, 0, None).map_err(io_err)?
        };
        let mut framer = Framer::new(file, 0, opts.check_crc, Vec::new());
        if opts.strict {
            framer.stop_at_bad_length();
        }
        Ok(EventReader {
            framer,
            opts,
            plugins: HashMap::new(),
            report: FileReport {
                path: path.to_path_buf(),
                ..Default::default()
            },
            done: false,
        })
    }

    /// What the iteration met so far: records, damage skipped, and (once it ended) where
    /// and with how many bytes pending.
    pub fn report(&self) -> &FileReport {
        &self.report
    }

    /// The file.
    pub fn path(&self) -> &PathBuf {
        &self.report.path
    }

    /// The next event, `None` at the end of the file (or of the bytes there now).
    pub fn next_event(&mut self) -> Result<Option<Event>, ReaderError> {
        if self.done {
            return Ok(None);
        }
        let strict = self.opts.strict;
        let report = &mut self.report;
        let plugins = &mut self.plugins;
        let stop = self.framer.each(|rec: Record<'_>| -> Result<(), Halt> {
            report.records += 1;
            if !rec.data_crc_ok() {
                if strict {
                    return Err(Halt::Strict(rec.offset, CorruptKind::BadDataCrc));
                }
                report.corrupt.push(rec.offset);
                return Ok(());
            }
            match read_event(rec.offset, rec.payload, plugins) {
                Ok(ev) => Err(Halt::Event(ev)),
                Err(WireError) if strict => {
                    Err(Halt::Strict(rec.offset, CorruptKind::MalformedEvent))
                }
                Err(WireError) => {
                    report.malformed.push(rec.offset);
                    Ok(())
                }
            }
        });
        self.report.skipped.extend(self.framer.take_skipped());
        self.report.bad_length_at = self.report.skipped.first().map(|&(at, _)| at);
        let corrupt = |offset, kind| ReaderError::Corrupt {
            path: self.report.path.clone(),
            offset,
            kind,
        };
        let err = match stop {
            Err(Halt::Event(ev)) => return Ok(Some(ev)),
            Ok(Stop::Incomplete {
                offset, pending, ..
            }) => {
                self.report.end_offset = offset;
                self.report.pending = pending;
                self.done = true;
                return Ok(None);
            }
            Ok(Stop::Limit { offset }) => {
                // No limit is set; were one, the file would end there.
                self.report.end_offset = offset;
                self.done = true;
                return Ok(None);
            }
            Ok(Stop::BadLengthCrc { offset }) => corrupt(offset, CorruptKind::BadLengthCrc),
            Err(Halt::Strict(offset, kind)) => corrupt(offset, kind),
            Err(Halt::Io(source)) => ReaderError::Io {
                path: self.report.path.clone(),
                source,
            },
        };
        self.done = true;
        Err(err)
    }
}

impl Iterator for EventReader {
    type Item = Result<Event, ReaderError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_event().transpose()
    }
}

/// Reads one verified record's `Event`, noting each tag's first plugin in `plugins`.
fn read_event(
    offset: u64,
    payload: &[u8],
    plugins: &mut HashMap<Vec<u8>, String>,
) -> Result<Event, WireError> {
    let ev = scan_event(payload)?;
    let what = match ev.what {
        WhatView::None => What::Empty,
        WhatView::FileVersion(v) => What::FileVersion(text(v)),
        WhatView::GraphDef(g) => What::GraphDef(g.to_vec()),
        WhatView::MetaGraphDef(g) => What::MetaGraphDef(g.to_vec()),
        WhatView::Summary(s) => What::Summary(read_values(s, plugins)?),
        WhatView::LogMessage(b) => {
            let (mut level, mut message) = (0, String::new());
            for f in Fields::new(b) {
                match f? {
                    (1, w) => level = w.varint() as i32,
                    (2, w) => message = text(w.bytes()),
                    _ => {}
                }
            }
            What::LogMessage { level, message }
        }
        WhatView::SessionLog(b) => {
            let (mut status, mut msg) = (0, String::new());
            for f in Fields::new(b) {
                match f? {
                    (1, w) => status = w.varint() as i32,
                    (3, w) => msg = text(w.bytes()),
                    _ => {}
                }
            }
            let status =
                SessionStatus::try_from(status).unwrap_or(SessionStatus::StatusUnspecified);
            What::SessionLog {
                status: status.as_str_name(),
                msg,
            }
        }
        WhatView::TaggedRunMetadata(b) => {
            let (mut tag, mut run_metadata) = (String::new(), Vec::new());
            for f in Fields::new(b) {
                match f? {
                    (1, w) => tag = text(w.bytes()),
                    (2, w) => run_metadata = w.bytes().to_vec(),
                    _ => {}
                }
            }
            What::TaggedRunMetadata { tag, run_metadata }
        }
    };
    let mut source_writer = None;
    if let Some(sm) = ev.source_metadata {
        for f in Fields::new(sm) {
            if let (1, w) = f? {
                source_writer = Some(text(w.bytes()));
            }
        }
    }
    Ok(Event {
        offset,
        wall_time: ev.wall_time,
        step: ev.step,
        what,
        source_writer,
    })
}

/// The values of a serialized `Summary`, each read as the bulk reader reads it.
fn read_values(
    summary: &[u8],
    plugins: &mut HashMap<Vec<u8>, String>,
) -> Result<Vec<Value>, WireError> {
    let mut out = Vec::new();
    for v in decode::summary_values(summary) {
        let v = v?;
        let tag = if v.tag.is_empty() && matches!(v.value, ValueKind::Tensor(_)) {
            v.node_name
        } else {
            v.tag
        };
        if !plugins.contains_key(tag) {
            if let Some(md) = v.metadata {
                let (name, _) = decode::plugin_of(md)?;
                plugins.insert(tag.to_vec(), text(name));
            }
        }
        let plugin = plugins.get(tag).cloned().unwrap_or_default();
        let data = if plugin == plugins::HPARAMS {
            ValueData::Item(Kind::HParams, Payload::None)
        } else {
            match read_value(v.value, &plugin, KindSet::ALL)? {
                ValueRead::Scalar(x, enc) => ValueData::Scalar(x, enc),
                ValueRead::Item(kind, payload) => ValueData::Item(kind, payload),
                ValueRead::Nothing => ValueData::Nothing,
            }
        };
        out.push(Value {
            tag: text(tag),
            plugin,
            data,
        });
    }
    Ok(out)
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::record::encode_record;
    use crate::proto::{self, summary, Summary};
    use prost::Message;

    fn event(step: i64, what: proto::event::What) -> Vec<u8> {
        proto::Event {
            wall_time: 1.5,
            step,
            what: Some(what),
            ..Default::default()
        }
        .encode_to_vec()
    }

    fn scalar(step: i64, tag: &str, x: f32) -> Vec<u8> {
        event(
            step,
            proto::event::What::Summary(Summary {
                value: vec![summary::Value {
                    tag: tag.into(),
                    value: Some(summary::value::Value::SimpleValue(x)),
                    ..Default::default()
                }],
            }),
        )
    }

    fn file(payloads: &[Vec<u8>]) -> (tempfile::TempDir, PathBuf, Vec<u64>) {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.tfevents");
        let mut bytes = Vec::new();
        let mut offsets = Vec::new();
        for pl in payloads {
            offsets.push(bytes.len() as u64);
            encode_record(&mut bytes, pl);
        }
        offsets.push(bytes.len() as u64);
        std::fs::write(&p, &bytes).unwrap();
        (d, p, offsets)
    }

    fn steps(r: &mut EventReader) -> Vec<i64> {
        r.map(|e| e.unwrap().step).collect()
    }

    #[test]
    fn events_in_order_with_kinds() {
        let payloads = vec![
            event(0, proto::event::What::FileVersion("brain.Event:2".into())),
            scalar(1, "loss", 0.5),
            scalar(2, "loss", 0.25),
        ];
        let (_d, p, offsets) = file(&payloads);
        let mut r = EventReader::open(&p, EventOptions::default()).unwrap();
        let evs: Vec<Event> = r.by_ref().map(Result::unwrap).collect();
        assert_eq!(evs[0].what, What::FileVersion("brain.Event:2".into()));
        assert_eq!(evs[2].offset, offsets[2]);
        let What::Summary(vals) = &evs[1].what else {
            panic!("a summary")
        };
        assert_eq!(vals[0].tag, "loss");
        assert_eq!(vals[0].data, ValueData::Scalar(0.5, ScalarEncoding::Simple));
        assert_eq!(r.report().records, 3);
        assert_eq!((r.report().end_offset, r.report().pending), (offsets[3], 0));
    }

    /// The bulk reader's fault policy: a bad data CRC and a malformed event are skipped and
    /// listed, a bad length CRC is passed over and the events after it read; strict raises.
    #[test]
    fn damage_is_skipped_reported_and_strict_raises() {
        let mut payloads: Vec<Vec<u8>> = (0..6).map(|i| scalar(i, "x", i as f32)).collect();
        payloads[4] = vec![0x0a, 0xff]; // CRCs hold, not an Event
        let (_d, p, offsets) = file(&payloads);
        let mut bytes = std::fs::read(&p).unwrap();
        bytes[offsets[1] as usize + 13] ^= 0x40; // data CRC of record 1
        bytes[offsets[2] as usize + 3] ^= 0x01; // length of record 2
        std::fs::write(&p, &bytes).unwrap();
        let mut r = EventReader::open(&p, EventOptions::default()).unwrap();
        assert_eq!(steps(&mut r), vec![0, 3, 5]);
        let rep = r.report();
        assert_eq!(rep.corrupt, vec![offsets[1]]);
        assert_eq!(rep.malformed, vec![offsets[4]]);
        assert_eq!(rep.skipped, vec![(offsets[2], offsets[3] - offsets[2])]);
        assert_eq!(rep.bad_length_at, Some(offsets[2]));
        let strict = EventOptions {
            strict: true,
            ..Default::default()
        };
        let mut r = EventReader::open(&p, strict).unwrap();
        assert_eq!(r.next_event().unwrap().unwrap().step, 0);
        match r.next_event() {
            Err(ReaderError::Corrupt { offset, kind, .. }) => {
                assert_eq!((offset, kind), (offsets[1], CorruptKind::BadDataCrc));
            }
            other => panic!("expected a strict error, got {other:?}"),
        }
        assert!(r.next_event().unwrap().is_none());
        // A bad length alone, strict: raised with its offset.
        let mut b = std::fs::read(&p).unwrap();
        b[offsets[1] as usize + 13] ^= 0x40;
        std::fs::write(&p, &b).unwrap();
        let mut r = EventReader::open(&p, strict).unwrap();
        assert_eq!(r.next_event().unwrap().unwrap().step, 0);
        assert_eq!(r.next_event().unwrap().unwrap().step, 1);
        assert!(matches!(
            r.next_event(),
            Err(ReaderError::Corrupt { offset, kind: CorruptKind::BadLengthCrc, .. }) if offset == offsets[2]
        ));
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config::with_cases(48))]
        /// On any damage (flipped bytes anywhere, a cut tail), the events and the report are
        /// the bulk reader's on the same file.
        #[test]
        fn the_bulk_readers_records_and_report_under_any_damage(
            n in 1usize..30,
            flips in proptest::collection::vec((0.0f64..1.0, 1u8..=255), 0..4),
            cut in 0.9f64..=1.0,
        ) {
            let payloads: Vec<Vec<u8>> =
                (0..n).map(|i| scalar(i as i64, "x", i as f32)).collect();
            let (_d, p, _) = file(&payloads);
            let mut bytes = std::fs::read(&p).unwrap();
            for (at, x) in flips {
                let last = bytes.len() - 1;
                let i = ((bytes.len() as f64) * at) as usize;
                bytes[i.min(last)] ^= x;
            }
            bytes.truncate(((bytes.len() as f64) * cut) as usize);
            std::fs::write(&p, &bytes).unwrap();
            let mut r = EventReader::open(&p, EventOptions::default()).unwrap();
            let mine: Vec<i64> = r
                .by_ref()
                .map(Result::unwrap)
                .filter(|e| matches!(e.what, What::Summary(_)))
                .map(|e| e.step)
                .collect();
            let bulk = super::super::read(&p, super::super::ReadOptions::default()).unwrap();
            proptest::prop_assert_eq!(&mine, &bulk.scalars.step);
            let (a, b) = (r.report(), &bulk.files[0]);
            proptest::prop_assert_eq!(
                (&a.corrupt, &a.malformed, &a.skipped, a.bad_length_at),
                (&b.corrupt, &b.malformed, &b.skipped, b.bad_length_at)
            );
            proptest::prop_assert_eq!((a.end_offset, a.pending), (b.end_offset, b.pending));
        }
    }

    #[test]
    fn incomplete_tail_ends_the_iteration() {
        let payloads: Vec<Vec<u8>> = (0..3).map(|i| scalar(i, "x", 1.0)).collect();
        let (_d, p, offsets) = file(&payloads);
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 3]).unwrap();
        let mut r = EventReader::open(&p, EventOptions::default()).unwrap();
        assert_eq!(steps(&mut r), vec![0, 1]);
        assert_eq!(r.report().end_offset, offsets[2]);
        assert_eq!(r.report().pending, offsets[3] - offsets[2] - 3);
    }
}
