//! The optimizer half of the training recipe (section "The training recipe"): Adam with
//! bias correction, the Noam warmup schedule, and clipping by the global gradient norm.
//! Chapter 11 takes each of them further (AdamW, cosine schedules, loss scaling).

use std::collections::HashMap;

use ch01_foundations::module::{Module, grad_norm};
use ndarray::{ArrayD, Zip};

// ANCHOR: adam
/// Adam (Kingma & Ba, 2015). Per parameter θ with gradient g, at step t:
///   m ← β₁ m + (1 - β₁) g,   v ← β₂ v + (1 - β₂) g²,
///   θ ← θ - lr · m̂ / (√v̂ + ε),   m̂ = m / (1 - β₁ᵗ),  v̂ = v / (1 - β₂ᵗ).
/// The moments live in a map keyed by the parameter's dotted name, so the optimizer
/// needs nothing from the model but the `Module` visitor.
pub struct Adam {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub t: u32,                                           // steps taken
    moments: HashMap<String, (ArrayD<f32>, ArrayD<f32>)>, // name -> (m, v)
}

impl Adam {
    /// The 2017 paper's settings: β₁ = 0.9, β₂ = 0.98, ε = 1e-9.
    pub fn vaswani() -> Self {
        Adam::new(0.9, 0.98, 1e-9)
    }

    pub fn new(beta1: f32, beta2: f32, eps: f32) -> Self {
        let moments = HashMap::new();
        Adam {
            beta1,
            beta2,
            eps,
            t: 0,
            moments,
        }
    }
}
// ANCHOR_END: adam

// ANCHOR: adam_step
impl Adam {
    /// One update of every parameter of `model` from its accumulated gradient.
    pub fn step(&mut self, model: &mut dyn Module, lr: f32) {
        self.t += 1;
        let (b1, b2, eps) = (self.beta1, self.beta2, self.eps);
        let c1 = 1.0 - b1.powi(self.t as i32); // bias corrections: m and v start at 0
        let c2 = 1.0 - b2.powi(self.t as i32);
        model.visit_params_mut(&mut |name, p| {
            let (m, v) = self.moments.entry(name.to_owned()).or_insert_with(|| {
                (
                    ArrayD::zeros(p.value.raw_dim()),
                    ArrayD::zeros(p.value.raw_dim()),
                )
            });
            Zip::from(p.value)
                .and(&p.grad)
                .and(m)
                .and(v)
                .for_each(|w, &g, m, v| {
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *w -= lr * (*m / c1) / ((*v / c2).sqrt() + eps);
                });
        });
    }
}
// ANCHOR_END: adam_step

impl Adam {
    /// The moments (m, v) of a parameter, for tests and inspection.
    pub fn moment(&self, name: &str) -> Option<(&ArrayD<f32>, &ArrayD<f32>)> {
        self.moments.get(name).map(|(m, v)| (m, v))
    }
}

// ANCHOR: noam
/// The learning rate of Vaswani et al. (2017), times `scale`:
///   lr(step) = scale · d_model^-0.5 · min(step^-0.5, step · warmup^-1.5).
/// It rises linearly for `warmup` steps, peaks at scale · (d_model · warmup)^-0.5, then
/// decays like 1/√step. Steps count from 1.
pub fn noam_lr(step: usize, d_model: usize, warmup: usize, scale: f32) -> f32 {
    let step = step.max(1) as f32;
    let warmup = warmup as f32;
    scale * (d_model as f32).powf(-0.5) * step.powf(-0.5).min(step * warmup.powf(-1.5))
}
// ANCHOR_END: noam

// ANCHOR: clip
/// Scales every gradient by max_norm / ‖g‖ when the global L2 norm ‖g‖ over all
/// parameters exceeds `max_norm`; returns ‖g‖ before clipping (worth logging: spikes show
/// up here first). ‖g‖ is Chapter 1's `grad_norm`.
pub fn clip_grad_norm(model: &mut dyn Module, max_norm: f32) -> f32 {
    let norm = grad_norm(&*model);
    // PyTorch's clip_grad_norm_ exactly: the 1e-6 guards against 0 / 0, and it decides
    // too, so a norm within 1e-6 below max_norm is scaled a little (Chapter 11 tests it)
    let k = max_norm / (norm + 1e-6);
    if k < 1.0 {
        model.visit_params_mut(&mut |_, mut p| p.grad.mapv_inplace(|g| g * k));
    }
    norm
}
// ANCHOR_END: clip
