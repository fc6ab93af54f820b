//! Batched generation (section "Batched generation"): prompts of different lengths in
//! one batch, left-padded to a common length, with a [B, L] padding mask and per-row
//! RoPE positions, so that every row gives what it gives alone. Built on Chapter 9's
//! trainable Llama (`llama_model::Llama`): its norms, FFN, embedding and head run on all
//! B·T rows at once; attention, the only part where rows meet, is written here with a
//! per-row key–value cache.

use ch01_foundations::probability::argmax;
use ch02_input::positions::rope::Rope;
use ch09_decoder_only::gqa::split_heads;
use ch09_decoder_only::llama_model::Llama;
use ndarray::{Array2, Array3, Axis, concatenate, s};
use thiserror::Error;

/// A batch that cannot be run.
#[derive(Debug, Error, PartialEq)]
pub enum BatchError {
    #[error("the batch is empty")]
    Empty,
    #[error("prompt {0} is empty: every row needs at least one token")]
    EmptyPrompt(usize),
    #[error("prompt {row} holds token {id}, outside the vocabulary of {vocab}")]
    BadToken { row: usize, id: usize, vocab: usize },
}

/// Per block, per row: keys (after RoPE) and values [H_kv, L, d_head] of every column
/// so far, padding included; `valid[b][j]` says whether column j of row b is a token.
pub struct BatchCache {
    k: Vec<Vec<Array3<f32>>>,
    v: Vec<Vec<Array3<f32>>>,
    valid: Vec<Vec<bool>>,
}

impl BatchCache {
    pub fn new(n_layers: usize, batch: usize) -> Self {
        BatchCache {
            k: vec![Vec::new(); n_layers],
            v: vec![Vec::new(); n_layers],
            valid: vec![Vec::new(); batch],
        }
    }
}

// ANCHOR: masked_softmax
/// Softmax over the keys row b may see: key j is visible to the query in column i
/// when it is a real token and not in the future. A padding query sees nothing and
/// gets all zeros (its output is never read).
// scores: [T, L] (the T new columns are L−T..L) -> [T, L]
fn masked_softmax(mut scores: Array2<f32>, valid: &[bool]) -> Array2<f32> {
    let (t, l) = scores.dim();
    for (i, mut row) in scores.axis_iter_mut(Axis(0)).enumerate() {
        let col = l - t + i; // this query's own column
        for (j, s) in row.iter_mut().enumerate() {
            if j > col || !valid[j] || !valid[col] {
                *s = f32::NEG_INFINITY;
            }
        }
        let m = row.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        if m == f32::NEG_INFINITY {
            row.fill(0.0);
            continue;
        }
        row.mapv_inplace(|s| (s - m).exp());
        let z = row.sum();
        row.mapv_inplace(|p| p / z);
    }
    scores
}
// ANCHOR_END: masked_softmax

// ANCHOR: attention (long: the whole batched attention, cache and mask in one unit)
/// Grouped-query attention of block `l` for B rows of T new columns each. Row b's new
/// queries and keys are rotated at its own positions `pos[b]`; its keys and values join
/// its cache; each row attends only within itself, under the padding mask.
// x: [B·T, C], pos: [B][T] -> [B·T, C]
fn attention(
    m: &Llama,
    l: usize,
    x: &Array2<f32>,
    pos: &[Vec<usize>],
    cache: &mut BatchCache,
) -> Array2<f32> {
    let a = &m.blocks[l].attn;
    let (b_n, t, d) = (pos.len(), pos[0].len(), a.head_dim);
    let (q, k, v) = (x.dot(&a.wq.value), x.dot(&a.wk.value), x.dot(&a.wv.value));
    let mut o = Array2::zeros((b_n * t, a.n_heads * d));
    for (b, pos_b) in pos.iter().enumerate() {
        let rows = s![b * t..(b + 1) * t, ..];
        let rope = Rope::new(pos_b, d, a.rope_base, a.rope_style);
        let q_b = rope.forward_heads(&split_heads(q.slice(rows).to_owned(), a.n_heads));
        let k_b =
            rope.forward_heads(&split_heads(k.slice(rows).to_owned(), a.n_kv_heads));
        let v_b = split_heads(v.slice(rows).to_owned(), a.n_kv_heads);
        if cache.k[l].len() == b {
            cache.k[l].push(k_b);
            cache.v[l].push(v_b);
        } else {
            cache.k[l][b] = concatenate![Axis(1), cache.k[l][b], k_b];
            cache.v[l][b] = concatenate![Axis(1), cache.v[l][b], v_b];
        }
        for h in 0..a.n_heads {
            let g = h / a.group();
            let (k_g, v_g) = (
                cache.k[l][b].index_axis(Axis(0), g),
                cache.v[l][b].index_axis(Axis(0), g),
            );
            let scores = q_b.index_axis(Axis(0), h).dot(&k_g.t()) / (d as f32).sqrt();
            let p = masked_softmax(scores, &cache.valid[b]);
            o.slice_mut(s![b * t..(b + 1) * t, h * d..(h + 1) * d])
                .assign(&p.dot(&v_g));
        }
    }
    o.dot(&a.wo.value)
}
// ANCHOR_END: attention

// ANCHOR: forward (long: positions, the blocks and the head of one batched pass)
/// One forward pass for B rows of T new columns: `ids[b][j]` with `valid[b][j]` false
/// is padding (its id is only looked up, never seen). Each row's positions continue
/// from the number of real tokens it already has, so padding shifts no position.
// ids, valid: [B][T] -> logits [B, T, vocab]
pub fn forward_batch(
    m: &mut Llama,
    ids: &[Vec<usize>],
    valid: &[Vec<bool>],
    cache: &mut BatchCache,
) -> Array3<f32> {
    let (b_n, t) = (ids.len(), ids[0].len());
    let mut pos = Vec::with_capacity(b_n);
    for (b, row) in valid.iter().enumerate() {
        let mut next = cache.valid[b].iter().filter(|&&v| v).count();
        pos.push(
            row.iter()
                .map(|&v| {
                    let p = next;
                    next += usize::from(v);
                    p
                })
                .collect(),
        );
        cache.valid[b].extend(row);
    }
    let flat: Vec<usize> = ids.iter().flatten().copied().collect();
    let mut x = m.embed.forward(&flat); // [B·T, C]
    for l in 0..m.blocks.len() {
        let h = m.blocks[l].attn_norm.forward(&x);
        x = &x + &attention(m, l, &h, &pos, cache);
        let blk = &mut m.blocks[l];
        x = &x + &blk.ffn.forward(&blk.ffn_norm.forward(&x));
    }
    let h = m.norm.forward(&x);
    let logits = match &m.lm_head {
        Some(w) => h.dot(&w.value),
        None => m.embed.unembed(&h),
    };
    let vocab = logits.ncols();
    logits
        .into_shape_with_order((b_n, t, vocab))
        .expect("B·T rows")
}
// ANCHOR_END: forward

// ANCHOR: generate
/// Greedy generation for several prompts at once: left-pad them to the longest, run
/// them as one batch, then add one token a row a step. Returns each row's new tokens.
// prompts: [B][T_b] -> [B][max_new]
pub fn generate_batch(
    m: &mut Llama,
    prompts: &[Vec<usize>],
    max_new: usize,
) -> Result<Vec<Vec<usize>>, BatchError> {
    check(prompts, m.cfg.vocab_size)?;
    let l = prompts
        .iter()
        .map(Vec::len)
        .max()
        .expect("checked non-empty");
    let pad = |p: &Vec<usize>| l - p.len();
    let ids: Vec<Vec<usize>> = prompts
        .iter()
        .map(|p| [vec![0; pad(p)], p.clone()].concat())
        .collect();
    let valid: Vec<Vec<bool>> = prompts
        .iter()
        .map(|p| [vec![false; pad(p)], vec![true; p.len()]].concat())
        .collect();
    let mut cache = BatchCache::new(m.blocks.len(), prompts.len());
    let mut logits = forward_batch(m, &ids, &valid, &mut cache);
    let mut out = vec![Vec::with_capacity(max_new); prompts.len()];
    for step in 0..max_new {
        let next: Vec<Vec<usize>> = logits
            .axis_iter(Axis(0))
            .map(|row| vec![argmax(row.row(row.nrows() - 1).iter().copied())])
            .collect();
        out.iter_mut().zip(&next).for_each(|(o, n)| o.push(n[0]));
        if step + 1 < max_new {
            logits =
                forward_batch(m, &next, &vec![vec![true]; prompts.len()], &mut cache);
        }
    }
    Ok(out)
}
// ANCHOR_END: generate

fn check(prompts: &[Vec<usize>], vocab: usize) -> Result<(), BatchError> {
    if prompts.is_empty() {
        return Err(BatchError::Empty);
    }
    for (row, p) in prompts.iter().enumerate() {
        if p.is_empty() {
            return Err(BatchError::EmptyPrompt(row));
        }
        if let Some(&id) = p.iter().find(|&&id| id >= vocab) {
            return Err(BatchError::BadToken { row, id, vocab });
        }
    }
    Ok(())
}
