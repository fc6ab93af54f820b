//! Derivatives, the chain rule, and the two gradients every model needs: matmul and
//! softmax + cross-entropy (section "Calculus").

use ndarray::{Array2, ArrayRef2, Axis};

use crate::softmax::log_softmax;

// ANCHOR: central_difference
/// f'(x) ≈ (f(x + h) - f(x - h)) / 2h. The error has two parts: truncation, which shrinks
/// like h², and rounding, which grows like ε_machine / h. The best h balances them.
pub fn central_difference(f: impl Fn(f64) -> f64, x: f64, h: f64) -> f64 {
    (f(x + h) - f(x - h)) / (2.0 * h)
}
// ANCHOR_END: central_difference

// ANCHOR: matmul_backward
/// Backward pass of Y = X W. With G = ∂L/∂Y, the chain rule gives
/// ∂L/∂X = G Wᵀ and ∂L/∂W = Xᵀ G: each gradient has the shape of what it differentiates.
// x: [n, k], w: [k, m], dy: [n, m] -> (dx: [n, k], dw: [k, m])
pub fn matmul_backward(
    x: &ArrayRef2<f32>,
    w: &ArrayRef2<f32>,
    dy: &ArrayRef2<f32>,
) -> (Array2<f32>, Array2<f32>) {
    assert_eq!(
        x.ncols(),
        w.nrows(),
        "matmul_backward: x {:?} and w {:?} do not chain",
        x.dim(),
        w.dim()
    );
    assert_eq!(
        dy.dim(),
        (x.nrows(), w.ncols()),
        "matmul_backward: dy is {:?}, expected [n, m] = {:?}",
        dy.dim(),
        (x.nrows(), w.ncols())
    );
    (dy.dot(&w.t()), x.t().dot(dy))
}
// ANCHOR_END: matmul_backward

// ANCHOR: softmax_cross_entropy
/// Mean cross-entropy of softmax(logits) against integer targets, and its gradient. L =
/// (1/n) Σ_i [logsumexp(z_i) - z_i,t_i], and ∂L/∂z_i = (softmax(z_i) - onehot(t_i)) / n:
/// fusing softmax with the loss gives a gradient with no division by a probability.
// logits: [n, V], targets: [n] -> (loss, dlogits: [n, V])
pub fn softmax_cross_entropy(
    logits: &ArrayRef2<f32>,
    targets: &[usize],
) -> (f32, Array2<f32>) {
    let (n, vocab) = logits.dim();
    assert_eq!(
        targets.len(),
        n,
        "softmax_cross_entropy: {n} rows of logits but {} targets",
        targets.len()
    );
    if let Some(&t) = targets.iter().find(|&&t| t >= vocab) {
        panic!("softmax_cross_entropy: target {t} is out of range for {vocab} classes");
    }
    let log_p = log_softmax(logits, Axis(1));
    let loss = -targets
        .iter()
        .enumerate()
        .map(|(i, &t)| log_p[[i, t]])
        .sum::<f32>()
        / n as f32;
    let mut dlogits = log_p.mapv(f32::exp);
    for (i, &t) in targets.iter().enumerate() {
        dlogits[[i, t]] -= 1.0;
    }
    dlogits /= n as f32;
    (loss, dlogits)
}
// ANCHOR_END: softmax_cross_entropy
