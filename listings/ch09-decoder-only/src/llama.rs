//! A Llama-architecture model for inference, loaded from a GGUF file with every weight
//! dequantized to f32: RMSNorm, RoPE, grouped-query causal attention and a SwiGLU FFN
//! in each block, a final RMSNorm, and an LM head tied to the token embedding.
//!
//! llama.cpp's converter permutes the rows of `attn_q` and `attn_k` within each head so
//! that the pairs RoPE rotates are adjacent coordinates (2i, 2i+1); Hugging Face's
//! weights pair i with i + d/2 instead. Attention scores are dot products of q and k,
//! which one permutation applied to both leaves unchanged, so the book rotates the
//! file's weights with Chapter 2's interleaved RoPE and gets Hugging Face's logits.

use ch01_foundations::linalg::par_matmul_into;
use ch01_foundations::probability::argmax;
use ch01_foundations::softmax::exp;
use ch02_input::positions::rope::{Rope, RopeStyle};
use ch04_ffn_norms::activations::silu;
use ndarray::{
    Array1, Array2, ArrayRef2, ArrayView1, ArrayView2, Axis, Ix1, Ix2, ShapeBuilder, s,
};
use rayon::prelude::*;

use crate::config::LlamaConfig;
use crate::gguf::{Gguf, GgufError};
use crate::gqa::split_heads;

// ANCHOR: weight
/// A weight matrix [out, in] as a layer multiplies it. Here it is f32; Chapter 13 stores
/// it in 8 and 4 bits and multiplies the blocks without expanding them, behind the same
/// three methods, so one model runs in every format.
pub trait Weight: Send + Sync {
    /// x Wᵀ, what a linear layer computes.
    // x: [T, in] -> [T, out]
    fn apply(&self, x: ArrayView2<f32>) -> Array2<f32>;
    /// Row i of W in f32: an embedding lookup in a tied table.
    // -> [in]
    fn row(&self, i: usize) -> Array1<f32>;
    /// The bytes the weight occupies: what decoding streams from memory per token.
    fn bytes(&self) -> usize;
}

impl Weight for Array2<f32> {
    fn apply(&self, x: ArrayView2<f32>) -> Array2<f32> {
        linear(&x, self)
    }

    fn row(&self, i: usize) -> Array1<f32> {
        self.index_axis(Axis(0), i).to_owned()
    }

    fn bytes(&self) -> usize {
        self.len() * size_of::<f32>()
    }
}
// ANCHOR_END: weight

#[derive(Clone)]
struct Block<W> {
    attn_norm: Array1<f32>,
    /// Linear weights as the file stores them, [out, in].
    wq: W,
    wk: W,
    wv: W,
    wo: W,
    ffn_norm: Array1<f32>,
    w_gate: W,
    w_up: W,
    w_down: W,
}

impl<W: Weight> Block<W> {
    fn linear_weights(&self) -> [&W; 7] {
        [
            &self.wq,
            &self.wk,
            &self.wv,
            &self.wo,
            &self.w_gate,
            &self.w_up,
            &self.w_down,
        ]
    }
}

// ANCHOR: kv_cache
/// The keys (after RoPE) and values of every position seen so far, per block: one row
/// [KV heads · d_head] a position, appended in place (amortised O(new rows): no copy of
/// the old ones). Decoding one token then costs one position's work, not the whole
/// sequence's (Chapter 12 measures it).
#[derive(Clone)]
pub struct KvCache {
    k: Vec<Vec<f32>>, // per block: [positions, H_kv · d_head], row-major
    v: Vec<Vec<f32>>,
    width: usize, // H_kv · d_head
}

impl KvCache {
    /// How many positions the cache holds.
    pub fn len(&self) -> usize {
        self.k.first().map_or(0, |k| k.len() / self.width)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes of keys and values the buffers hold (not their spare capacity).
    pub fn bytes(&self) -> usize {
        let values: usize = self.k.iter().chain(&self.v).map(Vec::len).sum();
        values * size_of::<f32>()
    }

    /// Forgets every position from `len` on, as if only the first `len` had been fed:
    /// how speculative decoding (Chapter 12) takes back rejected draft tokens.
    pub fn truncate(&mut self, len: usize) {
        assert!(
            len <= self.len(),
            "KvCache::truncate: cannot grow {} positions to {len}",
            self.len()
        );
        for rows in self.k.iter_mut().chain(self.v.iter_mut()) {
            rows.truncate(len * self.width);
        }
    }
}
// ANCHOR_END: kv_cache

/// Head `g`'s [positions, d_head] in a cache of rows [positions, n_kv · d_head]: a
/// strided view, no copy.
fn kv_head(rows: &[f32], g: usize, n_kv: usize, d_head: usize) -> ArrayView2<'_, f32> {
    let positions = rows.len() / (n_kv * d_head);
    ArrayView2::from_shape(
        (positions, d_head).strides((n_kv * d_head, 1)),
        &rows[g * d_head..],
    )
    .expect("a cache row holds n_kv heads")
}

/// A Llama model whose linear weights (and tied embedding) are stored as `W`: f32 by
/// default, Chapter 13's 8- and 4-bit blocks otherwise. Norm gains stay f32.
pub struct Llama<W = Array2<f32>> {
    pub cfg: LlamaConfig,
    /// [vocab, C]; also the LM head.
    embed: W,
    blocks: Vec<Block<W>>,
    norm: Array1<f32>,
}

/// Tensor `name` of the file, dequantized to f32 and checked to be [rows, cols].
// tensor `name` -> [rows, cols]
pub fn matrix(g: &Gguf, name: &str, shape: [usize; 2]) -> Result<Array2<f32>, GgufError> {
    let x = g.dequantize_as(name, &shape)?;
    x.into_dimensionality::<Ix2>()
        .map_err(|e| GgufError::BadTensor {
            tensor: name.to_owned(),
            problem: e.to_string(),
        })
}

// tensor `name` -> [n]
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
        Llama::from_gguf_with(g, matrix)
    }
}

impl<W: Weight> Llama<W> {
    /// [`Llama::from_gguf`] with each weight matrix (the seven of every block and the
    /// token embedding, by tensor name and [rows, cols]) made by `load`: the file's own
    /// blocks, a requantization, or f32.
    pub fn from_gguf_with(
        g: &Gguf,
        load: impl Fn(&Gguf, &str, [usize; 2]) -> Result<W, GgufError>,
    ) -> Result<Self, GgufError> {
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
                wq: load(g, &name("attn_q"), [q, c])?,
                wk: load(g, &name("attn_k"), [kv, c])?,
                wv: load(g, &name("attn_v"), [kv, c])?,
                wo: load(g, &name("attn_output"), [c, q])?,
                ffn_norm: vector(g, &name("ffn_norm"), c)?,
                w_gate: load(g, &name("ffn_gate"), [f, c])?,
                w_up: load(g, &name("ffn_up"), [f, c])?,
                w_down: load(g, &name("ffn_down"), [c, f])?,
            });
        }
        Ok(Llama {
            embed: load(g, "token_embd.weight", [cfg.vocab, c])?,
            norm: vector(g, "output_norm.weight", c)?,
            blocks,
            cfg,
        })
    }

    /// Logits for every position of `ids`, which must be in the vocabulary.
    // ids: [T] -> logits: [T, vocab]
    pub fn forward(&self, ids: &[u32]) -> Array2<f32> {
        self.embed.apply(self.hidden(ids).view())
    }

    /// The final hidden states, after the last RMSNorm: what the tied head multiplies.
    // ids: [T] -> [T, C]
    pub fn hidden(&self, ids: &[u32]) -> Array2<f32> {
        self.hidden_cached(ids, &mut self.new_cache())
    }

    /// The logits of every row of `h`: the tied head applied to each.
    // h: [T, C] -> [T, vocab]
    pub fn logits(&self, h: &Array2<f32>) -> Array2<f32> {
        self.embed.apply(h.view())
    }

    /// The bytes of every weight: the linear layers, the tied embedding, the norm gains.
    pub fn weight_bytes(&self) -> usize {
        let gains =
            |b: &Block<W>| (b.attn_norm.len() + b.ffn_norm.len()) * size_of::<f32>();
        let blocks = self.blocks.iter().map(|b| {
            b.linear_weights().iter().map(|w| w.bytes()).sum::<usize>() + gains(b)
        });
        self.embed.bytes() + blocks.sum::<usize>() + self.norm.len() * size_of::<f32>()
    }

    /// A smaller model made of this one's first `n_layers` blocks, with the same
    /// embedding, final norm and head: a draft for speculative decoding (Chapter 12).
    pub fn first_layers(&self, n_layers: usize) -> Llama<W>
    where
        W: Clone,
    {
        assert!(
            (1..=self.cfg.n_layers).contains(&n_layers),
            "first_layers: {n_layers} of {} layers",
            self.cfg.n_layers
        );
        Llama {
            cfg: LlamaConfig {
                n_layers,
                ..self.cfg.clone()
            },
            embed: self.embed.clone(),
            blocks: self.blocks[..n_layers].to_vec(),
            norm: self.norm.clone(),
        }
    }

    /// An empty cache for this model.
    pub fn new_cache(&self) -> KvCache {
        KvCache {
            k: vec![vec![]; self.cfg.n_layers],
            v: vec![vec![]; self.cfg.n_layers],
            width: self.cfg.n_kv_heads * self.cfg.d_head(),
        }
    }

    /// [`Llama::hidden`] for `ids` that follow the positions already in `cache`, which
    /// then holds them too.
    // ANCHOR: hidden
    // ids: [T] -> [T, C]
    pub fn hidden_cached(&self, ids: &[u32], cache: &mut KvCache) -> Array2<f32> {
        let (t, c, past) = (ids.len(), self.cfg.d_model, cache.len());
        let mut x = Array2::zeros((t, c));
        for (i, &id) in ids.iter().enumerate() {
            assert!(
                (id as usize) < self.cfg.vocab,
                "token id {id} is outside the vocabulary"
            );
            x.row_mut(i).assign(&self.embed.row(id as usize));
        }
        let positions: Vec<usize> = (past..past + t).collect();
        let rope = Rope::new(
            &positions,
            self.cfg.d_head(),
            f64::from(self.cfg.rope_base),
            RopeStyle::Interleaved,
        );
        for (i, b) in self.blocks.iter().enumerate() {
            let h = rms_norm(x.view(), &b.attn_norm, self.cfg.rms_eps);
            let kv = (&mut cache.k[i], &mut cache.v[i]);
            x += &self.attention(h.view(), b, &rope, kv);
            let h = rms_norm(x.view(), &b.ffn_norm, self.cfg.rms_eps);
            let (gate, up) = (b.w_gate.apply(h.view()), b.w_up.apply(h.view()));
            x += &b.w_down.apply(swiglu(gate, &up).view());
        }
        rms_norm(x.view(), &self.norm, self.cfg.rms_eps)
    }
    // ANCHOR_END: hidden

    /// The logits of the next token: the head applied to the last row.
    // h: [T, C] -> [vocab]
    pub fn next_logits(&self, h: &Array2<f32>) -> Array1<f32> {
        let last = h.slice(s![h.nrows() - 1.., ..]);
        self.embed.apply(last).remove_axis(Axis(0))
    }

    /// Greedy decoding with a KV cache: the prompt once, then one token a step, each the
    /// most likely next token (the lowest id on a tie), until `max_new` tokens or `eos`.
    /// Returns the new tokens only.
    // prompt: [T] -> new ids: [<= max_new]
    pub fn greedy(&self, prompt: &[u32], max_new: usize, eos: Option<u32>) -> Vec<u32> {
        let mut cache = self.new_cache();
        let mut ids = prompt.to_vec();
        let mut fresh = prompt;
        for _ in 0..max_new {
            let h = self.hidden_cached(fresh, &mut cache);
            let last = self.next_logits(&h);
            let next = argmax(last.iter().copied()) as u32;
            ids.push(next);
            if Some(next) == eos {
                break;
            }
            fresh = &ids[ids.len() - 1..];
        }
        ids.split_off(prompt.len())
    }

    /// Causal grouped-query attention: query head h reads KV head h / (H / H_kv). The
    /// new keys and values join the cache; query i sits at position `past + i`.
    // ANCHOR: attention
    // h: [T, C], cache: [past, H_kv·d_head] -> [T, C]; cache -> [past + T, H_kv·d_head]
    fn attention(
        &self,
        h: ArrayView2<f32>,
        b: &Block<W>,
        rope: &Rope,
        (k_cache, v_cache): (&mut Vec<f32>, &mut Vec<f32>),
    ) -> Array2<f32> {
        let (t, dh) = (h.nrows(), self.cfg.d_head());
        let (nh, nkv) = (self.cfg.n_heads, self.cfg.n_kv_heads);
        let q = rope.forward_heads(&split_heads(b.wq.apply(h), nh));
        let past = k_cache.len() / (nkv * dh);
        let k_new = rope.forward_heads(&split_heads(b.wk.apply(h), nkv));
        k_cache.extend(k_new.permuted_axes([1, 0, 2]).iter()); // rows [T, H_kv·d_head]
        v_cache.extend(b.wv.apply(h).iter());
        let heads: Vec<Array2<f32>> = (0..nh)
            .into_par_iter() // heads are independent: one rayon task each
            .map(|head| {
                let g = head / (nh / nkv);
                let (k, v) = (kv_head(k_cache, g, nkv, dh), kv_head(v_cache, g, nkv, dh));
                let scores = q.index_axis(Axis(0), head).dot(&k.t());
                let p = causal_softmax(scores / (dh as f32).sqrt(), past);
                p.dot(&v)
            })
            .collect();
        let mut out = Array2::zeros((t, nh * dh));
        for (head, o) in heads.iter().enumerate() {
            out.slice_mut(s![.., head * dh..(head + 1) * dh]).assign(o);
        }
        b.wo.apply(out.view())
    }
    // ANCHOR_END: attention
}

/// Softmax over each row, where row i (the query at position past + i) sees only the
/// keys at positions up to its own.
// scores: [T, past + T] -> [T, past + T]
fn causal_softmax(mut scores: Array2<f32>, past: usize) -> Array2<f32> {
    for (i, mut row) in scores.axis_iter_mut(Axis(0)).enumerate() {
        row.slice_mut(s![past + i + 1..]).fill(f32::NEG_INFINITY);
        let m = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|s| exp(s - m)); // Chapter 1's exp: SIMD, not a call each
        let z = row.sum();
        row.mapv_inplace(|p| p / z);
    }
    scores
}

// ANCHOR: linear
/// x Wᵀ for a weight stored [out, in], on every thread of the pool. A few rows (a
/// decoding step, a speculative check of k drafted tokens) go through [`matvec_rows`],
/// which reads W once, in its stored order, with no packing; a prompt goes through
/// Chapter 1's `par_matmul_into`, whose packing pays for itself over many rows.
// x: [T, in], w: [out, in] -> [T, out]
fn linear(x: &ArrayRef2<f32>, w: &Array2<f32>) -> Array2<f32> {
    if x.nrows() <= FEW_ROWS {
        return matvec_rows(w, x.view());
    }
    let mut y = Array2::zeros((x.nrows(), w.nrows()));
    par_matmul_into(1.0, x.view(), w.t(), 0.0, y.view_mut());
    y
}

/// Rows of x up to which [`linear`] streams W row by row rather than packing it.
pub const FEW_ROWS: usize = 16;
// ANCHOR_END: linear

// ANCHOR: matvec_rows
/// Rows of W a rayon task multiplies in [`matvec_rows`].
const MATVEC_ROWS: usize = 64;

/// W x for each row x of `x`, in blocks of rows of W spread over the pool's threads.
/// Decoding is bound by reading W from memory, and two cores pull more bytes a second
/// than one. Each row of W is read from memory once and dotted with every row of x,
/// which stay in the cache, so T rows cost little more than one.
// w: [out, in], x: [T, in] -> [T, out]
pub fn matvec_rows(w: &Array2<f32>, x: ArrayView2<f32>) -> Array2<f32> {
    assert_eq!(
        w.ncols(),
        x.ncols(),
        "matvec: w is {:?}, x is {:?}",
        w.dim(),
        x.dim()
    );
    let (n, t, x) = (w.ncols(), x.nrows(), x.as_standard_layout());
    let (x, w) = (x.as_slice().expect("standard"), w.as_standard_layout());
    if n == 0 || t == 0 {
        return Array2::zeros((t, w.nrows()));
    }
    let mut y_t = Array2::zeros((w.nrows(), t)); // [out, T]: a task owns whole rows
    let w_blocks = w
        .as_slice()
        .expect("standard layout")
        .par_chunks(MATVEC_ROWS * n);
    let y_blocks = y_t
        .as_slice_mut()
        .expect("fresh")
        .par_chunks_mut(MATVEC_ROWS * t);
    w_blocks
        .zip(y_blocks)
        .for_each(|(w, y)| dot_rows(w, x, n, y));
    y_t.reversed_axes().as_standard_layout().into_owned()
}
// ANCHOR_END: matvec_rows

/// Lanes of a dot product's partial sums: one AVX-512 register.
const LANES: usize = 16;

/// y[o·T + t] = w_o · x_t for every row w_o of a block of W and every row x_t of x.
/// Two compilations, chosen at run time: AVX-512 intrinsics, and plain code for any
/// other CPU. Both keep 16 partial sums a dot product, add them in the same fixed
/// order, with no fused multiply-add: a row of x gets the same bits alone or among
/// others, on any thread count and on any CPU.
// w: [rows, n], x: [T, n], y: [rows, T]
fn dot_rows(w: &[f32], x: &[f32], n: usize, y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F.
        return unsafe { dot_rows_avx512(w, x, n, y) };
    }
    dot_rows_plain(w, x, n, y)
}

/// [`dot_rows`] in plain code, which the compiler vectorizes for any CPU.
// w: [rows, n], x: [T, n], y: [rows, T]
fn dot_rows_plain(w: &[f32], x: &[f32], n: usize, y: &mut [f32]) {
    let t = x.len() / n;
    for (w_o, y_o) in w.chunks_exact(n).zip(y.chunks_exact_mut(t)) {
        for (x_t, y) in x.chunks_exact(n).zip(y_o) {
            let mut acc = [0.0f32; LANES];
            let (w_c, x_c) = (w_o.as_chunks::<LANES>().0, x_t.as_chunks::<LANES>().0);
            for (w_c, x_c) in w_c.iter().zip(x_c) {
                for ((a, w), x) in acc.iter_mut().zip(w_c).zip(x_c) {
                    *a += w * x;
                }
            }
            *y = finish(acc, w_o, x_t);
        }
    }
}

/// The 16 partial sums added pairwise (lane i to lane i + 8, then i + 4, i + 2, i + 1:
/// four dependent adds, not sixteen), then the n mod 16 products past them in order.
// acc: [16], w, x: [n] -> scalar
fn finish(mut acc: [f32; LANES], w: &[f32], x: &[f32]) -> f32 {
    for half in [8, 4, 2, 1] {
        for i in 0..half {
            acc[i] += acc[i + half];
        }
    }
    let head = w.len() / LANES * LANES;
    let tail = w[head..].iter().zip(&x[head..]).map(|(a, b)| a * b);
    tail.fold(acc[0], |s, v| s + v)
}

/// [`dot_rows`] in AVX-512: four rows of x at a time, four independent sums that
/// share each load of w_o, then the rows left over one at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn dot_rows_avx512(w: &[f32], x: &[f32], n: usize, y: &mut [f32]) {
    let (t, four) = (x.len() / n, x.len() / n / 4 * 4);
    for (w_o, y_o) in w.chunks_exact(n).zip(y.chunks_exact_mut(t)) {
        let (y4, y1) = y_o.split_at_mut(four);
        for (x, y) in x.chunks_exact(4 * n).zip(y4.as_chunks_mut::<4>().0) {
            *y = dots_avx512::<4>(w_o, x);
        }
        for (x, y) in x[four * n..].chunks_exact(n).zip(y1) {
            [*y] = dots_avx512::<1>(w_o, x);
        }
    }
}

// ANCHOR: dots
/// w · x_r for the R rows of x, one 16-lane sum each.
// w: [n], x: [R, n] -> [R]
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn dots_avx512<const R: usize>(w: &[f32], x: &[f32]) -> [f32; R] {
    use std::arch::x86_64::*;
    let n = w.len();
    let load = |v: &[f32], i: usize| {
        // SAFETY: callers pass i + 16 <= v.len().
        unsafe { _mm512_loadu_ps(v[i..i + LANES].as_ptr()) }
    };
    let mut acc = [_mm512_setzero_ps(); R];
    for i in (0..n / LANES * LANES).step_by(LANES) {
        let w_c = load(w, i);
        for (r, a) in acc.iter_mut().enumerate() {
            *a = _mm512_add_ps(*a, _mm512_mul_ps(w_c, load(x, r * n + i)));
        }
    }
    std::array::from_fn(|r| {
        let mut lanes = [0.0f32; LANES];
        // SAFETY: `lanes` holds exactly 16 f32s.
        unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), acc[r]) };
        finish(lanes, w, &x[r * n..(r + 1) * n])
    })
}
// ANCHOR_END: dots

/// [`matvec_rows`] for a single vector.
// w: [out, in], x: [in] -> [out]
pub fn matvec(w: &Array2<f32>, x: ArrayView1<f32>) -> Array1<f32> {
    matvec_rows(w, x.insert_axis(Axis(0))).remove_axis(Axis(0))
}

/// RMSNorm: each row divided by its root mean square, times a learned gain. Rows are
/// independent, so they are spread over the pool's threads (the same bits on any count).
// ANCHOR: rms_norm
// x: [T, C], w: [C] -> [T, C]
pub fn rms_norm(x: ArrayView2<f32>, w: &Array1<f32>, eps: f32) -> Array2<f32> {
    let mut y = x.as_standard_layout().into_owned();
    let (c, w) = (x.ncols(), w.as_slice().expect("a contiguous gain"));
    let y_rows = y.as_slice_mut().expect("standard layout");
    y_rows.par_chunks_mut(c.max(1)).for_each(|row| {
        let ms = row.iter().map(|v| v * v).sum::<f32>() / c as f32;
        let r = 1.0 / (ms + eps).sqrt();
        row.iter_mut().zip(w).for_each(|(v, &g)| *v = *v * r * g);
    });
    y
}
// ANCHOR_END: rms_norm

/// SwiGLU's product silu(gate) ⊙ up, in place in `gate`, rows spread over the pool's
/// threads; Chapter 4's `silu` inlines to SIMD code (its exp is Chapter 1's).
// gate, up: [T, d_ff] -> [T, d_ff]
fn swiglu(mut gate: Array2<f32>, up: &Array2<f32>) -> Array2<f32> {
    let d_ff = gate.ncols().max(1);
    let g = gate.as_slice_mut().expect("a fresh matmul output");
    let u = up.as_slice().expect("a fresh matmul output");
    g.par_chunks_mut(d_ff)
        .zip(u.par_chunks(d_ff))
        .for_each(|(g, u)| g.iter_mut().zip(u).for_each(|(g, &u)| *g = silu(*g) * u));
    gate
}

#[cfg(test)]
mod tests {
    use super::*;
    use ch01_foundations::init::{normal, seeded_rng};

    #[test]
    fn the_simd_and_plain_dot_products_give_the_same_bits() {
        let mut rng = seeded_rng(5);
        for (rows, n, t) in [(7, 40, 1), (64, 576, 9), (3, 15, 6), (130, 48, 4)] {
            let w: Array2<f32> = normal((rows, n), 1.0, &mut rng);
            let x: Array2<f32> = normal((t, n), 1.0, &mut rng);
            let (w, x) = (w.as_slice().unwrap(), x.as_slice().unwrap());
            let (mut fast, mut plain) = (vec![0.0; rows * t], vec![0.0; rows * t]);
            dot_rows(w, x, n, &mut fast);
            dot_rows_plain(w, x, n, &mut plain);
            assert_eq!(fast, plain, "rows {rows}, n {n}, T {t}");
        }
    }
}
