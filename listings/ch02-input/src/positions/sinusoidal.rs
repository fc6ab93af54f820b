//! The fixed sinusoidal encoding of the 2017 Transformer (section "Sinusoidal
//! encodings").

use ndarray::{Array1, Array2, Axis, s};

// ANCHOR: sinusoidal
/// PE[pos, 2i] = sin(pos · ω_i), PE[pos, 2i+1] = cos(pos · ω_i), ω_i = base^(-2i/d).
/// Angles are formed in f64: pos · ω_i reaches 10⁴ radians at pos 10⁴, where an f32
/// angle is already off by ~5e-4.
// (max_len, d_model) -> pe: [max_len, d_model]
pub fn sinusoidal_with_base(max_len: usize, d_model: usize, base: f64) -> Array2<f32> {
    assert!(
        d_model.is_multiple_of(2),
        "sinusoidal: d_model must be even, got {d_model}"
    );
    let omega = Array1::from_shape_fn(d_model / 2, |i| {
        base.powf(-((2 * i) as f64) / d_model as f64)
    });
    let pos = Array1::from_shape_fn(max_len, |p| p as f64);
    // angles[pos, i] = pos · ω_i: an outer product, [max_len, 1] * [1, d/2].
    let angles = &pos.insert_axis(Axis(1)) * &omega.insert_axis(Axis(0));
    let mut pe = Array2::zeros((max_len, d_model));
    pe.slice_mut(s![.., 0..;2])
        .assign(&angles.mapv(|a| a.sin() as f32));
    pe.slice_mut(s![.., 1..;2])
        .assign(&angles.mapv(|a| a.cos() as f32));
    pe
}

/// The 2017 paper's encoding, base 10000.
// (max_len, d_model) -> pe: [max_len, d_model]
pub fn sinusoidal(max_len: usize, d_model: usize) -> Array2<f32> {
    sinusoidal_with_base(max_len, d_model, 10_000.0)
}
// ANCHOR_END: sinusoidal

// ANCHOR: pe_dot
/// PE[p] · PE[p + k] = Σ_i sin(pω_i)sin((p+k)ω_i) + cos(pω_i)cos((p+k)ω_i)
///                   = Σ_i cos(kω_i):
/// the dot product of two encodings depends only on their distance k, not on p.
// (k, d_model) -> scalar
pub fn pe_dot_by_distance(k: f64, d_model: usize) -> f64 {
    (0..d_model / 2)
        .map(|i| (k * 10_000f64.powf(-((2 * i) as f64) / d_model as f64)).cos())
        .sum()
}
// ANCHOR_END: pe_dot
