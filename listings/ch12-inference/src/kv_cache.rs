//! The KV cache for the chapter's model, Chapter 9's trainable Llama (section "The KV
//! cache"): an inference-only forward that reuses the model's weights and layers,
//! Chapter 2's RoPE at the right positions and Chapter 3's bottom-right causal mask, and
//! keeps every layer's rotated keys and values so that a step computes only new rows.

use ch01_foundations::probability::argmax;
use ch02_input::positions::rope::Rope;
use ch03_attention::mask::Mask;
use ch03_attention::sdpa::sdpa;
use ch09_decoder_only::gqa::GroupedQueryAttention;
use ch09_decoder_only::llama::Llama as SmolLm2;
use ch09_decoder_only::llama_model::Llama;
use ndarray::{Array2, Array3, Axis, s};
use thiserror::Error;

/// Input the cached forward cannot run on, named.
#[derive(Debug, Error, PartialEq)]
pub enum KvCacheError {
    #[error("kv cache: no new tokens to run")]
    Empty,
    #[error("kv cache: token id {id} is outside the vocabulary of {vocab}")]
    UnknownToken { id: usize, vocab: usize },
    #[error(
        "kv cache: the cache is for {cache_layers} layers of {cache_width} K/V values, the model has {layers} of {width}"
    )]
    WrongModel {
        cache_layers: usize,
        cache_width: usize,
        layers: usize,
        width: usize,
    },
}

// ANCHOR: cache
/// One layer's keys (after RoPE) and values for every position seen so far. Rows are
/// positions, so a step appends in place: `append` on the outer axis copies only the
/// new rows (amortised), never the old ones.
pub struct LayerCache {
    pub k: Array3<f32>, // [len, H_kv, d_head]
    pub v: Array3<f32>, // [len, H_kv, d_head]
}

/// A cache per layer. With GQA it holds H_kv heads, not H: Chapter 9's smaller cache.
pub struct KvCache {
    pub layers: Vec<LayerCache>,
}
// ANCHOR_END: cache

impl KvCache {
    /// An empty cache shaped for `model`.
    pub fn new(model: &Llama) -> Self {
        let (n_kv, d) = (model.cfg.n_kv_heads, model.cfg.head_dim());
        let empty = || LayerCache {
            k: Array3::zeros((0, n_kv, d)),
            v: Array3::zeros((0, n_kv, d)),
        };
        KvCache {
            layers: (0..model.cfg.n_layers).map(|_| empty()).collect(),
        }
    }

    /// Positions held.
    pub fn len(&self) -> usize {
        self.layers.first().map_or(0, |l| l.k.len_of(Axis(0)))
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of keys and values held: 2 · layers · len · H_kv · d_head · 4.
    pub fn bytes(&self) -> usize {
        let values: usize = self.layers.iter().map(|l| l.k.len() + l.v.len()).sum();
        values * size_of::<f32>()
    }
}

// ANCHOR: cached_attention
/// Grouped-query attention for T new queries at positions past..past + T, against the
/// past + T keys in the cache once the new ones are appended. Chapter 3's causal mask
/// aligns bottom-right: query i sees keys j ≤ i + past.
// x: [T, C], cache: [past, H_kv, d] -> [T, C]; cache -> [past + T, H_kv, d]
fn cached_attention(
    attn: &GroupedQueryAttention,
    x: &Array2<f32>,
    cache: &mut LayerCache,
) -> Array2<f32> {
    let (t, d, g) = (x.nrows(), attn.head_dim, attn.group());
    let (nh, nkv, past) = (attn.n_heads, attn.n_kv_heads, cache.k.len_of(Axis(0)));
    let positions: Vec<usize> = (past..past + t).collect(); // RoPE's offset
    let rope = Rope::new(&positions, d, attn.rope_base, attn.rope_style);
    let heads = |y: Array2<f32>, n| y.into_shape_with_order((t, n, d)).expect("[T, n·d]");
    let q = heads(x.dot(&attn.wq.value), nh).permuted_axes([1, 0, 2]); // [H, T, d]
    let q = rope.forward_heads(&q);
    let k = heads(x.dot(&attn.wk.value), nkv).permuted_axes([1, 0, 2]);
    let k = rope.forward_heads(&k).permuted_axes([1, 0, 2]); // [T, H_kv, d]
    cache.k.append(Axis(0), k.view()).expect("same head shape");
    cache
        .v
        .append(Axis(0), heads(x.dot(&attn.wv.value), nkv).view())
        .expect("same");
    let causal = Mask {
        causal: true,
        ..Mask::default()
    };
    let mut o = Array2::zeros((t, nh * d));
    for h in 0..nh {
        let (k, v) = (
            cache.k.slice(s![.., h / g, ..]),
            cache.v.slice(s![.., h / g, ..]),
        );
        let a = sdpa(q.slice(s![h, .., ..]), k, v, &causal); // [T, past + T] scores
        o.slice_mut(s![.., h * d..(h + 1) * d]).assign(&a.out);
    }
    o.dot(&attn.wo.value)
}
// ANCHOR_END: cached_attention

// ANCHOR: forward_cached
/// Logits for `ids`, the tokens that follow the `cache.len()` positions already cached;
/// the cache then holds them too. The same layers and operations, in the same order, as
/// `Llama::forward` on the whole sequence. Chapter 9's layers take `&mut self` because
/// they keep what backward needs; inference never calls backward.
// ids: [T] -> logits: [T, vocab]
pub fn forward_cached(
    model: &mut Llama,
    ids: &[usize],
    cache: &mut KvCache,
) -> Result<Array2<f32>, KvCacheError> {
    check(model, ids, cache)?;
    let mut x = model.embed.forward(ids);
    for (block, layer) in model.blocks.iter_mut().zip(&mut cache.layers) {
        let a = cached_attention(&block.attn, &block.attn_norm.forward(&x), layer);
        let h = &x + &a;
        x = &h + &block.ffn.forward(&block.ffn_norm.forward(&h));
    }
    let h = model.norm.forward(&x);
    Ok(match &model.lm_head {
        Some(w) => h.dot(&w.value),
        None => h.dot(&model.embed.table.value.t()),
    })
}
// ANCHOR_END: forward_cached

fn check(model: &Llama, ids: &[usize], cache: &KvCache) -> Result<(), KvCacheError> {
    let vocab = model.cfg.vocab_size;
    if ids.is_empty() {
        return Err(KvCacheError::Empty);
    }
    if let Some(&id) = ids.iter().find(|&&id| id >= vocab) {
        return Err(KvCacheError::UnknownToken { id, vocab });
    }
    let width = model.cfg.n_kv_heads * model.cfg.head_dim();
    let first = cache.layers.first().map(|l| l.k.dim());
    let cache_width = first.map_or(0, |(_, n, d)| n * d);
    if cache.layers.len() != model.cfg.n_layers || cache_width != width {
        return Err(KvCacheError::WrongModel {
            cache_layers: cache.layers.len(),
            cache_width,
            layers: model.cfg.n_layers,
            width,
        });
    }
    Ok(())
}

// ANCHOR: parity
/// Chapter 9's SmolLM2 decoding with its cache against itself without: `prompt`, then
/// `steps` greedy steps of one token through `hidden_cached`, each step's logits
/// compared with the row of one uncached forward of the whole sequence. Returns the
/// worst absolute difference and the worst relative to its row's largest |logit|.
// prompt: [T] -> (max |Δ|, max |Δ| / max |logit|)
pub fn smollm2_cache_parity(model: &SmolLm2, prompt: &[u32], steps: usize) -> (f32, f32) {
    let mut cache = model.new_cache();
    let (mut seq, mut fresh) = (prompt.to_vec(), prompt.to_vec());
    let mut stepped = Vec::with_capacity(steps);
    for _ in 0..steps {
        let logits = model.next_logits(&model.hidden_cached(&fresh, &mut cache));
        let next = argmax(logits.iter().copied()) as u32;
        stepped.push(logits);
        seq.push(next);
        fresh = vec![next];
    }
    let full = model.forward(&seq[..seq.len() - 1]); // [T + steps - 1, vocab]
    let (mut worst_abs, mut worst_rel) = (0f32, 0f32);
    for (i, row) in stepped.iter().enumerate() {
        let want = full.row(prompt.len() - 1 + i);
        let d = (row - &want).fold(0f32, |a, &b| a.max(b.abs()));
        let scale = want.fold(0f32, |a, &b| a.max(b.abs()));
        worst_abs = worst_abs.max(d);
        worst_rel = worst_rel.max(d / scale);
    }
    (worst_abs, worst_rel)
}
// ANCHOR_END: parity
