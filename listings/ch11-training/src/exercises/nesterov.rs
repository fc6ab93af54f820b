//! Exercise: Nesterov momentum two ways. Sutskever et al. (2013) take the gradient at a
//! look-ahead point, v ← μv - lr ∇f(θ + μv), θ ← θ + v; PyTorch takes it at the point it
//! stores, b ← μb + g, θ ← θ - lr (g + μb). With φ = θ + μv and b = -v / lr the first
//! becomes the second: PyTorch's iterate is Sutskever's look-ahead point.

use ndarray::Array1;

// ANCHOR: look_ahead
/// Sutskever's form on f(θ) = ½ Σ aᵢ (θᵢ - cᵢ)², whose gradient is a ⊙ (θ - c). Returns
/// the look-ahead points φ_t = θ_t + μ v_t after each of `steps` updates.
// a, c, theta0: [n] -> steps × [n]
pub fn look_ahead_nesterov(
    a: &Array1<f32>,
    c: &Array1<f32>,
    theta0: &Array1<f32>,
    lr: f32,
    mu: f32,
    steps: usize,
) -> Vec<Array1<f32>> {
    let grad = |x: &Array1<f32>| a * &(x - c);
    let (mut theta, mut v) = (theta0.clone(), Array1::<f32>::zeros(theta0.len()));
    (0..steps)
        .map(|_| {
            let g = grad(&(&theta + &(&v * mu))); // the gradient at the look-ahead point
            v = &v * mu - &g * lr;
            theta = &theta + &v;
            &theta + &(&v * mu)
        })
        .collect()
}
// ANCHOR_END: look_ahead
