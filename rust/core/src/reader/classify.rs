//! The general path: a record's values sorted into kinds by their tag's plugin
//! ([`plugins::tensor_kind`]), hparams and graphs noted, and the values decoded.

use super::decode::{self, plugin_of, scan_event, tensor_scalar, ValueKind, WhatView};
use super::{
    tensor, Item, Kind, KindSet, Payload, ReadOptions, RunOutput, RunState, ScalarColumns,
    ScalarEncoding,
};
use crate::format::plugins;

impl RunState {
    /// Reads one verified record into the run's outputs (`plain` as for
    /// `FileScan::general` in `scan`).
    #[inline]
    pub(super) fn process(
        &mut self,
        payload: &[u8],
        plain: Option<(decode::PlainScalar<'_>, Option<u32>)>,
        file: u32,
        opts: &ReadOptions,
        out: &mut RunOutput,
        cols: &mut ScalarColumns,
    ) -> Result<(), decode::WireError> {
        if let Some((p, known)) = plain {
            let (wall_time, step, tag, x) = p.fields();
            let id = known.unwrap_or_else(|| self.tags.insert(tag, opts));
            let slot = &self.tags.slots[id as usize];
            if slot.plugin != plugins::HPARAMS {
                if slot.wanted && opts.kinds.has(Kind::Scalar) {
                    cols.push(
                        id,
                        step,
                        wall_time,
                        f64::from(x),
                        ScalarEncoding::Simple as u8,
                    );
                    bump(&mut out.counts, id, Kind::Scalar);
                }
                return Ok(());
            }
        }
        let ev = scan_event(payload)?;
        match ev.what {
            WhatView::Summary(s) => {
                for f in decode::Fields::new(s) {
                    let (field, w) = f?;
                    let (1, decode::Wire::Bytes(vb)) = (field, w) else {
                        continue;
                    };
                    let v = decode::scan_value(vb)?;
                    let tag = if v.tag.is_empty() && matches!(v.value, ValueKind::Tensor(_)) {
                        v.node_name
                    } else {
                        v.tag
                    };
                    let known = self.tags.slots.len();
                    let id = self.tags.intern(tag, opts);
                    let slot = &mut self.tags.slots[id as usize];
                    if let Some(md) = v.metadata {
                        if !slot.has_metadata {
                            slot.has_metadata = true;
                            slot.meta_on_first = id as usize >= known;
                            let (name, content) = plugin_of(md)?;
                            slot.plugin = String::from_utf8_lossy(name).into_owned();
                            slot.content = content.to_vec();
                            if plugins::is_graph(&slot.plugin) {
                                self.has_graph = true;
                            }
                        }
                    }
                    if slot.plugin == plugins::HPARAMS {
                        // torch and TensorFlow put the hparams data in the metadata, with an
                        // empty value or a dummy tensor: the kind follows the plugin.
                        let content = match v.metadata {
                            Some(md) => plugin_of(md)?.1.to_vec(),
                            None => slot.content.clone(),
                        };
                        let wanted = slot.wanted;
                        self.note_hparams(&content);
                        if wanted && opts.kinds.has(Kind::HParams) {
                            bump(&mut out.counts, id, Kind::HParams);
                            out.items.push(Item {
                                kind: Kind::HParams,
                                run: self.global,
                                file,
                                tag: id,
                                step: ev.step,
                                wall_time: ev.wall_time,
                                payload: Payload::None,
                            });
                        }
                        continue;
                    }
                    if !slot.wanted {
                        continue;
                    }
                    match read_value(v.value, &slot.plugin, opts.kinds)? {
                        ValueRead::Scalar(x, enc) => {
                            cols.push(id, ev.step, ev.wall_time, x, enc as u8);
                            bump(&mut out.counts, id, Kind::Scalar);
                        }
                        ValueRead::Item(kind, payload) => {
                            bump(&mut out.counts, id, kind);
                            out.items.push(Item {
                                kind,
                                run: self.global,
                                file,
                                tag: id,
                                step: ev.step,
                                wall_time: ev.wall_time,
                                payload,
                            });
                        }
                        ValueRead::Nothing => {}
                    }
                }
            }
            WhatView::GraphDef(g) => {
                self.has_graph = true;
                self.graph_def = Some(g.into());
            }
            WhatView::MetaGraphDef(_) => self.has_graph = true,
            WhatView::TaggedRunMetadata(b) => {
                for f in decode::Fields::new(b) {
                    if let (1, w) = f? {
                        let t = String::from_utf8_lossy(w.bytes()).into_owned();
                        if !self.run_metadata.contains(&t) {
                            self.run_metadata.push(t);
                        }
                    }
                }
            }
            _ => {}
        }
        Ok(())
    }
}

#[inline]
pub(super) fn bump(counts: &mut Vec<[u64; 8]>, tag: u32, kind: Kind) {
    let i = tag as usize;
    if counts.len() <= i {
        counts.resize(i + 1, [0; 8]);
    }
    counts[i][kind as usize] += 1;
}

/// What one value is, read by its tag's plugin.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum ValueRead {
    /// A scalar (a `simple_value`, or a one-number tensor of the scalars plugin).
    Scalar(f64, ScalarEncoding),
    /// A value of another kind, decoded.
    Item(Kind, Payload),
    /// A value of a kind not asked for, an obsolete histogram, or no value.
    Nothing,
}

/// Reads the value `v` of a tag whose plugin (from its first metadata) is `plugin`: the
/// reader's one rule from a value to its kind ([`plugins::tensor_kind`] for tensors), for the
/// bulk reader and the per-event iterator. Values of kinds not in `kinds` are not decoded.
/// hparams values are the caller's: their data is in the plugin content.
#[inline]
pub(super) fn read_value(
    v: ValueKind<'_>,
    plugin: &str,
    kinds: KindSet,
) -> Result<ValueRead, decode::WireError> {
    let want = |kind: Kind, f: &dyn Fn() -> Result<Payload, decode::WireError>| {
        Ok(if kinds.has(kind) {
            ValueRead::Item(kind, f()?)
        } else {
            ValueRead::Nothing
        })
    };
    match v {
        ValueKind::Simple(x) => Ok(if kinds.has(Kind::Scalar) {
            ValueRead::Scalar(f64::from(x), ScalarEncoding::Simple)
        } else {
            ValueRead::Nothing
        }),
        ValueKind::Histogram(b) => want(Kind::Histogram, &|| {
            Ok(Payload::Histogram(tensor::decode_histogram(b)?))
        }),
        ValueKind::Image(b) => want(Kind::Image, &|| {
            Ok(Payload::Image(tensor::decode_image(b)?))
        }),
        ValueKind::Audio(b) => want(Kind::Audio, &|| {
            Ok(Payload::Audio(tensor::decode_audio(b)?))
        }),
        ValueKind::Tensor(b) => {
            let decoded = || Ok(Payload::Tensor(tensor::decode_tensor(b)?));
            match plugins::tensor_kind(plugin) {
                Kind::Scalar => match tensor_scalar(b)? {
                    Some((x, enc)) => Ok(if kinds.has(Kind::Scalar) {
                        ValueRead::Scalar(x, enc)
                    } else {
                        ValueRead::Nothing
                    }),
                    None => want(Kind::Tensor, &decoded),
                },
                k => want(k, &decoded),
            }
        }
        ValueKind::ObsoleteHistogram(_) | ValueKind::None => Ok(ValueRead::Nothing),
    }
}
