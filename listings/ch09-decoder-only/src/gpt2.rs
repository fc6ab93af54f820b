//! GPT-2 from scratch (section "GPT-2 from scratch"): learned positions, Pre-LN blocks
//! with a GELU (tanh) FFN, dropout on the embeddings, the attention weights and every
//! residual branch, a final LayerNorm and the token table reused as the LM head.
//! Everything but the wiring comes from earlier chapters: the block is Chapter 6's.

use ch01_foundations::init::normal;
use ch01_foundations::linalg::{par_matmul_into, rows, unrows};
use ch01_foundations::module::{
    Mode, Module, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ch02_input::embedding::Embedding;
use ch03_attention::sdpa::max;
use ch04_ffn_norms::activations::Activation;
use ch04_ffn_norms::dropout::Dropout;
use ch04_ffn_norms::norms::LayerNorm;
use ch05_encoder::{DropoutConfig, Wiring};
use ch06_decoder::DecoderBlock;
use ndarray::{Array2, Array3, ArrayView1, ArrayView2, Axis};
use rand::Rng;
use rayon::prelude::*;
use thiserror::Error;

// ANCHOR: config
/// GPT-2's hyperparameters, with Hugging Face's `GPT2Config` names. The FFN is 4·n_embd
/// wide, as in every GPT-2 size.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Gpt2Config {
    pub vocab_size: usize,
    pub n_positions: usize, // the context length: one learned row a position
    pub n_embd: usize,
    pub n_layer: usize,
    pub n_head: usize,
    pub layer_norm_epsilon: f32,
    pub embd_pdrop: f32,  // on wte[ids] + wpe[t]
    pub attn_pdrop: f32,  // on the attention weights P
    pub resid_pdrop: f32, // on each sub-layer's output, before its residual add
}
// ANCHOR_END: config

/// What is wrong with a config or an input; the model never panics on either.
#[derive(Debug, Error, PartialEq)]
pub enum Gpt2Error {
    #[error("GPT-2 config: {field} must be at least 1")]
    Zero { field: &'static str },
    #[error("GPT-2 config: n_embd = {n_embd} is not a multiple of n_head = {n_head}")]
    Heads { n_embd: usize, n_head: usize },
    #[error("GPT-2 config: {field} = {p} is not a dropout rate in [0, 1)")]
    Rate { field: &'static str, p: f32 },
    #[error("GPT-2 config: layer_norm_epsilon = {0} must be positive")]
    Epsilon(f32),
    #[error("GPT-2 input: {t} tokens, but positions stop at n_positions = {n_positions}")]
    TooLong { t: usize, n_positions: usize },
    #[error("GPT-2 input: the batch is empty ([B, T] = [{b}, {t}])")]
    Empty { b: usize, t: usize },
    #[error("GPT-2 input: {t} token(s) a sequence leave no next token to predict")]
    NoTarget { t: usize },
    #[error("GPT-2 input: token id {id} at [{b}, {t}] is not below vocab_size = {vocab}")]
    Id {
        id: usize,
        b: usize,
        t: usize,
        vocab: usize,
    },
}

impl Gpt2Config {
    /// GPT-2 small (124M): 12 layers, width 768, 12 heads, 1024 positions.
    pub fn small() -> Self {
        Gpt2Config {
            vocab_size: 50257,
            n_positions: 1024,
            n_embd: 768,
            n_layer: 12,
            n_head: 12,
            layer_norm_epsilon: 1e-5,
            embd_pdrop: 0.1,
            attn_pdrop: 0.1,
            resid_pdrop: 0.1,
        }
    }

    /// Every field that would make the model meaningless, named.
    pub fn validate(&self) -> Result<(), Gpt2Error> {
        for (field, n) in [
            ("vocab_size", self.vocab_size),
            ("n_positions", self.n_positions),
            ("n_embd", self.n_embd),
            ("n_layer", self.n_layer),
            ("n_head", self.n_head),
        ] {
            if n == 0 {
                return Err(Gpt2Error::Zero { field });
            }
        }
        if !self.n_embd.is_multiple_of(self.n_head) {
            return Err(Gpt2Error::Heads {
                n_embd: self.n_embd,
                n_head: self.n_head,
            });
        }
        for (field, p) in [
            ("embd_pdrop", self.embd_pdrop),
            ("attn_pdrop", self.attn_pdrop),
            ("resid_pdrop", self.resid_pdrop),
        ] {
            if !(0.0..1.0).contains(&p) {
                return Err(Gpt2Error::Rate { field, p });
            }
        }
        if self.layer_norm_epsilon.is_nan() || self.layer_norm_epsilon <= 0.0 {
            return Err(Gpt2Error::Epsilon(self.layer_norm_epsilon));
        }
        Ok(())
    }
}

// ANCHOR: gpt2
/// GPT-2: logits = LN_f(blocks(Drop(wte[ids] + wpe[t]))) wteᵀ, with N Pre-LN blocks.
pub struct Gpt2 {
    pub cfg: Gpt2Config,
    pub wte: Embedding, // [vocab, C]: the token table, and the LM head (tied)
    pub wpe: Embedding, // [n_positions, C]: learned positions
    pub drop: Dropout,  // embd_pdrop
    pub blocks: Vec<DecoderBlock>,
    pub ln_f: LayerNorm,
    h: Option<Array2<f32>>, // ln_f's output [B·T, C], for the head's gradient
    spare: Option<Array2<f32>>, // the last lm_step's logits buffer [B·T, vocab]
}
// ANCHOR_END: gpt2

// ANCHOR: gpt2_new
impl Gpt2 {
    /// A model with GPT-2's initialisation (see [`Gpt2::init`]).
    pub fn new(cfg: Gpt2Config, rng: &mut impl Rng) -> Result<Self, Gpt2Error> {
        cfg.validate()?;
        let (c, eps) = (cfg.n_embd, cfg.layer_norm_epsilon);
        let blocks = (0..cfg.n_layer)
            .map(|_| {
                let mut b = DecoderBlock::new(c, cfg.n_head, 4 * c, Wiring::PreLn, rng);
                b.block.ffn.act = Activation::GeluTanh; // HF's "gelu_new"
                b.block.norm1.eps = eps;
                b.block.norm2.eps = eps;
                b.block.set_dropout(DropoutConfig {
                    residual: cfg.resid_pdrop,
                    embedding: 0.0, // read only by Chapter 5's Encoder: `drop` does it here
                    attention: cfg.attn_pdrop,
                });
                b
            })
            .collect();
        let mut model = Gpt2 {
            cfg,
            wte: Embedding::new(cfg.vocab_size, c, 0.02, rng),
            wpe: Embedding::new(cfg.n_positions, c, 0.02, rng),
            drop: Dropout::new(cfg.embd_pdrop),
            blocks,
            ln_f: LayerNorm::new(c, eps),
            h: None,
            spare: None,
        };
        model.init(rng);
        Ok(model)
    }
}
// ANCHOR_END: gpt2_new

// ANCHOR: init
impl Gpt2 {
    /// GPT-2's initialisation: every weight from N(0, 0.02²), biases 0, LayerNorms
    /// γ = 1, β = 0; the two projections that write into the residual stream (the
    /// attention's W_o, `c_proj`, and the FFN's second layer, `mlp.c_proj`) from
    /// N(0, (0.02/√(2·n_layer))²), so that the stream's variance stays O(1) after the
    /// 2·n_layer residual adds.
    pub fn init(&mut self, rng: &mut impl Rng) {
        let std = 0.02;
        let std_proj = std / ((2 * self.cfg.n_layer) as f32).sqrt();
        self.wte.table.value = normal(self.wte.table.value.raw_dim(), std, rng);
        self.wpe.table.value = normal(self.wpe.table.value.raw_dim(), std, rng);
        for block in &mut self.blocks {
            let (attn, ffn) = (&mut block.block.attn, &mut block.block.ffn);
            attn.w_qkv.value = normal(attn.w_qkv.value.raw_dim(), std, rng);
            attn.w_o.value = normal(attn.w_o.value.raw_dim(), std_proj, rng);
            ffn.fc1.w.value = normal(ffn.fc1.w.value.raw_dim(), std, rng);
            ffn.fc2.w.value = normal(ffn.fc2.w.value.raw_dim(), std_proj, rng);
            for b in [
                &mut attn.b_qkv,
                &mut attn.b_o,
                &mut ffn.fc1.b,
                &mut ffn.fc2.b,
            ] {
                b.value.fill(0.0);
            }
            for norm in [&mut block.block.norm1, &mut block.block.norm2] {
                norm.gamma.value.fill(1.0);
                norm.beta.value.fill(0.0);
            }
        }
        self.ln_f.gamma.value.fill(1.0);
        self.ln_f.beta.value.fill(0.0);
    }
}
// ANCHOR_END: init

// ANCHOR: forward (long: forward and backward read best side by side)
impl Gpt2 {
    /// Logits for the next token at every position: row t scores token t + 1.
    // ids: [B, T] -> logits: [B, T, vocab]
    pub fn forward(&mut self, ids: &Array2<usize>) -> Result<Array3<f32>, Gpt2Error> {
        let (b, t) = ids.dim();
        self.check(ids)?;
        let c = self.cfg.n_embd;
        let flat: Vec<usize> = ids.iter().copied().collect(); // row-major
        let positions: Vec<usize> = (0..b).flat_map(|_| 0..t).collect();
        let x = self.wte.forward(&flat) + self.wpe.forward(&positions); // [B·T, C]
        let mut x = self.drop.apply(unrows(x, b, t, c));
        for block in &mut self.blocks {
            x = block.forward(&x, None); // causal: query t sees keys ≤ t
        }
        let h = self.ln_f.forward(&rows(&x)); // [B·T, C]
        let table = self.wte.table.value.view(); // the tied head: logits = h Eᵀ
        // A fresh 412 MB array at GPT-2's vocabulary costs ~100k page faults a step:
        // reuse the last step's buffer (beta = 0 overwrites it without reading it).
        let shape = (b * t, self.cfg.vocab_size);
        let mut logits = match self.spare.take() {
            Some(buf) if buf.dim() == shape => buf,
            _ => Array2::zeros(shape),
        };
        par_matmul_into(1.0, h.view(), table.t(), 0.0, logits.view_mut());
        self.h = Some(h);
        Ok(unrows(logits, b, t, self.cfg.vocab_size))
    }

    /// Accumulates every gradient; wte receives two, from the head and the lookup.
    // dlogits: [B, T, vocab] -> nothing: the input was integers
    pub fn backward(&mut self, dlogits: &Array3<f32>) {
        let (b, t, v) = dlogits.dim();
        let h = self.h.as_ref().expect("gpt2 backward before forward");
        let dl = dlogits
            .view()
            .into_shape_with_order((b * t, v))
            .expect("standard");
        let wte = &mut self.wte.table; // the head's share of its gradient: dlᵀ h
        par_matmul_into(1.0, dl.t(), h.view(), 1.0, wte.grad.view_mut());
        let dh = matmul(dl, wte.value.view(), self.cfg.n_embd); // [B·T, C]
        let mut dx = unrows(self.ln_f.backward(&dh), b, t, self.cfg.n_embd);
        for block in self.blocks.iter_mut().rev() {
            dx = block.backward(&dx);
        }
        let dx = rows(&self.drop.backward(&dx));
        self.wte.backward(&dx);
        self.wpe.backward(&dx);
    }
}
// ANCHOR_END: forward

// ANCHOR: lm_step
impl Gpt2 {
    /// One language-modelling step's loss and gradients: the mean cross-entropy of
    /// predicting ids[b, t + 1] from ids[b, ..=t] (Chapter 6's `lm_loss`, fused; the last
    /// position has no target), then the backward pass. Gradients accumulate: the
    /// caller zeroes them between steps.
    // ids: [B, T] -> loss
    pub fn lm_step(&mut self, ids: &Array2<usize>) -> Result<f32, Gpt2Error> {
        let (b, t) = ids.dim();
        if t < 2 {
            return Err(Gpt2Error::NoTarget { t });
        }
        let logits = self.forward(ids)?; // [B, T, vocab]
        let targets =
            Array2::from_shape_fn((b, t), |(i, j)| ids.get((i, j + 1)).copied());
        let (loss, dlogits) = lm_loss_in_place(logits, &targets);
        self.backward(&dlogits);
        let v = self.cfg.vocab_size; // the buffer is the next step's logits
        self.spare = dlogits.into_shape_with_order((b * t, v)).ok();
        Ok(loss)
    }
}
// ANCHOR_END: lm_step

/// a b on every thread of the pool (Chapter 1's `par_matmul_into`).
// a: [m, k], b: [k, n] -> [m, n]
fn matmul(a: ArrayView2<f32>, b: ArrayView2<f32>, n: usize) -> Array2<f32> {
    let mut c = Array2::zeros((a.nrows(), n));
    par_matmul_into(1.0, a, b, 0.0, c.view_mut());
    c
}

// ANCHOR: lm_loss_in_place
/// Chapter 6's `lm_loss`, fused and in place: each row of logits becomes its own
/// gradient, (softmax(z) - onehot(y)) / n, rows in parallel, summed in row order.
// logits: [B, T, vocab] (consumed), targets: [B, T] -> (loss, dlogits: [B, T, vocab])
pub fn lm_loss_in_place(
    logits: Array3<f32>,
    targets: &Array2<Option<usize>>,
) -> (f32, Array3<f32>) {
    let (b, t, v) = logits.dim();
    assert!(
        targets.dim() == (b, t),
        "lm_loss: logits {:?}, targets {:?}",
        (b, t, v),
        targets.dim()
    );
    let n = targets.iter().flatten().count();
    assert!(n > 0, "lm_loss: no position has a target");
    let scale = 1.0 / n as f32;
    let mut flat = logits
        .into_shape_with_order((b * t, v))
        .expect("standard layout");
    let rows: Vec<_> = flat.axis_iter_mut(Axis(0)).zip(targets.iter()).collect();
    let losses: Vec<f32> = rows
        .into_par_iter()
        .map(|(mut z, &y)| {
            let z = z.as_slice_mut().expect("a row of a standard-layout array");
            let Some(y) = y else {
                z.fill(0.0); // no target: no loss, no gradient
                return 0.0;
            };
            assert!(y < v, "lm_loss: target {y} is out of range for {v} classes");
            loss_row(z, y, scale)
        })
        .collect();
    let loss = losses.iter().sum::<f32>() * scale;
    (
        loss,
        flat.into_shape_with_order((b, t, v)).expect("standard"),
    )
}
// ANCHOR_END: lm_loss_in_place

// ANCHOR: loss_row
/// One row of [`lm_loss_in_place`]: z becomes (softmax(z) - onehot(y))·scale, and the
/// row's -log softmax(z)_y is returned. Four passes: the max (eight lanes at once),
/// the exponentials ([`exp_nonpositive`], plain arithmetic that compiles to SIMD), their
/// sum, the scaling. Compiled twice, like Chapter 4's activation loops: for AVX-512 when the CPU
/// has it, 16 lanes, else baseline x86-64's 4. The operations, so the bits, are the same.
// z: [vocab] -> [vocab]
fn loss_row(z: &mut [f32], y: usize, scale: f32) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has every feature the wide copy was compiled for.
        return unsafe { loss_row_avx512(z, y, scale) };
    }
    loss_row_body(z, y, scale)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn loss_row_avx512(z: &mut [f32], y: usize, scale: f32) -> f32 {
    loss_row_body(z, y, scale)
}

#[inline(always)]
fn loss_row_body(z: &mut [f32], y: usize, scale: f32) -> f32 {
    let (m, z_y) = (max(z), z[y]);
    z.iter_mut().for_each(|x| *x = exp_nonpositive(*x - m));
    let sum = ArrayView1::from(&*z).sum(); // partial sums in a fixed order: same bits
    let k = scale / sum;
    z.iter_mut().for_each(|x| *x *= k);
    z[y] -= scale;
    sum.ln() + m - z_y // -log softmax(z)_y
}
// ANCHOR_END: loss_row

// ANCHOR: exp
/// e^x for x ≤ 0, within 2 ulp, in plain arithmetic the compiler turns into SIMD
/// (libm's `expf` is one call a value): x = k ln 2 + r with |r| ≤ ln 2 / 2, e^r by its
/// Taylor polynomial to r⁶ (error below 2e-7), times 2^k built in the exponent bits.
pub fn exp_nonpositive(x: f32) -> f32 {
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2²³: adding it rounds to an integer
    let x = x.max(-87.0); // e^-87 ≈ 1.6e-38, still a normal f32
    let k = (x * std::f32::consts::LOG2_E + ROUND) - ROUND;
    let r = (x - k * 0.693_359_4) + k * 2.121_944_4e-4; // ln 2 split: exact k·hi
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r / 720.0)))));
    p * f32::from_bits(((k as i32 + 127) << 23) as u32)
}
// ANCHOR_END: exp

impl Gpt2 {
    /// The input contract of [`Gpt2::forward`], as errors.
    // ids: [B, T] -> ()
    pub fn check(&self, ids: &Array2<usize>) -> Result<(), Gpt2Error> {
        let (b, t) = ids.dim();
        if b == 0 || t == 0 {
            return Err(Gpt2Error::Empty { b, t });
        }
        if t > self.cfg.n_positions {
            return Err(Gpt2Error::TooLong {
                t,
                n_positions: self.cfg.n_positions,
            });
        }
        let vocab = self.cfg.vocab_size;
        match ids.indexed_iter().find(|(_, id)| **id >= vocab) {
            Some(((b, t), &id)) => Err(Gpt2Error::Id { id, b, t, vocab }),
            None => Ok(()),
        }
    }
}

/// Names follow the book's layers (`blocks.0.attn.w_qkv`); `wte` is listed once, as
/// Hugging Face lists the tied `transformer.wte.weight` / `lm_head.weight` once.
impl Module for Gpt2 {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("wte", &self.wte, f);
        visit_child("wpe", &self.wpe, f);
        visit_child("blocks", &self.blocks, f);
        visit_child("ln_f", &self.ln_f, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("wte", &mut self.wte, f);
        visit_child_mut("wpe", &mut self.wpe, f);
        visit_child_mut("blocks", &mut self.blocks, f);
        visit_child_mut("ln_f", &mut self.ln_f, f);
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.drop.set_mode(mode);
        self.blocks.set_mode(mode);
    }
}

// ANCHOR: hf_names
/// The Hugging Face `GPT2LMHeadModel` name of each of the book's parameters. HF's
/// `Conv1D` stores weights as [in, out], computing x W as the book's `Linear` does, and
/// `c_attn` holds Q, K, V side by side as `w_qkv` does: no tensor is transposed.
pub fn hf_name(name: &str) -> Option<String> {
    let top = match name {
        "wte.table" => Some("transformer.wte.weight"),
        "wpe.table" => Some("transformer.wpe.weight"),
        "ln_f.gamma" => Some("transformer.ln_f.weight"),
        "ln_f.beta" => Some("transformer.ln_f.bias"),
        _ => None,
    };
    if let Some(top) = top {
        return Some(top.to_owned());
    }
    let rest = name.strip_prefix("blocks.")?;
    let (i, leaf) = rest.split_once('.')?;
    let hf = match leaf {
        "attn.w_qkv" => "attn.c_attn.weight",
        "attn.b_qkv" => "attn.c_attn.bias",
        "attn.w_o" => "attn.c_proj.weight",
        "attn.b_o" => "attn.c_proj.bias",
        "norm1.gamma" => "ln_1.weight",
        "norm1.beta" => "ln_1.bias",
        "ffn.fc1.w" => "mlp.c_fc.weight",
        "ffn.fc1.b" => "mlp.c_fc.bias",
        "ffn.fc2.w" => "mlp.c_proj.weight",
        "ffn.fc2.b" => "mlp.c_proj.bias",
        "norm2.gamma" => "ln_2.weight",
        "norm2.beta" => "ln_2.bias",
        _ => return None,
    };
    Some(format!("transformer.h.{i}.{hf}"))
}
// ANCHOR_END: hf_names
