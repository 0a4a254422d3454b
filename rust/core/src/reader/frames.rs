//! TFRecord framing over a file, for the bulk reader and the per-event iterator: reads big
//! chunks into one reusable buffer (per thread for the bulk reader, never re-zeroed), so
//! reading many files allocates and faults nothing new. It speaks the vocabulary of
//! [`crate::format::record`] (a record, an incomplete tail, a bad data CRC, a bad length CRC),
//! with its own policy for each: an incomplete tail ends the file for now
//! ([`Stop::Incomplete`]), a bad data CRC skips one record (the reader asks
//! [`Record::data_crc_ok`]), a bad length CRC starts a resynchronisation (or, with
//! resynchronisation off, stops: [`Stop::BadLengthCrc`]).
//!
//! **Resynchronisation.** After a length whose CRC fails, record boundaries are lost: the
//! framer searches forward, one byte at a time, for the next position whose length CRC *and*
//! payload CRC both hold, reports the bytes it passed over ([`Framer::skipped`]) and frames
//! on from there. A candidate whose record would end past the end of the file cannot be
//! verified yet: the search goes on past it, and if nothing verifiable follows, the read ends
//! at the first such candidate (or at the last 11 bytes, too few for a header), which stay
//! pending with [`Stop::Incomplete`]`::resyncing` set, so that a file still being written resumes the
//! search where it stopped rather than skipping a record not yet complete. The same search,
//! unreported, finds the first boundary of a part of a file split between threads
//! ([`Start::Anywhere`]).

use std::borrow::{Borrow, BorrowMut};
use std::cell::RefCell;
use std::io;

use crate::format::crc::MaskedCrc;
#[cfg(target_arch = "x86_64")]
use crate::format::record::length_crc_sse42;
use crate::format::record::{length_crc, FOOTER_LEN, HEADER_LEN};
use crate::storage::Source;

/// Bytes asked of the file per read.
const CHUNK: usize = 1 << 20;

thread_local! {
    static BUFFER: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with this thread's reusable read buffer.
pub(crate) fn with_buffer<T>(f: impl FnOnce(&mut Vec<u8>) -> T) -> T {
    BUFFER.with(|b| f(&mut b.borrow_mut()))
}

/// One framed record: its length was checked, its payload not yet.
pub(crate) struct Record<'a> {
    /// Byte offset of the record in the file.
    pub(crate) offset: u64,
    /// The payload (a serialized `Event`).
    pub(crate) payload: &'a [u8],
    stored: MaskedCrc,
    check: bool,
}

impl Record<'_> {
    /// Whether the payload matches its data CRC (always true when CRCs are not checked):
    /// false is a bad data CRC.
    #[inline]
    pub(crate) fn data_crc_ok(&self) -> bool {
        !self.check || MaskedCrc::compute(self.payload) == self.stored
    }
}

/// What [`Framer::each`] hands the records to: a closure, or a type whose `record` is
/// `#[inline(always)]`, to be compiled into the framing loop itself.
pub(crate) trait Visit {
    /// The error that stops the scan.
    type Error: From<io::Error>;
    /// Takes one record.
    fn record(&mut self, rec: Record<'_>) -> Result<(), Self::Error>;
}

impl<E: From<io::Error>, F: FnMut(Record<'_>) -> Result<(), E>> Visit for F {
    type Error = E;
    #[inline(always)]
    fn record(&mut self, rec: Record<'_>) -> Result<(), E> {
        self(rec)
    }
}

/// Where a [`Framer`] starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Start {
    /// At a record boundary (the start of the file, or where the last read ended).
    Boundary,
    /// Inside a resynchronisation (where the last read ended while resynchronising): the
    /// bytes from here to the next verified boundary are skipped and reported.
    Resyncing,
    /// Anywhere (a part of a file split between threads): the first verified boundary is
    /// searched for, and the bytes before it are not reported ([`Framer::found`]).
    Anywhere,
}

/// Where [`Framer::each`] stopped (the names of [`crate::format::record::Frame`] and
/// [`crate::format::record::FramingError`], plus the limit).
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The file ends here for now; `pending` bytes follow `offset`: an incomplete record, or
    /// (`resyncing`) bytes the resynchronisation could not judge yet, from which the next
    /// read resumes it ([`Start::Resyncing`]).
    Incomplete {
        offset: u64,
        pending: u64,
        resyncing: bool,
    },
    /// The length CRC of the record at `offset` does not match and resynchronisation is off.
    BadLengthCrc { offset: u64 },
    /// A record boundary at or past the limit ([`Framer::set_limit`]).
    Limit { offset: u64 },
}

/// A resynchronisation in progress: the search started at `from`.
#[derive(Debug, Clone, Copy)]
struct Search {
    from: u64,
    report: bool,
}

/// What one step of the search found.
enum Searched {
    /// A verified boundary, now the framer's position.
    Boundary,
    /// The candidate at the framer's position needs this many bytes in the buffer.
    NeedMore(u64),
    /// The bytes end while resynchronising: the read ends with this
    /// ([`Stop::Incomplete`], `resyncing`).
    Incomplete(Stop),
}

/// Frames the records of one file (from [`crate::storage`]) from a byte offset on.
pub(crate) struct Framer<B> {
    file: Box<dyn Source>,
    /// The read buffer: borrowed (the bulk reader's per-thread one) or owned (an iterator).
    buf: B,
    start: usize,
    filled: usize,
    offset: u64,
    check_crc: bool,
    eof: bool,
    resync: bool,
    limit: u64,
    search: Option<Search>,
    /// The first candidate of the search whose record ends past the end of the file.
    unverified: Option<u64>,
    found: Option<u64>,
    skipped: Vec<(u64, u64)>,
}

impl<B: BorrowMut<Vec<u8>>> Framer<B> {
    /// Frames `file`, already positioned at stream offset `offset`, from a record boundary,
    /// resynchronising after a corrupt length.
    pub(crate) fn new(file: Box<dyn Source>, offset: u64, check_crc: bool, buf: B) -> Self {
        Framer {
            file,
            buf,
            start: 0,
            filled: 0,
            offset,
            check_crc,
            eof: false,
            resync: true,
            limit: u64::MAX,
            search: None,
            unverified: None,
            found: None,
            skipped: Vec::new(),
        }
    }

    /// Sets where the framing starts (see [`Start`]; [`Start::Boundary`] by default).
    pub(crate) fn set_start(&mut self, start: Start) {
        self.search = match start {
            Start::Boundary => None,
            Start::Resyncing => Some(Search {
                from: self.offset,
                report: true,
            }),
            Start::Anywhere => Some(Search {
                from: self.offset,
                report: false,
            }),
        };
    }

    /// Turns resynchronisation off: a bad length CRC ends the scan with [`Stop::BadLengthCrc`]
    /// (strict mode).
    pub(crate) fn stop_at_bad_length(&mut self) {
        self.resync = false;
    }

    /// Stops the scan with [`Stop::Limit`] at the first record boundary at or past `limit`
    /// (the records that start before it are framed whole, wherever they end).
    pub(crate) fn set_limit(&mut self, limit: u64) {
        self.limit = limit;
    }

    /// With [`Start::Anywhere`]: the first verified boundary, once found.
    pub(crate) fn found(&self) -> Option<u64> {
        self.found
    }

    /// The byte ranges `(offset, length)` passed over by resynchronisations, in order.
    pub(crate) fn take_skipped(&mut self) -> Vec<(u64, u64)> {
        std::mem::take(&mut self.skipped)
    }

    /// Calls `f` with each whole record from here on, until the data ends, the limit is
    /// reached or (with resynchronisation off) a length is corrupt. Lengths are always
    /// checked; payloads when and if `f` asks [`Record::data_crc_ok`]. An error from `f` stops the
    /// scan after that record and is returned; calling again goes on with the next record (the
    /// per-event iterator stops at each event this way).
    ///
    /// The records already in the buffer are framed in one tight loop; the buffer is refilled
    /// only when the next record is not all there. Where the processor has SSE 4.2, the loop
    /// (with `f`'s `record`, when that is `#[inline(always)]`) is compiled for it, so each
    /// length's CRC is one instruction.
    pub(crate) fn each<V: Visit>(&mut self, f: V) -> Result<Stop, V::Error> {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("sse4.2") {
                // SAFETY: the processor was just checked to have SSE 4.2.
                return unsafe { self.each_sse42(f) };
            }
        }
        self.each_with(f, length_crc)
    }

    /// [`Framer::each`] compiled for SSE 4.2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "sse4.2")]
    unsafe fn each_sse42<V: Visit>(&mut self, f: V) -> Result<Stop, V::Error> {
        // SAFETY: this function is only called where the processor has SSE 4.2.
        self.each_with(f, |len| unsafe { length_crc_sse42(len) })
    }

    /// The loop of [`Framer::each`], with `length_crc` giving the masked CRC of a length.
    #[inline(always)]
    fn each_with<V: Visit>(
        &mut self,
        mut f: V,
        length_crc: impl Fn([u8; 8]) -> MaskedCrc,
    ) -> Result<Stop, V::Error> {
        loop {
            let mut need = HEADER_LEN as u64;
            if self.search.is_some() {
                match self.search_step(&length_crc)? {
                    Searched::Boundary => {}
                    Searched::NeedMore(n) => need = n,
                    Searched::Incomplete(stop) => return Ok(stop),
                }
            }
            if self.search.is_none() {
                let filled = self.filled;
                let mut s = self.start;
                let mut offset = self.offset;
                let limit = self.limit;
                let buf = &Borrow::<Vec<u8>>::borrow(&self.buf)[..filled];
                let mut bad = false;
                while filled - s >= HEADER_LEN {
                    if offset >= limit {
                        break;
                    }
                    let len_bytes: [u8; 8] = buf[s..s + 8].try_into().expect("8 bytes");
                    let stored =
                        MaskedCrc::from_le_bytes(buf[s + 8..s + 12].try_into().expect("4"));
                    if length_crc(len_bytes) != stored {
                        bad = true;
                        break;
                    }
                    let len = u64::from_le_bytes(len_bytes);
                    let total = len.saturating_add((HEADER_LEN + FOOTER_LEN) as u64);
                    if ((filled - s) as u64) < total {
                        need = total;
                        break;
                    }
                    // `total` bytes are in memory, so it fits in usize.
                    let end = s + HEADER_LEN + len as usize;
                    let payload = &buf[s + HEADER_LEN..end];
                    let taken = f.record(Record {
                        offset,
                        payload,
                        stored: MaskedCrc::from_le_bytes(buf[end..end + 4].try_into().expect("4")),
                        check: self.check_crc,
                    });
                    s = end + FOOTER_LEN;
                    offset += total;
                    if let Err(e) = taken {
                        // Past this record: a later call goes on with the next one.
                        self.start = s;
                        self.offset = offset;
                        return Err(e);
                    }
                }
                self.start = s;
                self.offset = offset;
                if offset >= limit {
                    return Ok(Stop::Limit { offset });
                }
                if bad {
                    if !self.resync {
                        return Ok(Stop::BadLengthCrc { offset });
                    }
                    self.search = Some(Search {
                        from: offset,
                        report: true,
                    });
                    continue;
                }
                if self.eof {
                    return Ok(Stop::Incomplete {
                        offset,
                        pending: (filled - s) as u64,
                        resyncing: false,
                    });
                }
            }
            // Move the partial record (or candidate) to the front, then read more after it.
            let (s, filled, offset) = (self.start, self.filled, self.offset);
            let buf: &mut Vec<u8> = self.buf.borrow_mut();
            if s > 0 {
                buf.copy_within(s..filled, 0);
                self.filled = filled - s;
                self.start = 0;
            }
            if self.search.is_some() {
                // A search asks only for bytes the file has.
                if need > buf.len() as u64 {
                    buf.resize(need as usize, 0);
                }
            } else if need > buf.len() as u64 {
                // Grow only for bytes the file actually has: a corrupt (but CRC-valid) or
                // still-growing length must not allocate what is not there.
                let on_disk = self.file.size()?;
                let have = on_disk.saturating_sub(offset);
                if need > have {
                    self.eof = true;
                    return Ok(Stop::Incomplete {
                        offset,
                        pending: have,
                        resyncing: false,
                    });
                }
                self.buf.borrow_mut().resize(need as usize, 0);
            }
            let buf: &mut Vec<u8> = self.buf.borrow_mut();
            if buf.len() < CHUNK {
                buf.resize(CHUNK, 0);
            }
            if self.read_some()? == 0 {
                self.eof = true;
            }
        }
    }

    /// Searches the buffer from the current position for a verified boundary (see the module
    /// documentation), out of line: damage and split points are rare.
    #[inline(never)]
    fn search_step(&mut self, length_crc: &impl Fn([u8; 8]) -> MaskedCrc) -> io::Result<Searched> {
        let filled = self.filled;
        let mut s = self.start;
        // Stream offset of `buf[0]`.
        let base = self.offset - s as u64;
        let search = self.search.expect("searching");
        loop {
            let avail = filled - s;
            let at = base + s as u64;
            if avail < HEADER_LEN {
                self.start = s;
                self.offset = at;
                if !self.eof {
                    return Ok(Searched::NeedMore(HEADER_LEN as u64));
                }
                let end = base + filled as u64;
                let stop_at = self.unverified.take().map_or(at, |u| u.min(at));
                if search.report && stop_at > search.from {
                    self.skipped.push((search.from, stop_at - search.from));
                }
                return Ok(Searched::Incomplete(Stop::Incomplete {
                    offset: stop_at,
                    pending: end - stop_at,
                    resyncing: true,
                }));
            }
            let buf = &Borrow::<Vec<u8>>::borrow(&self.buf)[s..filled];
            let len_bytes: [u8; 8] = buf[..8].try_into().expect("8 bytes");
            let stored = MaskedCrc::from_le_bytes(buf[8..12].try_into().expect("4"));
            if length_crc(len_bytes) != stored {
                s += 1;
                continue;
            }
            let len = u64::from_le_bytes(len_bytes);
            let total = len.saturating_add((HEADER_LEN + FOOTER_LEN) as u64);
            if avail as u64 >= total {
                let end = HEADER_LEN + len as usize;
                let data = MaskedCrc::from_le_bytes(buf[end..end + 4].try_into().expect("4"));
                if MaskedCrc::compute(&buf[HEADER_LEN..end]) != data {
                    s += 1;
                    continue;
                }
                if search.report && at > search.from {
                    self.skipped.push((search.from, at - search.from));
                }
                if self.found.is_none() {
                    self.found = Some(at);
                }
                self.search = None;
                self.unverified = None;
                self.start = s;
                self.offset = at;
                return Ok(Searched::Boundary);
            }
            if !self.eof {
                let have = self.file.size()?.saturating_sub(at);
                if total <= have {
                    self.start = s;
                    self.offset = at;
                    return Ok(Searched::NeedMore(total));
                }
            }
            // Its record would end past the end of the file: not verifiable now.
            self.unverified.get_or_insert(at);
            s += 1;
        }
    }

    /// Reads into the free part of the buffer; returns the bytes read (0 at end of file).
    fn read_some(&mut self) -> io::Result<usize> {
        let buf: &mut Vec<u8> = self.buf.borrow_mut();
        if self.filled == buf.len() {
            return Ok(0);
        }
        loop {
            match self.file.read(&mut buf[self.filled..]) {
                Ok(n) => {
                    self.filled += n;
                    return Ok(n);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::record::encode_record;
    use std::fs::File;
    use std::io::{Seek, SeekFrom, Write};

    fn collect(path: &std::path::Path, offset: u64) -> (Vec<Vec<u8>>, Vec<u64>, Stop) {
        let mut f = File::open(path).unwrap();
        f.seek(SeekFrom::Start(offset)).unwrap();
        let mut buf = Vec::new();
        let mut fr = Framer::new(Box::new(f), offset, true, &mut buf);
        let (mut recs, mut bad) = (Vec::new(), Vec::new());
        let stop = fr
            .each(|r: Record<'_>| -> io::Result<()> {
                if r.data_crc_ok() {
                    recs.push(r.payload.to_vec());
                } else {
                    bad.push(r.offset);
                }
                Ok(())
            })
            .unwrap();
        (recs, bad, stop)
    }

    #[test]
    fn big_records_across_chunks_and_tails() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let payloads: Vec<Vec<u8>> = [10usize, CHUNK + 7, 3, 2 * CHUNK, 0]
            .iter()
            .enumerate()
            .map(|(i, &n)| vec![i as u8; n])
            .collect();
        let mut bytes = Vec::new();
        for p in &payloads {
            encode_record(&mut bytes, p);
        }
        fs_write(&p, &bytes);
        let (recs, bad, end) = collect(&p, 0);
        assert_eq!(recs, payloads);
        assert!(bad.is_empty());
        assert_eq!(
            end,
            Stop::Incomplete {
                offset: bytes.len() as u64,
                pending: 0,
                resyncing: false,
            }
        );
        // A cut inside the big record: everything before it, then the tail is pending.
        let cut = 26 + CHUNK; // inside the second record
        fs_write(&p, &bytes[..cut]);
        let (recs, _, end) = collect(&p, 0);
        assert_eq!(recs.len(), 1);
        let first = (HEADER_LEN + 10 + FOOTER_LEN) as u64;
        assert_eq!(
            end,
            Stop::Incomplete {
                offset: first,
                pending: cut as u64 - first,
                resyncing: false,
            }
        );
        // Resuming at that offset after the file grew.
        fs_write(&p, &bytes);
        let (recs, _, _) = collect(&p, first);
        assert_eq!(recs, payloads[1..].to_vec());
    }

    #[test]
    fn absurd_length_allocates_nothing() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let len = (1u64 << 60).to_le_bytes();
        let mut bytes = len.to_vec();
        bytes.extend_from_slice(&MaskedCrc::compute(&len).to_le_bytes());
        bytes.extend_from_slice(b"tiny");
        fs_write(&p, &bytes);
        let mut f = File::open(&p).unwrap();
        f.seek(SeekFrom::Start(0)).unwrap();
        let mut buf = Vec::new();
        let mut fr = Framer::new(Box::new(f), 0, true, &mut buf);
        let stop = fr
            .each(|_: Record<'_>| -> io::Result<()> { Ok(()) })
            .unwrap();
        assert_eq!(
            stop,
            Stop::Incomplete {
                offset: 0,
                pending: 16,
                resyncing: false,
            }
        );
        drop(fr);
        assert!(buf.len() <= CHUNK);
    }

    fn note_into(
        seen: &mut Vec<(u64, usize, bool)>,
    ) -> impl FnMut(Record<'_>) -> io::Result<()> + '_ {
        |r| {
            seen.push((r.offset, r.payload.len(), r.data_crc_ok()));
            Ok(())
        }
    }

    /// The portable loop and the one compiled for SSE 4.2 frame the same records and stop at
    /// the same place, with intact and damaged lengths.
    #[test]
    fn portable_and_sse42_loops_agree() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let mut bytes = Vec::new();
        for n in [0usize, 1, 7, 8, 9, 100, 3000] {
            encode_record(&mut bytes, &vec![n as u8; n]);
        }
        let run = |portable: bool| {
            let f = File::open(&p).unwrap();
            let mut buf = Vec::new();
            let mut fr = Framer::new(Box::new(f), 0, true, &mut buf);
            let mut seen = Vec::new();
            let visit = note_into(&mut seen);
            let stop = if portable {
                fr.each_with(visit, length_crc)
            } else {
                fr.each(visit)
            };
            (seen, stop.unwrap())
        };
        for flip in [None, Some(0), Some(5), Some(9), Some(16 + 1 + 3)] {
            let mut b = bytes.clone();
            if let Some(i) = flip {
                b[i] ^= 0x20;
            }
            fs_write(&p, &b);
            let (portable, sse) = (run(true), run(false));
            assert_eq!(portable, sse, "flip {flip:?}");
            if flip.is_none() {
                assert_eq!(portable.0.len(), 7);
            }
        }
    }

    /// Frames `path` from `offset`, starting as `start`: payloads, skipped ranges, stop.
    fn resync_collect(
        path: &std::path::Path,
        offset: u64,
        start: Start,
        strict: bool,
    ) -> (Vec<Vec<u8>>, Vec<(u64, u64)>, Stop) {
        let mut f = File::open(path).unwrap();
        f.seek(SeekFrom::Start(offset)).unwrap();
        let mut buf = Vec::new();
        let mut fr = Framer::new(Box::new(f), offset, true, &mut buf);
        fr.set_start(start);
        if strict {
            fr.stop_at_bad_length();
        }
        let mut recs = Vec::new();
        let stop = fr
            .each(|r: Record<'_>| -> io::Result<()> {
                assert!(r.data_crc_ok());
                recs.push(r.payload.to_vec());
                Ok(())
            })
            .unwrap();
        (recs, fr.take_skipped(), stop)
    }

    fn records(n: usize) -> (Vec<Vec<u8>>, Vec<u8>, Vec<u64>) {
        let payloads: Vec<Vec<u8>> = (0..n).map(|i| vec![i as u8 + 1; 20 + i * 7]).collect();
        let mut bytes = Vec::new();
        let mut offsets = Vec::new();
        for p in &payloads {
            offsets.push(bytes.len() as u64);
            encode_record(&mut bytes, p);
        }
        offsets.push(bytes.len() as u64);
        (payloads, bytes, offsets)
    }

    /// A damaged length: the framing resumes at the next record, the damaged one's bytes
    /// reported; with resynchronisation off it stops there.
    #[test]
    fn a_damaged_length_is_skipped_to_the_next_verified_record() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let (payloads, mut bytes, offsets) = records(6);
        for at in [0usize, 3, 8, 11] {
            let mut b = bytes.clone();
            b[offsets[2] as usize + at] ^= 0x10;
            fs_write(&p, &b);
            let (recs, skipped, stop) = resync_collect(&p, 0, Start::Boundary, false);
            let mut want = payloads.clone();
            want.remove(2);
            assert_eq!(recs, want, "byte {at}");
            assert_eq!(skipped, vec![(offsets[2], offsets[3] - offsets[2])]);
            assert_eq!(
                stop,
                Stop::Incomplete {
                    offset: b.len() as u64,
                    pending: 0,
                    resyncing: false
                }
            );
            let (recs, skipped, stop) = resync_collect(&p, 0, Start::Boundary, true);
            assert_eq!((recs.len(), skipped.len()), (2, 0));
            assert_eq!(stop, Stop::BadLengthCrc { offset: offsets[2] });
        }
        // Two damaged records in a row: one range.
        bytes[offsets[1] as usize] ^= 1;
        bytes[offsets[2] as usize + 1] ^= 1;
        fs_write(&p, &bytes);
        let (recs, skipped, _) = resync_collect(&p, 0, Start::Boundary, false);
        assert_eq!(recs.len(), 4);
        assert_eq!(skipped, vec![(offsets[1], offsets[3] - offsets[1])]);
    }

    /// Damage followed by a record still being written: the read ends at that record, which
    /// stays pending (it cannot be verified yet), and the next read resumes the search there
    /// and reads it once it is whole.
    #[test]
    fn damage_before_an_incomplete_record_leaves_it_pending() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let (payloads, mut bytes, offsets) = records(5);
        bytes[offsets[2] as usize + 4] ^= 0x80;
        for cut in [offsets[3] + 5, offsets[3] + 12, offsets[4] - 1] {
            fs_write(&p, &bytes[..cut as usize]);
            let (recs, skipped, stop) = resync_collect(&p, 0, Start::Boundary, false);
            assert_eq!(recs, payloads[..2].to_vec(), "cut {cut}");
            // With fewer than 12 bytes of the next record, the last 11 bytes stay pending.
            let end = if cut - offsets[3] < 12 {
                cut - 11
            } else {
                offsets[3]
            };
            assert_eq!(skipped, vec![(offsets[2], end - offsets[2])]);
            assert_eq!(
                stop,
                Stop::Incomplete {
                    offset: end,
                    pending: cut - end,
                    resyncing: true
                }
            );
            // The file grows: resuming the search there finds the record whole.
            fs_write(&p, &bytes);
            let (recs, skipped, _) = resync_collect(&p, end, Start::Resyncing, false);
            assert_eq!(recs, payloads[3..].to_vec());
            let gap = offsets[3] - end;
            assert_eq!(skipped, if gap > 0 { vec![(end, gap)] } else { vec![] });
        }
    }

    /// A part starting anywhere finds the first verified boundary and reports nothing.
    #[test]
    fn anywhere_finds_the_first_boundary_unreported() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f");
        let (payloads, bytes, offsets) = records(5);
        fs_write(&p, &bytes);
        for from in offsets[1] + 1..=offsets[2] {
            let (recs, skipped, _) = resync_collect(&p, from, Start::Anywhere, false);
            assert_eq!(recs, payloads[2..].to_vec(), "from {from}");
            assert!(skipped.is_empty());
        }
    }

    fn fs_write(p: &std::path::Path, b: &[u8]) {
        let mut f = File::create(p).unwrap();
        f.write_all(b).unwrap();
    }
}
