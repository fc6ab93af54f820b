//! The mel scale and the triangular filters that pool an FFT's bins into mel bands.

use ndarray::Array2;

/// Slaney's mel scale (librosa's default, `htk=False`): linear below 1 kHz, 200/3 Hz a
/// mel; logarithmic above, 27 mels for each factor of 6.4.
const F_SP: f64 = 200.0 / 3.0;
const MIN_LOG_HZ: f64 = 1000.0;
const MIN_LOG_MEL: f64 = MIN_LOG_HZ / F_SP; // 15 mels at 1 kHz

fn log_step() -> f64 {
    6.4f64.ln() / 27.0
}

// ANCHOR: mel_scale
/// Hertz to Slaney mels (librosa's `hz_to_mel`, `htk=False`).
pub fn hz_to_mel(f: f64) -> f64 {
    if f >= MIN_LOG_HZ {
        MIN_LOG_MEL + (f / MIN_LOG_HZ).ln() / log_step()
    } else {
        f / F_SP
    }
}

/// Slaney mels back to hertz (librosa's `mel_to_hz`).
pub fn mel_to_hz(m: f64) -> f64 {
    if m >= MIN_LOG_MEL {
        MIN_LOG_HZ * (log_step() * (m - MIN_LOG_MEL)).exp()
    } else {
        F_SP * m
    }
}
// ANCHOR_END: mel_scale

// ANCHOR: mel_filters
/// The mel filter bank `librosa.filters.mel(sr, n_fft, n_mels)` computes (Slaney scale,
/// Slaney normalisation, 0 Hz to sr / 2), which openai-whisper ships as mel_filters.npz.
/// -> [n_mels, n_fft / 2 + 1]
pub fn mel_filters(sample_rate: u32, n_fft: usize, n_mels: usize) -> Array2<f32> {
    let sr = f64::from(sample_rate);
    let fft_hz: Vec<f64> = (0..=n_fft / 2)
        .map(|k| k as f64 * sr / n_fft as f64)
        .collect();
    // n_mels + 2 edges evenly spaced in mels (numpy's linspace, end point exact): filter
    // i rises from edge i to a peak at edge i + 1 and falls to zero at edge i + 2.
    let (lo, hi) = (hz_to_mel(0.0), hz_to_mel(sr / 2.0));
    let step = (hi - lo) / (n_mels + 1) as f64;
    let mut edges: Vec<f64> = (0..n_mels + 2)
        .map(|i| mel_to_hz(i as f64 * step + lo))
        .collect();
    edges[n_mels + 1] = mel_to_hz(hi);
    let mut w = Array2::<f32>::zeros((n_mels, fft_hz.len()));
    for i in 0..n_mels {
        let (left, centre, right) = (edges[i], edges[i + 1], edges[i + 2]);
        // Slaney normalisation: each triangle has area 1 in Hz, so wide high bands do
        // not outweigh narrow low ones.
        let enorm = 2.0 / (right - left);
        for (k, &f) in fft_hz.iter().enumerate() {
            let rise = -(left - f) / (centre - left);
            let fall = (right - f) / (right - centre);
            // librosa stores the triangle as f32, then scales it in f64: round the same way.
            let tri = rise.min(fall).max(0.0) as f32;
            w[[i, k]] = (f64::from(tri) * enorm) as f32;
        }
    }
    w
}
// ANCHOR_END: mel_filters
