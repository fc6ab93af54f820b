//! Decoding one token at a time (section "The KV cache"). Each greedy step adds one
//! token; rerunning the decoder on the whole prefix recomputes, at every layer, keys and
//! values that have not changed. The cache keeps them: cross-attention's K and V are
//! the encoder's output projected once per layer, and self-attention's K and V grow by
//! one row a token. A step then costs one row's work plus its attention over the cache.

use ch01_foundations::linalg::{linear, reuse};
use ch01_foundations::softmax::exp;
use ch03_attention::heads::heads_forward;
use ch03_attention::sdpa::{max, sum};
use ch04_ffn_norms::activations::Activation;
use ch05_encoder::block::Wiring;
use ch07_transformer::DecoderLayer;
use ch09_decoder_only::llama::matvec;
use ndarray::{Array1, Array2, Array4, ArrayRef1, ArrayRef2, ArrayView2, Axis, s};
use rayon::prelude::*;

use crate::whisper::{Whisper, WhisperError};

// ANCHOR: cache
/// What the decoder keeps between steps, per layer: cross-attention's K and V of the
/// encoder's output m (fixed for the whole transcript), and self-attention's K and V of
/// every token so far, one [K | V] row of 2C floats appended per token into a buffer
/// sized for the longest transcript, so appending never moves the rows already there.
pub struct KvCache {
    cross: Vec<Array2<f32>>, // per layer [S, 2C]: m W_kv + b_kv, K in [0, C), V in [C, 2C)
    kv: Vec<Vec<f32>>,       // per layer [len, 2C] row-major, the same layout
    len: usize,              // tokens seen
    p: Array4<f32>,          // attention weights [1, h, T, keys], scratch
}

impl KvCache {
    /// How many tokens the cache holds: the position of the next one.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}
// ANCHOR_END: cache

// ANCHOR: new_cache
impl Whisper {
    /// An empty cache for the transcript of the audio whose encoding is `m`:
    /// cross-attention's K and V computed here, once per layer, for every step to read.
    // m: [S, C] -> cache with cross [S, 2C] per layer
    pub fn new_cache(&self, m: &Array2<f32>) -> Result<KvCache, WhisperError> {
        let c = self.cfg.d_model;
        if m.nrows() == 0 || m.ncols() != c {
            return Err(WhisperError::Input(format!(
                "the encoder output is {:?}, expected [positions > 0, {c}]",
                m.shape()
            )));
        }
        let layers = &self.decoder.layers;
        let cross = layers
            .iter()
            .map(|d| linear(m, &d.cross_attn.w_kv.value, &d.cross_attn.b_kv.value))
            .collect();
        let room = self.cfg.n_text_ctx * 2 * c;
        Ok(KvCache {
            cross,
            kv: layers.iter().map(|_| Vec::with_capacity(room)).collect(),
            len: 0,
            p: Array4::zeros((1, self.cfg.n_heads, 0, 0)),
        })
    }
}
// ANCHOR_END: new_cache

// ANCHOR: hidden_cached
impl Whisper {
    /// [`Whisper::hidden`] for `ids` that follow the tokens already in `cache`, which
    /// then holds them too: their learned positions start at the cache's length.
    // ids: [T] -> [T, C]
    pub fn hidden_cached(
        &mut self,
        ids: &[u32],
        cache: &mut KvCache,
    ) -> Result<Array2<f32>, WhisperError> {
        let (t, past) = (ids.len(), cache.len);
        self.check_ids(ids, past)?;
        let ids: Vec<usize> = ids.iter().map(|&id| id as usize).collect();
        let mut x = self.embed.forward(&ids) + self.dec_pos.slice(s![past..past + t, ..]);
        for (i, layer) in self.decoder.layers.iter_mut().enumerate() {
            let (kv, cross) = (&mut cache.kv[i], &cache.cross[i]);
            x = layer_step(layer, &x, kv, cross, &mut cache.p);
        }
        cache.len += t;
        let norm = self.decoder.final_norm.as_mut().expect("Pre-LN");
        Ok(norm.forward(&x))
    }

    /// The logits of the token after the last row of `h`: h Eᵀ, one row.
    // h: [T, C] -> [vocab]
    pub fn last_logits(&self, h: &Array2<f32>) -> Array1<f32> {
        matvec(&self.embed.table.value, h.row(h.nrows() - 1))
    }
}
// ANCHOR_END: hidden_cached

// ANCHOR: layer_step
/// One Pre-LN decoder layer (Chapter 7's weights) on T new rows: their K and V join the
/// cache, their queries attend causally to every cached key and to the fixed
/// cross-attention K and V.
// x: [T, C], kv: [past, 2C] -> [past + T, 2C], cross: [S, 2C] -> [T, C]
fn layer_step(
    d: &mut DecoderLayer,
    x: &Array2<f32>,
    kv: &mut Vec<f32>,
    cross: &Array2<f32>,
    p: &mut Array4<f32>,
) -> Array2<f32> {
    assert!(d.wiring == Wiring::PreLn, "the cached path is Pre-LN only");
    let (c, h) = (x.ncols(), d.self_attn.n_heads);
    let a = &d.self_attn;
    let qkv = project(&d.norm1.forward(x), &a.w_qkv.value, &a.b_qkv.value); // [T, 3C]
    for row in qkv.rows() {
        kv.extend_from_slice(&row.as_slice().expect("row-major")[c..]);
    }
    let keys = kv.len() / (2 * c);
    let kv = ArrayView2::from_shape((keys, 2 * c), kv).expect("[keys, 2C]");
    let (k, v) = (kv.slice(s![.., ..c]), kv.slice(s![.., c..]));
    let merged = attend((qkv.slice(s![.., ..c]), k, v), h, true, p);
    let h1 = x + &project(&merged, &a.w_o.value, &a.b_o.value);
    let a = &d.cross_attn;
    let q = project(&d.norm2.forward(&h1), &a.w_q.value, &a.b_q.value); // [T, C]
    let (k, v) = (cross.slice(s![.., ..c]), cross.slice(s![.., c..]));
    let merged = attend((q.view(), k, v), h, false, p);
    let h2 = h1 + &project(&merged, &a.w_o.value, &a.b_o.value);
    let (fc1, fc2) = (&d.ffn.fc1, &d.ffn.fc2);
    let hidden = project(&d.norm3.forward(&h2), &fc1.w.value, &fc1.b.value); // [T, F]
    let a2 = Activation::Gelu.forward(&hidden);
    h2 + &project(&a2, &fc2.w.value, &fc2.b.value)
}
// ANCHOR_END: layer_step

// ANCHOR: attend
/// Every head's attention of the new queries over the keys. T > 1 (the prompt) goes
/// through Chapter 3's `heads_forward` (causal aligned bottom-right: query i sees the
/// first keys - T + i + 1 keys). One query sees every key, and its heads run in
/// parallel: scores k_j · q / √d_k, a softmax, then Σ_j p_j v_j, reading each key and
/// value row where it lies in the cache instead of packing it for a matmul.
// q: [T, C], k, v: [keys, C], p: scratch -> [T, C]
fn attend(
    (q, k, v): (ArrayView2<f32>, ArrayView2<f32>, ArrayView2<f32>),
    n_heads: usize,
    causal: bool,
    p: &mut Array4<f32>,
) -> Array2<f32> {
    let (t, c) = q.dim();
    if t > 1 {
        reuse(p, (1, n_heads, t, k.nrows()));
        return heads_forward((q, k, v), causal, None, p, None);
    }
    let d_k = c / n_heads;
    let scale = 1.0 / (d_k as f32).sqrt();
    let mut out = Array2::zeros((1, c));
    let heads: Vec<_> = out.axis_chunks_iter_mut(Axis(1), d_k).enumerate().collect();
    heads.into_par_iter().for_each(|(h, mut out)| {
        let cols = h * d_k..(h + 1) * d_k;
        let q = q.slice(s![0, cols.clone()]);
        let k_rows = k.slice(s![.., cols.clone()]);
        let mut w: Vec<f32> = k_rows
            .rows()
            .into_iter()
            .map(|k| k.dot(&q) * scale)
            .collect();
        let m = max(&w);
        w.iter_mut().for_each(|s| *s = exp(*s - m));
        let inv = 1.0 / sum(&w);
        for (&w, v) in w.iter().zip(v.slice(s![.., cols]).rows()) {
            out.row_mut(0).scaled_add(w * inv, &v);
        }
    });
    out
}
// ANCHOR_END: attend

// ANCHOR: project
/// Columns of W one rayon task computes in [`project`]'s one-row case.
const VECMAT_COLS: usize = 256;

/// x W + b. A prompt (T > 1) goes through Chapter 1's `linear`; one row, a decoding
/// step, as y = b + Σᵢ xᵢ W[i, :]: W is read once, row by row in its stored order,
/// where a matmul would first copy (pack) all of W to multiply it by one row. Blocks of
/// columns run in parallel; each y_j is summed over i in the same order on any number
/// of threads.
// x: [T, C_in], w: [C_in, C_out], b: [C_out] -> [T, C_out]
fn project(x: &ArrayRef2<f32>, w: &ArrayRef2<f32>, b: &ArrayRef1<f32>) -> Array2<f32> {
    if x.nrows() != 1 {
        return linear(x, w, b);
    }
    assert!(
        x.ncols() == w.nrows() && w.ncols() == b.len(),
        "project: shapes"
    );
    let mut y = b.to_owned();
    let tasks: Vec<_> = w
        .axis_chunks_iter(Axis(1), VECMAT_COLS)
        .zip(y.axis_chunks_iter_mut(Axis(0), VECMAT_COLS))
        .collect();
    tasks.into_par_iter().for_each(|(w, mut y)| {
        for (&x_i, w_i) in x.row(0).iter().zip(w.rows()) {
            y.scaled_add(x_i, &w_i);
        }
    });
    y.insert_axis(Axis(0))
}
// ANCHOR_END: project
