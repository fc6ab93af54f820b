//! Cross-entropy with label smoothing, padding ignored (section "The training recipe").

use ch01_foundations::softmax::log_softmax;
use ndarray::{Array2, Axis};

// ANCHOR: loss
/// Mean over non-padding rows of the cross-entropy against the smoothed target
/// q = (1 - ε)·onehot(y) + ε/V, PyTorch's `CrossEntropyLoss(ignore_index = pad,
/// label_smoothing = ε)`. Returns the loss and ∂L/∂logits = (softmax - q) / N_real on
/// real rows, 0 on padding rows.
// logits: [N, V], targets: [N] -> (loss, dlogits: [N, V])
pub fn label_smoothed_cross_entropy(
    logits: &Array2<f32>,
    targets: &[usize],
    pad: usize,
    eps: f32,
) -> (f32, Array2<f32>) {
    let (n, v) = logits.dim();
    assert!(
        targets.len() == n,
        "label_smoothed_cross_entropy: logits are {:?} but there are {} targets",
        logits.shape(),
        targets.len()
    );
    let log_p = log_softmax(logits, Axis(1));
    let n_real = targets.iter().filter(|&&y| y != pad).count().max(1) as f32;
    let mut dlogits = Array2::zeros((n, v));
    let mut loss = 0.0f64;
    for (i, &y) in targets.iter().enumerate() {
        if y == pad {
            continue; // a padding position predicts nothing: no loss, no gradient
        }
        assert!(
            y < v,
            "label_smoothed_cross_entropy: target {y} ≥ vocab {v}"
        );
        let row = log_p.row(i);
        let mean_log_p = row.sum() / v as f32;
        loss += f64::from(-(1.0 - eps) * row[y] - eps * mean_log_p);
        for (j, (d, &lp)) in dlogits.row_mut(i).iter_mut().zip(row).enumerate() {
            let q = eps / v as f32 + if j == y { 1.0 - eps } else { 0.0 };
            *d = (lp.exp() - q) / n_real;
        }
    }
    (loss as f32 / n_real, dlogits)
}
// ANCHOR_END: loss
