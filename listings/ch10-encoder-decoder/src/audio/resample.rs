//! Other sample rates to Whisper's 16 kHz, with a band-limited resampler.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler};

use super::AudioError;

// ANCHOR: resample
/// Resamples mono audio from `from` Hz to `to` Hz. x: [n] -> [≈ n · to / from]
///
/// rubato's synchronous FFT resampler: it removes everything above the lower rate's
/// Nyquist frequency before changing the rate, so 22,050 Hz speech loses its 8–11 kHz
/// band instead of folding it back onto the speech (aliasing). Its output is trimmed of
/// the filter's delay, so sample i of the output lines up with time i / `to`.
pub fn resample(x: &[f32], from: u32, to: u32) -> Result<Vec<f32>, AudioError> {
    if from == to {
        return Ok(x.to_vec());
    }
    let fail = |message: String| AudioError::Resample { from, to, message };
    let chunk = 1024; // input frames a step: a memory/latency knob, not a quality one
    let mut resampler =
        Fft::<f32>::new(from as usize, to as usize, chunk, 1, FixedSync::Input)
            .map_err(|e| fail(e.to_string()))?;
    let input = InterleavedSlice::new(x, 1, x.len()).map_err(|e| fail(e.to_string()))?;
    let output = resampler
        .process_all(&input, x.len(), None)
        .map_err(|e| fail(e.to_string()))?;
    // A band-limited signal can overshoot ±1 a little next to a clipped peak; the
    // log-mel needs no bound, so nothing is clipped here.
    Ok(output.take_data())
}
// ANCHOR_END: resample
