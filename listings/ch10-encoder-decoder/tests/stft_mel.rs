//! The pieces under the log-mel: the Hann window, the power spectrum of a pure tone, and
//! the Slaney mel scale, each against what it must be by construction.

use ch10_encoder_decoder::audio::mel::{hz_to_mel, mel_filters, mel_to_hz};
use ch10_encoder_decoder::audio::stft::{hann_window, power_spectrum};
use ch10_encoder_decoder::audio::{HOP_LENGTH, N_FFT, N_MELS, SAMPLE_RATE};

#[test]
fn the_periodic_hann_window_starts_at_zero_and_peaks_in_the_middle() {
    let w = hann_window(N_FFT);
    assert_eq!(w.len(), 400);
    assert_eq!(w[0], 0.0);
    assert!((w[200] - 1.0).abs() < 1e-15);
    // Periodic, not symmetric: w[n] = w[N - n], so the last sample is w[1], not 0.
    for n in 1..N_FFT {
        assert!((w[n] - w[N_FFT - n]).abs() < 1e-12, "n = {n}");
    }
    // Its mean is exactly 1/2: what scales a sine's peak below.
    assert!((w.iter().sum::<f64>() - 200.0).abs() < 1e-9);
}

#[test]
fn a_1_khz_tone_lands_in_bin_25_with_the_power_the_window_predicts() {
    // Bins are 16000 / 400 = 40 Hz apart, so 1 kHz is bin 25. A sine of amplitude A under
    // a window summing to N/2 gives |X| = A · N/4 at its bin: (0.5 · 100)² = 2500.
    let x: Vec<f32> = (0..16_000)
        .map(|i| 0.5 * (2.0 * std::f32::consts::PI * 1_000.0 * i as f32 / 16_000.0).sin())
        .collect();
    let p = power_spectrum(&x, N_FFT, HOP_LENGTH, 50); // [201, 50]
    assert_eq!(p.dim(), (201, 50));
    let frame = p.column(20); // well inside the signal
    let peak = (0..201)
        .max_by(|&a, &b| frame[a].total_cmp(&frame[b]))
        .unwrap();
    assert_eq!(peak, 25);
    assert!((frame[25] - 2500.0).abs() < 1.0, "{}", frame[25]);
    // The Hann window's leakage: two bins away the power has fallen by more than 1e6.
    assert!(frame[27] < 2500.0 * 1e-6 && frame[23] < 2500.0 * 1e-6);
}

#[test]
fn the_slaney_mel_scale_is_linear_below_1_khz_and_logarithmic_above() {
    assert_eq!(hz_to_mel(0.0), 0.0);
    assert!((hz_to_mel(1_000.0) - 15.0).abs() < 1e-12);
    assert!(
        (hz_to_mel(500.0) - 7.5).abs() < 1e-12,
        "linear: 200/3 Hz a mel"
    );
    // Above 1 kHz each factor of 6.4 adds 27 mels.
    assert!((hz_to_mel(6_400.0) - 42.0).abs() < 1e-12);
    // The 82 filter edges are evenly spaced in mels from 0 to 8 kHz: below 1 kHz that is
    // about 37 Hz apart (what the text says), closer than the 40 Hz between FFT bins.
    let edge_hz = mel_to_hz(hz_to_mel(8_000.0) / 81.0);
    assert!(edge_hz > 37.0 && edge_hz < 38.0, "{edge_hz} Hz");
    for hz in [0.0, 40.0, 999.0, 1_000.0, 1_001.0, 4_321.0, 8_000.0] {
        assert!((mel_to_hz(hz_to_mel(hz)) - hz).abs() < 1e-9, "{hz} Hz");
    }
}

#[test]
fn every_slaney_filter_has_area_about_one_in_hertz() {
    // Slaney normalisation: triangle height 2 / (right - left), so its area is 1 (in Hz).
    // Sampled only at the FFT's bins, 40 Hz apart, a triangle's sum scatters around its
    // area by where the bins happen to fall: by up to 8 % here, and 0.5 % on average.
    let w = mel_filters(SAMPLE_RATE, N_FFT, N_MELS);
    let areas: Vec<f32> = w.outer_iter().map(|row| row.sum() * 40.0).collect();
    for (i, a) in areas.iter().enumerate() {
        assert!((a - 1.0).abs() < 0.1, "band {i}: area {a}");
    }
    let mean = areas.iter().sum::<f32>() / N_MELS as f32;
    assert!((mean - 1.0).abs() < 0.01, "mean area {mean}");
    assert!(w.iter().all(|&v| v >= 0.0));
}
