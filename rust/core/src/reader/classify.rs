//! The general path: a record's values sorted into kinds by their tag's plugin
//! ([`plugins::tensor_kind`]), hparams and graphs noted, and the values decoded.

use super::decode::{self, plugin_of, scan_event, tensor_scalar, ValueKind, WhatView};
use super::{
    tensor, Item, Kind, Payload, ReadOptions, RunOutput, RunState, ScalarColumns, ScalarEncoding,
};
use crate::format::plugins;

impl RunState {
    /// Reads one verified record into the run's outputs (`plain` as for
    /// [`FileScan::general`]).
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
                    let kind_payload = match v.value {
                        ValueKind::Simple(x) => {
                            if opts.kinds.has(Kind::Scalar) {
                                cols.push(
                                    id,
                                    ev.step,
                                    ev.wall_time,
                                    f64::from(x),
                                    ScalarEncoding::Simple as u8,
                                );
                                bump(&mut out.counts, id, Kind::Scalar);
                            }
                            None
                        }
                        ValueKind::Histogram(b) => want(opts, Kind::Histogram, || {
                            Ok(Payload::Histogram(tensor::decode_histogram(b)?))
                        })?,
                        ValueKind::Image(b) => want(opts, Kind::Image, || {
                            Ok(Payload::Image(tensor::decode_image(b)?))
                        })?,
                        ValueKind::Audio(b) => want(opts, Kind::Audio, || {
                            Ok(Payload::Audio(tensor::decode_audio(b)?))
                        })?,
                        ValueKind::Tensor(b) => {
                            let kind = plugins::tensor_kind(&slot.plugin);
                            match kind {
                                Kind::Scalar => match tensor_scalar(b)? {
                                    Some((x, enc)) => {
                                        if opts.kinds.has(Kind::Scalar) {
                                            cols.push(id, ev.step, ev.wall_time, x, enc as u8);
                                            bump(&mut out.counts, id, Kind::Scalar);
                                        }
                                        None
                                    }
                                    None => want(opts, Kind::Tensor, || {
                                        Ok(Payload::Tensor(tensor::decode_tensor(b)?))
                                    })?,
                                },
                                k => want(opts, k, || {
                                    Ok(Payload::Tensor(tensor::decode_tensor(b)?))
                                })?,
                            }
                        }
                        ValueKind::ObsoleteHistogram(_) | ValueKind::None => None,
                    };
                    if let Some((kind, payload)) = kind_payload {
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

pub(super) type KP = Option<(Kind, Payload)>;

#[inline]
pub(super) fn want(
    opts: &ReadOptions,
    kind: Kind,
    f: impl FnOnce() -> Result<Payload, decode::WireError>,
) -> Result<KP, decode::WireError> {
    if opts.kinds.has(kind) {
        Ok(Some((kind, f()?)))
    } else {
        Ok(None)
    }
}
