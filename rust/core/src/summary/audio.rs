//! Audio: `add_audio`'s `Summary.Audio`, a 16-bit PCM WAV as torch writes it.
//!
//! torch squeezes the input, clips it to `[-1, 1]`, multiplies by 32767 in the input's own
//! precision and truncates toward zero (`(x * 32767).astype("<i2")`), and writes a mono WAV
//! with Python's `wave` module. [`AudioClip::check`] does the same for mono input (after
//! squeezing, one dimension) and also takes `(channels, samples)` (after squeezing, two
//! dimensions, at most [`MAX_CHANNELS`] channels), written as an interleaved multichannel
//! WAV; torch refuses anything but mono. NaN and infinite samples are refused (torch writes
//! them as garbage levels).

use super::value;
use crate::codec::wav;
use crate::proto::summary;

/// The most channels a clip may have (a `(samples, channels)` array of a long clip is
/// refused instead of being read as thousands of channels).
pub const MAX_CHANNELS: usize = 8;

/// Why a clip cannot be written; the message names the argument.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{arg}: {detail}")]
pub struct AudioError {
    /// `snd_tensor` or `sample_rate`.
    pub arg: &'static str,
    /// What was expected and what was given.
    pub detail: String,
}

fn bad(arg: &'static str, detail: String) -> AudioError {
    AudioError { arg, detail }
}

/// A sample type `add_audio` takes.
pub trait AudioSample: Copy + Send + Sync + 'static {
    /// False for NaN and infinities.
    fn finite(self) -> bool;
    /// torch's level: clipped to `[-1, 1]`, times 32767 in this type, truncated.
    fn level(self) -> i16;
}

macro_rules! float_sample {
    ($t:ty) => {
        impl AudioSample for $t {
            fn finite(self) -> bool {
                self.is_finite()
            }
            fn level(self) -> i16 {
                (self.clamp(-1.0, 1.0) * 32767.0) as i16
            }
        }
    };
}
float_sample!(f32);
float_sample!(f64);

macro_rules! int_sample {
    ($($t:ty),*) => {$(
        impl AudioSample for $t {
            fn finite(self) -> bool {
                true
            }
            #[allow(unused_comparisons)]
            fn level(self) -> i16 {
                if self > 0 { 32767 } else if self < 0 { -32767 } else { 0 }
            }
        }
    )*};
}
int_sample!(u8, i8, i16, i32, i64);

/// A checked clip: its layout and its sample rate as the WAV header and the summary hold it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AudioClip {
    /// Channels (1 for torch's mono input).
    pub channels: usize,
    /// Samples per channel.
    pub frames: usize,
    /// The caller's rate, written in `Summary.Audio.sample_rate` (a float field).
    pub sample_rate: f64,
    /// The rate in the WAV header: `sample_rate` rounded, as Python's `wave` does.
    pub header_rate: u32,
}

impl AudioClip {
    /// Checks an input of `shape` (C order) with samples `data` at `sample_rate` Hz.
    pub fn check<T: AudioSample>(
        data: &[T],
        shape: &[usize],
        sample_rate: f64,
    ) -> Result<AudioClip, AudioError> {
        if !sample_rate.is_finite() || sample_rate <= 0.0 || sample_rate.round() < 1.0 {
            return Err(bad(
                "sample_rate",
                format!("expected a positive number of samples per second, got {sample_rate}"),
            ));
        }
        if sample_rate.round() > f64::from(u32::MAX) {
            return Err(bad(
                "sample_rate",
                format!(
                    "expected at most {} (a WAV header's limit), got {sample_rate}",
                    u32::MAX
                ),
            ));
        }
        let dims: Vec<usize> = shape.iter().copied().filter(|&d| d != 1).collect();
        let (channels, frames) = match dims.as_slice() {
            _ if shape.contains(&0) => {
                return Err(bad(
                    "snd_tensor",
                    format!("expected at least one sample, got shape {shape:?}"),
                ))
            }
            [] => (1, 1),
            [n] => (1, *n),
            [c, n] if *c <= MAX_CHANNELS => (*c, *n),
            _ => {
                return Err(bad(
                    "snd_tensor",
                    format!(
                        "expected (samples,) or (channels, samples) with at most \
                         {MAX_CHANNELS} channels (dimensions of size 1 are dropped), got shape \
                         {shape:?}; a (samples, channels) array needs transposing"
                    ),
                ))
            }
        };
        debug_assert_eq!(channels * frames, data.len());
        if channels * frames * 2 > wav::MAX_DATA_BYTES {
            return Err(bad(
                "snd_tensor",
                format!(
                    "{} samples are more than a WAV file holds",
                    channels * frames
                ),
            ));
        }
        if let Some(i) = data.iter().position(|v| !v.finite()) {
            return Err(bad(
                "snd_tensor",
                format!("expected finite samples, found NaN or infinity at flat index {i}"),
            ));
        }
        Ok(AudioClip {
            channels,
            frames,
            sample_rate,
            header_rate: sample_rate.round() as u32,
        })
    }

    /// The WAV file of `data` (as checked): levels interleaved frame by frame.
    pub fn wav<T: AudioSample>(&self, data: &[T]) -> Vec<u8> {
        let levels: Vec<i16> = if self.channels == 1 {
            data.iter().map(|v| v.level()).collect()
        } else {
            let mut out = vec![0i16; data.len()];
            for (c, row) in data.chunks_exact(self.frames).enumerate() {
                for (f, v) in row.iter().enumerate() {
                    out[f * self.channels + c] = v.level();
                }
            }
            out
        };
        wav::encode_pcm16(&levels, self.channels as u16, self.header_rate)
            .expect("checked: channels and size fit a WAV file")
    }

    /// `add_audio`'s value: tag as given, a `Summary.Audio` with torch's fields.
    pub fn value<T: AudioSample>(&self, tag: String, data: &[T]) -> summary::Value {
        let audio = summary::Audio {
            sample_rate: self.sample_rate as f32,
            num_channels: self.channels as i64,
            length_frames: self.frames as i64,
            encoded_audio_string: self.wav(data),
            content_type: "audio/wav".to_owned(),
        };
        value(tag, None, summary::value::Value::Audio(audio))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::wav;

    #[test]
    fn levels_are_torchs() {
        assert_eq!(0.5f32.level(), 16383);
        assert_eq!((-0.5f64).level(), -16383);
        assert_eq!(2.0f32.level(), 32767);
        assert_eq!((-7.0f64).level(), -32767);
        assert_eq!(3i32.level(), 32767);
        assert_eq!(0u8.level(), 0);
    }

    #[test]
    fn mono_and_multichannel() {
        let data = [0.0f32, 0.5, -0.5, 1.0];
        let clip = AudioClip::check(&data, &[1, 4], 8000.0).unwrap();
        assert_eq!((clip.channels, clip.frames), (1, 4));
        let w = wav::decode(&clip.wav(&data)).unwrap();
        assert_eq!((w.channels, w.frames, w.sample_rate), (1, 4, 8000));
        let clip = AudioClip::check(&data, &[2, 2], 8000.0).unwrap();
        let w = wav::decode(&clip.wav(&data)).unwrap();
        assert_eq!((w.channels, w.frames), (2, 2));
        // Interleaved: frame 0 is (ch0[0], ch1[0]).
        let lv: Vec<i32> = w.data.iter().map(|v| (v * 32768.0) as i32).collect();
        assert_eq!(lv, vec![0, -16383, 16383, 32767]);
        let v = clip.value("t".into(), &data);
        match v.value {
            Some(summary::value::Value::Audio(a)) => {
                assert_eq!((a.num_channels, a.length_frames), (2, 2));
                assert_eq!(a.content_type, "audio/wav");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_input_names_the_argument() {
        let e = AudioClip::check(&[0.0f32; 4], &[4], 0.0).unwrap_err();
        assert_eq!(e.arg, "sample_rate");
        assert!(AudioClip::check(&[0.0f32; 4], &[4], f64::NAN).is_err());
        let e = AudioClip::check(&[0.0f32, f32::NAN], &[2], 10.0).unwrap_err();
        assert_eq!(e.arg, "snd_tensor");
        assert!(AudioClip::check::<f32>(&[], &[0], 10.0).is_err());
        assert!(AudioClip::check(&[0.0f32; 18], &[9, 2], 10.0).is_err());
        assert!(AudioClip::check(&[0.0f32; 8], &[2, 2, 2], 10.0).is_err());
        assert_eq!(AudioClip::check(&[0.25f32], &[], 10.0).unwrap().frames, 1);
    }
}
