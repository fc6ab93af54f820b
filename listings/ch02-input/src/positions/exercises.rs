//! Solutions to the exercises of the sections on positions, checked by
//! `tests/positions_exercises.rs`.

use ndarray::Array2;

// ANCHOR: ex_shift_matrix
/// Exercise 1: PE[p + k] = M_k · PE[p] for one matrix M_k that depends on k alone. Each
/// (sin, cos) pair at frequency ω is a point on a circle; moving k positions turns it by
/// kω. So M_k is block-diagonal with 2×2 blocks [[cos kω, sin kω], [-sin kω, cos kω]].
// (k, d_model) -> m_k: [d_model, d_model]
pub fn sinusoidal_shift_matrix(k: f64, d_model: usize) -> Array2<f32> {
    assert!(
        d_model.is_multiple_of(2),
        "d_model must be even, got {d_model}"
    );
    let mut m = Array2::zeros((d_model, d_model));
    for i in 0..d_model / 2 {
        let omega = 10_000f64.powf(-((2 * i) as f64) / d_model as f64);
        let (sin, cos) = ((k * omega).sin() as f32, (k * omega).cos() as f32);
        // sin(a + b) = sin a cos b + cos a sin b;  cos(a + b) = cos a cos b - sin a sin b
        m[[2 * i, 2 * i]] = cos;
        m[[2 * i, 2 * i + 1]] = sin;
        m[[2 * i + 1, 2 * i]] = -sin;
        m[[2 * i + 1, 2 * i + 1]] = cos;
    }
    m
}
// ANCHOR_END: ex_shift_matrix

// ANCHOR: ex_rope_scaling
/// Exercise 2: stretching RoPE to longer contexts than it was trained on.
#[derive(Clone, Copy, Debug)]
pub enum RopeScaling {
    /// Position interpolation: every angle divided by s, so position s·m looks like m.
    Linear(f64),
    /// "NTK-aware": base raised to base · s^(d/(d-2)), which leaves the fastest pair
    /// unchanged and slows the slowest pair by exactly s.
    Ntk(f64),
}

/// The frequencies θ_i of RoPE with a scaling rule applied.
// (d_head, base, scaling) -> theta: [d_head / 2]
pub fn scaled_frequencies(d_head: usize, base: f64, scaling: RopeScaling) -> Vec<f64> {
    let d = d_head as f64;
    let (base, divide) = match scaling {
        RopeScaling::Linear(s) => (base, s),
        RopeScaling::Ntk(s) => (base * s.powf(d / (d - 2.0)), 1.0),
    };
    (0..d_head / 2)
        .map(|i| base.powf(-2.0 * i as f64 / d) / divide)
        .collect()
}
// ANCHOR_END: ex_rope_scaling
