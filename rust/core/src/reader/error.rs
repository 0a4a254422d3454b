//! What the reader reports as damage, and its errors.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// A kind of damage the reader meets in a record (in the vocabulary of
/// [`crate::format::record`], plus an `Event` that does not parse). Outside `strict` mode
/// the reader skips such a record and reports it (`FileReport::corrupt`, `malformed`,
/// `skipped`); in `strict` mode it raises [`ReaderError::Corrupt`] with its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CorruptKind {
    /// The length field does not match its CRC ([`crate::format::record::FramingError`]).
    BadLengthCrc,
    /// The payload does not match its data CRC ([`crate::format::record::Frame::BadDataCrc`]).
    BadDataCrc,
    /// Both CRCs match but the payload is not an `Event`.
    MalformedEvent,
}

impl CorruptKind {
    /// What is wrong, in words (the text of [`ReaderError::Corrupt`], which Python shows).
    pub fn what(self) -> &'static str {
        match self {
            CorruptKind::BadLengthCrc => "record length CRC mismatch",
            CorruptKind::BadDataCrc => "record payload CRC mismatch",
            CorruptKind::MalformedEvent => "malformed event (CRC matched)",
        }
    }
}

impl fmt::Display for CorruptKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.what())
    }
}

/// Errors of the reader.
#[derive(Debug, thiserror::Error)]
pub enum ReaderError {
    /// The path (or a file under it) could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// Strict mode: a corrupt record.
    #[error("{path}: {kind} at byte offset {offset}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// What is wrong.
        kind: CorruptKind,
    },
}
