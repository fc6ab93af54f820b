//! Coupled L2 against decoupled weight decay under Adam, in numbers (section
//! "Optimizers"): two weights whose gradients are pure noise of very different sizes.

use ch01_foundations::module::Param;
use ndarray::{ArrayD, IxDyn};

use crate::optim::{AdamW, NamedParams, Optimizer, WeightDecay};

/// The two weights after `step` updates under each kind of decay, and the pure decay
/// (1 - lr λ)^step that AdamW promises.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecayRow {
    pub step: usize,
    pub l2: [f32; 2],    // Adam + coupled L2: weight a, weight b
    pub adamw: [f32; 2], // AdamW
    pub pure: f64,
}

// ANCHOR: decay_by_gradient_scale
/// Two weights start at 1 and see gradients with no signal, only noise: +σ and -σ in
/// turn, with σ far apart for the two (`sigmas`). Only the decay pulls them anywhere.
pub fn decay_by_gradient_scale(
    sigmas: [f32; 2],
    lr: f32,
    wd: f64,
    steps: usize,
    report: &[usize],
) -> Vec<DecayRow> {
    let run = |decay: WeightDecay| {
        let one = || Param::new(ArrayD::from_elem(IxDyn(&[1]), 1.0f32));
        let mut model = NamedParams(vec![("a.w".into(), one()), ("b.w".into(), one())]);
        let mut opt = AdamW::new(decay);
        let mut at = Vec::new();
        for t in 0..=steps {
            if report.contains(&t) {
                at.push([0, 1].map(|i| model.0[i].1.value[0]));
            }
            let sign = if t % 2 == 0 { 1.0 } else { -1.0 };
            for (p, sigma) in model.0.iter_mut().zip(sigmas) {
                p.1.grad.fill(sign * sigma);
            }
            opt.step(&mut model, lr);
        }
        at
    };
    let (l2, adamw) = (
        run(WeightDecay::Coupled(wd)),
        run(WeightDecay::Decoupled(wd)),
    );
    let pure = |t: usize| (1.0 - f64::from(lr) * wd).powi(t as i32);
    (report.iter().zip(l2).zip(adamw))
        .map(|((&step, l2), adamw)| DecayRow {
            step,
            l2,
            adamw,
            pure: pure(step),
        })
        .collect()
}
// ANCHOR_END: decay_by_gradient_scale

/// The experiment the text reports.
pub const SIGMAS: [f32; 2] = [10.0, 1e-3];
pub const LR: f32 = 1e-3;
pub const WD: f64 = 0.1;
pub const STEPS: usize = 1000;
pub const REPORT: [usize; 6] = [0, 10, 100, 250, 500, 1000];

/// The committed table, src/figures/ch11/coupled-vs-decoupled.txt.
pub fn decay_table() -> String {
    let rows = decay_by_gradient_scale(SIGMAS, LR, WD, STEPS, &REPORT);
    let mut s = format!(
        "Adam (beta 0.9, 0.999, eps 1e-8), lr {LR:e}, weight decay {WD}, two weights from 1.0,\n\
         gradients +sigma, -sigma in turn: weight a sigma = {}, weight b sigma = {:e}\n\n\
         step | L2 a     | L2 b     | AdamW a  | AdamW b  | (1 - lr wd)^step\n\
         ---- | -------- | -------- | -------- | -------- | ----------------\n",
        SIGMAS[0], SIGMAS[1]
    );
    for r in rows {
        s += &format!(
            "{:>4} | {:>8.5} | {:>8.5} | {:>8.5} | {:>8.5} | {:>16.5}\n",
            r.step, r.l2[0], r.l2[1], r.adamw[0], r.adamw[1], r.pure
        );
    }
    s
}
