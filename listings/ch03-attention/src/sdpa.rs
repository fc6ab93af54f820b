//! Scaled dot-product attention, forward and backward (section "Scaled dot-product
//! attention").

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, Axis, Zip};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use ch01_foundations::softmax::{exp, nan_max};

use crate::mask::Mask;

// ANCHOR: masked_softmax
/// Row-wise softmax of the scores in place, after adding the bias and hiding masked keys.
/// A hidden key gets weight exactly 0; a row with every key hidden becomes all zeros
/// (as Chapter 1's softmax does for an all -inf lane), never 0/0 = NaN.
// s: [Tq, Tk] scores -> [Tq, Tk] weights, each row sums to 1 (or is all 0)
pub fn masked_softmax_in_place(s: &mut ArrayViewMut2<'_, f32>, mask: &Mask<'_>) {
    let (tq, tk) = s.dim();
    if let Some(bias) = mask.bias {
        *s += &bias;
    }
    for (i, mut row) in s.rows_mut().into_iter().enumerate() {
        let limit = mask.causal_limit(i, tq, tk);
        let row = row.as_slice_mut().expect("score rows are contiguous");
        let (seen, hidden) = row.split_at_mut(limit);
        hidden.fill(0.0);
        if let Some(pad) = mask.key_padding {
            Zip::from(&mut *seen).and(&pad[..limit]).for_each(|s, &p| {
                if p {
                    *s = f32::NEG_INFINITY;
                }
            });
        }
        if let Some(allowed) = mask.allowed {
            Zip::from(&mut *seen)
                .and(allowed.row(i).slice(ndarray::s![..limit]))
                .for_each(|s, &a| {
                    if !a {
                        *s = f32::NEG_INFINITY;
                    }
                });
        }
        softmax_row(seen);
    }
}
// ANCHOR_END: masked_softmax

// ANCHOR: softmax_row
/// Chapter 1's stable softmax of one row in place; a row of -inf becomes all 0.
// row: [Tk] -> [Tk]
#[inline(always)]
fn softmax_row_body(row: &mut [f32]) {
    let max = max(row);
    if max == f32::NEG_INFINITY {
        row.fill(0.0);
        return;
    }
    row.iter_mut().for_each(|v| *v = exp(*v - max));
    let inv = 1.0 / sum(row);
    row.iter_mut().for_each(|v| *v *= inv);
}

/// [`softmax_row_body`] compiled twice, like Chapter 4's activation loops: for AVX-512
/// (16 lanes) when the CPU has it, else for baseline x86-64 (4 lanes). The operations
/// and their order are the same, with no fused multiply-add, so the bits are the same.
fn softmax_row(row: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has every feature the wide copy was compiled for.
        return unsafe { softmax_row_avx512(row) };
    }
    softmax_row_body(row)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn softmax_row_avx512(row: &mut [f32]) {
    softmax_row_body(row)
}
// ANCHOR_END: softmax_row

/// max of xs (-inf if empty, NaN if any is NaN) in eight interleaved lanes: one running
/// maximum is a chain of dependent instructions, eight are independent and vectorise.
/// `f32::max` would skip a NaN; here it sticks, so a NaN score makes its row NaN.
#[inline(always)]
pub fn max(xs: &[f32]) -> f32 {
    let mut acc = [f32::NEG_INFINITY; 8];
    let chunks = xs.chunks_exact(8);
    let tail = chunks
        .remainder()
        .iter()
        .fold(f32::NEG_INFINITY, |m, &x| nan_max(m, x));
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a = nan_max(*a, x);
        }
    }
    acc.iter().fold(tail, |m, &x| nan_max(m, x))
}

/// Σ xs in eight interleaved partial sums (SIMD-friendly, and a fixed order: the same
/// input always gives the same bits).
#[inline(always)]
pub fn sum(xs: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let chunks = xs.chunks_exact(8);
    let tail: f32 = chunks.remainder().iter().sum();
    for c in chunks {
        for (a, &x) in acc.iter_mut().zip(c) {
            *a += x;
        }
    }
    acc.iter().sum::<f32>() + tail
}

// ANCHOR: forward
/// softmax(Q Kᵀ / √d_k + M) V for one head, writing the weights P into `p` (backward
/// needs them) and the output into `out`. Views may be strided: a head is a column
/// slice of the fused QKV matrix, so splitting heads copies nothing.
// q: [Tq, d_k], k: [Tk, d_k], v: [Tk, d_v] -> p: [Tq, Tk], out: [Tq, d_v]
pub fn attention_into(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    mask: &Mask<'_>,
    mut p: ArrayViewMut2<'_, f32>,
    mut out: ArrayViewMut2<'_, f32>,
) {
    let d_k = q.ncols();
    let scale = 1.0 / (d_k as f32).sqrt();
    general_mat_mul(scale, &q, &k.t(), 0.0, &mut p); // S = Q Kᵀ / √d_k
    masked_softmax_in_place(&mut p, mask); // P = softmax(S + M)
    general_mat_mul(1.0, &p, &v, 0.0, &mut out); // O = P V
}
// ANCHOR_END: forward

// ANCHOR: weight_dropout
/// [`attention_into`] with attention-weight dropout (BERT, GPT-2): O = (P ⊙ M) V, where
/// M holds 0 (with probability `p_drop`) or 1/(1 - p_drop) for each weight, drawn
/// row-major from `rng` into `keep`. P itself stays undropped in `p`: backward and the
/// heat maps read it, and backward reads M from `keep`.
// q: [Tq, d_k], k: [Tk, d_k], v: [Tk, d_v] -> p, keep: [Tq, Tk], out: [Tq, d_v]
#[allow(clippy::too_many_arguments)]
pub fn attention_dropout_into(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    mask: &Mask<'_>,
    p_drop: f32,
    rng: &mut ChaCha8Rng,
    mut p: ArrayViewMut2<'_, f32>,
    mut keep: ArrayViewMut2<'_, f32>,
    mut out: ArrayViewMut2<'_, f32>,
) {
    let scale = 1.0 / (q.ncols() as f32).sqrt();
    general_mat_mul(scale, &q, &k.t(), 0.0, &mut p); // S = Q Kᵀ / √d_k
    masked_softmax_in_place(&mut p, mask); // P = softmax(S + M)
    let kept = 1.0 / (1.0 - p_drop);
    keep.iter_mut().for_each(|m| {
        *m = if rng.random::<f32>() < p_drop {
            0.0
        } else {
            kept
        };
    });
    general_mat_mul(1.0, &(&p * &keep), &v, 0.0, &mut out); // O = (P ⊙ M) V
}
// ANCHOR_END: weight_dropout

// ANCHOR: backward
/// The backward pass of one head, given the forward's weights P and ∂L/∂O:
/// dV = Pᵀ dO, dP = dO Vᵀ, dS = P ⊙ (dP - rowsum(dP ⊙ P)), dQ = dS K / √d_k,
/// dK = dSᵀ Q / √d_k. With weight dropout (`keep` = M), the forward used P ⊙ M: then
/// dV = (P ⊙ M)ᵀ dO, and dP = (dO Vᵀ) ⊙ M goes through the mask before the softmax.
// q: [Tq, d_k], k: [Tk, d_k], v: [Tk, d_v], p, keep: [Tq, Tk], d_out: [Tq, d_v]
//   -> dq: [Tq, d_k], dk: [Tk, d_k], dv: [Tk, d_v] (overwritten); ds: [Tq, Tk] scratch
#[allow(clippy::too_many_arguments)]
pub fn attention_backward_into(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    p: ArrayView2<'_, f32>,
    keep: Option<ArrayView2<'_, f32>>,
    d_out: ArrayView2<'_, f32>,
    mut dq: ArrayViewMut2<'_, f32>,
    mut dk: ArrayViewMut2<'_, f32>,
    mut dv: ArrayViewMut2<'_, f32>,
    ds: &mut Array2<f32>,
) {
    let scale = 1.0 / (q.ncols() as f32).sqrt();
    match keep {
        None => general_mat_mul(1.0, &p.t(), &d_out, 0.0, &mut dv),
        Some(m) => general_mat_mul(1.0, &(&p * &m).t(), &d_out, 0.0, &mut dv),
    }
    general_mat_mul(1.0, &d_out, &v.t(), 0.0, ds); // dP (of the weights V saw)
    if let Some(m) = keep {
        *ds *= &m; // back through the mask to P
    }
    softmax_backward_in_place(ds, p);
    general_mat_mul(scale, ds, &k, 0.0, &mut dq);
    general_mat_mul(scale, &ds.t(), &q, 0.0, &mut dk);
}
// ANCHOR_END: backward

// ANCHOR: softmax_backward
/// dS = P ⊙ (dP - rowsum(dP ⊙ P)), row by row, overwriting dP. Masked keys have P = 0,
/// so dS = 0 there: the mask needs no backward of its own, and a fully masked row passes
/// no gradient.
// ds: [Tq, Tk] holding dP -> dS; p: [Tq, Tk]
pub fn softmax_backward_in_place(ds: &mut Array2<f32>, p: ArrayView2<'_, f32>) {
    for (mut ds_row, p_row) in ds.rows_mut().into_iter().zip(p.rows()) {
        let dot = ds_row.dot(&p_row); // Σ_j dP_ij P_ij
        Zip::from(&mut ds_row)
            .and(&p_row)
            .for_each(|d, &p| *d = p * (*d - dot));
    }
}
// ANCHOR_END: softmax_backward

/// One head's result: the output and the attention weights.
pub struct Attention {
    // out: [Tq, d_v]
    pub out: Array2<f32>,
    // p: [Tq, Tk]
    pub p: Array2<f32>,
}

// ANCHOR: sdpa
/// Scaled dot-product attention as a plain function: checks the shapes, allocates the
/// outputs, and calls [`attention_into`].
// q: [Tq, d_k], k: [Tk, d_k], v: [Tk, d_v] -> out: [Tq, d_v], p: [Tq, Tk]
pub fn sdpa(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    mask: &Mask<'_>,
) -> Attention {
    check_shapes(q, k, v, mask);
    let mut p = Array2::zeros((q.nrows(), k.nrows()));
    let mut out = Array2::zeros((q.nrows(), v.ncols()));
    attention_into(q, k, v, mask, p.view_mut(), out.view_mut());
    Attention { out, p }
}
// ANCHOR_END: sdpa

// ANCHOR: sdpa_backward
/// Gradients of [`sdpa`] given ∂L/∂out and the forward's weights.
// q: [Tq, d_k], k: [Tk, d_k], v: [Tk, d_v], p: [Tq, Tk], d_out: [Tq, d_v] -> dq, dk, dv
pub fn sdpa_backward(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    p: ArrayView2<'_, f32>,
    d_out: ArrayView2<'_, f32>,
) -> (Array2<f32>, Array2<f32>, Array2<f32>) {
    assert_eq!(
        d_out.dim(),
        (q.nrows(), v.ncols()),
        "sdpa backward: d_out is {:?} but the output is {:?}",
        d_out.shape(),
        [q.nrows(), v.ncols()]
    );
    let mut dq = Array2::zeros(q.raw_dim());
    let mut dk = Array2::zeros(k.raw_dim());
    let mut dv = Array2::zeros(v.raw_dim());
    let mut ds = Array2::zeros(p.raw_dim());
    attention_backward_into(
        q,
        k,
        v,
        p,
        None,
        d_out,
        dq.view_mut(),
        dk.view_mut(),
        dv.view_mut(),
        &mut ds,
    );
    (dq, dk, dv)
}
// ANCHOR_END: sdpa_backward

fn check_shapes(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    mask: &Mask<'_>,
) {
    let (tq, tk) = (q.nrows(), k.nrows());
    assert!(
        q.ncols() == k.ncols(),
        "sdpa: q is {:?} and k is {:?}: queries and keys need the same d_k",
        q.shape(),
        k.shape()
    );
    assert!(
        v.nrows() == tk,
        "sdpa: k is {:?} and v is {:?}: one value per key",
        k.shape(),
        v.shape()
    );
    if let Some(pad) = mask.key_padding {
        assert!(
            pad.len() == tk,
            "sdpa: key_padding has {} entries but k is {:?}",
            pad.len(),
            k.shape()
        );
    }
    for (what, shape) in [
        ("allowed", mask.allowed.map(|a| a.dim())),
        ("bias", mask.bias.map(|b| b.dim())),
    ] {
        if let Some(shape) = shape {
            assert!(
                shape == (tq, tk),
                "sdpa: mask.{what} is {:?} but the scores are {:?}",
                [shape.0, shape.1],
                [tq, tk]
            );
        }
    }
}

/// Sum over the rows: the gradient of a bias added to every row.
// dy: [N, C] -> [C]
pub fn sum_rows(dy: ArrayView2<'_, f32>) -> ndarray::Array1<f32> {
    dy.sum_axis(Axis(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wide_and_baseline_softmax_rows_give_the_same_bits() {
        for len in [1, 7, 8, 17, 100, 1500] {
            let row: Vec<f32> = (0..len)
                .map(|i| match i % 11 {
                    3 => f32::NEG_INFINITY,
                    j => ((i * 37 % 101) as f32 - 50.0) * 0.37 + j as f32,
                })
                .collect();
            let (mut fast, mut plain) = (row.clone(), row.clone());
            softmax_row(&mut fast);
            softmax_row_body(&mut plain);
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&fast), bits(&plain), "length {len}");
        }
        let mut hidden = vec![f32::NEG_INFINITY; 9];
        softmax_row(&mut hidden);
        assert_eq!(hidden, vec![0.0; 9]);
    }
}
