//! WAV, decoded as TensorFlow's `decode_wav` does: `float32` samples, `(frames, channels)`,
//! 16-bit PCM divided by 32768.
//!
//! TensorFlow reads 16-bit PCM only; this decoder also reads 8-bit PCM (unsigned,
//! `(v - 128) / 128`), 24- and 32-bit PCM (`v / 2^23`, `v / 2^31`), 32- and 64-bit IEEE
//! float (as stored, the latter rounded to `float32`), and `WAVE_FORMAT_EXTENSIBLE` headers
//! of those formats. Odd-sized chunks are followed by their pad byte, as RIFF specifies.
//! As in TensorFlow, the `fmt ` chunk must come before the `data` chunk, its block
//! alignment must equal `channels * bits / 8`, and a `data` chunk that declares more bytes
//! than the input holds is an error (so nothing is allocated beyond the input's length).

use super::CodecError;

/// Decoded audio: interleaved `float32` samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Wave {
    /// Frames per second.
    pub sample_rate: u32,
    /// Samples per frame.
    pub channels: usize,
    /// Number of frames.
    pub frames: usize,
    /// `frames * channels` samples, frame by frame.
    pub data: Vec<f32>,
}

/// How samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// Integer PCM of this many bits (8 unsigned; 16, 24, 32 signed).
    Pcm(u16),
    /// IEEE float of this many bits (32 or 64).
    Float(u16),
}

/// What a WAV header says, and where its samples are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WavInfo {
    /// Frames per second.
    pub sample_rate: u32,
    /// Samples per frame.
    pub channels: usize,
    /// Number of whole frames in the `data` chunk.
    pub frames: usize,
    /// How samples are stored.
    pub format: SampleFormat,
    /// Byte offset of the first sample.
    pub data_offset: usize,
}

fn err(e: impl std::fmt::Display) -> CodecError {
    CodecError::malformed("WAV", e)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads the header of a WAV file without decoding its samples.
pub fn info(b: &[u8]) -> Result<WavInfo, CodecError> {
    if b.len() < 12 || &b[..4] != b"RIFF" || &b[8..12] != b"WAVE" {
        return Err(CodecError::Unsupported(
            "not a WAV file (no RIFF/WAVE header)".into(),
        ));
    }
    let mut pos = 12usize;
    let mut fmt: Option<(SampleFormat, usize, u32)> = None;
    while pos + 8 <= b.len() {
        let id = &b[pos..pos + 4];
        let size = u32_at(b, pos + 4) as usize;
        let body = pos + 8;
        if id == b"fmt " {
            if size < 16 || body + 16 > b.len() {
                return Err(err(format!("format chunk of {size} bytes")));
            }
            let mut tag = u16_at(b, body);
            let channels = u16_at(b, body + 2);
            let rate = u32_at(b, body + 4);
            let block = u16_at(b, body + 12);
            let bits = u16_at(b, body + 14);
            if tag == 0xFFFE {
                if size < 40 || body + 26 > b.len() {
                    return Err(err("extensible format chunk shorter than 40 bytes"));
                }
                tag = u16_at(b, body + 24); // the sub-format GUID's first two bytes
            }
            let format = match (tag, bits) {
                (1, 8 | 16 | 24 | 32) => SampleFormat::Pcm(bits),
                (3, 32 | 64) => SampleFormat::Float(bits),
                (1 | 3, _) => {
                    return Err(err(format!("{bits}-bit samples of format {tag}")));
                }
                _ => {
                    return Err(CodecError::Unsupported(format!(
                        "WAV sample format {tag} (only PCM and IEEE float are decoded)"
                    )))
                }
            };
            if channels == 0 {
                return Err(err("zero channels"));
            }
            if usize::from(block) != usize::from(channels) * usize::from(bits / 8) {
                return Err(err(format!(
                    "block alignment {block} for {channels} channels of {bits} bits"
                )));
            }
            fmt = Some((format, usize::from(channels), rate));
        } else if id == b"data" {
            let (format, channels, sample_rate) =
                fmt.ok_or_else(|| err("data chunk before the format chunk"))?;
            let block = channels
                * match format {
                    SampleFormat::Pcm(bits) | SampleFormat::Float(bits) => usize::from(bits / 8),
                };
            let frames = size / block;
            if body + frames * block > b.len() {
                return Err(err(format!(
                    "data chunk declares {size} bytes, {} present",
                    b.len() - body
                )));
            }
            return Ok(WavInfo {
                sample_rate,
                channels,
                frames,
                format,
                data_offset: body,
            });
        }
        pos = body.saturating_add(size).saturating_add(size & 1);
    }
    Err(err("no data chunk"))
}

/// Decodes one WAV file.
pub fn decode(b: &[u8]) -> Result<Wave, CodecError> {
    let h = info(b)?;
    let n = h.frames * h.channels;
    let start = h.data_offset;
    let data: Vec<f32> = match h.format {
        SampleFormat::Pcm(8) => b[start..start + n]
            .iter()
            .map(|&v| (f32::from(v) - 128.0) / 128.0)
            .collect(),
        SampleFormat::Pcm(16) => b[start..start + 2 * n]
            .chunks_exact(2)
            .map(|c| f32::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0)
            .collect(),
        SampleFormat::Pcm(24) => b[start..start + 3 * n]
            .chunks_exact(3)
            .map(|c| (i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8) as f32 / 8_388_608.0)
            .collect(),
        SampleFormat::Pcm(_) => b[start..start + 4 * n]
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32 / 2_147_483_648.0)
            .collect(),
        SampleFormat::Float(32) => b[start..start + 4 * n]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect(),
        SampleFormat::Float(_) => b[start..start + 8 * n]
            .chunks_exact(8)
            .map(|c| {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                f64::from_le_bytes(a) as f32
            })
            .collect(),
    };
    Ok(Wave {
        sample_rate: h.sample_rate,
        channels: h.channels,
        frames: h.frames,
        data,
    })
}

/// The largest `data` chunk a WAV file can hold: its size and the RIFF size are 32-bit.
pub const MAX_DATA_BYTES: usize = (u32::MAX - 36) as usize;

/// Encodes interleaved 16-bit PCM samples (`frames * channels`, frame by frame) as a WAV
/// file, byte for byte what Python's `wave` module writes (torch's `add_audio`): the 44-byte
/// canonical header (`fmt ` chunk of 16 bytes, format 1) then the `data` chunk.
///
/// Errors when `channels` is 0, `samples` is not a whole number of frames, or the data is
/// larger than [`MAX_DATA_BYTES`].
pub fn encode_pcm16(
    samples: &[i16],
    channels: u16,
    sample_rate: u32,
) -> Result<Vec<u8>, CodecError> {
    if channels == 0 || !samples.len().is_multiple_of(usize::from(channels)) {
        return Err(err(format!(
            "{} samples are not a whole number of frames of {channels} channels",
            samples.len()
        )));
    }
    let data_len = samples.len() * 2;
    if data_len > MAX_DATA_BYTES {
        return Err(err(format!(
            "{data_len} bytes of samples, more than a WAV file holds ({MAX_DATA_BYTES})"
        )));
    }
    let block = u32::from(channels) * 2;
    let mut out = Vec::with_capacity(44 + data_len);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(&(36 + data_len as u32).to_le_bytes());
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&1u16.to_le_bytes());
    out.extend_from_slice(&channels.to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&sample_rate.wrapping_mul(block).to_le_bytes());
    out.extend_from_slice(&(block as u16).to_le_bytes());
    out.extend_from_slice(&16u16.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&(data_len as u32).to_le_bytes());
    if cfg!(target_endian = "little") {
        // SAFETY: i16 has no padding and any byte pattern is a valid u8; the length is exact.
        let bytes = unsafe { std::slice::from_raw_parts(samples.as_ptr().cast::<u8>(), data_len) };
        out.extend_from_slice(bytes);
    } else {
        for v in samples {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A canonical WAV: `fmt ` (16 bytes) then `data`, with `extra` chunks between.
    pub(crate) fn wav(
        tag: u16,
        channels: u16,
        rate: u32,
        bits: u16,
        extra: &[u8],
        data: &[u8],
    ) -> Vec<u8> {
        let block = channels * bits / 8;
        let mut out = b"RIFF\0\0\0\0WAVEfmt ".to_vec();
        out.extend_from_slice(&16u32.to_le_bytes());
        out.extend_from_slice(&tag.to_le_bytes());
        out.extend_from_slice(&channels.to_le_bytes());
        out.extend_from_slice(&rate.to_le_bytes());
        out.extend_from_slice(&(rate * u32::from(block)).to_le_bytes());
        out.extend_from_slice(&block.to_le_bytes());
        out.extend_from_slice(&bits.to_le_bytes());
        out.extend_from_slice(extra);
        out.extend_from_slice(b"data");
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        out.extend_from_slice(data);
        let n = (out.len() - 8) as u32;
        out[4..8].copy_from_slice(&n.to_le_bytes());
        out
    }

    pub(crate) fn pcm16(samples: &[i16], channels: u16, rate: u32) -> Vec<u8> {
        let data: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
        wav(1, channels, rate, 16, &[], &data)
    }

    #[test]
    fn sixteen_bit_is_divided_by_32768() {
        let w = decode(&pcm16(&[0, 1, -1, i16::MAX, i16::MIN, 16384], 2, 22050)).unwrap();
        assert_eq!((w.sample_rate, w.channels, w.frames), (22050, 2, 3));
        assert_eq!(
            w.data,
            vec![
                0.0,
                1.0 / 32768.0,
                -1.0 / 32768.0,
                32767.0 / 32768.0,
                -1.0,
                0.5
            ]
        );
    }

    #[test]
    fn other_depths_and_floats() {
        let w = decode(&wav(1, 1, 8000, 8, &[], &[0, 128, 255])).unwrap();
        assert_eq!(w.data, vec![-1.0, 0.0, 127.0 / 128.0]);
        let w = decode(&wav(1, 1, 8000, 24, &[], &[0, 0, 0x80, 0xFF, 0xFF, 0x7F])).unwrap();
        assert_eq!(w.data, vec![-1.0, 8_388_607.0 / 8_388_608.0]);
        let w = decode(&wav(1, 1, 8000, 32, &[], &i32::MIN.to_le_bytes())).unwrap();
        assert_eq!(w.data, vec![-1.0]);
        let f: Vec<u8> = [0.25f32, -2.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect();
        let w = decode(&wav(3, 2, 8000, 32, &[], &f)).unwrap();
        assert_eq!((w.frames, w.data), (1, vec![0.25, -2.0]));
        let d: Vec<u8> = 0.125f64.to_le_bytes().to_vec();
        assert_eq!(
            decode(&wav(3, 1, 8000, 64, &[], &d)).unwrap().data,
            vec![0.125]
        );
    }

    #[test]
    fn other_chunks_are_skipped_with_their_padding() {
        let extra = b"LIST\x03\0\0\0abc\0";
        let w = decode(&wav(1, 1, 100, 16, extra, &[1, 0, 2, 0])).unwrap();
        assert_eq!(w.data, vec![1.0 / 32768.0, 2.0 / 32768.0]);
        // A trailing partial frame is left out.
        let w = decode(&wav(1, 2, 100, 16, &[], &[1, 0, 2, 0, 3])).unwrap();
        assert_eq!(w.frames, 1);
    }

    #[test]
    fn malformed_input_is_an_error() {
        let good = pcm16(&[1, 2, 3, 4], 1, 8000);
        for n in 0..good.len() {
            // Every cut loses part of the data chunk that its header declares.
            assert!(decode(&good[..n]).is_err(), "prefix of {n} bytes");
        }
        assert!(matches!(
            decode(b"RIFX\0\0\0\0WAVE"),
            Err(CodecError::Unsupported(_))
        ));
        assert!(decode(&wav(1, 0, 8000, 16, &[], &[])).is_err());
        assert!(decode(&wav(1, 1, 8000, 12, &[], &[0, 0])).is_err());
        assert!(matches!(
            decode(&wav(2, 1, 8000, 4, &[], &[0])),
            Err(CodecError::Unsupported(_))
        ));
        let mut bad_block = good.clone();
        bad_block[32] = 3;
        assert!(decode(&bad_block).is_err());
        let data_first = b"RIFF\x0c\0\0\0WAVEdata\0\0\0\0".to_vec();
        assert!(decode(&data_first).is_err());
    }

    /// A data chunk declaring 4 GiB in a 50-byte input is refused, not allocated.
    #[test]
    fn declared_size_is_bounded_by_the_input() {
        let mut w = pcm16(&[1, 2, 3], 1, 8000);
        let at = w.len() - 6 - 4;
        w[at..at + 4].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = decode(&w).unwrap_err();
        assert!(
            e.to_string()
                .contains("declares 4294967295 bytes, 6 present"),
            "{e}"
        );
    }
    #[test]
    fn encoded_pcm16_decodes_back() {
        let samples: Vec<i16> = vec![0, 1, -1, i16::MAX, i16::MIN, 1234];
        let b = encode_pcm16(&samples, 2, 16000).unwrap();
        assert_eq!(b.len(), 44 + 12);
        assert_eq!(&b[..4], b"RIFF");
        assert_eq!(u32_at(&b, 4) as usize, b.len() - 8);
        let w = decode(&b).unwrap();
        assert_eq!((w.sample_rate, w.channels, w.frames), (16000, 2, 3));
        let back: Vec<i16> = w.data.iter().map(|v| (v * 32768.0) as i16).collect();
        assert_eq!(back, samples);
        assert_eq!(b, pcm16(&samples, 2, 16000));
        assert!(encode_pcm16(&[1, 2, 3], 2, 8000).is_err());
        assert!(encode_pcm16(&[], 0, 8000).is_err());
        assert_eq!(encode_pcm16(&[], 1, 8000).unwrap().len(), 44);
    }
}
