//! GIF, decoded as TensorFlow's `decode_gif` does (the call `tf.image.decode_image` makes
//! for a GIF): every frame, as `uint8` `(T, H, W, 3)` on a canvas as wide as the widest frame
//! and as high as the highest (TensorFlow's choice; the logical screen size is not used).
//!
//! Frame `k` starts as a copy of frame `k - 1` (black for the first frame), then the frame's
//! rectangle (clipped to the canvas) is painted from its local color table, or the global
//! one; pixels of the frame's transparent index keep what was there. Disposal methods are
//! not applied (TensorFlow does not apply them). A frame without a color table, or an index
//! past its table's end, is an error, as in TensorFlow.
//!
//! [`encode`] writes an animation (`add_video`): every frame full-size with its own color
//! table, exact when the frame has at most 256 colors, else chosen by median cut (RGBA
//! frames: the `gif` crate's NeuQuant, [`QUANTIZER_SPEED`], which keeps transparency);
//! frames are quantized in parallel on the fork-safe pool.

use std::borrow::Cow;
use std::num::NonZeroU64;

use rayon::prelude::*;

use super::{max_output, CodecError, Pixels};

/// NeuQuant's sampling factor for RGBA frames of more than 256 colors (1 is slowest and best,
/// 30 fastest; 10 is the usual trade-off).
pub const QUANTIZER_SPEED: i32 = 10;

/// The largest width or height of a GIF.
pub const MAX_SIDE: usize = u16::MAX as usize;

/// Encodes `frames` images of `height x width x channels` `uint8` pixels (row-major, frame
/// after frame; `channels` 1 gray, 3 RGB or 4 RGBA, where alpha 0 is transparent) as an
/// animated GIF that loops forever, each frame shown for `delay` hundredths of a second.
pub fn encode(
    data: &[u8],
    frames: usize,
    height: usize,
    width: usize,
    channels: usize,
    delay: u16,
) -> Result<Vec<u8>, CodecError> {
    if !matches!(channels, 1 | 3 | 4) {
        return Err(err(format!("{channels} channels (expected 1, 3 or 4)")));
    }
    if frames == 0 || height == 0 || width == 0 || height > MAX_SIDE || width > MAX_SIDE {
        return Err(err(format!(
            "{frames} frames of {height} x {width} (expected at least one frame, sides 1 to {MAX_SIDE})"
        )));
    }
    let plane = height * width * channels;
    if data.len() != frames * plane {
        return Err(err(format!(
            "{} bytes for {frames} frames of {height} x {width} x {channels}",
            data.len()
        )));
    }
    let (w, h) = (width as u16, height as u16);
    let quantize = |src: &[u8]| -> ::gif::Frame<'static> {
        let mut frame = match channels {
            4 => {
                let mut rgba = src.to_vec();
                let mut f = ::gif::Frame::from_rgba_speed(w, h, &mut rgba, QUANTIZER_SPEED);
                if let Cow::Borrowed(b) = f.buffer {
                    f.buffer = Cow::Owned(b.to_vec());
                }
                f
            }
            1 => {
                let rgb: Vec<[u8; 3]> = src.iter().map(|&g| [g, g, g]).collect();
                indexed(w, h, &rgb)
            }
            _ => {
                let rgb: Vec<[u8; 3]> = src.chunks_exact(3).map(|p| [p[0], p[1], p[2]]).collect();
                indexed(w, h, &rgb)
            }
        };
        frame.delay = delay;
        frame
    };
    let encoded: Vec<::gif::Frame<'static>> =
        crate::runtime::parallel::install(|| data.par_chunks_exact(plane).map(quantize).collect());
    let mut out = Vec::with_capacity(data.len() / 2 + 1024);
    {
        let mut enc = ::gif::Encoder::new(&mut out, w, h, &[]).map_err(err)?;
        enc.set_repeat(::gif::Repeat::Infinite).map_err(err)?;
        for f in &encoded {
            enc.write_frame(f).map_err(err)?;
        }
    }
    Ok(out)
}

/// LZW turns one input byte into fewer than 4096 output bytes.
const RATIO: u64 = 4096;

/// One frame of opaque pixels with its own color table: exact when the frame has at most
/// 256 colors, else median cut (boxes of colors split at the median of their widest
/// channel until there are 256; each box's color is its pixels' mean).
fn indexed(width: u16, height: u16, px: &[[u8; 3]]) -> ::gif::Frame<'static> {
    let mut palette: Vec<[u8; 3]> = Vec::with_capacity(256);
    let mut lookup: std::collections::HashMap<[u8; 3], u8> = std::collections::HashMap::new();
    let mut exact = true;
    for p in px {
        if !lookup.contains_key(p) {
            if palette.len() == 256 {
                exact = false;
                break;
            }
            lookup.insert(*p, palette.len() as u8);
            palette.push(*p);
        }
    }
    let indices: Vec<u8> = if exact {
        px.iter().map(|p| lookup[p]).collect()
    } else {
        palette.clear();
        let mut order: Vec<u32> = (0..px.len() as u32).collect();
        let mut boxes: Vec<(usize, usize)> = vec![(0, px.len())];
        let widest = |order: &[u32]| -> (usize, u8) {
            let mut lo = [255u8; 3];
            let mut hi = [0u8; 3];
            for &i in order {
                let p = px[i as usize];
                for c in 0..3 {
                    lo[c] = lo[c].min(p[c]);
                    hi[c] = hi[c].max(p[c]);
                }
            }
            (0..3)
                .map(|c| (c, hi[c] - lo[c]))
                .max_by_key(|&(c, r)| (r, std::cmp::Reverse(c)))
                .unwrap_or((0, 0))
        };
        let mut ranges: Vec<(usize, u8)> = vec![widest(&order)];
        while boxes.len() < 256 {
            // The box of the widest channel range (ties: the most pixels).
            let Some((k, _)) = ranges
                .iter()
                .enumerate()
                .filter(|(_, r)| r.1 > 0)
                .max_by_key(|(k, r)| (r.1, boxes[*k].1 - boxes[*k].0))
            else {
                break;
            };
            let (start, end) = boxes[k];
            let c = ranges[k].0;
            let slice = &mut order[start..end];
            let mid = slice.len() / 2;
            slice.select_nth_unstable_by_key(mid, |&i| px[i as usize][c]);
            boxes[k] = (start, start + mid);
            boxes.push((start + mid, end));
            ranges[k] = widest(&order[start..start + mid]);
            ranges.push(widest(&order[start + mid..end]));
        }
        let mut indices = vec![0u8; px.len()];
        for (k, &(start, end)) in boxes.iter().enumerate() {
            let mut sum = [0u64; 3];
            for &i in &order[start..end] {
                indices[i as usize] = k as u8;
                for c in 0..3 {
                    sum[c] += u64::from(px[i as usize][c]);
                }
            }
            let n = (end - start).max(1) as u64;
            palette.push(sum.map(|v| ((v + n / 2) / n) as u8));
        }
        indices
    };
    ::gif::Frame {
        width,
        height,
        buffer: Cow::Owned(indices),
        palette: Some(palette.concat()),
        ..Default::default()
    }
}

fn err(e: impl std::fmt::Display) -> CodecError {
    CodecError::malformed("GIF", e)
}

/// One frame as read: its rectangle, color indices, transparent index and local table.
struct Raw {
    left: usize,
    top: usize,
    width: usize,
    height: usize,
    indices: Vec<u8>,
    transparent: Option<u8>,
    palette: Option<Vec<u8>>,
}

/// Decodes every frame of one GIF to `(T, H, W, 3)` pixels.
pub fn decode(bytes: &[u8]) -> Result<Pixels, CodecError> {
    let bound = max_output(bytes.len(), RATIO);
    let too_large = |declared: u64| CodecError::TooLarge {
        format: "GIF",
        declared,
        input: bytes.len() as u64,
    };
    let mut opts = ::gif::DecodeOptions::new();
    opts.set_color_output(::gif::ColorOutput::Indexed);
    opts.check_frame_consistency(false);
    opts.set_memory_limit(::gif::MemoryLimit::Bytes(
        NonZeroU64::new(bound).unwrap_or(NonZeroU64::MIN),
    ));
    let mut dec = opts.read_info(bytes).map_err(err)?;
    let global = dec.global_palette().map(<[u8]>::to_vec);
    let mut raws: Vec<Raw> = Vec::new();
    let mut indices_total = 0u64;
    while let Some(frame) = dec.read_next_frame().map_err(err)? {
        let (fw, fh) = (usize::from(frame.width), usize::from(frame.height));
        if frame.buffer.len() < fw * fh {
            return Err(err("frame data shorter than its rectangle"));
        }
        indices_total += (fw * fh) as u64;
        if indices_total > bound {
            return Err(too_large(indices_total));
        }
        raws.push(Raw {
            left: usize::from(frame.left),
            top: usize::from(frame.top),
            width: fw,
            height: fh,
            indices: frame.buffer[..fw * fh].to_vec(),
            transparent: frame.transparent,
            palette: frame.palette.clone(),
        });
    }
    if raws.is_empty() {
        return Err(err("no frames"));
    }
    // TensorFlow's canvas: the largest frame width and height (not the logical screen).
    let width = raws.iter().map(|r| r.width).max().unwrap_or(0);
    let height = raws.iter().map(|r| r.height).max().unwrap_or(0);
    let canvas = width * height * 3;
    let declared = (canvas as u64).saturating_mul(raws.len() as u64);
    if declared > bound {
        return Err(too_large(declared));
    }
    let mut data = vec![0u8; canvas * raws.len()];
    for (k, f) in raws.iter().enumerate() {
        if k > 0 {
            data.copy_within((k - 1) * canvas..k * canvas, k * canvas);
        }
        let dst = &mut data[k * canvas..(k + 1) * canvas];
        let palette = f
            .palette
            .as_deref()
            .or(global.as_deref())
            .ok_or_else(|| err(format!("missing color map for frame {k}")))?;
        let colors = palette.len() / 3;
        for y in f.top..(f.top + f.height).min(height) {
            let src = &f.indices[(y - f.top) * f.width..(y - f.top + 1) * f.width];
            for x in f.left..(f.left + f.width).min(width) {
                let idx = src[x - f.left];
                if f.transparent == Some(idx) {
                    continue;
                }
                let i = usize::from(idx);
                if i >= colors {
                    return Err(err(format!(
                        "found color index {i} outside of color map range {colors}"
                    )));
                }
                let o = (y * width + x) * 3;
                dst[o..o + 3].copy_from_slice(&palette[3 * i..3 * i + 3]);
            }
        }
    }
    Ok(Pixels {
        frames: Some(raws.len()),
        height,
        width,
        channels: 3,
        data,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A 3x2 GIF of a full frame and a transparent patch.
    pub(crate) fn two_frames() -> Vec<u8> {
        encode(
            3,
            2,
            &PAL,
            &[
                (0, 0, 3, 2, vec![1, 2, 3, 3, 2, 1], None, None),
                (1, 1, 2, 1, vec![0, 3], Some(0), None),
            ],
        )
    }

    /// A GIF of the given frames: (left, top, width, height, indices, transparent index).
    #[allow(clippy::type_complexity)]
    fn encode(
        w: u16,
        h: u16,
        global: &[u8],
        frames: &[(u16, u16, u16, u16, Vec<u8>, Option<u8>, Option<Vec<u8>>)],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut e = ::gif::Encoder::new(&mut out, w, h, global).unwrap();
            for (left, top, fw, fh, idx, transparent, local) in frames {
                let mut f = ::gif::Frame::<'_> {
                    left: *left,
                    top: *top,
                    width: *fw,
                    height: *fh,
                    transparent: *transparent,
                    ..Default::default()
                };
                f.buffer = std::borrow::Cow::Borrowed(idx);
                f.palette = local.clone();
                e.write_frame(&f).unwrap();
            }
        }
        out
    }

    const PAL: [u8; 12] = [0, 0, 0, 10, 20, 30, 40, 50, 60, 70, 80, 90];

    #[test]
    fn frames_composite_on_the_previous_one() {
        let gif = encode(
            3,
            2,
            &PAL,
            &[
                (0, 0, 3, 2, vec![1, 2, 3, 3, 2, 1], None, None),
                // A 2x1 patch at (1, 1) whose index 0 is transparent.
                (1, 1, 2, 1, vec![0, 3], Some(0), None),
                // A local table.
                (0, 0, 1, 1, vec![1], None, Some(vec![1, 1, 1, 2, 2, 2])),
            ],
        );
        let p = decode(&gif).unwrap();
        assert_eq!(p.shape(), vec![3, 2, 3, 3]);
        let f0 = [
            10, 20, 30, 40, 50, 60, 70, 80, 90, 70, 80, 90, 40, 50, 60, 10, 20, 30,
        ];
        assert_eq!(&p.data[..18], &f0);
        let mut f1 = f0;
        f1[15..18].copy_from_slice(&[70, 80, 90]);
        assert_eq!(&p.data[18..36], &f1);
        let mut f2 = f1;
        f2[0..3].copy_from_slice(&[2, 2, 2]);
        assert_eq!(&p.data[36..], &f2);
    }

    #[test]
    fn a_partial_first_frame_leaves_black_and_transparent_is_black() {
        // The canvas is 2x2 (the largest frame), not the 4x4 screen; the 1x2 first frame at
        // x = 1 leaves column 0 black, and its transparent pixel is black too.
        let gif = encode(
            4,
            4,
            &PAL,
            &[
                (1, 0, 1, 2, vec![2, 1], Some(1), None),
                (0, 0, 2, 2, vec![3, 0, 0, 3], Some(0), None),
            ],
        );
        let p = decode(&gif).unwrap();
        assert_eq!(p.shape(), vec![2, 2, 2, 3]);
        let f0 = [0, 0, 0, 40, 50, 60, 0, 0, 0, 0, 0, 0];
        assert_eq!(&p.data[..12], &f0);
        assert_eq!(
            &p.data[12..],
            &[70, 80, 90, 40, 50, 60, 0, 0, 0, 70, 80, 90]
        );
    }

    #[test]
    fn malformed_input_is_an_error() {
        let good = encode(
            3,
            2,
            &PAL,
            &[(0, 0, 3, 2, vec![1, 2, 3, 3, 2, 1], None, None)],
        );
        assert!(decode(&good).is_ok());
        for n in 0..good.len() - 1 {
            // Any cut either fails or, past the last frame's data, still decodes that frame.
            if let Ok(p) = decode(&good[..n]) {
                assert_eq!(p.frames, Some(1), "prefix of {n} bytes");
            }
        }
        assert!(decode(&good[..13]).is_err());
        // An index past the table (4 colors) is an error, as in TensorFlow.
        let bad = encode(1, 1, &PAL, &[(0, 0, 1, 1, vec![7], None, None)]);
        assert!(matches!(decode(&bad), Err(CodecError::Malformed { .. })));
        // No color table at all: a frame descriptor without a local table, in a file
        // without a global one.
        let mut none = b"GIF89a\x01\x00\x01\x00\x00\x00\x00".to_vec();
        none.extend_from_slice(b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00;");
        assert!(decode(&none).is_err());
    }

    /// One large frame (little input: one color) and many one-pixel frames: each frame
    /// costs a whole canvas of output for a few bytes of input, and the total declared is
    /// refused before the canvases are allocated. A frame declaring 65535 x 65535 is
    /// refused by the decoder's memory limit (the same bound) before its indices are.
    #[test]
    fn declared_size_is_bounded_by_the_input() {
        let mut frames = vec![(
            0u16,
            0u16,
            2000u16,
            2000u16,
            vec![1u8; 4_000_000],
            None,
            None,
        )];
        frames.extend((0..24).map(|_| (0u16, 0u16, 1u16, 1u16, vec![2u8], None, None)));
        let gif = encode(2000, 2000, &PAL, &frames);
        assert!(gif.len() < 100_000, "{}", gif.len());
        match decode(&gif) {
            Err(CodecError::TooLarge {
                declared, input, ..
            }) => {
                assert!(declared > max_output(gif.len(), RATIO));
                assert_eq!(input, gif.len() as u64);
            }
            other => panic!("{:?}", other.map(|p| p.shape())),
        }
        // By hand (the encoder wants the pixels): a 65535 x 65535 frame of 4 bytes of data.
        let mut huge = b"GIF89a\xff\xff\xff\xff\x81\x00\x00".to_vec();
        huge.extend_from_slice(&PAL);
        huge.extend_from_slice(b",\x00\x00\x00\x00\xff\xff\xff\xff\x00\x02\x02\x44\x01\x00;");
        let e = decode(&huge).unwrap_err().to_string();
        assert!(e.contains("Out of Memory"), "{e}"); // the memory limit, before allocating
    }
    #[test]
    fn encoded_frames_decode_back() {
        // Few colors: exact. Gray and RGBA too.
        let (t, h, w) = (3usize, 5usize, 7usize);
        let rgb: Vec<u8> = (0..t * h * w * 3)
            .map(|i| ((i * 37) % 5 * 60) as u8)
            .collect();
        let g = super::encode(&rgb, t, h, w, 3, 25).unwrap();
        let p = decode(&g).unwrap();
        assert_eq!(p.shape(), vec![t, h, w, 3]);
        assert_eq!(p.data, rgb);
        let gray: Vec<u8> = (0..t * h * w).map(|i| (i * 11 % 256) as u8).collect();
        let p = decode(&super::encode(&gray, t, h, w, 1, 10).unwrap()).unwrap();
        let expect: Vec<u8> = gray.iter().flat_map(|&v| [v, v, v]).collect();
        assert_eq!(p.data, expect);
        // Many colors: close (median cut).
        let (h, w) = (32usize, 32usize);
        let smooth: Vec<u8> = (0..h * w * 3)
            .map(|i| {
                let (px, c) = (i / 3, i % 3);
                [(px / w) * 8, (px % w) * 8, 40][c] as u8
            })
            .collect();
        let p = decode(&super::encode(&smooth, 1, h, w, 3, 10).unwrap()).unwrap();
        let err: f64 = p
            .data
            .iter()
            .zip(&smooth)
            .map(|(a, b)| f64::from(a.abs_diff(*b)))
            .sum::<f64>()
            / smooth.len() as f64;
        assert!(err < 3.0, "{err}"); // 1024 colors in 256: a few levels
        let mut d = ::gif::DecodeOptions::new().read_info(&g[..]).unwrap();
        assert_eq!(d.read_next_frame().unwrap().unwrap().delay, 25);
        assert!(super::encode(&rgb, t, h, w, 2, 1).is_err());
        assert!(super::encode(&rgb[1..], 3, 5, 7, 3, 1).is_err());
        assert!(super::encode(&[], 0, 5, 7, 3, 1).is_err());
    }
}
