//! Learning-rate schedules (section "Schedules"): each is a factor of the peak learning
//! rate as a function of the step, the `lr_lambda` of PyTorch's `LambdaLR`, and equal to
//! the `SequentialLR` of PyTorch's own pieces where it has them.

use std::f64::consts::PI;

use thiserror::Error;

// ANCHOR: schedule
/// The shape of the learning rate over training. `factor(step)` multiplies the peak
/// learning rate; `step` counts the updates already taken (0 for the first), as PyTorch's
/// `LambdaLR` counts them.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    Constant,
    /// Linear warm-up, then a half cosine down to `floor` × peak at `total`.
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

// ANCHOR: factor (long: one match over the five schedules, read as the table of their formulas)
impl Schedule {
    /// Computed in f64 and rounded once. Every warm-up is PyTorch's
    /// `LinearLR(start_factor = 1/(w+1), total_iters = w)`: (step + 1)/(w + 1), so the
    /// first update is not wasted at 0 and the peak arrives at step w, where the decay
    /// starts from it. Noam keeps the 2017 paper's own ramp, which peaks at step w - 1.
    pub fn factor(&self, step: usize) -> f32 {
        let s = step as f64;
        let warm = |w: usize| (s + 1.0) / (w as f64 + 1.0);
        // How far through `len` steps that start at `start` the step is, from 0 to 1.
        let progress =
            |start: usize, len: usize| ((s - start as f64) / len.max(1) as f64).min(1.0);
        let f = match *self {
            Schedule::Constant => 1.0,
            Schedule::WarmupCosine {
                warmup,
                total,
                floor,
            } => {
                if step < warmup {
                    warm(warmup)
                } else {
                    let p = progress(warmup, total.saturating_sub(warmup));
                    let floor = f64::from(floor);
                    floor + (1.0 - floor) * 0.5 * (1.0 + (PI * p).cos())
                }
            }
            Schedule::WarmupLinear { warmup, total } => {
                if step < warmup {
                    warm(warmup)
                } else {
                    1.0 - progress(warmup, total.saturating_sub(warmup))
                }
            }
            Schedule::InverseSqrt { warmup } => {
                let w = warmup.max(1) as f64;
                ((s + 1.0) / w).min((w / (s + 1.0)).sqrt())
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
                    1.0 - (1.0 - f64::from(floor)) * progress(decay_start, decay)
                }
            }
        };
        f as f32
    }
}
// ANCHOR_END: factor

/// A schedule whose phases do not fit in its length, or whose floor is not a fraction.
#[derive(Debug, Error, PartialEq)]
pub enum ScheduleError {
    #[error(
        "warm-up ({warmup} steps) and decay ({decay} steps) do not fit in {total} steps"
    )]
    Phases {
        warmup: usize,
        decay: usize,
        total: usize,
    },
    #[error("floor {0} is not a fraction of the peak in [0, 1]")]
    Floor(f32),
}

impl Schedule {
    /// Checks that the phases fit in `total` and the floor is in [0, 1].
    pub fn validate(&self) -> Result<(), ScheduleError> {
        let (warmup, decay, total, floor) = match *self {
            Schedule::Constant | Schedule::InverseSqrt { .. } => return Ok(()),
            Schedule::WarmupCosine {
                warmup,
                total,
                floor,
            } => (warmup, 0, total, floor),
            Schedule::WarmupLinear { warmup, total } => (warmup, 0, total, 0.0),
            Schedule::WarmupStableDecay {
                warmup,
                decay,
                total,
                floor,
            } => (warmup, decay, total, floor),
        };
        if warmup + decay > total {
            return Err(ScheduleError::Phases {
                warmup,
                decay,
                total,
            });
        }
        if !(0.0..=1.0).contains(&floor) {
            return Err(ScheduleError::Floor(floor));
        }
        Ok(())
    }
}
