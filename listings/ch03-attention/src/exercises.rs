//! Solutions to the chapter's exercises. The text folds them away; the tests in
//! `tests/exercises.rs` check each one.

use ch01_foundations::exercises::softmax_backward;
use ch02_input::positions::alibi::{alibi_bias, alibi_slopes};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, s};

use crate::mask::Mask;
use crate::sdpa::sdpa;

// ANCHOR: ex_backward_by_parts
/// Exercise 1: the SDPA backward assembled from the chain rule, one step at a time, from
/// Chapter 1's pieces: O = P V gives dP = dO Vᵀ and dV = Pᵀ dO; P = softmax(S) gives
/// dS by Chapter 1's softmax backward; S = Q Kᵀ / √d_k gives dQ and dK.
// q: [Tq, d_k], k: [Tk, d_k], v: [Tk, d_v], d_out: [Tq, d_v] -> (dq, dk, dv)
pub fn sdpa_backward_by_parts(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    d_out: ArrayView2<'_, f32>,
) -> (Array2<f32>, Array2<f32>, Array2<f32>) {
    let p = sdpa(q, k, v, &Mask::default()).p;
    let scale = 1.0 / (q.ncols() as f32).sqrt();
    let dv = p.t().dot(&d_out);
    let dp = d_out.dot(&v.t());
    let ds = softmax_backward(&p, &dp);
    let dq = ds.dot(&k) * scale;
    let dk = ds.t().dot(&q) * scale;
    (dq, dk, dv)
}
// ANCHOR_END: ex_backward_by_parts

// ANCHOR: ex_alibi
/// Exercise 2: causal self-attention with ALiBi (Chapter 2): no position in the inputs,
/// a per-head linear penalty -m_h·(i - j) on the scores instead. The bias already holds
/// -inf above the diagonal, so it is the causal mask too.
// q, k, v: [h, T, d_k] -> [h, T, d_k]
pub fn alibi_attention(
    q: ArrayView3<'_, f32>,
    k: ArrayView3<'_, f32>,
    v: ArrayView3<'_, f32>,
) -> Array3<f32> {
    let (h, t, d_k) = q.dim();
    let bias = alibi_bias(&alibi_slopes(h), t); // [h, T, T]
    let mut out = Array3::zeros((h, t, d_k));
    for head in 0..h {
        let mask = Mask {
            bias: Some(bias.slice(s![head, .., ..])),
            ..Mask::default()
        };
        let a = sdpa(
            q.slice(s![head, .., ..]),
            k.slice(s![head, .., ..]),
            v.slice(s![head, .., ..]),
            &mask,
        );
        out.slice_mut(s![head, .., ..]).assign(&a.out);
    }
    out
}
// ANCHOR_END: ex_alibi

// ANCHOR: ex_gqa
/// Exercise 3: grouped-query attention (Chapter 9 uses it): h query heads share g ≤ h
/// key/value heads, query head i reading group i / (h / g). g = h is multi-head
/// attention, g = 1 multi-query attention; the KV cache shrinks by h / g.
// q: [h, Tq, d_k], k, v: [g, Tk, d_k] -> [h, Tq, d_k]
pub fn grouped_query_attention(
    q: ArrayView3<'_, f32>,
    k: ArrayView3<'_, f32>,
    v: ArrayView3<'_, f32>,
    causal: bool,
) -> Array3<f32> {
    let (h, g) = (q.dim().0, k.dim().0);
    assert!(
        g > 0 && h % g == 0 && v.dim().0 == g,
        "grouped_query_attention: q is {:?}, k is {:?}, v is {:?}: need g | h",
        q.shape(),
        k.shape(),
        v.shape()
    );
    let mut out = Array3::zeros((h, q.dim().1, v.dim().2));
    let mask = Mask {
        causal,
        ..Mask::default()
    };
    for head in 0..h {
        let group = head / (h / g);
        let a = sdpa(
            q.slice(s![head, .., ..]),
            k.slice(s![group, .., ..]),
            v.slice(s![group, .., ..]),
            &mask,
        );
        out.slice_mut(s![head, .., ..]).assign(&a.out);
    }
    out
}
// ANCHOR_END: ex_gqa
