//! Optimizers (section "Optimizers"): the interface every optimizer answers, parameter
//! groups chosen by dotted name, SGD with momentum (heavy ball or Nesterov), and Adam
//! with its weight decay coupled (L2) or decoupled (AdamW), fast on any thread count.

use std::collections::BTreeMap;

use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ndarray::{ArrayD, IxDyn, Zip};
use rayon::prelude::*;
use thiserror::Error;

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
/// (`b`, `bias`, `beta`, or `b_*` as in GPT-2's `b_qkv`) or a norm gain (`gamma`, or any
/// parameter inside a `*norm*` or `ln_*` module), and an embedding table lives under
/// `embed`, `wte` or `wpe`.
pub fn decays(name: &str) -> bool {
    let segments: Vec<&str> = name.split('.').collect();
    let last = segments.last().copied().unwrap_or("");
    let bias = matches!(last, "b" | "bias" | "beta") || last.starts_with("b_");
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

/// A hyperparameter outside the range where its optimizer is defined.
#[derive(Debug, Error, PartialEq)]
pub enum OptimError {
    #[error("{name} = {value} is outside {range}")]
    OutOfRange {
        name: &'static str,
        value: f64,
        range: &'static str,
    },
    #[error(
        "Nesterov momentum needs momentum > 0 and dampening = 0 (got {momentum}, {dampening})"
    )]
    Nesterov { momentum: f64, dampening: f64 },
}

fn check(
    name: &'static str,
    value: f64,
    ok: bool,
    range: &'static str,
) -> Result<(), OptimError> {
    if ok {
        Ok(())
    } else {
        Err(OptimError::OutOfRange { name, value, range })
    }
}

// ANCHOR: sgd
/// SGD with momentum, PyTorch's formulation. With d = g + λθ (λ on decayed names only):
///   b ← d at the first step, b ← μ b + (1 - τ) d after it;
///   θ ← θ - lr · (d + μ b) with Nesterov, θ ← θ - lr · b without.
/// Hyperparameters are f64, as Python's floats are: the f32 the update uses is each
/// one rounded once, as PyTorch rounds them.
#[derive(Clone, Debug)]
pub struct Sgd {
    pub momentum: f64,  // μ
    pub dampening: f64, // τ
    pub nesterov: bool,
    pub weight_decay: f64, // λ, coupled: SGD has no moments for it to hide in
    pub decays: fn(&str) -> bool,
    pub state: BTreeMap<String, ArrayD<f32>>, // momentum buffers b, by name
}
// ANCHOR_END: sgd

impl Sgd {
    pub fn new(
        momentum: f64,
        dampening: f64,
        nesterov: bool,
        weight_decay: f64,
    ) -> Result<Self, OptimError> {
        check(
            "momentum",
            momentum,
            (0.0..1.0).contains(&momentum),
            "[0, 1)",
        )?;
        check(
            "dampening",
            dampening,
            (0.0..=1.0).contains(&dampening),
            "[0, 1]",
        )?;
        check(
            "weight_decay",
            weight_decay,
            weight_decay >= 0.0,
            "[0, inf)",
        )?;
        if nesterov && (momentum == 0.0 || dampening != 0.0) {
            return Err(OptimError::Nesterov {
                momentum,
                dampening,
            });
        }
        let state = BTreeMap::new();
        Ok(Sgd {
            momentum,
            dampening,
            nesterov,
            weight_decay,
            decays,
            state,
        })
    }
}

// ANCHOR: sgd_step
impl Optimizer for Sgd {
    fn step(&mut self, model: &mut dyn Module, lr: f32) {
        let (mu, keep) = (self.momentum as f32, (1.0 - self.dampening) as f32);
        model.visit_params_mut(&mut |name, p| {
            let wd = if (self.decays)(name) {
                self.weight_decay as f32
            } else {
                0.0
            };
            let d = &p.grad + &(&p.value * wd); // the L2 term joins the gradient
            let step = if mu == 0.0 {
                d
            } else {
                let b = match self.state.get_mut(name) {
                    Some(b) => {
                        Zip::from(&mut *b)
                            .and(&d)
                            .for_each(|b, &d| *b = *b * mu + keep * d);
                        b
                    }
                    None => self.state.entry(name.to_owned()).or_insert(d.clone()),
                };
                if self.nesterov {
                    d + &(&*b * mu)
                } else {
                    b.clone()
                }
            };
            let mut w = p.value;
            Zip::from(&mut w).and(&step).for_each(|w, &s| *w += -lr * s);
        });
    }
}
// ANCHOR_END: sgd_step

// ANCHOR: weight_decay
/// Where weight decay λ enters Adam. `Coupled` is L2 regularisation: λθ is added to the
/// gradient, so Adam's per-coordinate scaling divides it too. `Decoupled` is AdamW
/// (Loshchilov & Hutter, 2019): θ shrinks by lr·λ·θ outside the adaptive step.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum WeightDecay {
    None,
    Coupled(f64),
    Decoupled(f64),
}
// ANCHOR_END: weight_decay

/// Adam's two moments of one parameter, the same shape as it.
#[derive(Clone, Debug, PartialEq)]
pub struct Moments {
    pub m: ArrayD<f32>,
    pub v: ArrayD<f32>,
}

impl Moments {
    /// m = v = 0, where Adam starts (hence its bias corrections).
    pub fn zeros(shape: &[usize]) -> Self {
        let zeros = || ArrayD::zeros(IxDyn(shape));
        Moments {
            m: zeros(),
            v: zeros(),
        }
    }
}

// ANCHOR: adamw
/// Adam and AdamW. The state is keyed by the parameter's dotted name, in a sorted map so
/// that a checkpoint writes it in one order on every run. β and ε are f64 like Python's
/// floats: 0.999 rounded to f32 is 0.99900001, and 1 - β₂ would then be off by 1.3e-5.
#[derive(Clone, Debug)]
pub struct AdamW {
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: WeightDecay,
    /// Which parameters the decay applies to; [`decays`] unless you choose otherwise.
    pub decays: fn(&str) -> bool,
    pub t: u32, // steps taken
    pub state: BTreeMap<String, Moments>,
}

impl AdamW {
    /// PyTorch's defaults for `torch.optim.AdamW`: β = (0.9, 0.999), ε = 1e-8.
    pub fn new(weight_decay: WeightDecay) -> Self {
        AdamW::with_betas(0.9, 0.999, 1e-8, weight_decay)
    }

    pub fn with_betas(
        beta1: f64,
        beta2: f64,
        eps: f64,
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

// ANCHOR: adam_scalars
/// The numbers one Adam step uses for every element of one parameter, computed in f64
/// and rounded to f32 once, as PyTorch computes them in Python:
///   θ ← θ (1 - lr λ_d);  g ← g + λ_c θ;  m ← m + (1 - β₁)(g - m);
///   v ← β₂ v + (1 - β₂) g²;  θ ← θ - (lr / c₁) · m / (√v / √c₂ + ε),
/// with the bias corrections c₁ = 1 - β₁ᵗ and c₂ = 1 - β₂ᵗ.
#[derive(Clone, Copy, Debug)]
pub struct AdamScalars {
    pub shrink: f32,   // 1 - lr λ (decoupled decay), else 1
    pub l2: f32,       // λ (coupled decay), else 0
    pub one_m_b1: f32, // 1 - β₁
    pub b2: f32,       // β₂
    pub one_m_b2: f32, // 1 - β₂
    pub sqrt_c2: f32,  // √(1 - β₂ᵗ)
    pub eps: f32,
    pub step_size: f32, // lr / (1 - β₁ᵗ)
}

impl AdamW {
    /// The scalars of step `t` (counting from 1) for a parameter that decays or not.
    pub fn scalars(&self, t: u32, lr: f32, decay: bool) -> AdamScalars {
        let (lr, t) = (f64::from(lr), t as i32);
        let (shrink, l2) = match self.weight_decay {
            WeightDecay::Coupled(wd) if decay => (1.0, wd),
            WeightDecay::Decoupled(wd) if decay => (1.0 - lr * wd, 0.0),
            _ => (1.0, 0.0),
        };
        AdamScalars {
            shrink: shrink as f32,
            l2: l2 as f32,
            one_m_b1: (1.0 - self.beta1) as f32,
            b2: self.beta2 as f32,
            one_m_b2: (1.0 - self.beta2) as f32,
            sqrt_c2: (1.0 - self.beta2.powi(t)).sqrt() as f32,
            eps: self.eps as f32,
            step_size: (lr / (1.0 - self.beta1.powi(t))) as f32,
        }
    }
}
// ANCHOR_END: adam_scalars

// ANCHOR: adam_element
/// One element's update: every element is independent of every other, so any split of
/// the elements over threads or SIMD lanes gives the same bits.
#[inline(always)]
fn adam_element(w: &mut f32, g: f32, m: &mut f32, v: &mut f32, k: &AdamScalars) {
    *w *= k.shrink; // AdamW: the decay stays outside the moments
    let g = g + k.l2 * *w; // L2: the decay joins the gradient
    *m += k.one_m_b1 * (g - *m);
    *v = *v * k.b2 + k.one_m_b2 * g * g;
    *w -= k.step_size * *m / (v.sqrt() / k.sqrt_c2 + k.eps);
}
// ANCHOR_END: adam_element

// ANCHOR: adam_kernel
/// The update over slices. Written as one loop over indices so that the compiler turns
/// it into SIMD; compiled twice, for baseline x86-64 and for AVX-512 (below), with the
/// same operations in the same order (no fused multiply-add), hence the same bits.
#[inline(always)]
fn adam_slices(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: &AdamScalars) {
    let n = w.len();
    let (g, m, v) = (&g[..n], &mut m[..n], &mut v[..n]);
    for i in 0..n {
        adam_element(&mut w[i], g[i], &mut m[i], &mut v[i], k);
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn adam_slices_avx512(
    w: &mut [f32],
    g: &[f32],
    m: &mut [f32],
    v: &mut [f32],
    k: &AdamScalars,
) {
    adam_slices(w, g, m, v, k)
}

/// The widest version this CPU runs.
fn adam_chunk(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: &AdamScalars) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU reports AVX-512F, the only feature the function enables.
        return unsafe { adam_slices_avx512(w, g, m, v, k) };
    }
    adam_slices(w, g, m, v, k)
}
// ANCHOR_END: adam_kernel

// ANCHOR: adam_par
/// Elements a rayon task updates. Fixed, so the split depends on the shape only; small
/// tensors stay on the calling thread, where handing them over would cost more.
pub const CHUNK: usize = 1 << 12;

/// One Adam step over one parameter's elements, in parallel chunks.
// w, g, m, v: [n] each
fn adam_update(w: &mut [f32], g: &[f32], m: &mut [f32], v: &mut [f32], k: &AdamScalars) {
    if w.len() <= CHUNK {
        return adam_chunk(w, g, m, v, k);
    }
    w.par_chunks_mut(CHUNK)
        .zip(g.par_chunks(CHUNK))
        .zip(m.par_chunks_mut(CHUNK).zip(v.par_chunks_mut(CHUNK)))
        .for_each(|((w, g), (m, v))| adam_chunk(w, g, m, v, k));
}
// ANCHOR_END: adam_par

// ANCHOR: adamw_step
impl Optimizer for AdamW {
    fn step(&mut self, model: &mut dyn Module, lr: f32) {
        self.t += 1;
        let plain = self.scalars(self.t, lr, false);
        let decayed = self.scalars(self.t, lr, true);
        model.visit_params_mut(&mut |name, mut p| {
            let k = if (self.decays)(name) {
                &decayed
            } else {
                &plain
            };
            let s = (self.state.entry(name.to_owned()))
                .or_insert_with(|| Moments::zeros(p.value.shape()));
            assert!(
                s.m.shape() == p.value.shape() && p.grad.shape() == p.value.shape(),
                "AdamW: {name} is {:?}, its gradient {:?}, its moments {:?}",
                p.value.shape(),
                p.grad.shape(),
                s.m.shape()
            );
            match (p.value.as_slice_mut(), p.grad.as_slice()) {
                (Some(w), Some(g)) => {
                    let (m, v) = (s.m.as_slice_mut(), s.v.as_slice_mut());
                    adam_update(w, g, m.expect("owned"), v.expect("owned"), k)
                }
                // A strided view: the same element function, in logical order.
                _ => Zip::from(&mut p.value)
                    .and(&p.grad)
                    .and(&mut s.m)
                    .and(&mut s.v)
                    .for_each(|w, &g, m, v| adam_element(w, g, m, v, k)),
            }
        });
    }
}
// ANCHOR_END: adamw_step

// ANCHOR: named_params
/// A bag of named tensors: the smallest `Module`, for running an optimizer on its own
/// (the chapter's experiments and the PyTorch parity tests).
#[derive(Clone, Debug, Default)]
pub struct NamedParams(pub Vec<(String, Param<IxDyn>)>);

impl Module for NamedParams {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        self.0.iter().for_each(|(name, p)| f(name, p.view()));
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        self.0
            .iter_mut()
            .for_each(|(name, p)| f(name, p.view_mut()));
    }
}
// ANCHOR_END: named_params

#[cfg(test)]
mod tests {
    use super::*;

    /// The AVX-512 copy of the loop gives the baseline copy's bits (no fused multiply-add
    /// in either), on every lane position and the tail.
    #[test]
    fn both_compiled_copies_of_the_kernel_agree_bit_for_bit() {
        let n = 1000; // not a multiple of 16: the tail runs too
        let x = |i: usize, k: f32| ((i as f32 * 0.37 + k).sin() * 3.0).exp() - 2.0;
        let (w0, g): (Vec<f32>, Vec<f32>) =
            (0..n).map(|i| (x(i, 0.1), x(i, 0.7))).unzip();
        let (m0, v0): (Vec<f32>, Vec<f32>) =
            (0..n).map(|i| (x(i, 1.3) * 0.1, x(i, 2.1).abs())).unzip();
        let opt = AdamW::new(WeightDecay::Coupled(0.1));
        let k = opt.scalars(3, 1e-3, true);
        let (mut w, mut m, mut v) = (w0.clone(), m0.clone(), v0.clone());
        adam_slices(&mut w, &g, &mut m, &mut v, &k);
        let (mut w2, mut m2, mut v2) = (w0, m0, v0);
        adam_chunk(&mut w2, &g, &mut m2, &mut v2, &k);
        let bits = |a: &[f32]| a.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(
            (bits(&w), bits(&m), bits(&v)),
            (bits(&w2), bits(&m2), bits(&v2))
        );
    }
}
