//! ferroboard-core: TensorBoard event files from Rust, with no Python involved.
//!
//! * [`format`]: the masked CRC32C, TFRecord framing, plugin names and tensor layouts.
//! * [`proto`]: the protobuf messages (`Event`, `Summary`, `TensorProto`, ...), prost-generated.
//! * [`summary`]: building the events torch's `SummaryWriter` writes (scalars, text,
//!   histograms with numpy's exact semantics, PR curves as TensorBoard computes them).
//! * [`writer`]: a background writer that owns event files and keeps every append in order.
//! * [`runtime`]: fork detection and the data-parallel thread pool (rebuilt in a forked child).
//! * [`dtype`]: float16 and bfloat16 bit patterns, read in place (the only half -> float code).
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

pub mod dtype;
pub mod format;
pub mod proto;
pub mod reader;
pub mod runtime;
pub mod summary;
pub mod writer;

pub use format::crc::MaskedCrc;
pub use summary::{Step, WallTime};
pub use writer::{EventWriter, FileId, WriteError, WriterOptions};
