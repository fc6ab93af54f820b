//! Learning-rate schedules (section "Schedules"): each is a factor of the peak learning
//! rate as a function of the step, the `lr_lambda` of PyTorch's `LambdaLR`.

use std::f32::consts::PI;

// ANCHOR: schedule
/// The shape of the learning rate over training. `factor(step)` multiplies the peak
/// learning rate; `step` counts the updates already taken (0 for the first), as PyTorch's
/// `LambdaLR` counts them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    Constant,
    /// Linear warm-up from 0, then a half cosine down to `floor` × peak at `total`.
    WarmupCosine {
        warmup: usize,
        total: usize,
        floor: f32,
    },
    /// Linear warm-up, then a straight line down to 0 at `total`.
    WarmupLinear {
        warmup: usize,
        total: usize,
    },
    /// Noam (Vaswani et al.): linear warm-up, then ∝ 1/√step, equal to 1 at `warmup`.
    InverseSqrt {
        warmup: usize,
    },
    /// Warmup–stable–decay: warm up, hold the peak, then fall linearly to `floor` × peak
    /// over the last `decay` of `total` steps.
    WarmupStableDecay {
        warmup: usize,
        decay: usize,
        total: usize,
        floor: f32,
    },
}
// ANCHOR_END: schedule

// ANCHOR: factor
impl Schedule {
    pub fn factor(&self, step: usize) -> f32 {
        let warm = |w: usize| (step + 1) as f32 / w.max(1) as f32; // reaches 1 at step w - 1
        match *self {
            Schedule::Constant => 1.0,
            Schedule::WarmupCosine {
                warmup,
                total,
                floor,
            } => {
                if step < warmup {
                    return warm(warmup);
                }
                let progress =
                    ((step - warmup) as f32 / (total - warmup).max(1) as f32).min(1.0);
                floor + (1.0 - floor) * 0.5 * (1.0 + (PI * progress).cos())
            }
            Schedule::WarmupLinear { warmup, total } => {
                if step < warmup {
                    return warm(warmup);
                }
                (1.0 - (step - warmup) as f32 / (total - warmup).max(1) as f32).max(0.0)
            }
            Schedule::InverseSqrt { warmup } => {
                let (s, w) = ((step + 1) as f32, warmup.max(1) as f32);
                (s / w).min((w / s).sqrt())
            }
            Schedule::WarmupStableDecay {
                warmup,
                decay,
                total,
                floor,
            } => {
                let decay_start = total.saturating_sub(decay);
                if step < warmup {
                    warm(warmup)
                } else if step < decay_start {
                    1.0
                } else {
                    let progress =
                        ((step - decay_start) as f32 / decay.max(1) as f32).min(1.0);
                    1.0 - (1.0 - floor) * progress
                }
            }
        }
    }
}
// ANCHOR_END: factor
