//! All heads of all batch items at once: the part multi-head self-attention and
//! cross-attention share (section "Multi-head attention").

use ndarray::{Array2, Array4, ArrayView2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;

use crate::mask::Mask;
use crate::sdpa::{attention_backward_into, attention_into};

/// Queries, keys and values of every head: [B·Tq, C], [B·Tk, C], [B·Tk, C].
pub type Qkv<'a> = (
    ArrayView2<'a, f32>,
    ArrayView2<'a, f32>,
    ArrayView2<'a, f32>,
);
/// Their gradients, written in place.
pub type QkvMut<'a> = (
    ArrayViewMut2<'a, f32>,
    ArrayViewMut2<'a, f32>,
    ArrayViewMut2<'a, f32>,
);

// ANCHOR: heads_forward
/// Runs attention for every head of every batch item, batch items in parallel. Head h
/// of item b reads rows b·T..(b+1)·T and columns h·d_k..(h+1)·d_k of q, k and v, and
/// writes the same columns of `merged`: splitting and merging heads are views, not
/// copies. Each item writes only its own rows and its own block of `p`, so the result
/// does not depend on how rayon schedules the items.
// q: [B·Tq, C], k, v: [B·Tk, C], key_padding: [B·Tk] (true = pad), p: [B, h, Tq, Tk]
//   -> merged: [B·Tq, C]; p overwritten with the weights
pub fn heads_forward(
    (q, k, v): Qkv<'_>,
    causal: bool,
    key_padding: Option<&[bool]>,
    p: &mut Array4<f32>,
) -> Array2<f32> {
    let (batch, n_heads, tq, tk) = p.dim();
    let d_k = q.ncols() / n_heads;
    let mut merged = Array2::<f32>::zeros((batch * tq, q.ncols()));
    let items: Vec<_> = (merged.axis_chunks_iter_mut(Axis(0), tq))
        .zip(p.outer_iter_mut())
        .enumerate()
        .collect();
    items.into_par_iter().for_each(|(b, (mut out_b, mut p_b))| {
        let (rq, rk) = (b * tq..(b + 1) * tq, b * tk..(b + 1) * tk);
        let mask = Mask {
            causal,
            key_padding: key_padding.map(|pad| &pad[rk.clone()]),
            ..Mask::default()
        };
        for h in 0..n_heads {
            let cols = h * d_k..(h + 1) * d_k;
            attention_into(
                q.slice(s![rq.clone(), cols.clone()]),
                k.slice(s![rk.clone(), cols.clone()]),
                v.slice(s![rk.clone(), cols.clone()]),
                &mask,
                p_b.index_axis_mut(Axis(0), h),
                out_b.slice_mut(s![.., cols]),
            );
        }
    });
    merged
}
// ANCHOR_END: heads_forward

// ANCHOR: heads_backward
/// Backward of [`heads_forward`], batch items in parallel, each writing only its own
/// rows of dq, dk and dv (which may be column blocks of one fused gradient matrix).
// q: [B·Tq, C], k, v: [B·Tk, C], p: [B, h, Tq, Tk], d_merged: [B·Tq, C]
//   -> dq: [B·Tq, C], dk, dv: [B·Tk, C] (overwritten)
pub fn heads_backward(
    (q, k, v): Qkv<'_>,
    p: &Array4<f32>,
    d_merged: ArrayView2<'_, f32>,
    (mut dq, mut dk, mut dv): QkvMut<'_>,
) {
    let (_, n_heads, tq, tk) = p.dim();
    let d_k = q.ncols() / n_heads;
    let items: Vec<_> = (dq.axis_chunks_iter_mut(Axis(0), tq))
        .zip(dk.axis_chunks_iter_mut(Axis(0), tk))
        .zip(dv.axis_chunks_iter_mut(Axis(0), tk))
        .enumerate()
        .collect();
    items
        .into_par_iter()
        .for_each(|(b, ((mut dq_b, mut dk_b), mut dv_b))| {
            let (rq, rk) = (b * tq..(b + 1) * tq, b * tk..(b + 1) * tk);
            let mut ds = Array2::zeros((tq, tk)); // scratch, reused by every head
            for h in 0..n_heads {
                let cols = h * d_k..(h + 1) * d_k;
                attention_backward_into(
                    q.slice(s![rq.clone(), cols.clone()]),
                    k.slice(s![rk.clone(), cols.clone()]),
                    v.slice(s![rk.clone(), cols.clone()]),
                    p.slice(s![b, h, .., ..]),
                    d_merged.slice(s![rq.clone(), cols.clone()]),
                    dq_b.slice_mut(s![.., cols.clone()]),
                    dk_b.slice_mut(s![.., cols.clone()]),
                    dv_b.slice_mut(s![.., cols]),
                    &mut ds,
                );
            }
        });
}
// ANCHOR_END: heads_backward
