//! Whisper's audio front end: a WAV file in, an 80 × 3000 log-mel spectrogram out.
//!
//! - [`wav`]: read a WAV file as 16 kHz mono samples in [-1, 1]
//! - [`resample`]: other sample rates to 16 kHz, band-limited (rubato)
//! - [`stft`]: the periodic Hann window and the short-time power spectrum (rustfft)
//! - [`mel`]: the 80 Slaney mel filters, computed as librosa computes them
//! - [`log_mel`]: openai-whisper's `log_mel_spectrogram`, padded to 30 s

pub mod log_mel;
pub mod mel;
pub mod resample;
pub mod stft;
pub mod wav;

pub use log_mel::log_mel_spectrogram;
pub use mel::mel_filters;
pub use wav::read_wav;

use std::path::PathBuf;

// ANCHOR: constants
/// The sample rate Whisper was trained on, in Hz.
pub const SAMPLE_RATE: u32 = 16_000;
/// Samples in one STFT window: 25 ms.
pub const N_FFT: usize = 400;
/// Samples between window starts: 10 ms, so 100 frames a second.
pub const HOP_LENGTH: usize = 160;
/// Whisper's window of audio: 30 s.
pub const CHUNK_SECONDS: usize = 30;
/// 30 s of samples: 480,000.
pub const N_SAMPLES: usize = CHUNK_SECONDS * SAMPLE_RATE as usize;
/// Frames in the encoder's input: 3,000.
pub const N_FRAMES: usize = N_SAMPLES / HOP_LENGTH;
/// Mel bands (tiny.en to large-v2; large-v3 uses 128).
pub const N_MELS: usize = 80;
// ANCHOR_END: constants

// ANCHOR: audio_error (long: one enum, every way audio in can fail)
/// Why audio could not be turned into Whisper's input; each names the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    #[error("cannot read WAV file {path}: {source}")]
    Read { path: PathBuf, source: hound::Error },
    #[error(
        "{path}: WAV format tag {tag:#06x} ({name}) is not supported; only integer PCM and 32-bit IEEE float are read"
    )]
    Unsupported {
        path: PathBuf,
        tag: u16,
        name: &'static str,
    },
    #[error(
        "{path}: {channels} channels; only mono, and stereo (averaged to mono, as ffmpeg does for openai-whisper) are read"
    )]
    Channels { path: PathBuf, channels: u16 },
    #[error("{path}: the file holds no samples")]
    Empty { path: PathBuf },
    #[error(
        "{path}: {seconds:.2} s of audio ({frames} frames at {rate} Hz) is longer than Whisper's 30 s window; split it into pieces of at most 30 s"
    )]
    TooLong {
        path: PathBuf,
        seconds: f64,
        frames: usize,
        rate: u32,
    },
    #[error(
        "{path}: sample {index} is {value}, outside [-1, 1] (a float WAV must be normalised)"
    )]
    OutOfRange {
        path: PathBuf,
        index: usize,
        value: f32,
    },
    #[error(
        "{samples} samples ({seconds:.2} s at 16 kHz) is longer than Whisper's 30 s window ({N_SAMPLES} samples)"
    )]
    SamplesTooLong { samples: usize, seconds: f64 },
    #[error("resampling {from} Hz to {to} Hz failed: {message}")]
    Resample { from: u32, to: u32, message: String },
}
// ANCHOR_END: audio_error
