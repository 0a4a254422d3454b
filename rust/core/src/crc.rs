//! Masked CRC32C, the checksum that guards every TFRecord length and payload.
//!
//! TFRecord stores `mask(crc32c(bytes))` rather than the raw CRC so that a CRC computed over
//! data that itself embeds CRCs stays well distributed. The CRC itself comes from the `crc32c`
//! crate, which uses the SSE 4.2 / ARMv8 CRC instructions where the processor has them.

/// The constant TFRecord adds after rotating the CRC.
const MASK_DELTA: u32 = 0xa282_ead8;

/// A CRC32C (Castagnoli) checksum in TFRecord's masked form, as stored on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MaskedCrc(pub u32);

impl MaskedCrc {
    /// Computes the masked CRC32C of `data`.
    #[inline]
    pub fn compute(data: &[u8]) -> Self {
        Self::from_crc(crc32c::crc32c(data))
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

#[cfg(test)]
mod tests {
    use super::*;

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
