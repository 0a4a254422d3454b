//! GIF, decoded as TensorFlow's `decode_gif` does (the call `tf.image.decode_image` makes
//! for a GIF): every frame, as `uint8` `(T, H, W, 3)` on the logical screen.
//!
//! Frame `k` starts as a copy of frame `k - 1` (black for the first frame), then the frame's
//! rectangle (clipped to the screen) is painted from its local color table, or the global
//! one; pixels of the frame's transparent index keep what was there. Disposal methods are
//! not applied (TensorFlow does not apply them). A frame without a color table, or an index
//! past its table's end, is an error, as in TensorFlow.

use std::num::NonZeroU64;

use super::{max_output, CodecError, Pixels};

/// LZW turns one input byte into fewer than 4096 output bytes.
const RATIO: u64 = 4096;

fn err(e: impl std::fmt::Display) -> CodecError {
    CodecError::malformed("GIF", e)
}

/// Decodes every frame of one GIF to `(T, H, W, 3)` pixels.
pub fn decode(bytes: &[u8]) -> Result<Pixels, CodecError> {
    let bound = max_output(bytes.len(), RATIO);
    let mut opts = ::gif::DecodeOptions::new();
    opts.set_color_output(::gif::ColorOutput::Indexed);
    opts.check_frame_consistency(false);
    opts.set_memory_limit(::gif::MemoryLimit::Bytes(
        NonZeroU64::new(bound).unwrap_or(NonZeroU64::MIN),
    ));
    let mut dec = opts.read_info(bytes).map_err(err)?;
    let width = usize::from(dec.width());
    let height = usize::from(dec.height());
    let canvas = width * height * 3;
    let global = dec.global_palette().map(<[u8]>::to_vec);
    let mut data: Vec<u8> = Vec::new();
    let mut frames = 0usize;
    while let Some(frame) = dec.read_next_frame().map_err(err)? {
        let declared = (canvas as u64).saturating_mul(frames as u64 + 1);
        if declared > bound {
            return Err(CodecError::TooLarge {
                format: "GIF",
                declared,
                input: bytes.len() as u64,
            });
        }
        let start = data.len();
        if frames == 0 {
            data.resize(canvas, 0);
        } else {
            data.extend_from_within(start - canvas..start);
        }
        let dst = &mut data[start..];
        let palette = frame
            .palette
            .as_deref()
            .or(global.as_deref())
            .ok_or_else(|| err("missing color map"))?;
        let colors = palette.len() / 3;
        let (fw, fh) = (usize::from(frame.width), usize::from(frame.height));
        let (left, top) = (usize::from(frame.left), usize::from(frame.top));
        if frame.buffer.len() < fw * fh {
            return Err(err("frame data shorter than its rectangle"));
        }
        for y in top..(top + fh).min(height) {
            let src = &frame.buffer[(y - top) * fw..(y - top + 1) * fw];
            for x in left..(left + fw).min(width) {
                let idx = src[x - left];
                if frame.transparent == Some(idx) {
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
        frames += 1;
    }
    if frames == 0 {
        return Err(err("no frames"));
    }
    Ok(Pixels {
        frames: Some(frames),
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
        let gif = encode(2, 2, &PAL, &[(1, 0, 1, 2, vec![2, 1], Some(1), None)]);
        let p = decode(&gif).unwrap();
        assert_eq!(p.shape(), vec![1, 2, 2, 3]);
        assert_eq!(p.data, vec![0, 0, 0, 40, 50, 60, 0, 0, 0, 0, 0, 0]);
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

    /// A screen that declares 65535 x 65535 with many one-pixel frames is refused once the
    /// frames declared exceed what the input can hold, before their canvases are allocated.
    #[test]
    fn declared_size_is_bounded_by_the_input() {
        let frames: Vec<_> = (0..64)
            .map(|_| (0u16, 0u16, 1u16, 1u16, vec![1u8], None, None))
            .collect();
        let gif = encode(u16::MAX, u16::MAX, &PAL, &frames);
        match decode(&gif) {
            Err(CodecError::TooLarge {
                declared, input, ..
            }) => {
                assert!(declared > max_output(gif.len(), RATIO));
                assert_eq!(input, gif.len() as u64);
            }
            other => panic!("{:?}", other.map(|p| p.shape())),
        }
    }
}
