//! A trainable Llama, forward and backward (section "Llama from scratch"): RMSNorm,
//! RoPE, SwiGLU and grouped-query attention, no biases. Chapter 4's RMSNorm and SwiGLU,
//! Chapter 2's embedding and RoPE, Chapter 3's attention, put together.

use ch01_foundations::init::normal;
use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ch01_foundations::module::{visit_child, visit_child_mut};
use ch02_input::embedding::Embedding;
use ch04_ffn_norms::norms::RmsNorm;
use ch04_ffn_norms::swiglu::SwiGlu;
use ndarray::{Array2, ArrayD, Ix2};
use rand::Rng;
use thiserror::Error;

use crate::gqa::GroupedQueryAttention;

// ANCHOR: config
/// A Llama's hyperparameters. `n_kv_heads` = 1 is MQA, = `n_heads` is MHA.
#[derive(Clone, Debug, PartialEq)]
pub struct LlamaTrainConfig {
    pub vocab_size: usize,
    pub d_model: usize,
    pub n_layers: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub d_ff: usize,
    pub rope_base: f64,
    pub norm_eps: f32,
    /// Share the embedding table with the LM head (SmolLM2 does; Llama 2 does not).
    pub tie_embeddings: bool,
}

/// A config that cannot describe a model, naming the field.
#[derive(Debug, Error, PartialEq)]
pub enum LlamaConfigError {
    #[error("llama config: {field} must be at least 1")]
    Zero { field: &'static str },
    #[error("llama config: n_kv_heads = {n_kv_heads} must divide n_heads = {n_heads}")]
    KvHeads { n_heads: usize, n_kv_heads: usize },
    #[error(
        "llama config: d_model = {d_model} must be a multiple of n_heads = {n_heads}"
    )]
    Width { d_model: usize, n_heads: usize },
    #[error(
        "llama config: head_dim = d_model / n_heads = {head_dim} must be even for RoPE"
    )]
    OddHeadDim { head_dim: usize },
}
// ANCHOR_END: config

impl LlamaTrainConfig {
    /// The tiny config the PyTorch check uses (tools/golden/ch09_llama.py): width 16,
    /// 2 layers, 4 query heads sharing 2 K/V heads, SwiGLU 32, vocabulary 40, untied.
    pub fn tiny() -> Self {
        LlamaTrainConfig {
            vocab_size: 40,
            d_model: 16,
            n_layers: 2,
            n_heads: 4,
            n_kv_heads: 2,
            d_ff: 32,
            rope_base: 10_000.0,
            norm_eps: 1e-6,
            tie_embeddings: false,
        }
    }

    pub fn head_dim(&self) -> usize {
        self.d_model / self.n_heads
    }

    /// Every field checked, the first problem named.
    pub fn validate(&self) -> Result<(), LlamaConfigError> {
        for (field, v) in [
            ("vocab_size", self.vocab_size),
            ("d_model", self.d_model),
            ("n_layers", self.n_layers),
            ("n_heads", self.n_heads),
            ("n_kv_heads", self.n_kv_heads),
            ("d_ff", self.d_ff),
        ] {
            if v == 0 {
                return Err(LlamaConfigError::Zero { field });
            }
        }
        let (n_heads, n_kv_heads, d_model) =
            (self.n_heads, self.n_kv_heads, self.d_model);
        if !n_heads.is_multiple_of(n_kv_heads) {
            return Err(LlamaConfigError::KvHeads {
                n_heads,
                n_kv_heads,
            });
        }
        if !d_model.is_multiple_of(n_heads) {
            return Err(LlamaConfigError::Width { d_model, n_heads });
        }
        if !self.head_dim().is_multiple_of(2) {
            return Err(LlamaConfigError::OddHeadDim {
                head_dim: self.head_dim(),
            });
        }
        Ok(())
    }
}

// ANCHOR: block
/// x + attn(norm(x)), then h + ffn(norm(h)): pre-norm, RMSNorm, no biases.
pub struct LlamaBlock {
    pub attn_norm: RmsNorm,
    pub attn: GroupedQueryAttention,
    pub ffn_norm: RmsNorm,
    pub ffn: SwiGlu,
}

impl LlamaBlock {
    // x: [T, C] -> [T, C]
    pub fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let h = x + &self.attn.forward(&self.attn_norm.forward(x));
        &h + &self.ffn.forward(&self.ffn_norm.forward(&h))
    }

    /// Each residual passes dy straight through and adds its branch's gradient.
    // dy: [T, C] -> dx: [T, C]
    pub fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        let dh = dy + &self.ffn_norm.backward(&self.ffn.backward(dy));
        &dh + &self.attn_norm.backward(&self.attn.backward(&dh))
    }
}
// ANCHOR_END: block

impl LlamaBlock {
    pub fn new(cfg: &LlamaTrainConfig, rng: &mut impl Rng) -> Self {
        let heads = (cfg.n_heads, cfg.n_kv_heads, cfg.head_dim());
        LlamaBlock {
            attn_norm: RmsNorm::new(cfg.d_model, cfg.norm_eps),
            attn: GroupedQueryAttention::new(cfg.d_model, heads, cfg.rope_base, rng),
            ffn_norm: RmsNorm::new(cfg.d_model, cfg.norm_eps),
            ffn: SwiGlu::new(cfg.d_model, cfg.d_ff, rng),
        }
    }
}

impl Module for LlamaBlock {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("attn_norm", &self.attn_norm, f);
        visit_child("attn", &self.attn, f);
        visit_child("ffn_norm", &self.ffn_norm, f);
        visit_child("ffn", &self.ffn, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("attn_norm", &mut self.attn_norm, f);
        visit_child_mut("attn", &mut self.attn, f);
        visit_child_mut("ffn_norm", &mut self.ffn_norm, f);
        visit_child_mut("ffn", &mut self.ffn, f);
    }
}

/// The whole model: embedding, blocks, a final RMSNorm and the LM head.
pub struct Llama {
    pub cfg: LlamaTrainConfig,
    pub embed: Embedding,
    pub blocks: Vec<LlamaBlock>,
    pub norm: RmsNorm,
    /// [C, vocab]; `None` when tied to the embedding.
    pub lm_head: Option<Param<Ix2>>,
    h: Option<Array2<f32>>, // the final norm's output [T, C], for the head's gradient
}

impl Llama {
    /// Embedding and head entries from N(0, 0.02²), as Hugging Face initialises Llama.
    pub fn new(
        cfg: LlamaTrainConfig,
        rng: &mut impl Rng,
    ) -> Result<Self, LlamaConfigError> {
        cfg.validate()?;
        let embed = Embedding::new(cfg.vocab_size, cfg.d_model, 0.02, rng);
        let blocks = (0..cfg.n_layers)
            .map(|_| LlamaBlock::new(&cfg, rng))
            .collect();
        let lm_head = (!cfg.tie_embeddings)
            .then(|| Param::new(normal((cfg.d_model, cfg.vocab_size), 0.02, rng)));
        let norm = RmsNorm::new(cfg.d_model, cfg.norm_eps);
        Ok(Llama {
            cfg,
            embed,
            blocks,
            norm,
            lm_head,
            h: None,
        })
    }
}

// ANCHOR: model
impl Llama {
    // ids: [T] -> logits: [T, vocab]
    pub fn forward(&mut self, ids: &[usize]) -> Array2<f32> {
        let mut x = self.embed.forward(ids);
        for block in &mut self.blocks {
            x = block.forward(&x);
        }
        let h = self.norm.forward(&x);
        let logits = match &self.lm_head {
            Some(w) => h.dot(&w.value),
            None => self.embed.unembed(&h),
        };
        self.h = Some(h);
        logits
    }

    /// Adds ∂L/∂θ into every parameter's gradient, given ∂L/∂logits.
    // dlogits: [T, vocab] -> nothing (the input is token ids)
    pub fn backward(&mut self, dlogits: &Array2<f32>) {
        let h = self.h.as_ref().expect("llama backward before forward");
        let dh = match &mut self.lm_head {
            Some(w) => {
                w.grad += &h.t().dot(dlogits);
                dlogits.dot(&w.value.t())
            }
            None => self.embed.unembed_backward(dlogits),
        };
        let mut dx = self.norm.backward(&dh);
        for block in self.blocks.iter_mut().rev() {
            dx = block.backward(&dx);
        }
        self.embed.backward(&dx);
    }
}
// ANCHOR_END: model

impl Module for Llama {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("embed", &self.embed, f);
        visit_child("blocks", &self.blocks, f);
        visit_child("norm", &self.norm, f);
        if let Some(w) = &self.lm_head {
            f("lm_head", w.view());
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("embed", &mut self.embed, f);
        visit_child_mut("blocks", &mut self.blocks, f);
        visit_child_mut("norm", &mut self.norm, f);
        if let Some(w) = &mut self.lm_head {
            f("lm_head", w.view_mut());
        }
    }
}

// ANCHOR: hf_name
/// The Hugging Face name of a book parameter, and whether the book stores it
/// transposed: a Hugging Face linear weight is [out, in], the book's W is [in, out].
pub fn hf_name(name: &str) -> (String, bool) {
    let fixed = [
        ("embed.table", "model.embed_tokens.weight", false),
        ("norm.weight", "model.norm.weight", false),
        ("lm_head", "lm_head.weight", true),
    ];
    if let Some(&(_, hf, t)) = fixed.iter().find(|(n, _, _)| *n == name) {
        return (hf.to_owned(), t);
    }
    let rest = name.strip_prefix("blocks.").expect("a block parameter");
    let (layer, part) = rest.split_once('.').expect("blocks.N.part");
    let (hf, t) = match part {
        "attn_norm.weight" => ("input_layernorm.weight", false),
        "ffn_norm.weight" => ("post_attention_layernorm.weight", false),
        "attn.wq" => ("self_attn.q_proj.weight", true),
        "attn.wk" => ("self_attn.k_proj.weight", true),
        "attn.wv" => ("self_attn.v_proj.weight", true),
        "attn.wo" => ("self_attn.o_proj.weight", true),
        "ffn.w1" => ("mlp.gate_proj.weight", true),
        "ffn.w3" => ("mlp.up_proj.weight", true),
        "ffn.w2" => ("mlp.down_proj.weight", true),
        other => panic!("no Hugging Face name for {other}"),
    };
    (format!("model.layers.{layer}.{hf}"), t)
}
// ANCHOR_END: hf_name

/// A book parameter's value from a source that holds it under its Hugging Face name
/// (a fixture, a checkpoint), transposed where [`hf_name`] says so.
pub fn book_layout(name: &str, get: impl FnOnce(&str) -> ArrayD<f32>) -> ArrayD<f32> {
    let (hf, transposed) = hf_name(name);
    let t = get(&hf);
    if !transposed {
        return t;
    }
    let w = t
        .into_dimensionality::<Ix2>()
        .expect("a linear weight is 2-D");
    w.t().as_standard_layout().into_owned().into_dyn()
}

// ANCHOR: kv_bytes
/// The KV cache stores one key and one value vector per layer, K/V head and token:
/// bytes per token = 2 · n_layers · n_kv_heads · head_dim · bytes_per_value.
pub fn kv_bytes_per_token(
    n_layers: usize,
    n_kv_heads: usize,
    head_dim: usize,
    bytes: usize,
) -> usize {
    2 * n_layers * n_kv_heads * head_dim * bytes
}
// ANCHOR_END: kv_bytes

/// The K/V memory table the text prints: one example config (SmolLM2-135M's shape:
/// 30 layers, 9 query heads of 64) at MHA, GQA and MQA, in f16 (2 bytes) and f32.
pub fn kv_memory_table() -> String {
    let (layers, heads, head_dim) = (30, 9, 64);
    let mut out = String::from(
        "| attention | K/V heads | query heads per K/V head | KiB/token (f16) | MiB for 8,192 tokens (f16) | KiB/token (f32) |\n|---|---|---|---|---|---|\n",
    );
    for (name, kv) in [("MHA", 9), ("GQA (SmolLM2)", 3), ("MQA", 1)] {
        let f16 = kv_bytes_per_token(layers, kv, head_dim, 2);
        let f32_ = kv_bytes_per_token(layers, kv, head_dim, 4);
        out += &format!(
            "| {name} | {kv} | {} | {:.2} | {:.1} | {:.2} |\n",
            heads / kv,
            f16 as f64 / 1024.0,
            (f16 * 8192) as f64 / (1024.0 * 1024.0),
            f32_ as f64 / 1024.0,
        );
    }
    out
}
