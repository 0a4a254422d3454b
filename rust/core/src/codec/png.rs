//! PNG, decoded as TensorFlow's `decode_png` does with `channels=0` and `dtype=uint8`
//! (the call `tf.image.decode_image` makes):
//!
//! * channels as the file has them: gray 1, gray+alpha 2, RGB 3, RGBA 4; a palette image
//!   gives RGB, or RGBA when it has a `tRNS` chunk (a `tRNS` chunk of a gray or RGB image
//!   adds no alpha channel);
//! * gray of 1, 2 or 4 bits is scaled to 8 bits (`0b1` -> 255, `0b11` -> 255, `0xF` -> 255);
//! * 16-bit samples keep their high byte;
//! * of an animated PNG, the default image only;
//! * the file is read to its `IEND` chunk (a file cut short after the image data is an error).
//!
//! Palette indices past the palette's end give black (alpha 255), as libpng does.
//!
//! [`encode`] writes the PNGs the writer's media summaries carry: 8-bit gray, gray+alpha, RGB
//! or RGBA, one image, at a [`PngCompression`] level (what torch's writer gets from PIL is
//! the `Default` level's neighbourhood; `Fast` trades file size for speed).

use std::io::Cursor;

use super::{max_output, CodecError, Pixels};

/// The 8 bytes every PNG starts with.
pub const SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

/// Deflate turns one input byte into at most 1032 output bytes.
const RATIO: u64 = 1032;

fn err(e: impl std::fmt::Display) -> CodecError {
    CodecError::malformed("PNG", e)
}

/// Decodes one PNG to `(H, W, C)` pixels.
pub fn decode(bytes: &[u8]) -> Result<Pixels, CodecError> {
    use ::png::ColorType as C;

    let mut dec = ::png::Decoder::new(Cursor::new(bytes));
    dec.set_transformations(::png::Transformations::STRIP_16);
    dec.set_ignore_text_chunk(true);
    dec.set_ignore_iccp_chunk(true);
    let (width, height, raw_bytes) = {
        let info = dec.read_header_info().map_err(err)?;
        (
            info.width as usize,
            info.height as usize,
            info.raw_bytes() as u64,
        )
    };
    // Bound what the decoder may allocate by what this input can inflate to.
    let bound = max_output(bytes.len(), RATIO);
    let declared = (width as u64)
        .saturating_mul(height as u64)
        .saturating_mul(4)
        .max(raw_bytes);
    if declared > bound {
        return Err(CodecError::TooLarge {
            format: "PNG",
            declared,
            input: bytes.len() as u64,
        });
    }
    dec.set_limits(::png::Limits {
        bytes: usize::try_from(declared.saturating_mul(3).saturating_add(1 << 20))
            .unwrap_or(usize::MAX),
    });
    let mut reader = dec.read_info().map_err(err)?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| err("image too large"))?;
    let mut buf = vec![0u8; size];
    let out = reader.next_frame(&mut buf).map_err(err)?;
    // Read on to IEND, as libpng's `png_read_end` does for TensorFlow: a file cut short after
    // its image data is an error there too.
    reader.finish().map_err(err)?;
    let info = reader.info();
    let depth = out.bit_depth as usize;
    let line = out.line_size;
    let n = width * height;
    let pixels = match out.color_type {
        C::Grayscale | C::GrayscaleAlpha | C::Rgb | C::Rgba if depth == 8 => {
            let channels = out.color_type.samples();
            let mut data = Vec::with_capacity(n * channels);
            for y in 0..height {
                data.extend_from_slice(&buf[y * line..y * line + width * channels]);
            }
            Pixels {
                frames: None,
                height,
                width,
                channels,
                data,
            }
        }
        C::Grayscale => {
            // 1, 2 or 4 bits: unpack and scale to 0..=255.
            let scale = (255 / ((1u32 << depth) - 1)) as u8;
            let mut data = Vec::with_capacity(n);
            for y in 0..height {
                let row = &buf[y * line..(y + 1) * line];
                data.extend((0..width).map(|x| unpack(row, x, depth) * scale));
            }
            Pixels {
                frames: None,
                height,
                width,
                channels: 1,
                data,
            }
        }
        C::Indexed => {
            let palette = info.palette.as_deref().unwrap_or(&[]);
            let trns = info.trns.as_deref();
            let channels = if trns.is_some() { 4 } else { 3 };
            let mut data = Vec::with_capacity(n * channels);
            for y in 0..height {
                let row = &buf[y * line..(y + 1) * line];
                for x in 0..width {
                    let i = if depth == 8 {
                        row[x]
                    } else {
                        unpack(row, x, depth)
                    } as usize;
                    let rgb = palette.get(3 * i..3 * i + 3).unwrap_or(&[0, 0, 0]);
                    data.extend_from_slice(rgb);
                    if let Some(t) = trns {
                        data.push(t.get(i).copied().unwrap_or(255));
                    }
                }
            }
            Pixels {
                frames: None,
                height,
                width,
                channels,
                data,
            }
        }
        other => {
            return Err(err(format!(
                "unexpected output {other:?} at {depth} bits per sample"
            )))
        }
    };
    Ok(pixels)
}

/// How hard [`encode`] compresses: a speed/size trade, never a change of pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PngCompression {
    /// No compression: the fastest, the largest files.
    None,
    /// fdeflate's PNG-tuned fast mode: several times faster than zlib's default level, files
    /// somewhat larger than it on natural images.
    #[default]
    Fast,
    /// zlib-like default level with adaptive filtering: about the size PIL writes.
    Balanced,
    /// The smallest files, slowest.
    High,
}

/// The largest side a PNG may have (the format's limit is 2^31 - 1; TensorBoard and browsers
/// give up long before, so this is also a sanity bound on the caller's shape).
pub const MAX_SIDE: usize = (1 << 31) - 1;

/// Encodes `height x width` pixels of `channels` (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA) 8-bit
/// samples, row-major `(H, W, C)` in `data`, as one PNG.
///
/// Errors (never panics) when the shape is empty, too large, or disagrees with `data`.
pub fn encode(
    data: &[u8],
    height: usize,
    width: usize,
    channels: usize,
    compression: PngCompression,
) -> Result<Vec<u8>, CodecError> {
    let color = match channels {
        1 => ::png::ColorType::Grayscale,
        2 => ::png::ColorType::GrayscaleAlpha,
        3 => ::png::ColorType::Rgb,
        4 => ::png::ColorType::Rgba,
        c => return Err(err(format!("{c} channels (expected 1, 2, 3 or 4)"))),
    };
    if height == 0 || width == 0 || height > MAX_SIDE || width > MAX_SIDE {
        return Err(err(format!(
            "a {height}x{width} image (each side must be 1 to {MAX_SIDE})"
        )));
    }
    let expected = height
        .checked_mul(width)
        .and_then(|n| n.checked_mul(channels))
        .ok_or_else(|| err(format!("a {height}x{width}x{channels} image overflows")))?;
    if data.len() != expected {
        return Err(err(format!(
            "{} bytes for a {height}x{width}x{channels} image (expected {expected})",
            data.len()
        )));
    }
    // Deflate's worst case is a few bytes per 64 KiB block beyond the input; filters add a byte per row.
    let mut out = Vec::with_capacity(expected / 2 + height + 1024);
    {
        let mut e = ::png::Encoder::new(&mut out, width as u32, height as u32);
        e.set_color(color);
        e.set_depth(::png::BitDepth::Eight);
        e.set_compression(match compression {
            PngCompression::None => ::png::Compression::NoCompression,
            PngCompression::Fast => ::png::Compression::Fast,
            PngCompression::Balanced => ::png::Compression::Balanced,
            PngCompression::High => ::png::Compression::High,
        });
        let mut w = e.write_header().map_err(err)?;
        w.write_image_data(data).map_err(err)?;
        w.finish().map_err(err)?;
    }
    Ok(out)
}

/// Sample `x` of a row packed at `depth` (1, 2 or 4) bits, most significant bits first.
fn unpack(row: &[u8], x: usize, depth: usize) -> u8 {
    let bit = x * depth;
    let shift = 8 - depth - bit % 8;
    (row[bit / 8] >> shift) & ((1u8 << depth) - 1)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    fn encode(
        w: u32,
        h: u32,
        color: ::png::ColorType,
        depth: ::png::BitDepth,
        data: &[u8],
        palette: Option<&[u8]>,
        trns: Option<&[u8]>,
    ) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut e = ::png::Encoder::new(&mut out, w, h);
            e.set_color(color);
            e.set_depth(depth);
            if let Some(p) = palette {
                e.set_palette(p.to_vec());
            }
            if let Some(t) = trns {
                e.set_trns(t.to_vec());
            }
            let mut wr = e.write_header().unwrap();
            wr.write_image_data(data).unwrap();
        }
        out
    }

    /// An RGB image whose bytes count up from `seed`.
    pub(crate) fn encode_rgb(w: u32, h: u32, seed: u8) -> Vec<u8> {
        let data: Vec<u8> = (0..w * h * 3)
            .map(|i| (i as u8).wrapping_add(seed))
            .collect();
        encode(
            w,
            h,
            ::png::ColorType::Rgb,
            ::png::BitDepth::Eight,
            &data,
            None,
            None,
        )
    }

    /// What `encode` writes, `decode` (and so TensorFlow's decoder, which the decoder's tests
    /// pin) reads back unchanged, at every compression level and channel count.
    #[test]
    fn encode_round_trips_every_level_and_channel_count() {
        for c in 1..=4usize {
            for level in [
                PngCompression::None,
                PngCompression::Fast,
                PngCompression::Balanced,
                PngCompression::High,
            ] {
                let (h, w) = (7, 13);
                let data: Vec<u8> = (0..h * w * c).map(|i| (i * 37 % 251) as u8).collect();
                let png = super::encode(&data, h, w, c, level).unwrap();
                assert!(png.starts_with(SIGNATURE));
                let px = decode(&png).unwrap();
                assert_eq!((px.height, px.width, px.channels), (h, w, c));
                assert_eq!(px.data, data, "{c} channels at {level:?}");
            }
        }
    }

    #[test]
    fn encode_refuses_shapes_that_disagree_with_the_data() {
        assert!(super::encode(&[0; 12], 2, 2, 3, PngCompression::Fast).is_ok());
        assert!(super::encode(&[0; 11], 2, 2, 3, PngCompression::Fast).is_err());
        assert!(super::encode(&[0; 10], 2, 2, 5, PngCompression::Fast).is_err());
        assert!(super::encode(&[], 0, 2, 3, PngCompression::Fast).is_err());
        assert!(super::encode(&[0; 4], 1, usize::MAX, 4, PngCompression::Fast).is_err());
    }

    #[test]
    fn eight_bit_color_types_keep_their_channels() {
        use ::png::{BitDepth::Eight, ColorType as C};
        for (color, c) in [
            (C::Grayscale, 1),
            (C::GrayscaleAlpha, 2),
            (C::Rgb, 3),
            (C::Rgba, 4),
        ] {
            let data: Vec<u8> = (0..5 * 3 * c).map(|i| (i * 7) as u8).collect();
            let p = decode(&encode(5, 3, color, Eight, &data, None, None)).unwrap();
            assert_eq!(p.shape(), vec![3, 5, c as usize]);
            assert_eq!(p.data, data);
        }
    }

    #[test]
    fn gray_trns_adds_no_alpha_and_sixteen_bits_keep_the_high_byte() {
        use ::png::{BitDepth, ColorType as C};
        let p = decode(&encode(
            2,
            1,
            C::Grayscale,
            BitDepth::Eight,
            &[3, 4],
            None,
            Some(&[0, 3]),
        ))
        .unwrap();
        assert_eq!((p.channels, p.data), (1, vec![3, 4]));
        let data = [0x12, 0x34, 0xAB, 0xCD, 0xFF, 0x00];
        let p = decode(&encode(1, 1, C::Rgb, BitDepth::Sixteen, &data, None, None)).unwrap();
        assert_eq!(p.data, vec![0x12, 0xAB, 0xFF]);
    }

    #[test]
    fn low_bit_gray_is_scaled_and_palettes_expand() {
        use ::png::{BitDepth, ColorType as C};
        // 1-bit gray, width 10 (two bytes per row, the last one partly used).
        let p = decode(&encode(
            10,
            1,
            C::Grayscale,
            BitDepth::One,
            &[0b1010_0000, 0b0100_0000],
            None,
            None,
        ))
        .unwrap();
        assert_eq!(p.data, vec![255, 0, 255, 0, 0, 0, 0, 0, 0, 255]);
        let p = decode(&encode(
            3,
            1,
            C::Grayscale,
            BitDepth::Two,
            &[0b0001_1000],
            None,
            None,
        ))
        .unwrap();
        assert_eq!(p.data, vec![0, 85, 170]);
        let p = decode(&encode(
            2,
            1,
            C::Grayscale,
            BitDepth::Four,
            &[0xF3],
            None,
            None,
        ))
        .unwrap();
        assert_eq!(p.data, vec![255, 51]);
        let pal = [1, 2, 3, 4, 5, 6];
        let p = decode(&encode(
            3,
            1,
            C::Indexed,
            BitDepth::Eight,
            &[1, 0, 1],
            Some(&pal),
            None,
        ))
        .unwrap();
        assert_eq!(p.shape(), vec![1, 3, 3]);
        assert_eq!(p.data, vec![4, 5, 6, 1, 2, 3, 4, 5, 6]);
        let p = decode(&encode(
            3,
            1,
            C::Indexed,
            BitDepth::Two,
            &[0b0100_0000],
            Some(&pal),
            Some(&[9]),
        ))
        .unwrap();
        assert_eq!(p.shape(), vec![1, 3, 4]);
        assert_eq!(p.data, vec![4, 5, 6, 255, 1, 2, 3, 9, 1, 2, 3, 9]);
    }

    #[test]
    fn malformed_input_is_an_error() {
        let good = encode_rgb(4, 4, 1);
        // Every cut fails, IEND included (TensorFlow reads on to IEND).
        for n in 0..good.len() {
            assert!(decode(&good[..n]).is_err(), "prefix of {n} bytes");
        }
        let mut bad = good.clone();
        let last = bad.len() - 20;
        bad[last] ^= 0xFF; // inside IDAT: its CRC no longer matches
        assert!(decode(&bad).is_err());
        assert!(decode(SIGNATURE).is_err());
    }

    /// A header that declares far more pixels than the input can inflate to is refused
    /// before anything is allocated for them.
    #[test]
    fn declared_size_is_bounded_by_the_input() {
        let mut png = encode_rgb(1, 1, 0);
        // IHDR's width and height (bytes 16..24) to 60000 x 60000, with a fixed-up CRC.
        png[16..20].copy_from_slice(&60000u32.to_be_bytes());
        png[20..24].copy_from_slice(&60000u32.to_be_bytes());
        let crc = crc32(&png[12..29]);
        png[29..33].copy_from_slice(&crc.to_be_bytes());
        match decode(&png) {
            Err(CodecError::TooLarge {
                declared, input, ..
            }) => {
                assert!(declared >= 60000 * 60000 * 3);
                assert_eq!(input, png.len() as u64);
            }
            other => panic!("{other:?}"),
        }
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 != 0 {
                    (c >> 1) ^ 0xEDB8_8320
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
}
