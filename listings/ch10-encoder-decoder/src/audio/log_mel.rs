//! openai-whisper's log-mel spectrogram, the encoder's input.

use ndarray::{Array2, s};

use super::mel::mel_filters;
use super::stft::power_spectrum;
use super::{AudioError, HOP_LENGTH, N_FFT, N_FRAMES, N_MELS, N_SAMPLES, SAMPLE_RATE};

// ANCHOR: log_mel_spectrogram
/// Whisper's input for up to 30 s of 16 kHz audio, as openai-whisper's `transcribe` makes
/// it: `log_mel_spectrogram(audio, padding=N_SAMPLES)[:, :N_FRAMES]`.
/// samples: [n ≤ 480,000] -> [80, 3000]
pub fn log_mel_spectrogram(samples: &[f32]) -> Result<Array2<f32>, AudioError> {
    if samples.len() > N_SAMPLES {
        let seconds = samples.len() as f64 / f64::from(SAMPLE_RATE);
        return Err(AudioError::SamplesTooLong {
            samples: samples.len(),
            seconds,
        });
    }
    // 30 s of silence after the audio: the model always sees a full window.
    let mut x = samples.to_vec();
    x.resize(samples.len() + N_SAMPLES, 0.0);
    // torch.stft makes 1 + len / hop frames and Whisper drops the last; the model reads
    // the first 3000. The maximum below is taken over every frame, but frames whose
    // window holds only padding sit at the floor and cannot raise it: the frames that
    // touch the audio are enough (up to 3002, for audio that fills the 30 s).
    let touching = (samples.len() + N_FFT / 2).div_ceil(HOP_LENGTH);
    let n_frames = N_FRAMES.max(touching);
    let power = power_spectrum(&x, N_FFT, HOP_LENGTH, n_frames); // [201, n_frames]
    let filters = mel_filters(SAMPLE_RATE, N_FFT, N_MELS).mapv(f64::from); // [80, 201]
    let mel = filters.dot(&power); // [80, n_frames]
    // log10, with silence clamped to 1e-10 (-100 dB) instead of -inf.
    let log = mel.mapv(|v| v.max(1e-10).log10());
    // Nothing more than 8 decades (80 dB) below the loudest cell; then a fixed shift and
    // scale to values of the order of 1.
    let max = log.fold(f64::NEG_INFINITY, |m, &v| m.max(v));
    let log = log.slice(s![.., ..N_FRAMES]); // [80, 3000]
    Ok(log.mapv(|v| ((v.max(max - 8.0) + 4.0) / 4.0) as f32))
}
// ANCHOR_END: log_mel_spectrogram
