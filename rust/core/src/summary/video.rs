//! Video: `add_video`'s `Summary.Image` holding an animated GIF, tiled as torch tiles it.
//!
//! torch's `_prepare_video` turns `(N, T, C, H, W)` into `T` frames of `(rows * H, cols * W,
//! C)`: the batch is padded with black clips to the next power of two, laid out on
//! `rows = 2 ** ((N.bit_length() - 1) // 2)` rows of `cols = padded / rows` clips, clip `i`
//! at row `i / cols`, column `i % cols`. Float input is scaled by 255 in `float32`, clipped to
//! `[0, 255]` and truncated (torch's `(x * 255).clip(0, 255).astype(uint8)`); `uint8` input is
//! used as given (torch divides by 255 and multiplies back, which can lower a level by one).
//! The summary's `height`, `width` and `colorspace` are the tiled frame's, as torch writes
//! them. NaN and infinite pixels are refused.

use super::image::Sample;
use super::value;
use crate::codec::gif;
use crate::proto::summary;

/// Why a video cannot be written; the message names the argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{arg}: {detail}")]
pub struct VideoError {
    /// `vid_tensor` or `fps`.
    pub arg: &'static str,
    /// What was expected and what was given.
    pub detail: String,
}

fn bad(arg: &'static str, detail: String) -> VideoError {
    VideoError { arg, detail }
}

/// A checked `(N, T, C, H, W)` video and the grid its frames are tiled on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoLayout {
    /// Clips in the batch.
    pub n: usize,
    /// Frames.
    pub t: usize,
    /// Channels (1, 3 or 4).
    pub c: usize,
    /// Rows of a clip.
    pub h: usize,
    /// Columns of a clip.
    pub w: usize,
    /// Clips per grid column.
    pub rows: usize,
    /// Clips per grid row.
    pub cols: usize,
    /// GIF frame delay, hundredths of a second.
    pub delay: u16,
}

impl VideoLayout {
    /// Checks a video of `shape` with pixels `data` (C order), shown at `fps`.
    pub fn check<T: Sample>(
        data: &[T],
        shape: &[usize],
        fps: f64,
    ) -> Result<VideoLayout, VideoError> {
        let layout = VideoLayout::for_shape(shape, fps)?;
        debug_assert_eq!(data.len(), shape.iter().product::<usize>());
        if let Some(i) = data.iter().position(|v| !v.finite()) {
            return Err(bad(
                "vid_tensor",
                format!("expected finite pixels, found NaN or infinity at flat index {i}"),
            ));
        }
        Ok(layout)
    }

    /// The layout of a video of `shape` shown at `fps`, checked without its pixels (for pixels
    /// that arrive later: a device's copy still in flight).
    pub fn for_shape(shape: &[usize], fps: f64) -> Result<VideoLayout, VideoError> {
        if !fps.is_finite() || fps <= 0.0 {
            return Err(bad(
                "fps",
                format!("expected a positive number of frames per second, got {fps}"),
            ));
        }
        let &[n, t, c, h, w] = shape else {
            return Err(bad(
                "vid_tensor",
                format!("expected shape (N, T, C, H, W), got {shape:?}"),
            ));
        };
        if shape.contains(&0) {
            return Err(bad(
                "vid_tensor",
                format!("expected no empty dimension, got shape {shape:?}"),
            ));
        }
        if !matches!(c, 1 | 3 | 4) {
            return Err(bad(
                "vid_tensor",
                format!("expected 1, 3 or 4 channels (dimension 2 of (N, T, C, H, W)), got shape {shape:?}"),
            ));
        }
        let padded = n.checked_next_power_of_two().unwrap_or(usize::MAX);
        let rows = 1usize << ((usize::BITS - n.leading_zeros() - 1) / 2);
        let cols = padded / rows;
        let (th, tw) = (rows.saturating_mul(h), cols.saturating_mul(w));
        if th > gif::MAX_SIDE || tw > gif::MAX_SIDE {
            return Err(bad(
                "vid_tensor",
                format!(
                    "the tiled frame would be {th} x {tw} pixels ({rows} x {cols} clips), more \
                     than a GIF's {} per side; got shape {shape:?}",
                    gif::MAX_SIDE
                ),
            ));
        }
        let delay = (100.0 / fps).round().min(f64::from(u16::MAX)) as u16;
        Ok(VideoLayout {
            n,
            t,
            c,
            h,
            w,
            rows,
            cols,
            delay,
        })
    }

    /// The tiled frame's height and width.
    pub fn frame_size(&self) -> (usize, usize) {
        (self.rows * self.h, self.cols * self.w)
    }

    /// The `T` tiled frames, `(T, rows * H, cols * W, C)` `uint8` (padding clips black).
    pub fn tile<T: Sample>(&self, data: &[T]) -> Vec<u8> {
        let (fh, fw) = self.frame_size();
        let (t, c, h, w) = (self.t, self.c, self.h, self.w);
        let mut out = vec![0u8; t * fh * fw * c];
        let clip_len = t * c * h * w;
        for clip in 0..self.n {
            let (r, col) = (clip / self.cols, clip % self.cols);
            let src = &data[clip * clip_len..(clip + 1) * clip_len];
            for f in 0..t {
                let frame = &mut out[f * fh * fw * c..(f + 1) * fh * fw * c];
                for ch in 0..c {
                    let plane = &src[((f * c) + ch) * h * w..((f * c) + ch + 1) * h * w];
                    for y in 0..h {
                        let row = &plane[y * w..(y + 1) * w];
                        let base = ((r * h + y) * fw + col * w) * c + ch;
                        for (x, v) in row.iter().enumerate() {
                            frame[base + x * c] = v.pixel();
                        }
                    }
                }
            }
        }
        out
    }

    /// `add_video`'s value: tag as given, a `Summary.Image` of the GIF.
    pub fn value<T: Sample>(
        &self,
        tag: String,
        data: &[T],
    ) -> Result<summary::Value, crate::codec::CodecError> {
        let (fh, fw) = self.frame_size();
        let frames = self.tile(data);
        let gif = gif::encode(&frames, self.t, fh, fw, self.c, self.delay)?;
        let image = summary::Image {
            height: fh as i32,
            width: fw as i32,
            colorspace: self.c as i32,
            encoded_image_string: gif,
        };
        Ok(value(tag, None, summary::value::Value::Image(image)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_is_torchs() {
        // (N, rows, cols) from torch's _prepare_video.
        for (n, rows, cols) in [
            (1, 1, 1),
            (2, 1, 2),
            (3, 1, 4),
            (4, 2, 2),
            (5, 2, 4),
            (9, 2, 8),
            (16, 4, 4),
        ] {
            let data = vec![0u8; n * 2 * 3 * 2 * 2];
            let l = VideoLayout::check(&data, &[n, 2, 3, 2, 2], 4.0).unwrap();
            assert_eq!((l.rows, l.cols), (rows, cols), "N = {n}");
        }
    }

    #[test]
    fn tiles_clips_row_major() {
        // 3 clips of 1 frame, 1 channel, 1x2: grid 1 x 4, the 4th black.
        let data: Vec<u8> = vec![1, 2, 3, 4, 5, 6];
        let l = VideoLayout::check(&data, &[3, 1, 1, 1, 2], 4.0).unwrap();
        assert_eq!(l.tile(&data), vec![1, 2, 3, 4, 5, 6, 0, 0]);
        let f = [0.5f32, 2.0, -1.0, 1.0];
        let l = VideoLayout::check(&f, &[1, 1, 1, 2, 2], 4.0).unwrap();
        assert_eq!(l.tile(&f), vec![127, 255, 0, 255]);
        assert_eq!(l.delay, 25);
        let v = l.value("v".into(), &f).unwrap();
        match v.value {
            Some(summary::value::Value::Image(i)) => {
                assert_eq!((i.height, i.width, i.colorspace), (2, 2, 1));
                let p = crate::codec::gif::decode(&i.encoded_image_string).unwrap();
                assert_eq!(
                    p.data,
                    vec![127, 127, 127, 255, 255, 255, 0, 0, 0, 255, 255, 255]
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_input_names_the_argument() {
        assert_eq!(
            VideoLayout::check(&[0u8], &[1, 1, 1, 1, 1], 0.0)
                .unwrap_err()
                .arg,
            "fps"
        );
        assert_eq!(
            VideoLayout::check(&[0u8], &[1, 1, 1, 1], 4.0)
                .unwrap_err()
                .arg,
            "vid_tensor"
        );
        assert!(VideoLayout::check(&[0u8; 2], &[1, 1, 2, 1, 1], 4.0).is_err());
        assert!(VideoLayout::check(&[f32::NAN], &[1, 1, 1, 1, 1], 4.0).is_err());
        assert!(VideoLayout::check::<u8>(&[], &[1, 0, 1, 1, 1], 4.0).is_err());
        assert!(VideoLayout::check(&vec![0u8; 70_000], &[1, 1, 1, 1, 70_000], 4.0).is_err());
    }
}
