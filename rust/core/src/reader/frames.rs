//! TFRecord framing over a file, for the bulk reader: reads big chunks into one reusable
//! buffer (per thread, never re-zeroed), so reading many files allocates and faults nothing
//! new. Same policy as [`crate::format::record::RecordParser`]: an incomplete tail ends the
//! file for now, a bad payload CRC skips one record, a bad length CRC stops the file.

use std::cell::RefCell;
use std::io;

use crate::format::crc::MaskedCrc;
use crate::format::record::{FOOTER_LEN, HEADER_LEN};
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
    /// Whether the payload matches its CRC (always true when CRCs are not checked).
    #[inline]
    pub(crate) fn intact(&self) -> bool {
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

/// Where [`Framer::each`] stopped.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The file ends here for now; `pending` bytes of an incomplete record follow `offset`.
    End { offset: u64, pending: u64 },
    /// The length CRC of the record at `offset` does not match: the file is not read further.
    BadLength { offset: u64 },
}

/// Frames the records of one file (from [`crate::storage`]) from a byte offset on.
pub(crate) struct Framer<'b> {
    file: Box<dyn Source>,
    buf: &'b mut Vec<u8>,
    start: usize,
    filled: usize,
    offset: u64,
    check_crc: bool,
    eof: bool,
}

impl<'b> Framer<'b> {
    /// Frames `file`, already positioned at stream offset `offset`.
    pub(crate) fn new(
        file: Box<dyn Source>,
        offset: u64,
        check_crc: bool,
        buf: &'b mut Vec<u8>,
    ) -> Self {
        Framer {
            file,
            buf,
            start: 0,
            filled: 0,
            offset,
            check_crc,
            eof: false,
        }
    }

    /// Calls `f` with each whole record from here on, until the data ends or a length is
    /// corrupt (lengths are always checked; payloads when and if `f` asks
    /// [`Record::intact`]). An error from `f` stops the scan and is returned.
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
        self.each_with(f, |len| MaskedCrc::compute(&len))
    }

    /// [`Framer::each`] compiled for SSE 4.2.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "sse4.2")]
    unsafe fn each_sse42<V: Visit>(&mut self, f: V) -> Result<Stop, V::Error> {
        self.each_with(f, |len| {
            use std::arch::x86_64::_mm_crc32_u64;
            let crc = _mm_crc32_u64(u64::from(u32::MAX), u64::from_le_bytes(len));
            // The CRC of at most 32 bits lives in the low half.
            MaskedCrc::from_crc(!(crc as u32))
        })
    }

    /// The loop of [`Framer::each`], with `length_crc` giving the masked CRC of a length.
    #[inline(always)]
    fn each_with<V: Visit>(
        &mut self,
        mut f: V,
        length_crc: impl Fn([u8; 8]) -> MaskedCrc,
    ) -> Result<Stop, V::Error> {
        loop {
            let filled = self.filled;
            let mut s = self.start;
            let mut offset = self.offset;
            let mut need = HEADER_LEN as u64;
            let buf = &self.buf[..filled];
            while filled - s >= HEADER_LEN {
                let len_bytes: [u8; 8] = buf[s..s + 8].try_into().expect("8 bytes");
                let stored = MaskedCrc::from_le_bytes(buf[s + 8..s + 12].try_into().expect("4"));
                if length_crc(len_bytes) != stored {
                    self.start = s;
                    self.offset = offset;
                    return Ok(Stop::BadLength { offset });
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
                f.record(Record {
                    offset,
                    payload,
                    stored: MaskedCrc::from_le_bytes(buf[end..end + 4].try_into().expect("4")),
                    check: self.check_crc,
                })?;
                s = end + FOOTER_LEN;
                offset += total;
            }
            self.start = s;
            self.offset = offset;
            let avail = filled - s;
            if self.eof {
                return Ok(Stop::End {
                    offset,
                    pending: avail as u64,
                });
            }
            // Move the partial record to the front, then read more after it.
            if s > 0 {
                self.buf.copy_within(s..filled, 0);
                self.filled = avail;
                self.start = 0;
            }
            if need > self.buf.len() as u64 {
                // Grow only for bytes the file actually has: a corrupt (but CRC-valid) or
                // still-growing length must not allocate what is not there.
                let on_disk = self.file.size()?;
                let have = on_disk.saturating_sub(offset);
                if need > have {
                    self.eof = true;
                    return Ok(Stop::End {
                        offset,
                        pending: have,
                    });
                }
                self.buf.resize(need as usize, 0);
            }
            if self.buf.len() < CHUNK {
                self.buf.resize(CHUNK, 0);
            }
            if self.read_some()? == 0 {
                self.eof = true;
            }
        }
    }

    /// Reads into the free part of the buffer; returns the bytes read (0 at end of file).
    fn read_some(&mut self) -> io::Result<usize> {
        if self.filled == self.buf.len() {
            return Ok(0);
        }
        loop {
            match self.file.read(&mut self.buf[self.filled..]) {
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
                if r.intact() {
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
            Stop::End {
                offset: bytes.len() as u64,
                pending: 0
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
            Stop::End {
                offset: first,
                pending: cut as u64 - first
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
            Stop::End {
                offset: 0,
                pending: 16
            }
        );
        drop(fr);
        assert!(buf.len() <= CHUNK);
    }

    fn note_into(
        seen: &mut Vec<(u64, usize, bool)>,
    ) -> impl FnMut(Record<'_>) -> io::Result<()> + '_ {
        |r| {
            seen.push((r.offset, r.payload.len(), r.intact()));
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
                fr.each_with(visit, |len| MaskedCrc::compute(&len))
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

    fn fs_write(p: &std::path::Path, b: &[u8]) {
        let mut f = File::create(p).unwrap();
        f.write_all(b).unwrap();
    }
}
