//! A Llama-architecture model for inference, loaded from a GGUF file with every weight
//! dequantized to f32: RMSNorm, RoPE, grouped-query causal attention and a SwiGLU FFN
//! in each block, a final RMSNorm, and an LM head tied to the token embedding.
//!
//! llama.cpp's converter permutes the rows of `attn_q` and `attn_k` within each head so
//! that the pairs RoPE rotates are adjacent coordinates (2i, 2i+1); Hugging Face's
//! weights pair i with i + d/2 instead. Attention scores are dot products of q and k,
//! which one permutation applied to both leaves unchanged, so the book rotates the
//! file's weights with Chapter 2's interleaved RoPE and gets Hugging Face's logits.

use ch02_input::positions::rope::{Rope, RopeStyle};
use ndarray::{Array1, Array2, Array3, ArrayView2, Axis, Ix1, Ix2, s};

use crate::config::LlamaConfig;
use crate::gguf::{Gguf, GgufError};

struct Block {
    attn_norm: Array1<f32>,
    /// Linear weights as the file stores them, [out, in].
    wq: Array2<f32>,
    wk: Array2<f32>,
    wv: Array2<f32>,
    wo: Array2<f32>,
    ffn_norm: Array1<f32>,
    w_gate: Array2<f32>,
    w_up: Array2<f32>,
    w_down: Array2<f32>,
}

/// A Llama model with f32 weights.
pub struct Llama {
    pub cfg: LlamaConfig,
    /// [vocab, C]; also the LM head.
    embed: Array2<f32>,
    blocks: Vec<Block>,
    norm: Array1<f32>,
}

fn matrix(g: &Gguf, name: &str, shape: [usize; 2]) -> Result<Array2<f32>, GgufError> {
    let x = g.dequantize_as(name, &shape)?;
    x.into_dimensionality::<Ix2>()
        .map_err(|e| GgufError::BadTensor {
            tensor: name.to_owned(),
            problem: e.to_string(),
        })
}

fn vector(g: &Gguf, name: &str, n: usize) -> Result<Array1<f32>, GgufError> {
    let x = g.dequantize_as(name, &[n])?;
    x.into_dimensionality::<Ix1>()
        .map_err(|e| GgufError::BadTensor {
            tensor: name.to_owned(),
            problem: e.to_string(),
        })
}

impl Llama {
    /// Reads the config, checks the tensor table against it, and dequantizes every
    /// weight. Only a tied LM head is supported.
    pub fn from_gguf(g: &Gguf) -> Result<Self, GgufError> {
        let cfg = LlamaConfig::from_gguf(g)?;
        if !cfg.check_tensors(g)? {
            return Err(GgufError::BadTensor {
                tensor: "output.weight".into(),
                problem: "an untied LM head is not supported".into(),
            });
        }
        let (c, f) = (cfg.d_model, cfg.d_ff);
        let (q, kv) = (cfg.n_heads * cfg.d_head(), cfg.n_kv_heads * cfg.d_head());
        let mut blocks = Vec::with_capacity(cfg.n_layers);
        for i in 0..cfg.n_layers {
            let name = |n: &str| format!("blk.{i}.{n}.weight");
            blocks.push(Block {
                attn_norm: vector(g, &name("attn_norm"), c)?,
                wq: matrix(g, &name("attn_q"), [q, c])?,
                wk: matrix(g, &name("attn_k"), [kv, c])?,
                wv: matrix(g, &name("attn_v"), [kv, c])?,
                wo: matrix(g, &name("attn_output"), [c, q])?,
                ffn_norm: vector(g, &name("ffn_norm"), c)?,
                w_gate: matrix(g, &name("ffn_gate"), [f, c])?,
                w_up: matrix(g, &name("ffn_up"), [f, c])?,
                w_down: matrix(g, &name("ffn_down"), [c, f])?,
            });
        }
        Ok(Llama {
            embed: matrix(g, "token_embd.weight", [cfg.vocab, c])?,
            norm: vector(g, "output_norm.weight", c)?,
            blocks,
            cfg,
        })
    }

    /// Logits for every position of `ids`, which must be in the vocabulary.
    // ids: [T] -> logits: [T, vocab]
    pub fn forward(&self, ids: &[u32]) -> Array2<f32> {
        self.hidden(ids).dot(&self.embed.t())
    }

    /// The final hidden states, after the last RMSNorm: what the tied head multiplies.
    // ANCHOR: hidden
    // ids: [T] -> [T, C]
    pub fn hidden(&self, ids: &[u32]) -> Array2<f32> {
        let (t, c) = (ids.len(), self.cfg.d_model);
        let mut x = Array2::zeros((t, c));
        for (i, &id) in ids.iter().enumerate() {
            assert!(
                (id as usize) < self.cfg.vocab,
                "token id {id} is outside the vocabulary"
            );
            x.row_mut(i).assign(&self.embed.row(id as usize));
        }
        let positions: Vec<usize> = (0..t).collect();
        let rope = Rope::new(
            &positions,
            self.cfg.d_head(),
            f64::from(self.cfg.rope_base),
            RopeStyle::Interleaved,
        );
        for b in &self.blocks {
            let h = rms_norm(x.view(), &b.attn_norm, self.cfg.rms_eps);
            x += &self.attention(h.view(), b, &rope);
            let h = rms_norm(x.view(), &b.ffn_norm, self.cfg.rms_eps);
            let gate = h.dot(&b.w_gate.t());
            let up = h.dot(&b.w_up.t());
            let act = gate.mapv(|g| g / (1.0 + (-g).exp())) * up;
            x += &act.dot(&b.w_down.t());
        }
        rms_norm(x.view(), &self.norm, self.cfg.rms_eps)
    }
    // ANCHOR_END: hidden

    /// Greedy decoding without a cache: each step runs the whole sequence again and
    /// appends the most likely next token (the lowest id on a tie), until `max_new`
    /// tokens or `eos`. Returns the new tokens only.
    // prompt: [T] -> new ids: [<= max_new]
    pub fn greedy(&self, prompt: &[u32], max_new: usize, eos: Option<u32>) -> Vec<u32> {
        let mut ids = prompt.to_vec();
        for _ in 0..max_new {
            let h = self.hidden(&ids);
            let last = self.embed.dot(&h.row(ids.len() - 1));
            let next = last
                .iter()
                .enumerate()
                .fold(
                    (0, f32::NEG_INFINITY),
                    |a, (i, &v)| if v > a.1 { (i, v) } else { a },
                )
                .0 as u32;
            ids.push(next);
            if Some(next) == eos {
                break;
            }
        }
        ids.split_off(prompt.len())
    }

    /// Causal grouped-query attention: query head h reads KV head h / (H / H_kv).
    // ANCHOR: attention
    // h: [T, C] -> [T, C]
    fn attention(&self, h: ArrayView2<f32>, b: &Block, rope: &Rope) -> Array2<f32> {
        let (t, dh) = (h.nrows(), self.cfg.d_head());
        let (nh, nkv) = (self.cfg.n_heads, self.cfg.n_kv_heads);
        let split = |x: Array2<f32>, n: usize| -> Array3<f32> {
            x.into_shape_with_order((t, n, dh))
                .expect("[T, n·dh]")
                .permuted_axes([1, 0, 2])
                .as_standard_layout()
                .to_owned()
        };
        let q = rope.forward_heads(&split(h.dot(&b.wq.t()), nh));
        let k = rope.forward_heads(&split(h.dot(&b.wk.t()), nkv));
        let v = split(h.dot(&b.wv.t()), nkv);
        let scale = 1.0 / (dh as f32).sqrt();
        let mut out = Array2::zeros((t, nh * dh));
        for head in 0..nh {
            let g = head / (nh / nkv);
            let mut scores = q
                .index_axis(Axis(0), head)
                .dot(&k.index_axis(Axis(0), g).t());
            for (i, mut row) in scores.axis_iter_mut(Axis(0)).enumerate() {
                row.mapv_inplace(|s| s * scale);
                row.slice_mut(s![i + 1..]).fill(f32::NEG_INFINITY);
                let m = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
                row.mapv_inplace(|s| (s - m).exp());
                let z = row.sum();
                row.mapv_inplace(|p| p / z);
            }
            let o = scores.dot(&v.index_axis(Axis(0), g));
            out.slice_mut(s![.., head * dh..(head + 1) * dh]).assign(&o);
        }
        out.dot(&b.wo.t())
    }
    // ANCHOR_END: attention
}

/// RMSNorm: each row divided by its root mean square, times a learned gain.
// ANCHOR: rms_norm
// x: [T, C], w: [C] -> [T, C]
pub fn rms_norm(x: ArrayView2<f32>, w: &Array1<f32>, eps: f32) -> Array2<f32> {
    let mut y = x.to_owned();
    for mut row in y.axis_iter_mut(Axis(0)) {
        let ms = row.iter().map(|v| v * v).sum::<f32>() / row.len() as f32;
        let r = 1.0 / (ms + eps).sqrt();
        row.zip_mut_with(w, |v, &g| *v = *v * r * g);
    }
    y
}
// ANCHOR_END: rms_norm
