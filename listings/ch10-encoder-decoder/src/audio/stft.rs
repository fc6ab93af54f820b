//! The short-time Fourier transform: the spectrum of each 25 ms window, every 10 ms.

use ndarray::Array2;
use rustfft::FftPlanner;
use rustfft::num_complex::Complex;

// ANCHOR: hann_window
/// The periodic Hann window, w[n] = ½ − ½ cos(2πn / N) for n = 0..N (torch.hann_window's
/// default): one period of a raised cosine, so that windows a hop apart sum to a constant.
/// -> [N]
pub fn hann_window(n_fft: usize) -> Vec<f64> {
    (0..n_fft)
        .map(|n| 0.5 - 0.5 * (2.0 * std::f64::consts::PI * n as f64 / n_fft as f64).cos())
        .collect()
}
// ANCHOR_END: hann_window

// ANCHOR: power_spectrum
/// |STFT|² of `x`, as `torch.stft(x, n_fft, hop, window=hann, center=True)` and then
/// `.abs() ** 2`: frame t is centred on sample t · hop, the signal extended at both ends by
/// reflection. Only the first `n_frames` frames are computed.
/// x: [n] -> [n_fft / 2 + 1, n_frames]
pub fn power_spectrum(
    x: &[f32],
    n_fft: usize,
    hop: usize,
    n_frames: usize,
) -> Array2<f64> {
    assert!(
        x.len() > n_fft / 2,
        "reflect padding needs more than {} samples, got {}",
        n_fft / 2,
        x.len()
    );
    assert!(
        n_frames <= 1 + x.len() / hop,
        "{n_frames} frames asked of {} samples at hop {hop}",
        x.len()
    );
    let window = hann_window(n_fft);
    let fft = FftPlanner::<f64>::new().plan_fft_forward(n_fft);
    let n_bins = n_fft / 2 + 1; // a real signal's spectrum is symmetric: keep one half
    let mut power = Array2::zeros((n_bins, n_frames));
    let mut buf = vec![Complex::new(0.0, 0.0); n_fft];
    for t in 0..n_frames {
        for (k, b) in buf.iter_mut().enumerate() {
            let i = reflect((t * hop + k) as isize - (n_fft / 2) as isize, x.len());
            *b = Complex::new(f64::from(x[i]) * window[k], 0.0);
        }
        fft.process(&mut buf);
        for (f, b) in buf[..n_bins].iter().enumerate() {
            power[[f, t]] = b.norm_sqr();
        }
    }
    power
}
// ANCHOR_END: power_spectrum

// ANCHOR: reflect
/// Index i of a signal of length n extended by reflection about its end samples, which
/// are not repeated (numpy's and torch's "reflect"): -1 -> 1, n -> n - 2.
fn reflect(i: isize, n: usize) -> usize {
    let last = n as isize - 1;
    let j = if i < 0 {
        -i
    } else if i > last {
        2 * last - i
    } else {
        i
    };
    j as usize
}
// ANCHOR_END: reflect
