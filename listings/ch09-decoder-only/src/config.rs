//! A Llama-architecture model's hyperparameters, read from a GGUF file's metadata, and
//! the tensors they imply, checked against the file's tensor table before anything is
//! loaded: a missing tensor or a shape that disagrees with the metadata is an error that
//! names the tensor.

use crate::gguf::{Gguf, GgufError};

/// What the `llama.*` keys say.
#[derive(Clone, Debug, PartialEq)]
pub struct LlamaConfig {
    pub n_layers: usize,
    /// The width C of the residual stream.
    pub d_model: usize,
    pub n_heads: usize,
    /// Key-value heads; `n_heads` is a multiple of it (grouped-query attention).
    pub n_kv_heads: usize,
    pub d_ff: usize,
    pub vocab: usize,
    pub context: usize,
    pub rope_base: f32,
    pub rms_eps: f32,
}

impl LlamaConfig {
    pub fn d_head(&self) -> usize {
        self.d_model / self.n_heads
    }

    // ANCHOR: f32_weight_bytes
    /// The bytes of every weight once it is loaded as f32: each block's four projections,
    /// three FFN matrices and two norm gains, the token table (tied to the head) and the
    /// final norm. A decoding step reads all of them.
    pub fn f32_weight_bytes(&self) -> usize {
        let (c, f, v) = (self.d_model, self.d_ff, self.vocab);
        let (q, kv) = (
            self.n_heads * self.d_head(),
            self.n_kv_heads * self.d_head(),
        );
        let block = 2 * c * q + 2 * c * kv + 3 * c * f + 2 * c;
        (self.n_layers * block + v * c + c) * size_of::<f32>()
    }
    // ANCHOR_END: f32_weight_bytes

    /// Reads and checks the hyperparameters; errors name the key.
    pub fn from_gguf(g: &Gguf) -> Result<Self, GgufError> {
        let arch = g.str("general.architecture")?;
        if arch != "llama" {
            return Err(GgufError::Invalid {
                what: "key general.architecture".into(),
                problem: format!("\"{arch}\", expected \"llama\""),
            });
        }
        let n = |key: &str| -> Result<usize, GgufError> {
            let v = g.uint(&format!("llama.{key}"))?;
            usize::try_from(v)
                .ok()
                .filter(|&v| v > 0)
                .ok_or_else(|| GgufError::Invalid {
                    what: format!("key llama.{key}"),
                    problem: format!("{v} is not a positive size"),
                })
        };
        let vocab = match g.get("llama.vocab_size") {
            Some(_) => n("vocab_size")?,
            None => g.str_array("tokenizer.ggml.tokens")?.len(),
        };
        let cfg = LlamaConfig {
            n_layers: n("block_count")?,
            d_model: n("embedding_length")?,
            n_heads: n("attention.head_count")?,
            n_kv_heads: n("attention.head_count_kv")?,
            d_ff: n("feed_forward_length")?,
            vocab,
            context: n("context_length")?,
            rope_base: g.float("llama.rope.freq_base").unwrap_or(10_000.0) as f32,
            rms_eps: g.float("llama.attention.layer_norm_rms_epsilon")? as f32,
        };
        let bad = |key: &str, problem: String| GgufError::Invalid {
            what: format!("key llama.{key}"),
            problem,
        };
        if !cfg.d_model.is_multiple_of(cfg.n_heads) {
            let problem = format!(
                "{} heads do not divide the width {}",
                cfg.n_heads, cfg.d_model
            );
            return Err(bad("attention.head_count", problem));
        }
        if !cfg.n_heads.is_multiple_of(cfg.n_kv_heads) {
            let problem = format!(
                "{} KV heads do not divide {} heads",
                cfg.n_kv_heads, cfg.n_heads
            );
            return Err(bad("attention.head_count_kv", problem));
        }
        if let Some(rot) = g.get("llama.rope.dimension_count").and_then(|v| v.as_u64())
            && rot != cfg.d_head() as u64
        {
            let problem =
                format!("{rot}, the book rotates whole heads of {}", cfg.d_head());
            return Err(bad("rope.dimension_count", problem));
        }
        Ok(cfg)
    }

    /// Every tensor the model needs with its row-major shape. The LM head
    /// `output.weight` is absent when it is tied to the token embedding.
    // ANCHOR: expected_tensors
    pub fn expected_tensors(&self) -> impl Iterator<Item = (String, Vec<usize>)> + '_ {
        let (c, f, v) = (self.d_model, self.d_ff, self.vocab);
        let (q, kv) = (
            self.n_heads * self.d_head(),
            self.n_kv_heads * self.d_head(),
        );
        let blocks = (0..self.n_layers).flat_map(move |i| {
            let blk =
                |name: &str, shape: Vec<usize>| (format!("blk.{i}.{name}.weight"), shape);
            [
                blk("attn_norm", vec![c]),
                blk("attn_q", vec![q, c]),
                blk("attn_k", vec![kv, c]),
                blk("attn_v", vec![kv, c]),
                blk("attn_output", vec![c, q]),
                blk("ffn_norm", vec![c]),
                blk("ffn_gate", vec![f, c]),
                blk("ffn_up", vec![f, c]),
                blk("ffn_down", vec![c, f]),
            ]
        });
        [
            ("token_embd.weight".to_owned(), vec![v, c]),
            ("output_norm.weight".to_owned(), vec![c]),
        ]
        .into_iter()
        .chain(blocks)
    }
    // ANCHOR_END: expected_tensors

    /// Checks the file's tensor table against [`LlamaConfig::expected_tensors`]; returns
    /// whether the LM head is tied (no `output.weight`).
    pub fn check_tensors(&self, g: &Gguf) -> Result<bool, GgufError> {
        let tied = g.tensor("output.weight").is_err();
        let head =
            (!tied).then(|| ("output.weight".to_owned(), vec![self.vocab, self.d_model]));
        // Lazily: metadata that claims a huge model fails at its first missing tensor,
        // before a list of every name is built.
        let mut found = std::collections::HashSet::new();
        for (name, shape) in self.expected_tensors().chain(head) {
            let info = g.tensor(&name)?;
            if info.shape() != shape {
                return Err(GgufError::BadTensor {
                    tensor: name,
                    problem: format!(
                        "shape {:?} in the file, expected {shape:?} from the metadata",
                        info.shape()
                    ),
                });
            }
            found.insert(name);
        }
        if let Some(extra) = g.tensors.iter().find(|t| !found.contains(&t.name)) {
            return Err(GgufError::BadTensor {
                tensor: extra.name.clone(),
                problem: "not a tensor of a Llama model".into(),
            });
        }
        Ok(tied)
    }
}
