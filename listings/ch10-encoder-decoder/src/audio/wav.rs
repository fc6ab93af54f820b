//! Reading a WAV file as Whisper's input: 16 kHz, mono, f32 samples in [-1, 1].

use std::path::{Path, PathBuf};

use hound::{SampleFormat, WavReader};

use super::resample::resample;
use super::{AudioError, CHUNK_SECONDS, SAMPLE_RATE};

// ANCHOR: read_wav
/// Reads a WAV file as 16 kHz mono samples in [-1, 1], resampling other rates.
/// -> [n], n ≤ 480,000 (30 s)
pub fn read_wav(path: impl AsRef<Path>) -> Result<Vec<f32>, AudioError> {
    let path = path.as_ref();
    let (samples, rate) = read_wav_native(path)?;
    if rate == SAMPLE_RATE {
        return Ok(samples);
    }
    resample(&samples, rate, SAMPLE_RATE)
}
// ANCHOR_END: read_wav

// ANCHOR: read_wav_native
/// Reads a WAV file as mono samples in [-1, 1] at the file's own rate.
/// -> ([n], rate)
pub fn read_wav_native(path: &Path) -> Result<(Vec<f32>, u32), AudioError> {
    let mut reader = WavReader::open(path).map_err(|e| wav_error(path, e))?;
    let spec = reader.spec();
    if spec.channels > 2 {
        let channels = spec.channels;
        return Err(AudioError::Channels {
            path: path.into(),
            channels,
        });
    }
    let frames = reader.duration() as usize; // samples per channel
    if frames == 0 {
        return Err(AudioError::Empty { path: path.into() });
    }
    // Checked before decoding, so a 2-hour file fails at once, not after reading it.
    let seconds = frames as f64 / f64::from(spec.sample_rate);
    if seconds > CHUNK_SECONDS as f64 {
        let rate = spec.sample_rate;
        return Err(AudioError::TooLong {
            path: path.into(),
            seconds,
            frames,
            rate,
        });
    }
    let interleaved = decode(&mut reader, path)?;
    let mono = match spec.channels {
        1 => interleaved,
        // The mean of left and right: what `ffmpeg -ac 1`, which openai-whisper's
        // load_audio runs, does to stereo.
        _ => interleaved
            .chunks_exact(2)
            .map(|lr| 0.5 * (lr[0] + lr[1]))
            .collect(),
    };
    Ok((mono, spec.sample_rate))
}
// ANCHOR_END: read_wav_native

// ANCHOR: decode
/// Every sample of the file, interleaved, as f32 in [-1, 1].
fn decode<R: std::io::Read>(
    reader: &mut WavReader<R>,
    path: &Path,
) -> Result<Vec<f32>, AudioError> {
    let spec = reader.spec();
    match spec.sample_format {
        SampleFormat::Int => {
            // A b-bit sample is an integer in [-2^(b-1), 2^(b-1)); dividing by 2^(b-1)
            // maps it into [-1, 1), and 16-bit audio to exactly openai-whisper's
            // `int16 / 32768`. (hound already turns unsigned 8-bit into signed.)
            let scale = 1.0 / f64::from(1u32 << (spec.bits_per_sample - 1));
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| (f64::from(v) * scale) as f32))
                .collect::<Result<_, _>>()
                .map_err(|e| wav_error(path, e))
        }
        SampleFormat::Float => {
            let samples: Vec<f32> = reader
                .samples::<f32>()
                .collect::<Result<_, _>>()
                .map_err(|e| wav_error(path, e))?;
            // Float WAVs may hold anything; clipping here would hide a broken file.
            match samples.iter().position(|v| !(-1.0..=1.0).contains(v)) {
                Some(index) => {
                    let value = samples[index];
                    Err(AudioError::OutOfRange {
                        path: path.into(),
                        index,
                        value,
                    })
                }
                None => Ok(samples),
            }
        }
    }
}
// ANCHOR_END: decode

/// hound says only "unsupported" for compressed formats: name the format tag too.
fn wav_error(path: &Path, source: hound::Error) -> AudioError {
    let path: PathBuf = path.into();
    match source {
        hound::Error::Unsupported => {
            let tag = format_tag(&path).unwrap_or(0);
            let name = match tag {
                0x0002 => "Microsoft ADPCM",
                0x0006 => "A-law",
                0x0007 => "mu-law",
                0x0011 => "IMA ADPCM",
                0x0055 => "MPEG layer 3",
                _ => "not PCM",
            };
            AudioError::Unsupported { path, tag, name }
        }
        source => AudioError::Read { path, source },
    }
}

/// The `wFormatTag` of the file's `fmt ` chunk (the sub-format's, for an extensible file).
fn format_tag(path: &Path) -> Option<u16> {
    let bytes = std::fs::read(path).ok()?;
    let u16_at =
        |i: usize| Some(u16::from_le_bytes(bytes.get(i..i + 2)?.try_into().ok()?));
    let mut at = 12; // after "RIFF", the size, and "WAVE"
    while at + 8 <= bytes.len() {
        let size = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?) as usize;
        if &bytes[at..at + 4] == b"fmt " {
            let tag = u16_at(at + 8)?;
            return if tag == 0xFFFE {
                u16_at(at + 8 + 24)
            } else {
                Some(tag)
            };
        }
        at += 8 + size + size % 2; // chunks are padded to an even length
    }
    None
}
