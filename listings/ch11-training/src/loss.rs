//! Cross-entropy in depth (section "Cross-entropy in depth"): one fused pass from logits
//! to loss and gradient, with an ignore index, label smoothing and PaLM's z-loss, and a
//! sum reduction for padding-aware gradient accumulation. Chapter 1's
//! `softmax_cross_entropy` and Chapter 7's `label_smoothed_cross_entropy` are the special
//! cases it grows from.

use ndarray::{Array2, ArrayRef2, ArrayView1, ArrayViewMut1, Zip};
use thiserror::Error;

// ANCHOR: config
/// How the losses of the rows become one number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reduction {
    /// Divide by the number of counted (non-ignored) rows: PyTorch's `"mean"`.
    Mean,
    /// Add the counted rows' losses: PyTorch's `"sum"`. Accumulation divides by a count
    /// it knows only after the last micro-batch (module `accumulate`).
    Sum,
}

/// `torch.nn.functional.cross_entropy(logits, targets, ignore_index, label_smoothing,
/// reduction)` plus PaLM's z-loss: z_loss · (log Z)² per counted row, Z = Σ_j e^{z_j}.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CrossEntropy {
    pub ignore_index: Option<usize>, // rows with this target count for nothing
    pub label_smoothing: f32,        // ε in [0, 1]
    pub z_loss: f32,                 // PaLM used 1e-4; 0 turns it off
    pub reduction: Reduction,
}

impl Default for CrossEntropy {
    fn default() -> Self {
        CrossEntropy {
            ignore_index: None,
            label_smoothing: 0.0,
            z_loss: 0.0,
            reduction: Reduction::Mean,
        }
    }
}

/// The loss, its gradient with respect to the logits, and how many rows counted.
#[derive(Clone, Debug, PartialEq)]
pub struct LossGrad {
    pub loss: f32,
    pub dlogits: Array2<f32>, // [N, V], zero on ignored rows
    pub counted: usize,
}
// ANCHOR_END: config

// ANCHOR: errors
/// Input the loss cannot be computed from, naming what is wrong.
#[derive(Debug, Error, PartialEq)]
pub enum LossError {
    #[error("cross-entropy: logits have {rows} rows but there are {targets} targets")]
    Rows { rows: usize, targets: usize },
    #[error(
        "cross-entropy: target {target} at row {row} is out of range for {vocab} classes"
    )]
    Target {
        row: usize,
        target: usize,
        vocab: usize,
    },
    #[error("cross-entropy: label_smoothing = {0} must lie in [0, 1]")]
    Smoothing(f32),
    #[error("cross-entropy: z_loss = {0} must be finite and ≥ 0")]
    ZLoss(f32),
}
// ANCHOR_END: errors

impl CrossEntropy {
    /// The settings, and targets against logits of shape (n, v).
    pub(crate) fn validate(
        &self,
        (n, v): (usize, usize),
        targets: &[usize],
    ) -> Result<(), LossError> {
        let eps = self.label_smoothing;
        if !(0.0..=1.0).contains(&eps) {
            return Err(LossError::Smoothing(eps));
        }
        if !(self.z_loss.is_finite() && self.z_loss >= 0.0) {
            return Err(LossError::ZLoss(self.z_loss));
        }
        if targets.len() != n {
            return Err(LossError::Rows {
                rows: n,
                targets: targets.len(),
            });
        }
        let bad = targets
            .iter()
            .enumerate()
            .find(|&(_, &y)| y >= v && Some(y) != self.ignore_index);
        match bad {
            Some((row, &target)) => Err(LossError::Target {
                row,
                target,
                vocab: v,
            }),
            None => Ok(()),
        }
    }
}

// ANCHOR: forward_backward
impl CrossEntropy {
    /// Loss and ∂loss/∂logits in one pass over the logits. With q the smoothed target
    /// (1 - ε)·onehot(y) + ε/V and p = softmax(z), a row's loss is
    /// log Z - Σ_j q_j z_j + c·(log Z)² and its gradient (1 + 2c·log Z)·p - q.
    /// A mean over zero counted rows is 0 with a zero gradient, where PyTorch gives NaN.
    // logits: [N, V], targets: [N] -> (loss, dlogits: [N, V])
    pub fn forward_backward(
        &self,
        logits: &ArrayRef2<f32>,
        targets: &[usize],
    ) -> Result<LossGrad, LossError> {
        self.validate(logits.dim(), targets)?;
        let mut dlogits = Array2::<f32>::zeros(logits.dim());
        let (mut total, mut counted) = (0.0f64, 0usize);
        for ((z, d), &y) in logits
            .rows()
            .into_iter()
            .zip(dlogits.rows_mut())
            .zip(targets)
        {
            if Some(y) != self.ignore_index {
                total += f64::from(self.row(z, d, y));
                counted += 1;
            }
        }
        let scale = match self.reduction {
            Reduction::Mean => 1.0 / counted.max(1) as f32,
            Reduction::Sum => 1.0,
        };
        if scale != 1.0 {
            dlogits *= scale;
        }
        Ok(LossGrad {
            loss: (total * f64::from(scale)) as f32,
            dlogits,
            counted,
        })
    }
}
// ANCHOR_END: forward_backward

// ANCHOR: row
impl CrossEntropy {
    /// One counted row: writes the unreduced gradient (1 + 2c·log Z)·p - q into `d` and
    /// returns the row's loss. e^{z_j - m} is computed once, straight into `d`, and
    /// becomes the gradient in place: no softmax or log-softmax array is ever built.
    // z: [V], d: [V] (written), y < V -> loss
    fn row(&self, z: ArrayView1<f32>, mut d: ArrayViewMut1<f32>, y: usize) -> f32 {
        let (v, eps, c) = (z.len() as f32, self.label_smoothing, self.z_loss);
        let m = z.fold(f32::NEG_INFINITY, |m, &x| m.max(x)); // shift: e^{z - m} ≤ 1
        let (mut s, mut sum_shifted) = (0.0f32, 0.0f32);
        Zip::from(&mut d).and(&z).for_each(|e, &z_j| {
            *e = (z_j - m).exp();
            s += *e;
            sum_shifted += z_j - m;
        });
        let (log_s, log_z) = (s.ln(), m + s.ln()); // log Z = m + log Σ e^{z_j - m}
        let nll = log_s - (z[y] - m); // -log p_y
        let mut loss = (1.0 - eps) * nll + c * log_z * log_z;
        if eps > 0.0 {
            // -(1/V) Σ_j log p_j; skipped at ε = 0, where a -inf logit would make 0·∞
            loss += eps * (log_s - sum_shifted / v);
        }
        let g = (1.0 + 2.0 * c * log_z) / s; // turns e^{z_j - m} into (1 + 2c·log Z)·p_j
        d.mapv_inplace(|e| g * e - eps / v);
        d[y] -= 1.0 - eps;
        loss
    }
}
// ANCHOR_END: row
