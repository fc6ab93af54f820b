//! All heads of all batch items at once: the part multi-head self-attention and
//! cross-attention share (section "Multi-head attention").

use ndarray::{Array2, Array4, ArrayView2, ArrayViewMut2, s};
use rayon::prelude::*;

use crate::mask::Mask;
use crate::sdpa::{attention_backward_into, attention_into};

// ANCHOR: heads_forward
/// Runs attention for every (batch item, head) pair in parallel. Head `h` of item `b`
/// reads rows b·T..(b+1)·T and columns h·d_k..(h+1)·d_k of q, k, v: the head split is
/// a view, not a copy. Each pair writes only its own block of `p` and of the per-head
/// outputs, so the result does not depend on how rayon schedules them.
// q: [B·Tq, C], k, v: [B·Tk, C], key_padding: [B·Tk] (true = pad)
//   -> merged: [B·Tq, C], p: [B, h, Tq, Tk]
pub fn heads_forward(
    (q, k, v): (
        ArrayView2<'_, f32>,
        ArrayView2<'_, f32>,
        ArrayView2<'_, f32>,
    ),
    (batch, n_heads): (usize, usize),
    causal: bool,
    key_padding: Option<&[bool]>,
) -> (Array2<f32>, Array4<f32>) {
    let c = q.ncols();
    let (d_k, tq, tk) = (c / n_heads, q.nrows() / batch, k.nrows() / batch);
    let mut p = Array4::<f32>::zeros((batch, n_heads, tq, tk));
    let mut o = Array4::<f32>::zeros((batch, n_heads, tq, d_k));
    let p_blocks = p
        .as_slice_mut()
        .expect("fresh array")
        .par_chunks_mut(tq * tk);
    let o_blocks = o
        .as_slice_mut()
        .expect("fresh array")
        .par_chunks_mut(tq * d_k);
    p_blocks
        .zip(o_blocks)
        .enumerate()
        .for_each(|(bh, (p_bh, o_bh))| {
            let (b, h) = (bh / n_heads, bh % n_heads);
            let (rq, rk, cols) = (
                b * tq..(b + 1) * tq,
                b * tk..(b + 1) * tk,
                h * d_k..(h + 1) * d_k,
            );
            let mask = Mask {
                causal,
                key_padding: key_padding.map(|pad| &pad[rk.clone()]),
                ..Mask::default()
            };
            attention_into(
                q.slice(s![rq, cols.clone()]),
                k.slice(s![rk.clone(), cols.clone()]),
                v.slice(s![rk, cols]),
                &mask,
                ArrayViewMut2::from_shape((tq, tk), p_bh).expect("block size"),
                ArrayViewMut2::from_shape((tq, d_k), o_bh).expect("block size"),
            );
        });
    (merge_heads(o), p)
}
// ANCHOR_END: heads_forward

// ANCHOR: merge_heads
/// [B, h, T, d_k] -> [B·T, h·d_k]: head h's output becomes columns h·d_k..(h+1)·d_k.
// o: [B, h, T, d_k] -> [B·T, C]
pub fn merge_heads(o: Array4<f32>) -> Array2<f32> {
    let (b, h, t, d_k) = o.dim();
    let merged = o
        .permuted_axes([0, 2, 1, 3])
        .as_standard_layout()
        .into_owned();
    merged
        .into_shape_with_order((b * t, h * d_k))
        .expect("standard layout")
}
// ANCHOR_END: merge_heads

// ANCHOR: heads_backward
/// Backward of [`heads_forward`]: every (item, head) pair in parallel, each writing its
/// own blocks, then the heads merged back into [B·T, C] gradients of q, k and v.
// q: [B·Tq, C], k, v: [B·Tk, C], p: [B, h, Tq, Tk], d_merged: [B·Tq, C]
//   -> dq: [B·Tq, C], dk: [B·Tk, C], dv: [B·Tk, C]
pub fn heads_backward(
    (q, k, v): (
        ArrayView2<'_, f32>,
        ArrayView2<'_, f32>,
        ArrayView2<'_, f32>,
    ),
    p: &Array4<f32>,
    d_merged: ArrayView2<'_, f32>,
) -> (Array2<f32>, Array2<f32>, Array2<f32>) {
    let (batch, n_heads, tq, tk) = p.dim();
    let d_k = q.ncols() / n_heads;
    let mut dq = Array4::<f32>::zeros((batch, n_heads, tq, d_k));
    let mut dk = Array4::<f32>::zeros((batch, n_heads, tk, d_k));
    let mut dv = Array4::<f32>::zeros((batch, n_heads, tk, d_k));
    let blocks = (dq.as_slice_mut().expect("fresh").par_chunks_mut(tq * d_k))
        .zip(dk.as_slice_mut().expect("fresh").par_chunks_mut(tk * d_k))
        .zip(dv.as_slice_mut().expect("fresh").par_chunks_mut(tk * d_k));
    blocks
        .enumerate()
        .for_each(|(bh, ((dq_bh, dk_bh), dv_bh))| {
            let (b, h) = (bh / n_heads, bh % n_heads);
            let (rq, rk, cols) = (
                b * tq..(b + 1) * tq,
                b * tk..(b + 1) * tk,
                h * d_k..(h + 1) * d_k,
            );
            let mut ds = Array2::zeros((tq, tk));
            attention_backward_into(
                q.slice(s![rq.clone(), cols.clone()]),
                k.slice(s![rk.clone(), cols.clone()]),
                v.slice(s![rk, cols.clone()]),
                p.slice(s![b, h, .., ..]),
                d_merged.slice(s![rq, cols]),
                ArrayViewMut2::from_shape((tq, d_k), dq_bh).expect("block size"),
                ArrayViewMut2::from_shape((tk, d_k), dk_bh).expect("block size"),
                ArrayViewMut2::from_shape((tk, d_k), dv_bh).expect("block size"),
                &mut ds,
            );
        });
    (merge_heads(dq), merge_heads(dk), merge_heads(dv))
}
// ANCHOR_END: heads_backward
