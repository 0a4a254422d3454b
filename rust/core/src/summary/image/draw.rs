//! Bounding boxes as torch's `add_image_with_boxes` draws them with PIL: for each box
//! `(x1, y1, x2, y2)` (coordinates truncated toward zero, as PIL's C code casts them), the
//! closed path `(x1, y1) -> (x1, y2) -> (x2, y2) -> (x2, y1) -> (x1, y1)` in red, 2 pixels
//! wide, each segment as PIL's `ImagingDrawWideLine` fills it; then, for a non-empty label, a
//! red background from `(x1, y2 - h - 2m)` to `(x1 + w, y2)` (`w`, `h` the text's size, `m =
//! ceil(0.05 h)`) and the text in black at `(x1 + m, y2 - h - m)`. Later boxes draw over
//! earlier ones; everything is clipped to the image.
//!
//! Red and black are PIL's for the image's mode: `(255, 0, 0)` on RGB, `(255, 0, 0, 255)` on
//! RGBA, luminance 76 (alpha 255) on gray + alpha.

use super::{font, ImageError};
use crate::codec::Pixels;

/// Coordinates are clamped to this magnitude (far outside any image), so that arithmetic on
/// them cannot overflow.
const LIMIT: f64 = (1u32 << 30) as f64;

/// Boxes to draw, `(x1, y1, x2, y2)` each, with an optional label per box.
#[derive(Debug, Clone, PartialEq)]
pub struct Boxes {
    coords: Vec<[f64; 4]>,
    labels: Option<Vec<String>>,
}

impl Boxes {
    /// Boxes from an array of `shape` (which must be `(N, 4)`) holding `data` in C order.
    pub fn from_array(
        shape: &[usize],
        data: &[f64],
        labels: Option<Vec<String>>,
    ) -> Result<Self, ImageError> {
        if shape.len() != 2 || shape[1] != 4 || data.len() != shape[0] * 4 {
            return Err(ImageError(format!(
                "box_tensor: expected shape (N, 4) of (x1, y1, x2, y2) boxes, got {shape:?}"
            )));
        }
        let coords = data
            .chunks_exact(4)
            .map(|b| [b[0], b[1], b[2], b[3]])
            .collect();
        Self::new(coords, labels)
    }

    /// Checks the boxes (finite coordinates) and labels (one per box).
    pub fn new(coords: Vec<[f64; 4]>, labels: Option<Vec<String>>) -> Result<Self, ImageError> {
        if let Some(i) = coords.iter().position(|b| b.iter().any(|v| !v.is_finite())) {
            return Err(ImageError(format!(
                "box_tensor: box {i} has a NaN or infinite coordinate: {:?}",
                coords[i]
            )));
        }
        if let Some(l) = &labels {
            if l.len() != coords.len() {
                return Err(ImageError(format!(
                    "labels: {} labels for {} boxes (expected one label per box)",
                    l.len(),
                    coords.len()
                )));
            }
        }
        Ok(Boxes { coords, labels })
    }
}

fn ints(v: f64) -> i64 {
    // C's `(int)` cast: toward zero.
    v.clamp(-LIMIT, LIMIT) as i64
}

struct Canvas<'a> {
    px: &'a mut Pixels,
}

impl Canvas<'_> {
    /// Fills the inclusive rectangle `x0..=x1`, `y0..=y1`, clipped.
    fn fill(&mut self, x0: i64, y0: i64, x1: i64, y1: i64, ink: &[u8]) {
        let (w, h, c) = (
            self.px.width as i64,
            self.px.height as i64,
            self.px.channels,
        );
        let (x0, x1) = (x0.max(0), x1.min(w - 1));
        let (y0, y1) = (y0.max(0), y1.min(h - 1));
        if x0 > x1 || y0 > y1 {
            return;
        }
        for y in y0..=y1 {
            let row = y as usize * w as usize * c;
            for x in x0..=x1 {
                let at = row + x as usize * c;
                self.px.data[at..at + c].copy_from_slice(ink);
            }
        }
    }

    /// One segment of a 2-pixel line between axis-aligned points, as PIL fills it: the pixels
    /// from one end to the other inclusive, widened by one pixel to the left of the direction of
    /// travel (`+x` going down, `-x` going up, `+y` going right, `-y` going left).
    fn segment(&mut self, (x0, y0): (i64, i64), (x1, y1): (i64, i64), ink: &[u8]) {
        if x0 == x1 && y0 == y1 {
            self.fill(x0, y0, x0, y0, ink);
        } else if x0 == x1 {
            let x = if y1 > y0 { x0 } else { x0 - 1 };
            self.fill(x, y0.min(y1), x + 1, y0.max(y1), ink);
        } else {
            let y = if x1 > x0 { y0 } else { y0 - 1 };
            self.fill(x0.min(x1), y, x0.max(x1), y + 1, ink);
        }
    }

    fn text(&mut self, x: i64, y: i64, text: &str, ink: &[u8]) {
        for (i, ch) in text.chars().enumerate() {
            let gx = x + (i * (font::WIDTH + 1)) as i64;
            for (r, bits) in font::glyph(ch).iter().enumerate() {
                for col in 0..font::WIDTH {
                    if bits >> (font::WIDTH - 1 - col) & 1 == 1 {
                        let (px, py) = (gx + col as i64, y + r as i64);
                        self.fill(px, py, px, py, ink);
                    }
                }
            }
        }
    }
}

/// PIL's red and black for an image of `channels` channels.
fn inks(channels: usize) -> (&'static [u8], &'static [u8]) {
    match channels {
        1 => (&[76], &[0]),
        2 => (&[76, 255], &[0, 255]),
        3 => (&[255, 0, 0], &[0, 0, 0]),
        _ => (&[255, 0, 0, 255], &[0, 0, 0, 255]),
    }
}

/// Draws `boxes` on `px` (see the module doc).
pub fn draw_boxes(px: &mut Pixels, boxes: &Boxes) {
    let (red, black) = inks(px.channels);
    let mut canvas = Canvas { px };
    for (i, b) in boxes.coords.iter().enumerate() {
        let (l, t, r, bt) = (ints(b[0]), ints(b[1]), ints(b[2]), ints(b[3]));
        let path = [(l, t), (l, bt), (r, bt), (r, t), (l, t)];
        for w in path.windows(2) {
            canvas.segment(w[0], w[1], red);
        }
        let label = boxes.labels.as_ref().map(|l| l[i].as_str());
        if let Some(text) = label.filter(|s| !s.is_empty()) {
            let (left, bottom) = (b[0].clamp(-LIMIT, LIMIT), b[3].clamp(-LIMIT, LIMIT));
            let th = font::HEIGHT as f64;
            let tw = font::text_width(text) as f64;
            let m = (0.05 * th).ceil();
            canvas.fill(
                ints(left),
                ints(bottom - th - 2.0 * m),
                ints(left + tw),
                ints(bottom),
                red,
            );
            canvas.text(ints(left + m), ints(bottom - th - m), text, black);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blank(h: usize, w: usize) -> Pixels {
        Pixels {
            frames: None,
            height: h,
            width: w,
            channels: 3,
            data: vec![0; h * w * 3],
        }
    }

    fn mask(px: &Pixels) -> Vec<String> {
        (0..px.height)
            .map(|y| {
                (0..px.width)
                    .map(|x| {
                        if px.data[(y * px.width + x) * 3] == 255 {
                            '#'
                        } else {
                            '.'
                        }
                    })
                    .collect()
            })
            .collect()
    }

    /// The 2-pixel outline PIL draws for the box (2, 3, 9, 8) on a 12x12 image.
    #[test]
    fn outline_matches_pil() {
        let mut px = blank(12, 12);
        draw_boxes(
            &mut px,
            &Boxes::new(vec![[2.0, 3.0, 9.0, 8.0]], None).unwrap(),
        );
        let expected = [
            "............",
            "............",
            "..########..",
            "..########..",
            "..##....##..",
            "..##....##..",
            "..##....##..",
            "..##....##..",
            "..########..",
            "..########..",
            "............",
            "............",
        ];
        assert_eq!(mask(&px), expected);
    }

    #[test]
    fn labels_must_match_boxes_and_coordinates_be_finite() {
        assert!(Boxes::new(vec![[0.0; 4]], Some(vec![])).is_err());
        assert!(Boxes::from_array(&[2, 4], &[0.0; 8], None).is_ok());
        for shape in [&[4][..], &[2, 3], &[1, 4, 1]] {
            let n: usize = shape.iter().product();
            let e = Boxes::from_array(shape, &vec![0.0; n], None).unwrap_err();
            assert!(e.0.starts_with("box_tensor: expected shape (N, 4)"), "{e}");
        }
        assert!(Boxes::new(vec![[0.0, f64::NAN, 1.0, 1.0]], None).is_err());
        // Far outside the image: nothing drawn, no panic.
        let mut px = blank(4, 4);
        let b = Boxes::new(vec![[-1e300, 1e300, 1e18, -5.0]], Some(vec!["far".into()])).unwrap();
        draw_boxes(&mut px, &b);
    }
}
