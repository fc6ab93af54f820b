//! Low-rank adapters (section "LoRA"): a trainable path x·Aᵀ·Bᵀ·(α/r) beside a frozen
//! projection, attached to Chapter 9's trainable Llama through its attention's side-path
//! hook, the frozen base kept out of the optimizer, the merge back into one matrix, and
//! the count of what is trained and what the optimizer keeps.

use std::any::Any;

use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ch09_decoder_only::gqa::{GroupedQueryAttention, PROJECTIONS, SidePath};
use ch09_decoder_only::llama_model::Llama;
use ndarray::{Array2, ArrayView2, Ix2};
use rand::{Rng, RngExt};
use thiserror::Error;

/// A LoRA configuration that cannot describe an adapter, naming the field.
#[derive(Debug, Error, PartialEq)]
pub enum LoraError {
    #[error("lora: rank must be at least 1")]
    ZeroRank,
    #[error("lora: rank {rank} exceeds min(d_in, d_out) = {max}: B·A could not use it")]
    RankTooLarge { rank: usize, max: usize },
    #[error("lora: alpha = {alpha} must be finite and positive")]
    Alpha { alpha: f32 },
    #[error("lora: the model already has an adapter on blocks.{block}.attn.{proj}")]
    Attached { block: usize, proj: &'static str },
}

// ANCHOR: lora_struct
/// One adapter in the paper's layout (Hu et al., 2021): A: [r, d_in], B: [d_out, r],
/// ΔW = (α/r)·B·A in Hugging Face's [out, in] orientation. The book stores a projection
/// as W: [d_in, d_out] and computes x·W, so the path adds (α/r)·(x·Aᵀ)·Bᵀ.
pub struct Lora {
    pub a: Param<Ix2>,
    pub b: Param<Ix2>,
    pub rank: usize,
    pub alpha: f32,
    cache: Option<(Array2<f32>, Array2<f32>)>, // x [T, d_in] and x·Aᵀ [T, r]
}

impl Lora {
    /// A ~ U(-1/√d_in, 1/√d_in), as PEFT's Kaiming-uniform init gives; B = 0, so the
    /// adapted model starts as the base model exactly.
    pub fn new(
        (d_in, d_out): (usize, usize),
        rank: usize,
        alpha: f32,
        rng: &mut impl Rng,
    ) -> Result<Self, LoraError> {
        check(rank, alpha, d_in.min(d_out))?;
        let bound = 1.0 / (d_in as f32).sqrt();
        let a = Array2::from_shape_fn((rank, d_in), |_| rng.random_range(-bound..bound));
        let b = Array2::zeros((d_out, rank));
        let (a, b) = (Param::new(a), Param::new(b));
        let cache = None;
        Ok(Lora {
            a,
            b,
            rank,
            alpha,
            cache,
        })
    }

    /// The scale α/r: with α fixed, changing r keeps the update's size comparable.
    pub fn scale(&self) -> f32 {
        self.alpha / self.rank as f32
    }
}
// ANCHOR_END: lora_struct

fn check(rank: usize, alpha: f32, max: usize) -> Result<(), LoraError> {
    if rank == 0 {
        return Err(LoraError::ZeroRank);
    }
    if rank > max {
        return Err(LoraError::RankTooLarge { rank, max });
    }
    if !(alpha.is_finite() && alpha > 0.0) {
        return Err(LoraError::Alpha { alpha });
    }
    Ok(())
}

// ANCHOR: lora_forward
impl SidePath for Lora {
    /// The low-rank path alone: the frozen x·W is added by the projection.
    // x: [T, d_in] -> [T, d_out]
    fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let xa = x.dot(&self.a.value.t()); // [T, r]: the bottleneck
        let y = xa.dot(&self.b.value.t()) * self.scale();
        self.cache = Some((x.clone(), xa));
        y
    }

    /// With s = α/r and U = dy·B [T, r]: dB = s·dyᵀ·(x·Aᵀ), dA = s·Uᵀ·x, dx = s·U·A.
    /// No [d_in, d_out] matrix is formed.
    // dy: [T, d_out] -> dx: [T, d_in]
    fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        let (x, xa) = self.cache.as_ref().expect("lora backward before forward");
        let s = self.scale();
        self.b.grad.scaled_add(s, &dy.t().dot(xa));
        let u = dy.dot(&self.b.value); // [T, r]
        self.a.grad.scaled_add(s, &u.t().dot(x));
        u.dot(&self.a.value) * s
    }
}
// ANCHOR_END: lora_forward

// ANCHOR: lora_merge
impl Lora {
    /// ΔW in the book's [d_in, d_out] layout: (α/r)·(B·A)ᵀ = (α/r)·Aᵀ·Bᵀ.
    // -> [d_in, d_out]
    pub fn delta(&self) -> Array2<f32> {
        self.a.value.t().dot(&self.b.value.t()) * self.scale()
    }

    /// W' = W + ΔW: one matrix again, so inference pays nothing for the adapter.
    // w: [d_in, d_out] -> [d_in, d_out]
    pub fn merge(&self, w: ArrayView2<f32>) -> Array2<f32> {
        assert_eq!(
            w.dim(),
            (self.a.value.ncols(), self.b.value.nrows()),
            "lora merge: W (left) and the adapter's (d_in, d_out) (right)"
        );
        &w + &self.delta()
    }

    /// r·(d_in + d_out), against d_in·d_out for the matrix it adapts.
    pub fn trainable(&self) -> usize {
        self.a.value.len() + self.b.value.len()
    }
}
// ANCHOR_END: lora_merge

impl Module for Lora {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("a", self.a.view());
        f("b", self.b.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("a", self.a.view_mut());
        f("b", self.b.view_mut());
    }
}

// ANCHOR: targets
/// Which of the attention's projections get an adapter: the LoRA paper's two main
/// settings, W_q and W_v, or all four.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Targets {
    QV,
    All,
}

impl Targets {
    /// Indices into `PROJECTIONS` = [wq, wk, wv, wo].
    pub fn indices(self) -> &'static [usize] {
        match self {
            Targets::QV => &[0, 2],
            Targets::All => &[0, 1, 2, 3],
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Targets::QV => "q,v",
            Targets::All => "q,k,v,o",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LoraConfig {
    pub rank: usize,
    pub alpha: f32,
    pub targets: Targets,
}
// ANCHOR_END: targets

/// The (d_in, d_out) of projection `i` of an attention layer.
fn dims(attn: &GroupedQueryAttention, i: usize) -> (usize, usize) {
    let w = [&attn.wq, &attn.wk, &attn.wv, &attn.wo][i];
    w.value.dim()
}

// ANCHOR: attach
/// Puts an adapter beside each chosen projection of every block and freezes the base:
/// the projections stop accumulating gradients, and [`Trainable`] shows an optimizer
/// the adapters only. Checks everything before changing anything.
pub fn attach(
    model: &mut Llama,
    cfg: LoraConfig,
    rng: &mut impl Rng,
) -> Result<(), LoraError> {
    for (block, b) in model.blocks.iter().enumerate() {
        for &i in cfg.targets.indices() {
            let (d_in, d_out) = dims(&b.attn, i);
            check(cfg.rank, cfg.alpha, d_in.min(d_out))?;
            if b.attn.side[i].is_some() {
                return Err(LoraError::Attached {
                    block,
                    proj: PROJECTIONS[i],
                });
            }
        }
    }
    for b in &mut model.blocks {
        for &i in cfg.targets.indices() {
            let lora = Lora::new(dims(&b.attn, i), cfg.rank, cfg.alpha, rng)?;
            b.attn.side[i] = Some(Box::new(lora));
        }
        b.attn.frozen = true;
    }
    Ok(())
}
// ANCHOR_END: attach

/// The adapter beside projection `i`, if there is one and it is a [`Lora`].
pub fn lora_at(attn: &GroupedQueryAttention, i: usize) -> Option<&Lora> {
    let path = attn.side[i].as_deref()?;
    (path as &dyn Any).downcast_ref::<Lora>()
}

// ANCHOR: merge_model
/// Folds every adapter into its projection, W ← W + (α/r)·B·A, removes the side paths
/// and unfreezes: the result is a plain Llama that computes what the adapted one did.
pub fn merge(model: &mut Llama) {
    for b in &mut model.blocks {
        for i in 0..PROJECTIONS.len() {
            let Some(delta) = lora_at(&b.attn, i).map(Lora::delta) else {
                continue;
            };
            let w = [
                &mut b.attn.wq,
                &mut b.attn.wk,
                &mut b.attn.wv,
                &mut b.attn.wo,
            ];
            let w = w.into_iter().nth(i).expect("four projections");
            w.value += &delta;
            b.attn.side[i] = None;
        }
        b.attn.frozen = false;
    }
}
// ANCHOR_END: merge_model

// ANCHOR: trainable
/// The part of a model an optimizer may change: parameters whose dotted name passes
/// `keep`. For LoRA, [`is_adapter`]: an optimizer given this view cannot touch the
/// base, and keeps moments for the adapters only.
pub struct Trainable<'a> {
    pub model: &'a mut dyn Module,
    pub keep: fn(&str) -> bool,
}

/// A LoRA parameter's name: `blocks.0.attn.wq_side.a`.
pub fn is_adapter(name: &str) -> bool {
    name.contains("_side.")
}

impl Module for Trainable<'_> {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        let keep = self.keep;
        self.model.visit_params(&mut |n, p| {
            if keep(n) {
                f(n, p)
            }
        });
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        let keep = self.keep;
        self.model.visit_params_mut(&mut |n, p| {
            if keep(n) {
                f(n, p)
            }
        });
    }
}
// ANCHOR_END: trainable

// ANCHOR: memory
/// What fine-tuning keeps beside the weights, in bytes: a gradient and AdamW's two
/// moments, all f32, for every trainable parameter. `trainable` counts them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainingMemory {
    pub trainable: usize,
    pub total: usize,
    pub grad_bytes: usize,
    pub adam_bytes: usize,
}

/// Counts `model`'s parameters and those `keep` lets train.
pub fn training_memory(model: &dyn Module, keep: fn(&str) -> bool) -> TrainingMemory {
    let (mut trainable, mut total) = (0, 0);
    model.visit_params(&mut |name, p| {
        total += p.value.len();
        if keep(name) {
            trainable += p.value.len();
        }
    });
    let (grad_bytes, adam_bytes) = (4 * trainable, 2 * 4 * trainable);
    TrainingMemory {
        trainable,
        total,
        grad_bytes,
        adam_bytes,
    }
}
// ANCHOR_END: memory

/// Every parameter trains: full fine-tuning's `keep`.
pub fn everything(_: &str) -> bool {
    true
}
