//! The media that summaries carry: PNG and GIF images, WAV audio (decoding for the reader;
//! encoding for the writer, starting with [`png::encode`]).
//!
//! The arrays come out as TensorFlow's `tf.image.decode_image` and `tf.audio.decode_wav`
//! return them (what `tbparse` shows): images as `uint8` `(H, W, C)` with `C` always present
//! (a grayscale PNG gives `C = 1`), animated GIFs as `(T, H, W, 3)`; audio as `float32`
//! `(frames, channels)`. Where TensorFlow refuses input that is still valid (WAV other than
//! 16-bit PCM), these decoders accept it and say so in [`wav`].
//!
//! Every decoder returns an error, never panics, on malformed input, and bounds what it
//! allocates: before allocating an output, its size as the header declares it is checked
//! against what the input's length can hold ([`max_output`] for compressed formats, the
//! bytes actually present for WAV).
//!
//! [`decode_images`] and [`decode_wavs`] decode a batch in parallel on the fork-safe pool
//! (`runtime::parallel`).

use rayon::prelude::*;

#[cfg(feature = "media")]
pub mod gif;
#[cfg(feature = "media")]
pub mod png;
pub mod wav;

/// Why an input could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodecError {
    /// Not a format this module decodes (the first bytes say what it is not).
    #[error("unsupported format: {0}")]
    Unsupported(String),
    /// The bytes are not a well-formed file of their format.
    #[error("malformed {format}: {detail}")]
    Malformed {
        /// `"PNG"`, `"GIF"` or `"WAV"`.
        format: &'static str,
        /// What is wrong.
        detail: String,
    },
    /// The header declares more output than the input could hold.
    #[error(
        "{format} declares {declared} bytes of output, more than {input} bytes of input can hold"
    )]
    TooLarge {
        /// `"PNG"` or `"GIF"`.
        format: &'static str,
        /// The decoded size the header declares, in bytes.
        declared: u64,
        /// The input's length, in bytes.
        input: u64,
    },
}

impl CodecError {
    pub(crate) fn malformed(format: &'static str, detail: impl std::fmt::Display) -> Self {
        CodecError::Malformed {
            format,
            detail: detail.to_string(),
        }
    }
}

/// Allocation headroom every input gets, whatever its length.
pub const OUTPUT_SLACK: u64 = 64 << 20;

/// The most output an input of `input_len` bytes may declare, for a format whose best
/// compression turns one input byte into at most `ratio` output bytes.
pub fn max_output(input_len: usize, ratio: u64) -> u64 {
    (input_len as u64)
        .saturating_mul(ratio)
        .saturating_add(OUTPUT_SLACK)
}

/// Decoded pixels, `uint8`, row-major.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pixels {
    /// Number of frames for an animation (GIF), `None` for a still image (PNG).
    pub frames: Option<usize>,
    /// Rows.
    pub height: usize,
    /// Columns.
    pub width: usize,
    /// Channels per pixel (1 gray, 2 gray+alpha, 3 RGB, 4 RGBA).
    pub channels: usize,
    /// `frames * height * width * channels` bytes.
    pub data: Vec<u8>,
}

impl Pixels {
    /// The array's shape: `(H, W, C)`, or `(T, H, W, C)` for an animation.
    pub fn shape(&self) -> Vec<usize> {
        match self.frames {
            Some(t) => vec![t, self.height, self.width, self.channels],
            None => vec![self.height, self.width, self.channels],
        }
    }
}

/// Decodes a PNG or GIF (told apart by their signatures) as `tf.image.decode_image` does.
#[cfg(feature = "media")]
pub fn decode_image(bytes: &[u8]) -> Result<Pixels, CodecError> {
    if bytes.starts_with(png::SIGNATURE) {
        png::decode(bytes)
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        gif::decode(bytes)
    } else {
        let what = if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
            "JPEG is not decoded (only PNG and GIF)".to_string()
        } else if bytes.starts_with(b"BM") {
            "BMP is not decoded (only PNG and GIF)".to_string()
        } else {
            format!(
                "not a PNG or GIF (starts with {:02x?})",
                &bytes[..bytes.len().min(8)]
            )
        };
        Err(CodecError::Unsupported(what))
    }
}

/// Decodes each input with [`decode_image`], in parallel; results in input order.
#[cfg(feature = "media")]
pub fn decode_images<B: AsRef<[u8]> + Sync>(items: &[B]) -> Vec<Result<Pixels, CodecError>> {
    crate::runtime::parallel::install(|| {
        items
            .par_iter()
            .with_min_len(4)
            .map(|b| decode_image(b.as_ref()))
            .collect()
    })
}

/// Decodes each input with [`wav::decode`], in parallel; results in input order.
pub fn decode_wavs<B: AsRef<[u8]> + Sync>(items: &[B]) -> Vec<Result<wav::Wave, CodecError>> {
    crate::runtime::parallel::install(|| {
        items
            .par_iter()
            .with_min_len(4)
            .map(|b| wav::decode(b.as_ref()))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "media")]
    #[test]
    fn unknown_formats_are_errors() {
        assert!(matches!(decode_image(b""), Err(CodecError::Unsupported(_))));
        assert!(matches!(
            decode_image(&[0xFF, 0xD8, 0xFF, 0xE0]),
            Err(CodecError::Unsupported(m)) if m.contains("JPEG")
        ));
        assert!(matches!(
            decode_image(b"hello world"),
            Err(CodecError::Unsupported(_))
        ));
    }

    #[cfg(feature = "media")]
    #[test]
    fn image_batches_keep_their_order() {
        let a = png::tests::encode_rgb(3, 2, 0);
        let b = png::tests::encode_rgb(1, 5, 7);
        let items = vec![a.clone(), b.clone(), b"junk".to_vec(), a.clone()];
        let out = decode_images(&items);
        assert_eq!(out[0].as_ref().unwrap().shape(), vec![2, 3, 3]);
        assert_eq!(out[1].as_ref().unwrap().shape(), vec![5, 1, 3]);
        assert!(out[2].is_err());
        assert_eq!(out[3], out[0]);
    }

    #[test]
    fn wav_batches_keep_their_order() {
        let w = wav::tests::pcm16(&[1, -2, 3, -4], 2, 8000);
        let out = decode_wavs(&[w.as_slice(), b"RIFF"]);
        assert_eq!(out[0].as_ref().unwrap().frames, 2);
        assert!(out[1].is_err());
    }

    #[test]
    fn max_output_saturates() {
        assert_eq!(max_output(0, 10), OUTPUT_SLACK);
        assert_eq!(max_output(usize::MAX, u64::MAX), u64::MAX);
    }

    /// Valid files with bytes overwritten, cut short or extended: each decoder returns a
    /// result or an error, and never panics.
    #[test]
    fn mutated_files_never_panic() {
        use proptest::prelude::*;
        let seeds: Vec<Vec<u8>> = vec![
            #[cfg(feature = "media")]
            png::tests::encode_rgb(7, 5, 3),
            #[cfg(feature = "media")]
            gif::tests::two_frames(),
            wav::tests::pcm16(&[1, -2, 3, -4, 5, -6], 2, 8000),
        ];
        let cfg = ProptestConfig {
            cases: 3_000,
            failure_persistence: None,
            ..ProptestConfig::default()
        };
        proptest!(cfg, |(
            which in 0..seeds.len(),
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..6),
            cut in any::<prop::sample::Index>(),
            tail in proptest::collection::vec(any::<u8>(), 0..8),
        )| {
            let mut b = seeds[which].clone();
            for (at, v) in &edits {
                let i = at.index(b.len());
                b[i] = *v;
            }
            b.truncate(cut.index(b.len() + 1));
            b.extend_from_slice(&tail);
            #[cfg(feature = "media")]
            let _ = decode_image(&b);
            let _ = wav::decode(&b);
            let _ = wav::info(&b);
        });
    }
}
