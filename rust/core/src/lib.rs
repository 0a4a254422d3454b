//! ferroboard-core: TensorBoard event files from Rust, with no Python involved.
//!
//! * [`format`](mod@format): the file format: masked CRC32C, TFRecord framing, every plugin
//!   name, the plugin -> kind rule and TensorFlow's tensor layouts. Depends on the protos only.
//! * [`dtype`]: element types beyond Rust's own: float16 and bfloat16 read in place.
//! * [`summary`]: building the events torch's `SummaryWriter` writes: step, wall time, header,
//!   scalars, text, histograms (numpy's exact bucketing), PR curves (as TensorBoard computes
//!   them).
//! * [`codec`]: decoding the PNG, GIF and WAV media of image and audio summaries into arrays
//!   as TensorFlow's decoders return them.
//! * [`writer`]: a background writer that owns event files and keeps every append in order;
//!   [`writer::Session`], torch's `SummaryWriter` session (reopen after close or fork, sub-runs).
//! * [`reader`]: the bulk reader: every event file under a directory, in parallel, into columns.
//! * [`rewrite`]: log surgery: rewriting event files by tag, run and step rules, streamed, in
//!   place (atomic per run) or into a new directory.
//! * [`storage`]: where event files live: the local filesystem, and S3-compatible object
//!   storage (`s3://bucket/prefix`, feature `s3`); the reader, the writer and the embedding
//!   projector reach bytes only through it.
//! * `runtime` (crate-internal): fork detection and the data-parallel thread pool, rebuilt in a
//!   forked child.
//! * [`proto`]: the protobuf messages (`Event`, `Summary`, `TensorProto`, ...), prost-generated.
//!
//! Cargo features: `media` (on by default) builds the PNG and GIF codecs and what needs them
//! (`codec::png`, `codec::gif`, `codec::decode_image`, `summary::image`, `summary::video`,
//! `summary::embedding`); `s3` (off by default) adds `s3://` storage. Everything else, WAV and
//! audio included, needs neither.
//!
//! ```no_run
//! use ferroboard_core::summary::{self, Step, WallTime};
//! use ferroboard_core::writer::{EventWriter, WriterOptions};
//! use prost::Message;
//!
//! let writer = EventWriter::spawn(WriterOptions::default())?;
//! let (file, _path) = writer.create_file("runs/demo".as_ref(), "")?;
//! for step in 0..100 {
//!     let value = summary::scalar_simple("loss".into(), 1.0 / (step + 1) as f64);
//!     let ev = summary::summary_event(WallTime::now(), Step(step), vec![value]);
//!     writer.append(file, &ev.encode_to_vec())?;
//! }
//! writer.close()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![warn(missing_docs)]

pub mod codec;
pub mod dtype;
pub mod format;
pub mod proto;
pub mod reader;
pub mod rewrite;
pub(crate) mod runtime;
pub mod storage;
pub mod summary;
pub mod writer;

#[cfg(test)]
mod test_process;

pub use format::crc::MaskedCrc;
pub use summary::{Step, WallTime};
pub use writer::{EventWriter, FileId, WriteError, WriterOptions};
