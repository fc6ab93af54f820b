//! Flash decoding (section "Flash Attention", "Flash decoding"): one new query against a
//! long KV cache. A single query gives the forward only one block of rows, so nothing
//! to split across cores; flash decoding splits the keys instead, into chunks that each
//! give a partial softmax (m, l, o), and merges them by the log-sum-exp rule.

use ch01_foundations::softmax::exp;
use ch03_attention::sdpa::{max, sum};
use ndarray::{Array1, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

use crate::flash::FlashError;

// ANCHOR: partial
/// The softmax of one chunk of keys, not yet normalised: its max score m, its sum
/// l = Σ_j e^{s_j - m}, and o = Σ_j e^{s_j - m} v_j.
#[derive(Clone, Debug)]
pub struct Partial {
    pub m: f32,
    pub l: f32,
    // o: [d_v]
    pub o: Array1<f32>,
}

/// The partial softmax of query q over the keys and values of one chunk.
// q: [d_k], k_c: [n, d_k], v_c: [n, d_v] -> o: [d_v]
pub fn partial(
    q: ArrayView1<'_, f32>,
    k_c: ArrayView2<'_, f32>,
    v_c: ArrayView2<'_, f32>,
) -> Partial {
    let scale = 1.0 / (q.len() as f32).sqrt();
    let mut s = k_c.dot(&q) * scale;
    let s = s.as_slice_mut().expect("a fresh array is contiguous");
    let m = max(s);
    if m == f32::NEG_INFINITY {
        return Partial {
            m,
            l: 0.0,
            o: Array1::zeros(v_c.ncols()),
        };
    }
    s.iter_mut().for_each(|x| *x = exp(*x - m));
    let p = ArrayView1::from(&*s);
    Partial {
        m,
        l: sum(s),
        o: v_c.t().dot(&p),
    }
}
// ANCHOR_END: partial

// ANCHOR: merge
/// Merges partial softmaxes, in order, into the output and its log-sum-exp: with
/// m = max_c m_c, each chunk is rescaled by e^{m_c - m}, l = Σ_c e^{m_c - m} l_c,
/// o = Σ_c e^{m_c - m} o_c / l. The same rule the forward applies tile after tile.
// parts: S × (m, l, o: [d_v]) -> o: [d_v], lse
pub fn merge(parts: &[Partial], d_v: usize) -> (Array1<f32>, f32) {
    let m = parts.iter().fold(f32::NEG_INFINITY, |m, p| m.max(p.m));
    let mut o = Array1::zeros(d_v);
    if m == f32::NEG_INFINITY {
        return (o, m); // no key at all: Chapter 3's all-zero row
    }
    let mut l = 0.0;
    for p in parts {
        let w = exp(p.m - m);
        l += w * p.l;
        o.scaled_add(w, &p.o);
    }
    (o / l, m + l.ln())
}
// ANCHOR_END: merge

// ANCHOR: flash_decode
/// Attention of one query over T_k cached keys, the cache split into `splits` chunks
/// of ⌈T_k / splits⌉ keys computed in parallel. The chunks are fixed by `splits`, not by
/// the thread count, and merged in order: the same bits on any number of threads.
// q: [d_k], k: [T_k, d_k], v: [T_k, d_v] -> o: [d_v], lse
pub fn flash_decode(
    q: ArrayView1<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    splits: usize,
) -> Result<(Array1<f32>, f32), FlashError> {
    if q.len() != k.ncols() {
        return Err(FlashError::KeyWidth {
            q: [1, q.len()],
            k: [k.nrows(), k.ncols()],
        });
    }
    if v.nrows() != k.nrows() {
        let (k, v) = ([k.nrows(), k.ncols()], [v.nrows(), v.ncols()]);
        return Err(FlashError::ValueCount { k, v });
    }
    if splits == 0 {
        return Err(FlashError::Splits { splits });
    }
    let chunk = k.nrows().div_ceil(splits).max(1);
    let k_chunks: Vec<_> = k.axis_chunks_iter(Axis(0), chunk).collect();
    let v_chunks: Vec<_> = v.axis_chunks_iter(Axis(0), chunk).collect();
    let parts: Vec<Partial> = k_chunks
        .into_par_iter()
        .zip(v_chunks)
        .map(|(k_c, v_c)| partial(q, k_c, v_c))
        .collect();
    Ok(merge(&parts, v.ncols()))
}
// ANCHOR_END: flash_decode
