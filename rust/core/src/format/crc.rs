//! Masked CRC32C, the checksum that guards every TFRecord length and payload.
//!
//! TFRecord stores `mask(crc32c(bytes))` rather than the raw CRC so that a CRC computed over
//! data that itself embeds CRCs stays well distributed. The CRC itself comes from the `crc32c`
//! crate, which uses the SSE 4.2 / ARMv8 CRC instructions where the processor has them.
//!
//! Most TFRecord CRCs cover a few dozen bytes (every length, every scalar event). For those the
//! crate's alignment prologue, byte-wise tail and three-way interleaving cost more than the CRC
//! itself, so on x86-64 with SSE 4.2 inputs of up to [`SHORT_INPUT`] bytes take the same
//! instruction eight bytes at a time from unaligned loads (about 2.5x faster on a 44-byte
//! record); longer ones go to the crate. A test checks both against each other.

/// The constant TFRecord adds after rotating the CRC.
const MASK_DELTA: u32 = 0xa282_ead8;

/// A CRC32C (Castagnoli) checksum in TFRecord's masked form, as stored on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaskedCrc(pub u32);

impl MaskedCrc {
    /// Computes the masked CRC32C of `data`.
    #[inline]
    pub fn compute(data: &[u8]) -> Self {
        Self::from_crc(crc32c_of(data))
    }

    /// Masks a raw (unmasked) CRC32C value: rotate right by 15 bits, then add `0xa282ead8`.
    #[inline]
    pub const fn from_crc(crc: u32) -> Self {
        MaskedCrc(crc.rotate_right(15).wrapping_add(MASK_DELTA))
    }

    /// Reads a masked CRC stored as 4 little-endian bytes.
    #[inline]
    pub const fn from_le_bytes(bytes: [u8; 4]) -> Self {
        MaskedCrc(u32::from_le_bytes(bytes))
    }

    /// The 4 little-endian bytes of this masked CRC, as written to disk.
    #[inline]
    pub const fn to_le_bytes(self) -> [u8; 4] {
        self.0.to_le_bytes()
    }
}

/// Inputs up to this many bytes use the short-input path (where the processor has one).
pub const SHORT_INPUT: usize = 128;

/// The raw CRC32C of `data`.
#[inline]
pub fn crc32c_of(data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    {
        if data.len() <= SHORT_INPUT && std::arch::is_x86_feature_detected!("sse4.2") {
            // SAFETY: the processor was just checked to have SSE 4.2.
            return unsafe { short_sse42(data) };
        }
    }
    crc32c::crc32c(data)
}

/// CRC32C of a short input with the SSE 4.2 `crc32` instruction, 8 bytes per step.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "sse4.2")]
unsafe fn short_sse42(data: &[u8]) -> u32 {
    use std::arch::x86_64::{_mm_crc32_u32, _mm_crc32_u64, _mm_crc32_u8};
    let mut rest = data;
    let mut crc = u64::from(u32::MAX);
    while let Some((w, r)) = rest.split_first_chunk::<8>() {
        crc = _mm_crc32_u64(crc, u64::from_le_bytes(*w));
        rest = r;
    }
    // The CRC of at most 32 bits lives in the low half.
    let mut crc = crc as u32;
    if let Some((w, r)) = rest.split_first_chunk::<4>() {
        crc = _mm_crc32_u32(crc, u32::from_le_bytes(*w));
        rest = r;
    }
    for &b in rest {
        crc = _mm_crc32_u8(crc, b);
    }
    !crc
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The short-input path agrees with the `crc32c` crate at every length and alignment.
    #[test]
    fn short_path_matches_the_crate() {
        let data: Vec<u8> = (0..400u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        for start in 0..16 {
            for len in 0..=(SHORT_INPUT + 40) {
                let b = &data[start..start + len];
                assert_eq!(crc32c_of(b), crc32c::crc32c(b), "start {start} len {len}");
            }
        }
    }

    /// RFC 3720 (iSCSI), appendix B.4: CRC32C test vectors.
    #[test]
    fn rfc3720_vectors() {
        assert_eq!(crc32c::crc32c(&[0u8; 32]), 0x8a91_36aa);
        assert_eq!(crc32c::crc32c(&[0xffu8; 32]), 0x62a8_ab43);
        let ascending: Vec<u8> = (0u8..32).collect();
        assert_eq!(crc32c::crc32c(&ascending), 0x46dd_794e);
    }

    #[test]
    #[allow(clippy::manual_rotate)] // the formula as TFRecord's documentation spells it
    fn masking_matches_the_tfrecord_formula() {
        for crc in [0u32, 1, 0x8a91_36aa, u32::MAX, 0x1234_5678] {
            let expected = ((crc >> 15) | (crc << 17)).wrapping_add(0xa282_ead8);
            assert_eq!(MaskedCrc::from_crc(crc).0, expected);
        }
        assert_eq!(
            MaskedCrc::compute(&[0u8; 32]),
            MaskedCrc::from_crc(0x8a91_36aa)
        );
    }

    #[test]
    fn le_bytes_round_trip() {
        let c = MaskedCrc(0xdead_beef);
        assert_eq!(MaskedCrc::from_le_bytes(c.to_le_bytes()), c);
        assert_eq!(c.to_le_bytes(), [0xef, 0xbe, 0xad, 0xde]);
    }
}
