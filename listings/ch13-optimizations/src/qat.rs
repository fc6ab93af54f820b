//! Quantization-aware training (section "PTQ against QAT"): one quantizer, symmetric
//! absmax per output channel (or per group of input rows) at b bits, applied as
//! quantize-then-dequantize ("fake quantization"); post-training quantization (PTQ),
//! which applies it once to trained weights; and QAT, which trains through it with the
//! straight-through estimator (STE). QAT wraps any Chapter 9 model, so Chapter 9's
//! Llama and Chapter 11's trainer are used unchanged.

use ch01_foundations::module::{Mode, Module, ParamView, ParamViewMut};
use ch09_decoder_only::training::LanguageModel;
use ndarray::{Array2, ArrayD, ArrayView2, Ix2, Zip};
use thiserror::Error;

// ANCHOR: spec
/// How weights are quantized: `bits` per code, one scale per output channel or per
/// `group` consecutive input rows of it, and the clip range as a fraction of the
/// group's absmax (1 = no weight is clipped).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct QuantSpec {
    bits: u32,
    group: Option<usize>,
    clip: f32,
}

/// A quantizer that cannot be built, or a weight it cannot quantize, named.
#[derive(Debug, Error, PartialEq)]
pub enum QatError {
    #[error("quantizer: bits = {0} is outside 2..=8 (codes are stored as i8)")]
    Bits(u32),
    #[error("quantizer: a group of 0 input rows")]
    ZeroGroup,
    #[error("quantizer: clip = {0} is outside (0, 1] (a fraction of the absmax)")]
    Clip(f32),
    #[error("quantizer: {name} has a non-finite entry at [{row}, {col}]")]
    NonFinite {
        name: String,
        row: usize,
        col: usize,
    },
    #[error("quantizer: {name} has shape {shape:?}, not a [d_in, d_out] matrix")]
    NotMatrix { name: String, shape: Vec<usize> },
    #[error("quantizer: no candidate clip ratios to search")]
    NoCandidates,
}
// ANCHOR_END: spec

impl QuantSpec {
    pub fn new(bits: u32, group: Option<usize>, clip: f32) -> Result<Self, QatError> {
        if !(2..=8).contains(&bits) {
            return Err(QatError::Bits(bits));
        }
        if group == Some(0) {
            return Err(QatError::ZeroGroup);
        }
        if !(clip > 0.0 && clip <= 1.0) {
            return Err(QatError::Clip(clip));
        }
        Ok(QuantSpec { bits, group, clip })
    }

    /// Absmax per output channel, nothing clipped: the experiment's quantizer.
    pub fn per_channel(bits: u32) -> Result<Self, QatError> {
        QuantSpec::new(bits, None, 1.0)
    }

    pub fn bits(&self) -> u32 {
        self.bits
    }

    pub fn group(&self) -> Option<usize> {
        self.group
    }

    pub fn clip(&self) -> f32 {
        self.clip
    }

    /// The largest code, 2^(b-1) - 1: codes are symmetric, -q_max..=q_max, so that 0 is
    /// exact and the grid needs no zero point (8 bits: ±127; 4 bits: ±7; 2 bits: ±1).
    pub fn q_max(&self) -> i32 {
        (1 << (self.bits - 1)) - 1
    }
}

/// One matrix quantized: the dequantized weights, the integer codes and scales they
/// came from (w_q = code · s exactly), and where the STE lets the gradient through.
#[derive(Clone, Debug, PartialEq)]
pub struct FakeQuantized {
    pub w_q: Array2<f32>,     // [d_in, d_out]
    pub codes: Array2<i8>,    // [d_in, d_out]
    pub scales: Array2<f32>,  // [groups, d_out], groups = ceil(d_in / group)
    pub inside: Array2<bool>, // [d_in, d_out]: round(w / s) within ±q_max
}

// ANCHOR: fake_quantize
/// Symmetric absmax fake quantization of a weight that maps x to x·W: each output
/// column j, in groups of input rows, gets s = clip · max|w| / q_max and
///   code = clamp(round(w / s), -q_max, q_max),   w_q = s · code.
/// Ties round to even, as PyTorch's fake_quantize does. The weights must be finite
/// ([`ptq`] checks them and names the tensor).
// w: [d_in, d_out] -> w_q, codes, inside: [d_in, d_out]; scales: [groups, d_out]
pub fn absmax_fake_quantize(w: ArrayView2<f32>, spec: &QuantSpec) -> FakeQuantized {
    let (d_in, d_out) = w.dim();
    let g = spec.group.unwrap_or(d_in).min(d_in).max(1);
    let q_max = spec.q_max() as f32;
    let mut out = FakeQuantized {
        w_q: Array2::zeros((d_in, d_out)),
        codes: Array2::zeros((d_in, d_out)),
        scales: Array2::zeros((d_in.div_ceil(g), d_out)),
        inside: Array2::from_elem((d_in, d_out), true),
    };
    for j in 0..d_out {
        for (k, r0) in (0..d_in).step_by(g).enumerate() {
            let rows = r0..(r0 + g).min(d_in);
            let absmax = rows.clone().fold(0.0f32, |m, i| m.max(w[[i, j]].abs()));
            let s = spec.clip * absmax / q_max;
            out.scales[[k, j]] = s;
            if s == 0.0 {
                continue; // an all-zero group: codes 0, w_q 0, exact
            }
            for i in rows {
                let r = (w[[i, j]] / s).round_ties_even();
                let code = r.clamp(-q_max, q_max);
                out.inside[[i, j]] = r == code;
                out.codes[[i, j]] = code as i8;
                out.w_q[[i, j]] = s * code;
            }
        }
    }
    out
}
// ANCHOR_END: fake_quantize

// ANCHOR: which
/// Which parameters are quantized: the linear weights inside the blocks (attention's
/// wq, wk, wv, wo and SwiGLU's w1, w2, w3). RMSNorm gains are a few numbers each and
/// scale every channel; the tied embedding/head is both the first and the last layer,
/// where errors reach every token's input and every logit, so it stays f32 here.
pub fn is_quantized(name: &str) -> bool {
    let linear = [".attn.wq", ".attn.wk", ".attn.wv", ".attn.wo"]
        .into_iter()
        .chain([".ffn.w1", ".ffn.w2", ".ffn.w3"])
        .any(|suffix| name.ends_with(suffix));
    name.starts_with("blocks.") && linear
}
// ANCHOR_END: which

/// The value of one quantized parameter as a matrix, checked: 2-D and finite.
fn as_matrix<'a>(
    name: &str,
    value: ndarray::ArrayViewD<'a, f32>,
) -> Result<ArrayView2<'a, f32>, QatError> {
    let shape = value.shape().to_vec();
    let w = value
        .into_dimensionality::<Ix2>()
        .map_err(|_| QatError::NotMatrix {
            name: name.to_owned(),
            shape,
        })?;
    if let Some(((row, col), _)) = w.indexed_iter().find(|(_, x)| !x.is_finite()) {
        let name = name.to_owned();
        return Err(QatError::NonFinite { name, row, col });
    }
    Ok(w)
}

/// What quantizing a model did: how many weights, and how far they moved.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct QuantStats {
    pub tensors: usize,
    pub weights: usize,
    pub sq_error: f64,  // Σ (w_q - w)²
    pub sq_norm: f64,   // Σ w²
    pub clipped: usize, // weights outside the clip range
}

impl QuantStats {
    /// ‖W_q - W‖ / ‖W‖ over all quantized weights together.
    pub fn relative_error(&self) -> f64 {
        (self.sq_error / self.sq_norm.max(f64::MIN_POSITIVE)).sqrt()
    }
}

// ANCHOR: ptq
/// Post-training quantization: every quantized weight of `model` replaced, once, by
/// its fake-quantized value, so the model now computes with s · code exactly as an
/// integer kernel would. Returns the latent weights (to undo it) and what it did.
pub fn ptq(
    model: &mut dyn Module,
    spec: &QuantSpec,
) -> Result<(Latent, QuantStats), QatError> {
    let (mut latent, mut stats, mut err) =
        (Latent::default(), QuantStats::default(), None);
    model.visit_params_mut(&mut |name, mut p: ParamViewMut<'_>| {
        if !is_quantized(name) || err.is_some() {
            return;
        }
        let fq = match as_matrix(name, p.value.view()) {
            Ok(w) => absmax_fake_quantize(w, spec),
            Err(e) => return err = Some(e),
        };
        for (&q, &w) in fq.w_q.iter().zip(p.value.iter()) {
            stats.sq_error += f64::from(q - w).powi(2);
            stats.sq_norm += f64::from(w).powi(2);
        }
        stats.tensors += 1;
        stats.weights += fq.w_q.len();
        stats.clipped += fq.inside.iter().filter(|&&i| !i).count();
        let w = p.value.to_owned();
        p.value.assign(&fq.w_q.view().into_dyn());
        latent.0.push((name.to_owned(), w, fq.inside.into_dyn()));
    });
    match err {
        Some(e) => {
            restore(model, latent, false);
            Err(e)
        }
        None => Ok((latent, stats)),
    }
}
// ANCHOR_END: ptq

/// The f32 weights a quantized model was made from, by name, with the STE masks.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Latent(pub Vec<(String, ArrayD<f32>, ArrayD<bool>)>);

/// Puts the latent weights back. With `mask_grads`, the gradient accumulated at the
/// quantized point is zeroed where the quantizer clamped: the STE's mask.
pub fn restore(model: &mut dyn Module, latent: Latent, mask_grads: bool) {
    let mut saved = latent.0.into_iter().peekable();
    model.visit_params_mut(&mut |name, mut p| {
        if saved.peek().is_some_and(|(n, _, _)| n == name) {
            let (_, w, inside) = saved.next().expect("peeked");
            p.value.assign(&w);
            if mask_grads {
                Zip::from(&mut p.grad).and(&inside).for_each(|g, &i| {
                    if !i {
                        *g = 0.0;
                    }
                });
            }
        }
    });
    assert!(
        saved.peek().is_none(),
        "restore: latent weights left over, the first {:?}: not a parameter of this model",
        saved.peek().map(|s| &s.0)
    );
}

// ANCHOR: qat
/// A model trained quantization-aware: its parameters are the latent f32 weights, and
/// every forward pass sees them fake-quantized.
pub struct Qat<M> {
    pub model: M,
    pub spec: QuantSpec,
}

impl<M> Qat<M> {
    pub fn new(model: M, spec: QuantSpec) -> Self {
        Qat { model, spec }
    }
}

impl<M: LanguageModel> LanguageModel for Qat<M> {
    /// Forward and backward at w_q = Q(w); the gradient ∂L/∂w_q lands in w's `grad`
    /// (masked where Q clamped), and the optimizer then steps the latent w.
    fn lm_step(&mut self, ids: &Array2<usize>) -> f32 {
        let (latent, _) = ptq(&mut self.model, &self.spec).expect("finite weights");
        let loss = self.model.lm_step(ids);
        restore(&mut self.model, latent, true);
        loss
    }

    fn logits(&mut self, ids: &[usize]) -> Array2<f32> {
        let (latent, _) = ptq(&mut self.model, &self.spec).expect("finite weights");
        let logits = self.model.logits(ids);
        restore(&mut self.model, latent, false);
        logits
    }
}
// ANCHOR_END: qat

/// The optimizer, clipping and checkpoints see the latent weights: the inner model's.
impl<M: Module> Module for Qat<M> {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        self.model.visit_params(f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        self.model.visit_params_mut(f);
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.model.set_mode(mode);
    }
}
