//! Exercise: focal loss (Lin et al., 2017) and its gradient.

use ch01_foundations::softmax::log_softmax;
use ndarray::{Array2, ArrayRef2, Axis};

use crate::loss::{CrossEntropy, LossError};

// ANCHOR: focal_loss
/// Mean over rows of -(1 - p_y)^γ · log p_y, and ∂/∂logits. With p = p_y and
/// a = (1 - p)^γ - γ·p·(1 - p)^(γ-1)·log p, a row's gradient is a·(softmax - onehot(y)):
/// cross-entropy's p - onehot, scaled down where the model is already right (p → 1).
/// γ = 0 is the plain cross-entropy; γ ≥ 0. No rows give 0, as in `CrossEntropy`.
// logits: [N, V], targets: [N] -> (loss, dlogits: [N, V])
pub fn focal_loss(
    logits: &ArrayRef2<f32>,
    targets: &[usize],
    gamma: f32,
) -> Result<(f32, Array2<f32>), LossError> {
    CrossEntropy::default().validate(logits.dim(), targets)?; // rows and targets
    let n = targets.len();
    let log_p = log_softmax(logits, Axis(1));
    let mut dlogits = log_p.mapv(f32::exp); // softmax, then p - onehot, then scaled
    let mut loss = 0.0f64;
    for (i, &y) in targets.iter().enumerate() {
        let (lp, p) = (log_p[[i, y]], log_p[[i, y]].exp());
        let miss = 1.0 - p;
        loss += f64::from(-miss.powf(gamma) * lp);
        // γ p (1-p)^(γ-1) log p → 0 as p → 1; written to avoid 0 · ∞ there
        let pull = if miss > 0.0 {
            gamma * miss.powf(gamma) * p * lp / miss
        } else {
            0.0
        };
        let a = miss.powf(gamma) - pull;
        dlogits[[i, y]] -= 1.0;
        dlogits.row_mut(i).mapv_inplace(|d| a * d / n as f32);
    }
    Ok(((loss / n.max(1) as f64) as f32, dlogits))
}
// ANCHOR_END: focal_loss
