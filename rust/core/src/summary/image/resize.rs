//! PIL's `Image.resize(size, Image.LANCZOS)` on 8-bit images, which torch's `make_image`
//! applies for `add_image_with_boxes(rescale=...)`: a separable Lanczos-3 convolution
//! (horizontal pass, then vertical), widened by the scale when shrinking, with coefficients in
//! 22-bit fixed point rounded as PIL rounds them. Images with alpha (gray + alpha, RGBA) are
//! resized premultiplied, as PIL converts them to `La`/`RGBa` and back.

use crate::codec::Pixels;

const PRECISION_BITS: u32 = 32 - 8 - 2;

fn sinc(x: f64) -> f64 {
    if x == 0.0 {
        1.0
    } else {
        let x = x * std::f64::consts::PI;
        x.sin() / x
    }
}

fn lanczos_kernel(x: f64) -> f64 {
    if (-3.0..3.0).contains(&x) {
        sinc(x) * sinc(x / 3.0)
    } else {
        0.0
    }
}

/// For each output position, the first input index and the fixed-point weights.
struct Coeffs {
    bounds: Vec<(usize, usize)>,
    ksize: usize,
    weights: Vec<i32>,
}

fn coefficients(in_size: usize, out_size: usize) -> Coeffs {
    let scale = in_size as f64 / out_size as f64;
    let filterscale = scale.max(1.0);
    let support = 3.0 * filterscale;
    let ksize = support.ceil() as usize * 2 + 1;
    let mut bounds = Vec::with_capacity(out_size);
    let mut weights = vec![0i32; out_size * ksize];
    let mut k = vec![0f64; ksize];
    for xx in 0..out_size {
        let center = (xx as f64 + 0.5) * scale;
        let ss = 1.0 / filterscale;
        // C's `(int)` casts: toward zero.
        let xmin = ((center - support + 0.5) as i64).max(0) as usize;
        let xmax = ((center + support + 0.5) as i64).min(in_size as i64) as usize - xmin;
        let mut ww = 0.0;
        for (x, kx) in k.iter_mut().enumerate().take(xmax) {
            let w = lanczos_kernel((x as f64 + xmin as f64 - center + 0.5) * ss);
            *kx = w;
            ww += w;
        }
        for (x, &kx) in k.iter().enumerate().take(xmax) {
            let v = if ww == 0.0 { kx } else { kx / ww };
            let f = v * f64::from(1u32 << PRECISION_BITS);
            weights[xx * ksize + x] = if v < 0.0 {
                (-0.5 + f) as i32
            } else {
                (0.5 + f) as i32
            };
        }
        bounds.push((xmin, xmax));
    }
    Coeffs {
        bounds,
        ksize,
        weights,
    }
}

#[inline]
fn clip8(v: i32) -> u8 {
    (v >> PRECISION_BITS).clamp(0, 255) as u8
}

/// Convolves along one axis: `count` lines of `len` samples at `stride` (in pixels) apart
/// within a line and `line_stride` between lines.
fn horizontal(src: &[u8], h: usize, w: usize, c: usize, ow: usize) -> Vec<u8> {
    let co = coefficients(w, ow);
    let mut out = vec![0u8; h * ow * c];
    for y in 0..h {
        let row = &src[y * w * c..(y + 1) * w * c];
        for (xx, &(xmin, xmax)) in co.bounds.iter().enumerate() {
            let k = &co.weights[xx * co.ksize..xx * co.ksize + xmax];
            for ch in 0..c {
                let mut ss: i32 = 1 << (PRECISION_BITS - 1);
                for (x, &kx) in k.iter().enumerate() {
                    ss += i32::from(row[(x + xmin) * c + ch]) * kx;
                }
                out[(y * ow + xx) * c + ch] = clip8(ss);
            }
        }
    }
    out
}

fn vertical(src: &[u8], h: usize, w: usize, c: usize, oh: usize) -> Vec<u8> {
    let co = coefficients(h, oh);
    let mut out = vec![0u8; oh * w * c];
    let line = w * c;
    for (yy, &(ymin, ymax)) in co.bounds.iter().enumerate() {
        let k = &co.weights[yy * co.ksize..yy * co.ksize + ymax];
        for i in 0..line {
            let mut ss: i32 = 1 << (PRECISION_BITS - 1);
            for (y, &ky) in k.iter().enumerate() {
                ss += i32::from(src[(y + ymin) * line + i]) * ky;
            }
            out[yy * line + i] = clip8(ss);
        }
    }
    out
}

/// `a * b / 255` rounded as PIL's `MULDIV255`.
#[inline]
fn muldiv255(a: u8, b: u8) -> u8 {
    let t = u32::from(a) * u32::from(b) + 128;
    (((t >> 8) + t) >> 8) as u8
}

/// Resizes `px` to `height x width` as PIL's Lanczos resize does (see the module doc).
pub fn lanczos(px: &Pixels, height: usize, width: usize) -> Pixels {
    let c = px.channels;
    let alpha = c == 2 || c == 4;
    let mut data = px.data.clone();
    if alpha {
        for p in data.chunks_exact_mut(c) {
            let a = p[c - 1];
            for v in &mut p[..c - 1] {
                *v = muldiv255(*v, a);
            }
        }
    }
    if width != px.width {
        data = horizontal(&data, px.height, px.width, c, width);
    }
    if height != px.height {
        data = vertical(&data, px.height, width, c, height);
    }
    if alpha {
        for p in data.chunks_exact_mut(c) {
            let a = u32::from(p[c - 1]);
            if a != 0 && a != 255 {
                for v in &mut p[..c - 1] {
                    *v = ((255 * u32::from(*v)) / a).min(255) as u8;
                }
            }
        }
    }
    Pixels {
        frames: None,
        height,
        width,
        channels: c,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_images_stay_constant() {
        let px = Pixels {
            frames: None,
            height: 5,
            width: 7,
            channels: 3,
            data: vec![90; 5 * 7 * 3],
        };
        for (h, w) in [(10, 14), (2, 3), (5, 3), (11, 7)] {
            let out = lanczos(&px, h, w);
            assert_eq!((out.height, out.width), (h, w));
            assert!(out.data.iter().all(|&v| v == 90), "{h}x{w}");
        }
    }
}
