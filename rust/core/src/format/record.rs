//! TFRecord framing: writing records, and a resumable, chunk-fed record parser.
//!
//! A record is `u64 LE length`, `masked CRC32C of those 8 bytes`, `payload`,
//! `masked CRC32C of the payload` (its data CRC). [`RecordParser`] takes bytes in arbitrary
//! chunks (a file still being written, a socket, a fuzzer) and yields one [`Frame`] at a time;
//! [`RecordReader`] does the same over any [`Read`].
//!
//! **One vocabulary for both framers.** The names below are the ones this parser and the bulk
//! reader's framer (`reader::frames`, which reads files in big chunks and can resynchronise)
//! both use, each defined here once:
//!
//! * a *record* ([`Frame::Record`]): whole, its length CRC and data CRC hold;
//! * an *incomplete* tail ([`Frame::Incomplete`]): the bytes end inside a record (or exactly at
//!   a boundary, with nothing pending);
//! * a *bad data CRC* at an offset ([`Frame::BadDataCrc`]): the record is whole but its payload
//!   does not match its CRC;
//! * a *bad length CRC* at an offset ([`FramingError::BadLengthCrc`]): the length field does
//!   not match its CRC, so where the record ends is unknown.
//!
//! The policy here, one per failure:
//!
//! * [`Frame::Incomplete`]: normal for a file that is still being written; nothing is consumed,
//!   so feeding more bytes later resumes at the same offset.
//! * [`Frame::BadDataCrc`]: the record is skipped and parsing goes on with the next one.
//! * [`FramingError::BadLengthCrc`]: record boundaries can no longer be trusted. Parsing of
//!   this stream stops; the error names the byte offset. (The bulk reader's framer instead
//!   searches on for the next verified record: see `reader::frames`.)
//!
//! A length that claims more bytes than exist allocates nothing up front: the parser only ever
//! holds bytes it was actually given.

use std::io::{self, Read, Write};

use crate::format::crc::MaskedCrc;

/// Bytes before the payload: the length and its masked CRC.
pub const HEADER_LEN: usize = 12;
/// Bytes after the payload: its masked CRC.
pub const FOOTER_LEN: usize = 4;

/// The masked CRC of a record's length field, as both framers check it ([`RecordParser`] and
/// the bulk reader's framer, which calls [`length_crc_sse42`] where it is compiled for SSE
/// 4.2).
#[inline(always)]
pub fn length_crc(len: [u8; 8]) -> MaskedCrc {
    MaskedCrc::compute(&len)
}

/// [`length_crc`] with the SSE 4.2 `crc32` instruction: one instruction for the 8 bytes.
///
/// # Safety
///
/// The processor must have SSE 4.2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
#[inline]
pub unsafe fn length_crc_sse42(len: [u8; 8]) -> MaskedCrc {
    use std::arch::x86_64::_mm_crc32_u64;
    let crc = _mm_crc32_u64(u64::from(u32::MAX), u64::from_le_bytes(len));
    // The CRC of at most 32 bits lives in the low half.
    MaskedCrc::from_crc(!(crc as u32))
}

/// Appends one framed record holding `payload` to `out`.
#[inline]
pub fn encode_record(out: &mut Vec<u8>, payload: &[u8]) {
    let len = (payload.len() as u64).to_le_bytes();
    out.reserve(HEADER_LEN + payload.len() + FOOTER_LEN);
    out.extend_from_slice(&len);
    out.extend_from_slice(&MaskedCrc::compute(&len).to_le_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(&MaskedCrc::compute(payload).to_le_bytes());
}

/// Writes one framed record holding `payload` to `w`.
pub fn write_record<W: Write>(w: &mut W, payload: &[u8]) -> io::Result<()> {
    let len = (payload.len() as u64).to_le_bytes();
    w.write_all(&len)?;
    w.write_all(&MaskedCrc::compute(&len).to_le_bytes())?;
    w.write_all(payload)?;
    w.write_all(&MaskedCrc::compute(payload).to_le_bytes())
}

/// What [`RecordParser::next_frame`] and [`RecordReader::read_next`] found at the current
/// position (see the module documentation for the vocabulary).
#[derive(Debug, PartialEq, Eq)]
pub enum Frame<'a> {
    /// A whole record whose CRCs match (or whose data CRC was not checked).
    Record {
        /// Byte offset of the record's first byte in the stream.
        offset: u64,
        /// The payload (one serialized `Event` in an event file).
        payload: &'a [u8],
    },
    /// A whole record whose data CRC does not match; it has been skipped.
    BadDataCrc {
        /// Byte offset of the record's first byte in the stream.
        offset: u64,
        /// Payload length claimed by the (valid) header.
        len: u64,
    },
    /// The bytes given so far end inside a record (`pending` bytes of it, from `offset`), or
    /// exactly at a record boundary (`pending` 0). Nothing was consumed: with more bytes (fed,
    /// or once the source grows) the next call resumes at `offset`.
    Incomplete {
        /// Offset where the incomplete record (or the end) starts.
        offset: u64,
        /// Bytes of the incomplete record at hand.
        pending: u64,
    },
}

/// A failure after which record boundaries in this stream can no longer be trusted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// The masked CRC of a record's length field does not match.
    #[error("corrupt record length at byte offset {offset}: its CRC does not match")]
    BadLengthCrc {
        /// Byte offset of the record's first byte in the stream.
        offset: u64,
    },
}

/// A resumable, chunk-fed TFRecord parser (sans I/O).
#[derive(Debug)]
pub struct RecordParser {
    buf: Vec<u8>,
    /// Index in `buf` of the first byte not yet consumed.
    start: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    check_crc: bool,
}

impl Default for RecordParser {
    fn default() -> Self {
        Self::new()
    }
}

impl RecordParser {
    /// A parser at stream offset 0 that checks both CRCs of every record.
    pub fn new() -> Self {
        Self::starting_at(0)
    }

    /// A parser whose first fed byte is at `offset` in the stream (for resuming).
    pub fn starting_at(offset: u64) -> Self {
        RecordParser {
            buf: Vec::new(),
            start: 0,
            offset,
            check_crc: true,
        }
    }

    /// Turns payload CRC checking on or off (the length CRC is always checked, since it alone
    /// keeps record boundaries trustworthy).
    pub fn set_check_crc(&mut self, check: bool) {
        self.check_crc = check;
    }

    /// Stream offset of the first byte not yet consumed: where a new parser would resume.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes fed but not yet consumed (the start of an incomplete record, if any).
    pub fn pending(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Appends the next bytes of the stream.
    pub fn feed(&mut self, chunk: &[u8]) {
        self.compact();
        self.buf.extend_from_slice(chunk);
    }

    /// Gives the parser's internal buffer for appending up to `additional` bytes in place
    /// (for `Read::read` straight into it). Call [`RecordParser::commit`] with the count written.
    pub fn spare(&mut self, additional: usize) -> &mut [u8] {
        self.compact();
        let len = self.buf.len();
        self.buf.resize(len + additional, 0);
        &mut self.buf[len..]
    }

    /// Keeps the first `written` bytes of the last [`RecordParser::spare`] and drops the rest.
    pub fn commit(&mut self, spare_len: usize, written: usize) {
        debug_assert!(written <= spare_len);
        let new_len = self.buf.len() - spare_len + written;
        self.buf.truncate(new_len);
    }

    fn compact(&mut self) {
        if self.start > 0 && (self.start == self.buf.len() || self.start >= self.buf.len() / 2) {
            self.buf.drain(..self.start);
            self.start = 0;
        }
    }

    /// Parses the next frame from the bytes fed so far.
    pub fn next_frame(&mut self) -> Result<Frame<'_>, FramingError> {
        let avail = &self.buf[self.start..];
        let incomplete = Frame::Incomplete {
            offset: self.offset,
            pending: avail.len() as u64,
        };
        if avail.len() < HEADER_LEN {
            return Ok(incomplete);
        }
        let len_bytes: [u8; 8] = avail[..8].try_into().expect("8 bytes");
        let stored = MaskedCrc::from_le_bytes(avail[8..12].try_into().expect("4 bytes"));
        if length_crc(len_bytes) != stored {
            return Err(FramingError::BadLengthCrc {
                offset: self.offset,
            });
        }
        let len = u64::from_le_bytes(len_bytes);
        let remaining = (avail.len() - HEADER_LEN) as u64;
        if remaining < len.saturating_add(FOOTER_LEN as u64) {
            return Ok(incomplete);
        }
        // `len` fits in usize now: that many bytes are in memory.
        let len_usize = len as usize;
        let total = HEADER_LEN + len_usize + FOOTER_LEN;
        let offset = self.offset;
        let first = self.start;
        self.start += total;
        self.offset += total as u64;
        let payload = &self.buf[first + HEADER_LEN..first + HEADER_LEN + len_usize];
        if self.check_crc {
            let crc_at = first + HEADER_LEN + len_usize;
            let stored =
                MaskedCrc::from_le_bytes(self.buf[crc_at..crc_at + 4].try_into().expect("4 bytes"));
            if MaskedCrc::compute(payload) != stored {
                return Ok(Frame::BadDataCrc { offset, len });
            }
        }
        Ok(Frame::Record { offset, payload })
    }
}

/// Errors of [`RecordReader`]: I/O, or framing that can no longer be trusted.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The underlying reader failed.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
    /// A corrupt record length.
    #[error(transparent)]
    Framing(#[from] FramingError),
}

/// Pulls records from any [`Read`], resumable after a [`Frame::Incomplete`] result.
#[derive(Debug)]
pub struct RecordReader<R> {
    source: R,
    parser: RecordParser,
    chunk: usize,
}

impl<R: Read> RecordReader<R> {
    /// Reads records from `source`, whose first byte is at stream offset 0.
    pub fn new(source: R) -> Self {
        Self::resuming(source, 0)
    }

    /// Reads records from `source`, whose first byte is at stream offset `offset`.
    pub fn resuming(source: R, offset: u64) -> Self {
        RecordReader {
            source,
            parser: RecordParser::starting_at(offset),
            chunk: 1 << 16,
        }
    }

    /// Turns payload CRC checking on or off.
    pub fn set_check_crc(&mut self, check: bool) {
        self.parser.set_check_crc(check);
    }

    /// Offset of the next unread record.
    pub fn offset(&self) -> u64 {
        self.parser.offset()
    }

    /// Gives the source back.
    pub fn into_inner(self) -> R {
        self.source
    }

    /// Reads the next record, a skipped one with a bad data CRC, or the end of the bytes
    /// available now ([`Frame::Incomplete`]).
    pub fn read_next(&mut self) -> Result<Frame<'_>, ReadError> {
        loop {
            // Probe first (without holding the borrow) so the loop can refill.
            match self.parser.next_frame()? {
                Frame::Incomplete { .. } => {}
                Frame::BadDataCrc { offset, len } => return Ok(Frame::BadDataCrc { offset, len }),
                Frame::Record { offset, payload } => {
                    // Re-borrow to satisfy the borrow checker across loop iterations.
                    let (offset, len) = (offset, payload.len());
                    let end = self.parser.start;
                    let payload = &self.parser.buf[end - FOOTER_LEN - len..end - FOOTER_LEN];
                    return Ok(Frame::Record { offset, payload });
                }
            }
            let want = self.chunk;
            let spare = self.parser.spare(want);
            let n = loop {
                match self.source.read(spare) {
                    Ok(n) => break n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.parser.commit(want, 0);
                        return Err(e.into());
                    }
                }
            };
            self.parser.commit(want, n);
            if n == 0 {
                return Ok(Frame::Incomplete {
                    offset: self.parser.offset(),
                    pending: self.parser.pending() as u64,
                });
            }
            // Grow reads for large records, but never beyond what was actually read.
            self.chunk = (self.chunk * 2).min(1 << 22);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn framed(payloads: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        for p in payloads {
            encode_record(&mut out, p);
        }
        out
    }

    /// Feeds `bytes` in chunks of the given sizes, collecting every frame.
    fn parse_chunked(bytes: &[u8], sizes: &[usize]) -> (Vec<Vec<u8>>, Vec<u64>, usize) {
        let mut parser = RecordParser::new();
        let mut records = Vec::new();
        let mut corrupt = Vec::new();
        let mut pos = 0;
        let mut i = 0;
        while pos < bytes.len() {
            let n = sizes[i % sizes.len()].max(1).min(bytes.len() - pos);
            i += 1;
            parser.feed(&bytes[pos..pos + n]);
            pos += n;
            loop {
                match parser.next_frame().expect("framing") {
                    Frame::Record { payload, .. } => records.push(payload.to_vec()),
                    Frame::BadDataCrc { offset, .. } => corrupt.push(offset),
                    Frame::Incomplete { .. } => break,
                }
            }
        }
        (records, corrupt, parser.pending())
    }

    #[test]
    fn encode_matches_write() {
        let mut a = Vec::new();
        encode_record(&mut a, b"hello");
        let mut b = Vec::new();
        write_record(&mut b, b"hello").unwrap();
        assert_eq!(a, b);
        assert_eq!(a.len(), HEADER_LEN + 5 + FOOTER_LEN);
    }

    #[test]
    fn empty_payload_is_a_record() {
        let bytes = framed(&[vec![]]);
        let (recs, corrupt, pending) = parse_chunked(&bytes, &[1]);
        assert_eq!(recs, vec![Vec::<u8>::new()]);
        assert!(corrupt.is_empty());
        assert_eq!(pending, 0);
    }

    #[test]
    fn bad_payload_crc_skips_one_record() {
        let mut bytes = framed(&[b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]);
        let second = HEADER_LEN + 3 + FOOTER_LEN;
        bytes[second + HEADER_LEN] ^= 0xff; // flip a payload byte of "two"
        let (recs, corrupt, _) = parse_chunked(&bytes, &[5, 7]);
        assert_eq!(recs, vec![b"one".to_vec(), b"three".to_vec()]);
        assert_eq!(corrupt, vec![second as u64]);
    }

    #[test]
    fn bad_length_crc_stops_with_offset() {
        let mut bytes = framed(&[b"one".to_vec(), b"two".to_vec()]);
        let second = HEADER_LEN + 3 + FOOTER_LEN;
        bytes[second] ^= 0x01;
        let mut p = RecordParser::new();
        p.feed(&bytes);
        assert!(matches!(p.next_frame(), Ok(Frame::Record { .. })));
        assert_eq!(
            p.next_frame(),
            Err(FramingError::BadLengthCrc {
                offset: second as u64
            })
        );
    }

    #[test]
    fn absurd_length_allocates_nothing_and_waits() {
        // A valid header claiming an exabyte: the parser must just ask for more bytes.
        let len = (1u64 << 60).to_le_bytes();
        let mut bytes = len.to_vec();
        bytes.extend_from_slice(&MaskedCrc::compute(&len).to_le_bytes());
        bytes.extend_from_slice(b"tiny");
        let mut p = RecordParser::new();
        p.feed(&bytes);
        let incomplete = || Frame::Incomplete {
            offset: 0,
            pending: bytes.len() as u64,
        };
        assert_eq!(p.next_frame(), Ok(incomplete()));
        assert!(p.buf.capacity() < 1 << 20);
        let mut r = RecordReader::new(&bytes[..]);
        assert_eq!(r.read_next().unwrap(), incomplete());
    }

    #[test]
    fn reader_resumes_after_truncation() {
        let bytes = framed(&[b"alpha".to_vec(), b"beta".to_vec()]);
        let cut = bytes.len() - 3;
        let mut r = RecordReader::new(&bytes[..cut]);
        assert!(
            matches!(r.read_next().unwrap(), Frame::Record { payload, .. } if payload == b"alpha")
        );
        let out = r.read_next().unwrap();
        let resume = match out {
            Frame::Incomplete { offset, pending } => {
                assert_eq!(pending as usize, cut - (HEADER_LEN + 5 + FOOTER_LEN));
                offset
            }
            other => panic!("expected truncation, got {other:?}"),
        };
        // Later, the file has grown: a new reader resumes at the reported offset.
        let mut r2 = RecordReader::resuming(&bytes[resume as usize..], resume);
        assert!(
            matches!(r2.read_next().unwrap(), Frame::Record { payload, offset } if payload == b"beta" && offset == resume)
        );
        assert!(matches!(
            r2.read_next().unwrap(),
            Frame::Incomplete { pending: 0, .. }
        ));
    }

    proptest! {
        #[test]
        fn any_chunking_yields_the_same_records(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..20),
            sizes in proptest::collection::vec(1usize..64, 1..8),
        ) {
            let bytes = framed(&payloads);
            let (recs, corrupt, pending) = parse_chunked(&bytes, &sizes);
            prop_assert_eq!(recs, payloads);
            prop_assert!(corrupt.is_empty());
            prop_assert_eq!(pending, 0);
        }

        #[test]
        fn truncated_streams_never_yield_partial_records(
            payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..100), 1..10),
            cut_frac in 0.0f64..1.0,
        ) {
            let bytes = framed(&payloads);
            let cut = ((bytes.len() as f64) * cut_frac) as usize;
            let (recs, corrupt, _) = parse_chunked(&bytes[..cut], &[17]);
            prop_assert!(corrupt.is_empty());
            prop_assert_eq!(&recs[..], &payloads[..recs.len()]);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
            let mut r = RecordReader::new(&bytes[..]);
            for _ in 0..1000 {
                match r.read_next() {
                    Ok(Frame::Incomplete { .. }) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        }
    }
}
