//! The streaming filter: one unit's records in (its source files, in reading order), the
//! kept records out, with what was removed counted per tag.
//!
//! Rules that need to see the future take an extra pass over the input first, each keeping
//! only per-tag numbers (memory grows with tags and restarts, never with records):
//!
//! 1. restarts (only with `apply_restarts`): per tag, the *restart points*, the values whose
//!    step is `<=` the largest step of that tag before them. A value survives TensorBoard's
//!    rule ([`crate::reader::restart_mask`]) iff no later value of its tag has a step `<=`
//!    its own, and only restart points can be such a later value; so a value at index `i`
//!    survives iff its step is below the smallest step of the restart points after `i`.
//! 2. counts (only with a media or points limit, or `every`): per tag, how many values
//!    survive the tag, step and restart rules, so that "the last N" and "first and last" are
//!    known before writing.
//! 3. emit: every rule, and the writing.
//!
//! Record bytes are copied as they are whenever nothing inside them changes; an event whose
//! summary loses some of its values, or gains the plugin metadata of a dropped first value, is
//! re-encoded field by field (every other field kept as written).

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use crate::format::plugins::{self, Kind};
use crate::format::record::{write_record, Frame, FramingError, RecordParser};
use crate::reader::decode::{self, read_varint, ValueKind, WhatView, WireError};

use super::glob::{any_match, Glob};
use super::{Damage, TagChange};

/// Bytes read from a file at a time.
const CHUNK: usize = 4 << 20;

/// The rules of one rewrite that act on records (the run rules act on units).
#[derive(Debug, Clone, Default)]
pub(super) struct Rules {
    pub keep_tags: Option<Vec<Glob>>,
    pub drop_tags: Vec<Glob>,
    pub steps: Option<(i64, i64)>,
    pub restarts: bool,
    pub max_media: Option<u64>,
    pub max_points: Option<u64>,
    pub every: Option<u64>,
}

impl Rules {
    fn tag_ok(&self, tag: &str) -> bool {
        if let Some(keep) = &self.keep_tags {
            if !any_match(keep, tag) {
                return false;
            }
        }
        !any_match(&self.drop_tags, tag)
    }
    fn needs_counts(&self) -> bool {
        self.max_media.is_some() || self.max_points.is_some() || self.every.is_some()
    }
}

/// What one pass over a unit found, and (in the last pass) wrote.
#[derive(Debug, Default)]
pub(super) struct Outcome {
    pub tags: Vec<TagChange>,
    pub damage: Vec<Damage>,
    pub records_in: u64,
    pub records_out: u64,
    pub bytes_in: u64,
    /// Records and bytes written to each output.
    pub out_records: Vec<u64>,
    pub out_bytes: Vec<u64>,
    /// Whether the output differs from the input (a record removed or changed, damage left out).
    pub changed: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pass {
    Restarts,
    Counts,
    Emit,
}

#[derive(Debug, Default)]
struct TagState {
    name: String,
    tag_ok: bool,
    plugin: Option<String>,
    /// Values of the tag seen so far in this pass.
    idx: u64,
    // Pass 1.
    max_step: Option<i64>,
    /// Restart points `(index, step)`; after pass 1 the step is the smallest of it and all
    /// later points.
    restarts: Vec<(u64, i64)>,
    cursor: usize,
    // Pass 2.
    survivors: u64,
    // Pass 3.
    surv_idx: u64,
    next_point: u64,
    pending_meta: Option<Vec<u8>>,
    meta_emitted: bool,
    stat: TagChange,
}

/// Tags by their bytes, with a guess at the next one (files cycle through a few tags).
#[derive(Debug, Default)]
struct Tags {
    keys: Vec<Box<[u8]>>,
    map: HashMap<Box<[u8]>, usize>,
    last: usize,
    states: Vec<TagState>,
}

impl Tags {
    #[inline(always)]
    fn id(&mut self, tag: &[u8], rules: &Rules) -> usize {
        let n = self.keys.len();
        if n > 0 {
            let guess = if self.last + 1 < n { self.last + 1 } else { 0 };
            if *self.keys[guess] == *tag {
                self.last = guess;
                return guess;
            }
        }
        let id = match self.map.get(tag) {
            Some(&id) => id,
            None => {
                let name = String::from_utf8_lossy(tag).into_owned();
                let id = self.keys.len();
                self.keys.push(tag.into());
                self.map.insert(tag.into(), id);
                self.states.push(TagState {
                    tag_ok: rules.tag_ok(&name),
                    stat: TagChange {
                        tag: name.clone(),
                        ..TagChange::default()
                    },
                    name,
                    ..TagState::default()
                });
                id
            }
        };
        self.last = id;
        id
    }
}

/// A pseudo-tag for the records that are not summary values.
fn pseudo(what: &WhatView<'_>) -> &'static str {
    match what {
        WhatView::FileVersion(_) => "<file_version>",
        WhatView::GraphDef(_) => "<graph>",
        WhatView::MetaGraphDef(_) => "<meta_graph>",
        WhatView::LogMessage(_) => "<log_message>",
        WhatView::SessionLog(_) => "<session_log>",
        WhatView::TaggedRunMetadata(_) => "<run_metadata>",
        WhatView::Summary(_) | WhatView::None => "<event>",
    }
}

/// The filter of one unit.
pub(super) struct Filter<'r> {
    rules: &'r Rules,
    /// Drop every record (a dropped run).
    drop_all: bool,
    /// Keep only the first `file_version` record (merged runs become one file).
    single_header: bool,
    tags: Tags,
    pass: Pass,
    header_seen: bool,
    out: Outcome,
    scratch: Vec<u8>,
}

/// One value of a summary, located in its event.
struct ValueSpan<'a> {
    /// The whole field (key, length and value bytes) inside the summary.
    field: &'a [u8],
    view: decode::ValueView<'a>,
}

/// Fields of a message as whole spans `(field number, field bytes including the key)`.
fn field_spans(buf: &[u8]) -> Result<Vec<(u32, std::ops::Range<usize>)>, WireError> {
    let mut out = Vec::new();
    let mut p = 0usize;
    while p < buf.len() {
        let start = p;
        let key = read_varint(buf, &mut p)?;
        let field = (key >> 3) as u32;
        match key & 7 {
            0 => {
                read_varint(buf, &mut p)?;
            }
            1 => {
                p = p
                    .checked_add(8)
                    .filter(|&e| e <= buf.len())
                    .ok_or(WireError)?;
            }
            2 => {
                let len = read_varint(buf, &mut p)?;
                let len = usize::try_from(len).map_err(|_| WireError)?;
                p = p
                    .checked_add(len)
                    .filter(|&e| e <= buf.len())
                    .ok_or(WireError)?;
            }
            5 => {
                p = p
                    .checked_add(4)
                    .filter(|&e| e <= buf.len())
                    .ok_or(WireError)?;
            }
            _ => return Err(WireError),
        }
        out.push((field, start..p));
    }
    Ok(out)
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes_field(out: &mut Vec<u8>, key: u8, data: &[u8]) {
    out.push(key);
    put_varint(out, data.len() as u64);
    out.extend_from_slice(data);
}

impl<'r> Filter<'r> {
    pub(super) fn new(
        rules: &'r Rules,
        drop_all: bool,
        single_header: bool,
        outputs: usize,
    ) -> Self {
        Filter {
            rules,
            drop_all,
            single_header,
            tags: Tags::default(),
            pass: Pass::Emit,
            header_seen: false,
            out: Outcome {
                // A dropped run has no outputs; its records count against a slot of none.
                out_records: vec![0; outputs.max(1)],
                out_bytes: vec![0; outputs.max(1)],
                ..Outcome::default()
            },
            scratch: Vec::new(),
        }
    }

    /// Runs every pass the rules need over `inputs`, writing the last one's kept records to
    /// `sinks[output_of[i]]` for input `i` (nothing is written without sinks: a dry run).
    pub(super) fn run(
        mut self,
        inputs: &[PathBuf],
        output_of: &[usize],
        mut sinks: Option<&mut [Box<dyn Write + '_>]>,
    ) -> io::Result<Outcome> {
        if !self.drop_all {
            if self.rules.restarts {
                self.pass = Pass::Restarts;
                for path in inputs {
                    stream_file(path, |fr| {
                        self.visit(fr);
                        Ok(())
                    })?;
                }
                for st in &mut self.tags.states {
                    let mut min = i64::MAX;
                    for r in st.restarts.iter_mut().rev() {
                        min = min.min(r.1);
                        r.1 = min;
                    }
                }
            }
            if self.rules.needs_counts() {
                self.start_pass(Pass::Counts);
                for path in inputs {
                    stream_file(path, |fr| {
                        self.visit(fr);
                        Ok(())
                    })?;
                }
            }
        }
        self.start_pass(Pass::Emit);
        if self.drop_all {
            sinks = None;
        }
        for (i, path) in inputs.iter().enumerate() {
            let o = output_of[i];
            let end = stream_file(path, |fr| {
                let sink = sinks.as_deref_mut().map(|s| &mut s[o]);
                if let Some(bytes) = self.visit(fr) {
                    self.out.records_out += 1;
                    self.out.out_records[o] += 1;
                    self.out.out_bytes[o] += bytes.len() as u64;
                    if let Some(s) = sink {
                        s.write_all(&bytes)?;
                    }
                    self.scratch = bytes;
                }
                Ok(())
            })?;
            self.out.bytes_in += end.size;
            if let Some(offset) = end.bad_length {
                self.damage(path, offset, format!(
                    "corrupt record length (its CRC does not match): the remaining {} bytes cannot be framed and are left out",
                    end.size - offset
                ));
            }
            if end.pending > 0 {
                self.damage(
                    path,
                    end.size - end.pending,
                    format!(
                        "incomplete record at the end of the file ({} bytes), left out",
                        end.pending
                    ),
                );
            }
        }
        let mut out = self.out;
        out.tags = self
            .tags
            .states
            .into_iter()
            .map(|s| s.stat)
            .filter(|s| s.records_removed + s.records_kept > 0 || s.metadata_moved)
            .collect();
        out.changed |= out
            .tags
            .iter()
            .any(|t| t.records_removed > 0 || t.metadata_moved);
        Ok(out)
    }

    fn damage(&mut self, path: &Path, offset: u64, what: String) {
        self.out.changed = true;
        self.out.damage.push(Damage {
            path: path.to_path_buf(),
            offset,
            what,
        });
    }

    fn start_pass(&mut self, pass: Pass) {
        self.pass = pass;
        self.header_seen = false;
        for st in &mut self.tags.states {
            st.idx = 0;
            st.cursor = 0;
        }
    }

    /// One frame: in the emit pass, the bytes to write (a framed record) when it is kept.
    fn visit(&mut self, fr: FrameRef<'_>) -> Option<Vec<u8>> {
        let (offset, payload) = match fr {
            FrameRef::Record {
                offset, payload, ..
            } => (offset, payload),
            FrameRef::BadDataCrc { path, offset, len } => {
                if self.pass == Pass::Emit {
                    self.out.records_in += 1;
                    self.damage(
                        path,
                        offset,
                        format!("record of {len} bytes whose payload CRC does not match, left out"),
                    );
                }
                return None;
            }
        };
        let path = fr.path();
        let emit = self.pass == Pass::Emit;
        if emit {
            self.out.records_in += 1;
        }
        let framed = (payload.len() + 16) as u64;
        // The hot path: a plain scalar event.
        if let Some(ps) = decode::PlainScalar::of(payload) {
            let id = self.tags.id(ps.tag(), self.rules);
            let step = ps.fields().1;
            let keep = self.decide(id, step, Kind::Scalar, false);
            if !emit {
                return None;
            }
            let st = &mut self.tags.states[id].stat;
            return if keep {
                st.records_kept += 1;
                Some(self.frame(payload))
            } else {
                st.records_removed += 1;
                st.bytes_removed += framed;
                None
            };
        }
        let Ok(ev) = decode::scan_event(payload) else {
            if emit {
                self.damage(
                    path,
                    offset,
                    "record whose CRC matches but which is not a valid Event, left out".into(),
                );
            }
            return None;
        };
        match ev.what {
            WhatView::Summary(summary) if !summary.is_empty() => self
                .summary(payload, summary, ev.step, framed)
                .unwrap_or_else(|_| {
                    if emit {
                        self.damage(
                            path,
                            offset,
                            "event whose summary is not valid protobuf, left out".into(),
                        );
                    }
                    None
                }),
            what => {
                if !emit {
                    return None;
                }
                let mut keep = !self.drop_all;
                let mut name = pseudo(&what);
                if let WhatView::FileVersion(_) = what {
                    if self.single_header && self.header_seen {
                        keep = false;
                    }
                    self.header_seen = true;
                }
                let tag_name;
                if let WhatView::TaggedRunMetadata(m) = what {
                    let tag = decode::Fields::new(m)
                        .filter_map(Result::ok)
                        .find(|(f, _)| *f == 1)
                        .map(|(_, w)| w.bytes())
                        .unwrap_or_default();
                    let id = self.tags.id(tag, self.rules);
                    keep &= self.tags.states[id].tag_ok;
                    tag_name = self.tags.states[id].name.clone();
                    name = &tag_name;
                }
                self.count_other(name, keep, framed);
                keep.then(|| self.frame(payload))
            }
        }
    }

    fn count_other(&mut self, name: &str, keep: bool, framed: u64) {
        let id = self.tags.id(name.as_bytes(), self.rules);
        let st = &mut self.tags.states[id].stat;
        if keep {
            st.records_kept += 1;
        } else {
            st.records_removed += 1;
            st.bytes_removed += framed;
        }
    }

    fn frame(&mut self, payload: &[u8]) -> Vec<u8> {
        let mut buf = std::mem::take(&mut self.scratch);
        buf.clear();
        write_record(&mut buf, payload).expect("writing to a Vec");
        buf
    }

    /// The kind of a value of tag `id`, learning the tag's plugin from its first metadata.
    fn kind_of(
        &mut self,
        id: usize,
        value: &ValueKind<'_>,
        metadata: Option<&[u8]>,
    ) -> (Kind, bool) {
        let st = &mut self.tags.states[id];
        if st.plugin.is_none() {
            if let Some(m) = metadata {
                if let Ok((name, _)) = decode::plugin_of(m) {
                    st.plugin = Some(String::from_utf8_lossy(name).into_owned());
                }
            }
        }
        let plugin = st.plugin.as_deref().unwrap_or("");
        let exempt = plugin == plugins::HPARAMS || plugins::is_graph(plugin);
        let kind = match value {
            ValueKind::Simple(_) => Kind::Scalar,
            ValueKind::Image(_) => Kind::Image,
            ValueKind::Audio(_) => Kind::Audio,
            ValueKind::Histogram(_) | ValueKind::ObsoleteHistogram(_) => Kind::Histogram,
            ValueKind::Tensor(_) | ValueKind::None => plugins::tensor_kind(plugin),
        };
        (kind, exempt)
    }

    /// The rules for one value of tag `id` at `step`: whether it is kept (in the emit pass;
    /// the earlier passes only gather what they need).
    #[inline]
    fn decide(&mut self, id: usize, step: i64, kind: Kind, exempt: bool) -> bool {
        let rules = self.rules;
        let pass = self.pass;
        let drop_all = self.drop_all;
        let st = &mut self.tags.states[id];
        let idx = st.idx;
        st.idx += 1;
        if drop_all || !st.tag_ok {
            return false;
        }
        if exempt {
            return true;
        }
        if pass == Pass::Restarts {
            if let Some(max) = st.max_step {
                if step <= max {
                    st.restarts.push((idx, step));
                }
            }
            st.max_step = Some(st.max_step.map_or(step, |m| m.max(step)));
            return false;
        }
        if let Some((lo, hi)) = rules.steps {
            if step < lo || step >= hi {
                return false;
            }
        }
        if rules.restarts {
            while st.cursor < st.restarts.len() && st.restarts[st.cursor].0 <= idx {
                st.cursor += 1;
            }
            if st.cursor < st.restarts.len() && step >= st.restarts[st.cursor].1 {
                return false;
            }
        }
        let limited = match kind {
            Kind::Scalar => rules.max_points.is_some() || rules.every.is_some(),
            Kind::Image | Kind::Audio => rules.max_media.is_some(),
            _ => false,
        };
        if !limited {
            return true;
        }
        if pass == Pass::Counts {
            st.survivors += 1;
            return false;
        }
        let j = st.surv_idx;
        st.surv_idx += 1;
        let count = st.survivors;
        if let (Kind::Image | Kind::Audio, Some(n)) = (kind, rules.max_media) {
            return j + n >= count;
        }
        // Scalars: every k-th (and the last), then at most N evenly spaced (first and last).
        let (pos, total) = match rules.every {
            Some(k) => {
                let last = count - 1;
                if !j.is_multiple_of(k) && j != last {
                    return false;
                }
                let regular = last / k + 1;
                let total = regular + u64::from(!last.is_multiple_of(k));
                let pos = if j.is_multiple_of(k) { j / k } else { regular };
                (pos, total)
            }
            None => (j, count),
        };
        match rules.max_points {
            Some(n) if total > n => {
                // Keep positions round_down(m * (total - 1) / (n - 1)) for m in 0..n.
                let target = |m: u64| -> u64 {
                    (u128::from(m) * u128::from(total - 1) / u128::from(n - 1)) as u64
                };
                while st.next_point < n && target(st.next_point) < pos {
                    st.next_point += 1;
                }
                if st.next_point < n && target(st.next_point) == pos {
                    st.next_point += 1;
                    true
                } else {
                    false
                }
            }
            _ => true,
        }
    }

    /// A summary event: each value by the rules; the bytes to write when anything is kept.
    fn summary(
        &mut self,
        payload: &[u8],
        summary: &[u8],
        step: i64,
        framed: u64,
    ) -> Result<Option<Vec<u8>>, WireError> {
        let emit = self.pass == Pass::Emit;
        let mut values: Vec<ValueSpan<'_>> = Vec::new();
        let mut other_fields = false;
        for (field, span) in field_spans(summary)? {
            let bytes = &summary[span];
            if field == 1 {
                let mut p = 1usize;
                let len = read_varint(bytes, &mut p)? as usize;
                let view = decode::scan_value(&bytes[p..p + len])?;
                values.push(ValueSpan { field: bytes, view });
            } else {
                other_fields = true;
            }
        }
        let mut keep = Vec::with_capacity(values.len());
        let mut inject: Vec<Option<Vec<u8>>> = Vec::with_capacity(values.len());
        let mut ids = Vec::with_capacity(values.len());
        for v in &values {
            let tag = if v.view.tag.is_empty() {
                v.view.node_name
            } else {
                v.view.tag
            };
            let id = self.tags.id(tag, self.rules);
            let (kind, exempt) = self.kind_of(id, &v.view.value, v.view.metadata);
            let k = self.decide(id, step, kind, exempt);
            ids.push(id);
            keep.push(k);
            let mut inj = None;
            if emit {
                let st = &mut self.tags.states[id];
                if k {
                    if v.view.metadata.is_some() {
                        st.meta_emitted = true;
                        st.pending_meta = None;
                    } else if !st.meta_emitted {
                        if let Some(m) = st.pending_meta.take() {
                            st.meta_emitted = true;
                            st.stat.metadata_moved = true;
                            inj = Some(m);
                        }
                    }
                } else if let Some(m) = v.view.metadata {
                    if !st.meta_emitted && st.pending_meta.is_none() {
                        st.pending_meta = Some(m.to_vec());
                    }
                }
            }
            inject.push(inj);
        }
        if !emit {
            return Ok(None);
        }
        let kept = keep.iter().filter(|&&k| k).count();
        let injected = inject.iter().any(Option::is_some);
        // Statistics: a dropped value's field bytes go to its tag; the event's own bytes to
        // the first dropped tag when the whole event goes.
        let mut first_dropped = None;
        let mut value_bytes = 0u64;
        for (i, v) in values.iter().enumerate() {
            let st = &mut self.tags.states[ids[i]].stat;
            if keep[i] {
                st.records_kept += 1;
            } else {
                st.records_removed += 1;
                st.bytes_removed += v.field.len() as u64;
                value_bytes += v.field.len() as u64;
                first_dropped.get_or_insert(ids[i]);
            }
        }
        if kept == 0 && !other_fields {
            if let Some(id) = first_dropped {
                self.tags.states[id].stat.bytes_removed += framed - value_bytes;
            }
            return Ok(None);
        }
        if kept == values.len() && !injected {
            return Ok(Some(self.frame(payload)));
        }
        // Re-encode: the summary with the kept values (and moved metadata), then the event.
        let mut new_summary = Vec::with_capacity(summary.len());
        let mut vi = 0usize;
        for (field, span) in field_spans(summary)? {
            let bytes = &summary[span];
            if field != 1 {
                new_summary.extend_from_slice(bytes);
                continue;
            }
            let i = vi;
            vi += 1;
            if !keep[i] {
                continue;
            }
            match &inject[i] {
                None => new_summary.extend_from_slice(bytes),
                Some(meta) => {
                    let mut p = 1usize;
                    let len = read_varint(bytes, &mut p)? as usize;
                    let mut value = bytes[p..p + len].to_vec();
                    put_bytes_field(&mut value, 0x4a, meta);
                    put_bytes_field(&mut new_summary, 0x0a, &value);
                }
            }
        }
        let mut event = Vec::with_capacity(payload.len());
        for (field, span) in field_spans(payload)? {
            if field == 5 {
                put_bytes_field(&mut event, 0x2a, &new_summary);
            } else {
                event.extend_from_slice(&payload[span]);
            }
        }
        self.out.changed = true;
        Ok(Some(self.frame(&event)))
    }
}

/// A frame of one file, for the filter.
#[derive(Clone, Copy)]
pub(super) enum FrameRef<'a> {
    Record {
        path: &'a Path,
        offset: u64,
        payload: &'a [u8],
    },
    /// A record whose data CRC does not match.
    BadDataCrc {
        path: &'a Path,
        offset: u64,
        len: u64,
    },
}

impl FrameRef<'_> {
    fn path(&self) -> &Path {
        match self {
            FrameRef::Record { path, .. } | FrameRef::BadDataCrc { path, .. } => path,
        }
    }
}

/// How a file ended.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct FileEnd {
    pub size: u64,
    /// Where a corrupt length stopped the framing.
    pub bad_length: Option<u64>,
    /// Bytes of an incomplete record at the end.
    pub pending: u64,
}

/// Streams the frames of `path` through one reusable buffer (CRCs checked).
pub(super) fn stream_file(
    path: &Path,
    mut f: impl FnMut(FrameRef<'_>) -> io::Result<()>,
) -> io::Result<FileEnd> {
    let mut file = File::open(path).map_err(|e| named(e, path))?;
    let mut parser = RecordParser::new();
    let mut end = FileEnd::default();
    loop {
        loop {
            match parser.next_frame() {
                Ok(Frame::Incomplete { .. }) => break,
                Ok(Frame::Record { offset, payload }) => f(FrameRef::Record {
                    path,
                    offset,
                    payload,
                })?,
                Ok(Frame::BadDataCrc { offset, len }) => {
                    f(FrameRef::BadDataCrc { path, offset, len })?;
                }
                Err(FramingError::BadLengthCrc { offset }) => {
                    end.bad_length = Some(offset);
                    let rest = parser.pending() as u64;
                    let mut tail = 0u64;
                    loop {
                        let spare = parser.spare(CHUNK);
                        let n = file.read(spare).map_err(|e| named(e, path))?;
                        parser.commit(CHUNK, 0);
                        if n == 0 {
                            break;
                        }
                        tail += n as u64;
                    }
                    end.size = offset + rest + tail;
                    return Ok(end);
                }
            }
        }
        let spare = parser.spare(CHUNK);
        let n = file.read(spare).map_err(|e| named(e, path))?;
        parser.commit(CHUNK, n);
        if n == 0 {
            end.pending = parser.pending() as u64;
            end.size = parser.offset() + end.pending;
            return Ok(end);
        }
    }
}

/// An I/O error that names its file.
pub(super) fn named(e: io::Error, path: &Path) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Reads `path` back: its record count and size, or why it is not what was written.
pub(super) fn verify(path: &Path, records: u64, bytes: u64) -> io::Result<()> {
    let mut n = 0u64;
    let mut bad = None;
    let end = stream_file(path, |fr| {
        match fr {
            FrameRef::Record { .. } => n += 1,
            FrameRef::BadDataCrc { offset, .. } => {
                bad.get_or_insert(offset);
            }
        }
        Ok(())
    })?;
    let fail = |why: String| {
        Err(io::Error::other(format!(
            "{}: the rewritten file does not read back as written: {why}",
            path.display()
        )))
    };
    if let Some(off) = bad.or(end.bad_length) {
        return fail(format!("corrupt record at byte offset {off}"));
    }
    if end.pending != 0 || end.size != bytes || n != records {
        return fail(format!(
            "{n} records in {} bytes, {records} records in {bytes} bytes written",
            end.size
        ));
    }
    Ok(())
}
