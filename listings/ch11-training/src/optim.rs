//! Optimizers (section "Optimizers"): the interface every optimizer answers, parameter
//! groups chosen by dotted name, and Adam with its weight decay coupled (L2) or
//! decoupled (AdamW). SGD with momentum sits beside them.

use std::collections::BTreeMap;

use ch01_foundations::module::Module;
use ndarray::{ArrayD, Zip};

// ANCHOR: optimizer
/// One update of every parameter of a model from the gradients accumulated in it.
/// The learning rate comes from outside, from a schedule, so one optimizer serves any.
pub trait Optimizer {
    fn step(&mut self, model: &mut dyn Module, lr: f32);
}
// ANCHOR_END: optimizer

// ANCHOR: groups
/// The parameter-group rule of GPT-2, nanoGPT and most Llama recipes: weight decay pulls
/// matrices toward zero, but not biases, norm gains and embeddings, whose scale carries
/// meaning. Chapter 1's dotted names say which is which: the last segment names a bias
/// (`b`, `beta`) or a norm gain (`gamma`, or any parameter inside a `*norm*` or `ln_*`
/// module), and an embedding table lives under `embed`, `wte` or `wpe`.
pub fn decays(name: &str) -> bool {
    let segments: Vec<&str> = name.split('.').collect();
    let last = segments.last().copied().unwrap_or("");
    let bias = matches!(last, "b" | "bias" | "beta");
    let norm = last == "gamma"
        || segments
            .iter()
            .any(|s| s.contains("norm") || s.starts_with("ln_"));
    let embedding = segments
        .iter()
        .any(|s| matches!(*s, "embed" | "wte" | "wpe" | "embedding"));
    !(bias || norm || embedding)
}
// ANCHOR_END: groups

// ANCHOR: weight_decay
/// Where weight decay λ enters Adam. `Coupled` is L2 regularisation: λθ is added to the
/// gradient, so Adam's per-coordinate scaling divides it too. `Decoupled` is AdamW
/// (Loshchilov & Hutter, 2019): θ shrinks by lr·λ·θ outside the adaptive step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WeightDecay {
    None,
    Coupled(f32),
    Decoupled(f32),
}
// ANCHOR_END: weight_decay

/// Adam's two moments of one parameter, the same shape as it.
#[derive(Clone, Debug, PartialEq)]
pub struct Moments {
    pub m: ArrayD<f32>,
    pub v: ArrayD<f32>,
}

// ANCHOR: adamw
/// Adam and AdamW. The state is keyed by the parameter's dotted name, in a sorted map so
/// that a checkpoint writes it in one order on every run.
#[derive(Clone, Debug)]
pub struct AdamW {
    pub beta1: f32,
    pub beta2: f32,
    pub eps: f32,
    pub weight_decay: WeightDecay,
    /// Which parameters the decay applies to; [`decays`] unless you choose otherwise.
    pub decays: fn(&str) -> bool,
    pub t: u32, // steps taken
    pub state: BTreeMap<String, Moments>,
}

impl AdamW {
    /// PyTorch's defaults for `torch.optim.AdamW`: β = (0.9, 0.999), ε = 1e-8, λ = 0.01.
    pub fn new(weight_decay: WeightDecay) -> Self {
        AdamW::with_betas(0.9, 0.999, 1e-8, weight_decay)
    }

    pub fn with_betas(
        beta1: f32,
        beta2: f32,
        eps: f32,
        weight_decay: WeightDecay,
    ) -> Self {
        let (decays, t, state) = (decays as fn(&str) -> bool, 0, BTreeMap::new());
        AdamW {
            beta1,
            beta2,
            eps,
            weight_decay,
            decays,
            t,
            state,
        }
    }
}
// ANCHOR_END: adamw

// ANCHOR: adamw_step
impl Optimizer for AdamW {
    fn step(&mut self, model: &mut dyn Module, lr: f32) {
        self.t += 1;
        let (b1, b2, eps) = (self.beta1, self.beta2, self.eps);
        // PyTorch's arrangement of the bias corrections, so that its rounding is ours:
        // θ ← θ - (lr / c₁) · m / (√v / √c₂ + ε).
        let c1 = 1.0 - b1.powi(self.t as i32);
        let sqrt_c2 = (1.0 - b2.powi(self.t as i32)).sqrt();
        let step_size = lr / c1;
        model.visit_params_mut(&mut |name, p| {
            let (l2, shrink) = match self.weight_decay {
                WeightDecay::Coupled(wd) if (self.decays)(name) => (wd, 1.0),
                WeightDecay::Decoupled(wd) if (self.decays)(name) => (0.0, 1.0 - lr * wd),
                _ => (0.0, 1.0),
            };
            let s = self
                .state
                .entry(name.to_owned())
                .or_insert_with(|| Moments {
                    m: ArrayD::zeros(p.value.raw_dim()),
                    v: ArrayD::zeros(p.value.raw_dim()),
                });
            Zip::from(p.value)
                .and(&p.grad)
                .and(&mut s.m)
                .and(&mut s.v)
                .for_each(|w, &g, m, v| {
                    let g = g + l2 * *w; // L2: the decay joins the gradient
                    *w *= shrink; // AdamW: the decay stays outside the moments
                    *m = b1 * *m + (1.0 - b1) * g;
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    *w -= step_size * *m / (v.sqrt() / sqrt_c2 + eps);
                });
        });
    }
}
// ANCHOR_END: adamw_step
