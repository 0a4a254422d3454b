//! Images: the `Summary.Image` values of torch's `add_image`, `add_images`,
//! `add_image_with_boxes` and `add_figure` (which logs a rendered figure through `add_image`).
//!
//! Every pixel layout rule is torch's (`torch.utils.tensorboard._utils.convert_to_HWC`,
//! `make_grid` and `summary.image`/`image_boxes`/`make_image`), so that the decoded pixels are
//! torch's for the same input:
//!
//! * `dataformats` is a permutation, in any case, of `HW` (two axes), `HWC` (three) or `NCHW`
//!   (four) ([`Dataformats`]); the input's rank must be the format's length.
//! * Two axes: gray, written as RGB (the value in all three channels). Three axes: 1 channel is
//!   written as RGB the same way; 2 (gray + alpha), 3 (RGB) and 4 (RGBA) are kept.
//! * Four axes: a batch of 1- or 3-channel images tiled into `make_grid`'s grid: `min(N, 8)`
//!   columns, `ceil(N / columns)` rows, row by row, empty cells black; written as RGB.
//! * Samples ([`Sample`]): `uint8` is taken as it is; every other type is converted to
//!   `float32`, multiplied by 255 in `float32`, clipped to `[0, 255]` and truncated, as torch's
//!   `(x.astype(float32) * 255).clip(0, 255).astype(uint8)`. NaN and infinities are refused
//!   ([`check_finite`]).
//! * `Summary.Image.height`, `width` and `colorspace` are the tiled image's before any
//!   `rescale` (torch records them before resizing).
//! * Boxes ([`draw`]) are drawn on the tiled image before it is rescaled ([`resize`], PIL's
//!   Lanczos filter), as torch draws them with PIL.

use crate::codec::png::{self, PngCompression, MAX_SIDE};
use crate::codec::Pixels;
use crate::dtype::half::{BF16, F16};
use crate::proto::summary;

pub mod draw;
mod font;
pub mod resize;

/// Why an image cannot be made; each message starts with the argument of torch's method it
/// is about (`dataformats`, `img_tensor`, `box_tensor`, `labels`, `rescale`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ImageError(pub String);

fn fail<T>(msg: String) -> Result<T, ImageError> {
    Err(ImageError(msg))
}

/// An element type images are given in, with torch's conversion to an 8-bit sample.
pub trait Sample: Copy + Send + Sync + 'static {
    /// torch's `(x.astype(float32) * scale).clip(0, 255).astype(uint8)`: `scale` is 1 for
    /// `uint8` and 255 for every other type.
    fn pixel(self) -> u8;
    /// Whether the value is finite (integers always are).
    #[inline]
    fn finite(self) -> bool {
        true
    }
}

#[inline]
fn scaled(x: f32) -> u8 {
    // Clipped then truncated toward zero, as numpy's `clip(0, 255).astype(uint8)`.
    (x * 255.0).clamp(0.0, 255.0) as u8
}

impl Sample for u8 {
    #[inline]
    fn pixel(self) -> u8 {
        self
    }
}

macro_rules! integer_samples {
    ($($t:ty),*) => {$(
        impl Sample for $t {
            #[inline]
            #[allow(clippy::cast_lossless)] // `as`, as numpy's cast, for every width
            fn pixel(self) -> u8 {
                scaled(self as f32)
            }
        }
    )*};
}
integer_samples!(i8, i16, i32, i64, u16, u32, u64);

impl Sample for f32 {
    #[inline]
    fn pixel(self) -> u8 {
        scaled(self)
    }
    #[inline]
    fn finite(self) -> bool {
        self.is_finite()
    }
}

impl Sample for f64 {
    #[inline]
    fn pixel(self) -> u8 {
        scaled(self as f32)
    }
    #[inline]
    fn finite(self) -> bool {
        self.is_finite()
    }
}

impl Sample for F16 {
    #[inline]
    fn pixel(self) -> u8 {
        scaled(self.to_f32())
    }
    #[inline]
    fn finite(self) -> bool {
        self.to_f32().is_finite()
    }
}

impl Sample for BF16 {
    #[inline]
    fn pixel(self) -> u8 {
        // torch rounds bfloat16 to float16 first; after clipping to [0, 255] the result is the
        // same as from the exact value (both round or saturate to the same sample).
        scaled(self.to_f32())
    }
    #[inline]
    fn finite(self) -> bool {
        self.to_f32().is_finite()
    }
}

/// Refuses NaN and infinite samples (torch writes whatever its cast to `uint8` makes of them).
pub fn check_finite<T: Sample>(data: &[T]) -> Result<(), ImageError> {
    // A branch-free pass the compiler vectorizes; the position is found only on failure.
    if data.iter().fold(true, |ok, v| ok & v.finite()) {
        return Ok(());
    }
    let at = data.iter().position(|v| !v.finite()).unwrap_or(0);
    fail(format!(
        "img_tensor: pixel values must be finite; element {at} (in C order) is NaN or infinite"
    ))
}

/// A parsed `dataformats` string: which input axis holds each of N, C, H and W.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dataformats {
    rank: usize,
    n: Option<usize>,
    c: Option<usize>,
    h: usize,
    w: usize,
}

impl Dataformats {
    /// Parses `text`: a permutation of `HW`, `HWC` or `NCHW`, in any case.
    pub fn parse(text: &str) -> Result<Self, ImageError> {
        let upper = text.to_ascii_uppercase();
        let letters = match upper.len() {
            2 => "HW",
            3 => "HWC",
            4 => "NCHW",
            _ => {
                return fail(format!(
                    "dataformats: expected a permutation of 'HW', 'HWC' or 'NCHW' (such as 'CHW', \
                     'HWC', 'HW', 'WH', 'NCHW', 'NHWC'), got {text:?}"
                ))
            }
        };
        let find = |c: char| upper.find(c);
        let ok = upper.chars().all(|c| letters.contains(c))
            && letters.chars().all(|c| upper.matches(c).count() == 1);
        if !ok {
            return fail(format!(
                "dataformats: a {}-letter format must use each of {letters} exactly once, got \
                 {text:?}",
                letters.len()
            ));
        }
        Ok(Dataformats {
            rank: upper.len(),
            n: find('N'),
            c: find('C'),
            h: find('H').unwrap_or(0),
            w: find('W').unwrap_or(0),
        })
    }

    /// The number of axes the input must have.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// Checks `shape` (the input's, in C order) against the format; returns how its elements
    /// map to the written image.
    pub fn layout(&self, shape: &[usize]) -> Result<Layout, ImageError> {
        if shape.len() != self.rank {
            return fail(format!(
                "img_tensor: shape {shape:?} has {} dimensions; dataformats of {} letters needs {}",
                shape.len(),
                self.rank,
                self.rank
            ));
        }
        // C-order strides of the input, in elements.
        let mut strides = vec![0usize; shape.len()];
        let mut s = 1usize;
        for i in (0..shape.len()).rev() {
            strides[i] = s;
            s = s.saturating_mul(shape[i]);
        }
        let dim = |a: Option<usize>| a.map_or(1, |i| shape[i]);
        let stride = |a: Option<usize>| a.map_or(0, |i| strides[i]);
        let (n, c, h, w) = (dim(self.n), dim(self.c), shape[self.h], shape[self.w]);
        if n == 0 || c == 0 || h == 0 || w == 0 {
            return fail(format!(
                "img_tensor: shape {shape:?} is empty; every dimension must be at least 1"
            ));
        }
        let channels = match (self.rank, c) {
            (4, 1 | 3) => 3,
            (4, _) => {
                return fail(format!(
                    "img_tensor: a batch (4 dimensions) must have 1 or 3 channels, got {c} \
                     (shape {shape:?})"
                ))
            }
            (_, 1) => 3,
            (_, 2..=4) => c,
            _ => {
                return fail(format!(
                    "img_tensor: an image must have 1, 2, 3 or 4 channels, got {c} (shape \
                     {shape:?})"
                ))
            }
        };
        let cols = n.min(8);
        let rows = n.div_ceil(cols);
        let (oh, ow) = (h.saturating_mul(rows), w.saturating_mul(cols));
        let bytes = oh.saturating_mul(ow).saturating_mul(channels);
        if oh > MAX_SIDE || ow > MAX_SIDE || bytes > isize::MAX as usize / 2 {
            return fail(format!(
                "img_tensor: a {oh}x{ow} image (from shape {shape:?}) is too large for PNG \
                 (each side at most {MAX_SIDE})"
            ));
        }
        Ok(Layout {
            batch: n,
            in_channels: c,
            channels,
            height: h,
            width: w,
            rows,
            cols,
            strides: [
                stride(self.n),
                stride(self.c),
                strides[self.h],
                strides[self.w],
            ],
            elements: s,
        })
    }
}

/// How the input's elements (C order) become the written image's pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    batch: usize,
    in_channels: usize,
    channels: usize,
    height: usize,
    width: usize,
    rows: usize,
    cols: usize,
    /// Input strides (elements) of N, C, H and W; 0 for an absent axis.
    strides: [usize; 4],
    elements: usize,
}

impl Layout {
    /// The number of input elements.
    pub fn elements(&self) -> usize {
        self.elements
    }

    /// The written image's `(height, width, channels)` (before any rescale).
    pub fn shape(&self) -> (usize, usize, usize) {
        (
            self.height * self.rows,
            self.width * self.cols,
            self.channels,
        )
    }

    /// The image as torch writes it: `(H, W, C)` 8-bit samples (see the module doc).
    /// `data` is the input in C order, `self.elements()` long.
    pub fn pixels<T: Sample>(&self, data: &[T]) -> Result<Pixels, ImageError> {
        if data.len() != self.elements {
            return fail(format!(
                "img_tensor: {} elements for a shape of {} elements",
                data.len(),
                self.elements
            ));
        }
        let (oh, ow, oc) = self.shape();
        let mut out = vec![0u8; oh * ow * oc];
        let [sn, sc, sh, sw] = self.strides;
        // Channel `k` of the output reads input channel `k`, or channel 0 for gray.
        let cmap: Vec<usize> = (0..oc)
            .map(|k| if self.in_channels == 1 { 0 } else { k * sc })
            .collect();
        let row_len = ow * oc;
        for i in 0..self.batch {
            let (ty, tx) = (i / self.cols, i % self.cols);
            for y in 0..self.height {
                let src_row = i * sn + y * sh;
                let dst = (ty * self.height + y) * row_len + tx * self.width * oc;
                let dst = &mut out[dst..dst + self.width * oc];
                if oc == 3 && sw == 1 && sc == 0 {
                    // Gray, contiguous rows.
                    for (x, px) in dst.chunks_exact_mut(3).enumerate() {
                        let v = data[src_row + x].pixel();
                        px.copy_from_slice(&[v, v, v]);
                    }
                    continue;
                }
                for (x, px) in dst.chunks_exact_mut(oc).enumerate() {
                    let base = src_row + x * sw;
                    for (p, &off) in px.iter_mut().zip(&cmap) {
                        *p = data[base + off].pixel();
                    }
                }
            }
        }
        Ok(Pixels {
            frames: None,
            height: oh,
            width: ow,
            channels: oc,
            data: out,
        })
    }
}

/// The PNG compression level named `name`: `"none"`, `"fast"` (the default: fdeflate's fast
/// mode), `"balanced"` (about PIL's size) or `"high"`.
pub fn compression(name: &str) -> Result<PngCompression, ImageError> {
    match name {
        "none" => Ok(PngCompression::None),
        "fast" => Ok(PngCompression::Fast),
        "balanced" => Ok(PngCompression::Balanced),
        "high" => Ok(PngCompression::High),
        other => fail(format!(
            "png_compression: expected 'none', 'fast', 'balanced' or 'high', got {other:?}"
        )),
    }
}

/// The most bytes a rescaled image may have (4 GiB): `rescale` is a factor, and a large one
/// would otherwise ask the writer thread for any amount of memory.
pub const MAX_RESCALED_BYTES: usize = 1 << 32;

/// The `(height, width)` torch resizes the image of `layout` to for `rescale`:
/// `int(side * rescale)` as Python computes it. Refused when a side would have no pixel, or
/// the image more than [`MAX_RESCALED_BYTES`].
pub fn rescaled_size(layout: &Layout, rescale: f64) -> Result<(usize, usize), ImageError> {
    let (h, w, c) = layout.shape();
    let side = |size: usize| {
        let s = (size as f64) * rescale;
        if !s.is_finite() || s < 1.0 || s > MAX_SIDE as f64 {
            return fail(format!(
                "rescale: {rescale} turns a side of {size} pixels into {s}; expected a result \
                 from 1 to {MAX_SIDE} pixels"
            ));
        }
        Ok(s as usize)
    };
    let (rh, rw) = (side(h)?, side(w)?);
    let bytes = rh.saturating_mul(rw).saturating_mul(c);
    if bytes > MAX_RESCALED_BYTES {
        return fail(format!(
            "rescale: {rescale} turns the {h}x{w} image into {rh}x{rw} ({bytes} bytes), more \
             than the {MAX_RESCALED_BYTES} bytes allowed"
        ));
    }
    Ok((rh, rw))
}

/// The `Summary.Value` of one image: `tag`, a `Summary.Image` with `height`, `width` and
/// `colorspace` as recorded (torch's pre-rescale values) and `px` encoded as PNG.
pub fn image_value(
    tag: String,
    recorded: (usize, usize, usize),
    px: &Pixels,
    compression: PngCompression,
) -> Result<summary::Value, ImageError> {
    let encoded = png::encode(&px.data, px.height, px.width, px.channels, compression)
        .map_err(|e| ImageError(format!("img_tensor: {e}")))?;
    Ok(summary::Value {
        node_name: String::new(),
        tag,
        metadata: None,
        value: Some(summary::value::Value::Image(summary::Image {
            height: recorded.0 as i32,
            width: recorded.1 as i32,
            colorspace: recorded.2 as i32,
            encoded_image_string: encoded,
        })),
    })
}

/// Everything after the input is copied: the image as torch makes it (layout, scaling),
/// boxes drawn, rescaled, encoded; the `Summary.Value` for `tag`.
pub fn render<T: Sample>(
    tag: String,
    data: &[T],
    layout: &Layout,
    boxes: Option<&draw::Boxes>,
    rescale: Option<(usize, usize)>,
    compression: PngCompression,
) -> Result<summary::Value, ImageError> {
    let mut px = layout.pixels(data)?;
    let recorded = (px.height, px.width, px.channels);
    if let Some(b) = boxes {
        draw::draw_boxes(&mut px, b);
    }
    if let Some((h, w)) = rescale {
        if (h, w) != (px.height, px.width) {
            px = resize::lanczos(&px, h, w);
        }
    }
    image_value(tag, recorded, &px, compression)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_permutations_in_any_case() {
        for ok in ["CHW", "hwc", "HW", "wh", "NCHW", "nhwc", "WHC", "CNWH"] {
            assert!(Dataformats::parse(ok).is_ok(), "{ok}");
        }
        for bad in ["", "C", "CHWX", "HHW", "NCH", "CHWNX", "NHW", "HWN", "XY"] {
            let e = Dataformats::parse(bad).unwrap_err();
            assert!(e.0.starts_with("dataformats:"), "{bad}: {e}");
        }
    }

    #[test]
    fn shapes_must_fit_the_format() {
        let f = Dataformats::parse("CHW").unwrap();
        assert!(f.layout(&[3, 2, 2]).is_ok());
        assert!(f.layout(&[2, 2]).unwrap_err().0.starts_with("img_tensor:"));
        assert!(f.layout(&[5, 2, 2]).is_err());
        assert!(f.layout(&[3, 0, 2]).is_err());
        let b = Dataformats::parse("NCHW").unwrap();
        assert!(b.layout(&[2, 4, 2, 2]).is_err());
        assert_eq!(b.layout(&[9, 1, 2, 3]).unwrap().shape(), (4, 24, 3));
        let wide = Dataformats::parse("HW").unwrap();
        assert!(wide.layout(&[1, 1 << 31]).is_err());
        let l = f.layout(&[3, 10, 20]).unwrap();
        assert_eq!(rescaled_size(&l, 1.0), Ok((10, 20)));
        assert_eq!(rescaled_size(&l, 0.15), Ok((1, 3)));
        assert!(rescaled_size(&l, 0.05)
            .unwrap_err()
            .0
            .starts_with("rescale:"));
        assert!(rescaled_size(&l, f64::NAN).is_err());
        assert!(rescaled_size(&l, 1e5).is_err());
    }

    /// torch's scaling: uint8 as is; others `* 255` in float32, clipped, truncated.
    #[test]
    fn samples_scale_like_torch() {
        assert_eq!(200u8.pixel(), 200);
        assert_eq!(1i64.pixel(), 255);
        assert_eq!((-3i32).pixel(), 0);
        assert_eq!(0.5f32.pixel(), 127);
        assert_eq!(0.999f64.pixel(), 254);
        assert_eq!(2.0f32.pixel(), 255);
        assert!(!f32::NAN.finite() && !f64::INFINITY.finite());
        assert!(check_finite(&[0.0f32, 1.0]).is_ok());
        assert!(check_finite(&[0.0f32, f32::NAN]).is_err());
    }

    #[test]
    fn grid_and_gray_expansion() {
        // Two 1x2 gray images in a batch: one row of two tiles, gray in all three channels.
        let f = Dataformats::parse("NCHW").unwrap();
        let l = f.layout(&[2, 1, 1, 2]).unwrap();
        let px = l.pixels(&[1u8, 2, 3, 4]).unwrap();
        assert_eq!((px.height, px.width, px.channels), (1, 4, 3));
        assert_eq!(px.data, vec![1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4]);
        // CHW RGB -> HWC.
        let l = Dataformats::parse("CHW")
            .unwrap()
            .layout(&[3, 1, 2])
            .unwrap();
        let px = l.pixels(&[1u8, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(px.data, vec![1, 3, 5, 2, 4, 6]);
        // WH: transposed.
        let l = Dataformats::parse("WH").unwrap().layout(&[2, 1]).unwrap();
        let px = l.pixels(&[7u8, 8]).unwrap();
        assert_eq!((px.height, px.width), (1, 2));
        assert_eq!(px.data, vec![7, 7, 7, 8, 8, 8]);
    }

    #[test]
    fn nine_images_leave_empty_cells_black() {
        let l = Dataformats::parse("NHWC")
            .unwrap()
            .layout(&[9, 1, 1, 3])
            .unwrap();
        let px = l.pixels(&[255u8; 27]).unwrap();
        assert_eq!((px.height, px.width), (2, 8));
        assert_eq!(px.data[..24], [255; 24]);
        assert_eq!(px.data[24..27], [255; 3]);
        assert!(px.data[27..].iter().all(|&v| v == 0));
    }
}
