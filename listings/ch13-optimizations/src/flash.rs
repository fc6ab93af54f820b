//! Flash Attention, forward and backward (section "Flash Attention"): attention computed
//! in tiles of B_r queries × B_c keys with an online softmax, so that the T_q × T_k
//! matrices of scores and weights never exist. The forward keeps only the output and one
//! log-sum-exp per query; the backward recomputes each tile's weights from it.

use ch01_foundations::softmax::exp;
use ch03_attention::mask::Mask;
use ch03_attention::sdpa::{max, sum};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayViewMut2, Axis, s};
use rayon::prelude::*;
use thiserror::Error;

/// What can be wrong with the inputs of a flash attention call.
#[derive(Debug, Error, PartialEq)]
pub enum FlashError {
    #[error(
        "flash attention: q is {q:?} and k is {k:?}: queries and keys need the same d_k"
    )]
    KeyWidth { q: [usize; 2], k: [usize; 2] },
    #[error("flash attention: k is {k:?} and v is {v:?}: one value per key")]
    ValueCount { k: [usize; 2], v: [usize; 2] },
    #[error(
        "flash attention: mask.key_padding has {len} entries but there are {t_k} keys"
    )]
    Padding { len: usize, t_k: usize },
    #[error("flash attention: mask.{what} is {got:?} but the scores are {want:?}")]
    MaskShape {
        what: &'static str,
        got: [usize; 2],
        want: [usize; 2],
    },
    #[error("flash attention: {what} is {got:?} but should be {want:?}")]
    Shape {
        what: &'static str,
        got: Vec<usize>,
        want: Vec<usize>,
    },
    #[error(
        "flash attention: block sizes must be at least 1, got B_r = {b_r}, B_c = {b_c}"
    )]
    Blocks { b_r: usize, b_c: usize },
    #[error(
        "flash decoding: the cache must be split into at least 1 chunk, got {splits}"
    )]
    Splits { splits: usize },
}

// ANCHOR: blocks
/// Tile sizes: B_r query rows × B_c key columns. The default 128 × 128 keeps one tile's
/// working set at d = 64 in f32, Q_i, O_i, K_j, V_j (32 KiB each) and S_ij (64 KiB), at
/// 192 KiB: inside a core's L2 (1 MiB on the book's machine), so the tile's two matmuls
/// and its softmax read from cache. Smaller tiles mean more, smaller matmul calls, each
/// packing its operands again; larger ones would spill out of L2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocks {
    pub b_r: usize,
    pub b_c: usize,
}

impl Default for Blocks {
    fn default() -> Self {
        Blocks { b_r: 128, b_c: 128 }
    }
}
// ANCHOR_END: blocks

/// The backward's result: (dQ [T_q, d_k], dK [T_k, d_k], dV [T_k, d_v]).
pub type Grads = (Array2<f32>, Array2<f32>, Array2<f32>);

/// The forward's result: what the backward needs, and nothing of size T_q × T_k.
#[derive(Clone, Debug)]
pub struct FlashOutput {
    // o: [T_q, d_v]
    pub o: Array2<f32>,
    /// log Σ_j e^{S_ij} over the keys query i sees; -inf for a query that sees none.
    // lse: [T_q]
    pub lse: Array1<f32>,
}

/// Checks what Chapter 3's `sdpa` asserts, as errors, and the block sizes.
fn check(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    mask: &Mask<'_>,
    blocks: Blocks,
) -> Result<(), FlashError> {
    let (t_q, t_k) = (q.nrows(), k.nrows());
    if q.ncols() != k.ncols() {
        return Err(FlashError::KeyWidth {
            q: [t_q, q.ncols()],
            k: [t_k, k.ncols()],
        });
    }
    if v.nrows() != t_k {
        return Err(FlashError::ValueCount {
            k: [t_k, k.ncols()],
            v: [v.nrows(), v.ncols()],
        });
    }
    if let Some(pad) = mask.key_padding
        && pad.len() != t_k
    {
        return Err(FlashError::Padding {
            len: pad.len(),
            t_k,
        });
    }
    for (what, dim) in [
        ("allowed", mask.allowed.map(|a| a.dim())),
        ("bias", mask.bias.map(|b| b.dim())),
    ] {
        if let Some((r, c)) = dim
            && (r, c) != (t_q, t_k)
        {
            let (got, want) = ([r, c], [t_q, t_k]);
            return Err(FlashError::MaskShape { what, got, want });
        }
    }
    if blocks.b_r == 0 || blocks.b_c == 0 {
        return Err(FlashError::Blocks {
            b_r: blocks.b_r,
            b_c: blocks.b_c,
        });
    }
    Ok(())
}

// ANCHOR: tile_scores
/// S_ij = Q_i K_jᵀ / √d_k for the tile (queries i0.., keys j0..j0 + B_c), masked: -inf
/// where a key is hidden, plus the bias if any.
// q_i: [B_r, d_k], k_j: [B_c, d_k] -> s: [B_r, B_c]
fn tile_scores(
    q_i: ArrayView2<'_, f32>,
    k_j: ArrayView2<'_, f32>,
    mask: &Mask<'_>,
    (i0, j0): (usize, usize),
    (t_q, t_k): (usize, usize),
    scale: f32,
    s: &mut ArrayViewMut2<'_, f32>,
) {
    general_mat_mul(scale, &q_i, &k_j.t(), 0.0, s);
    let b_c = k_j.nrows();
    for (r, mut row) in s.rows_mut().into_iter().enumerate() {
        let i = i0 + r;
        let row = row.as_slice_mut().expect("tile rows are contiguous");
        if let Some(bias) = mask.bias {
            row.iter_mut()
                .zip(bias.row(i).slice(s![j0..j0 + b_c]))
                .for_each(|(x, &b)| *x += b);
        }
        let seen = mask.causal_limit(i, t_q, t_k).saturating_sub(j0).min(b_c);
        row[seen..].fill(f32::NEG_INFINITY);
        if let Some(pad) = mask.key_padding {
            for (x, &p) in row.iter_mut().zip(&pad[j0..j0 + b_c]) {
                if p {
                    *x = f32::NEG_INFINITY;
                }
            }
        }
        if let Some(allowed) = mask.allowed {
            for (x, &a) in row.iter_mut().zip(allowed.row(i).slice(s![j0..j0 + b_c])) {
                if !a {
                    *x = f32::NEG_INFINITY;
                }
            }
        }
    }
}
// ANCHOR_END: tile_scores

/// How many keys any query of rows i0..i1 may see under the causal part of the mask:
/// the key blocks from there on lie wholly above the diagonal and are skipped.
fn keys_seen(mask: &Mask<'_>, i1: usize, (t_q, t_k): (usize, usize)) -> usize {
    if i1 == 0 {
        return 0;
    }
    mask.causal_limit(i1 - 1, t_q, t_k)
}

// ANCHOR: online_softmax
/// One row of the online softmax: given the running max m and sum l of the keys seen so
/// far, takes this tile's scores s, overwrites them with e^{s - m_new}, and returns
/// (m_new, l_new, α) with α = e^{m - m_new}, the factor the row's output is rescaled by.
/// A row that has seen only hidden keys keeps m = -inf and gets weights 0 (never the
/// NaN that e^{-inf - (-inf)} would give).
// s: [B_c] scores -> [B_c] unnormalised weights
#[inline(always)]
fn online_softmax_row_body(s: &mut [f32], m: f32, l: f32) -> (f32, f32, f32) {
    let m_new = m.max(max(s));
    if m_new == f32::NEG_INFINITY {
        s.fill(0.0);
        return (m, l, 1.0);
    }
    s.iter_mut().for_each(|x| *x = exp(*x - m_new));
    let alpha = exp(m - m_new);
    (m_new, alpha * l + sum(s), alpha)
}
// ANCHOR_END: online_softmax

/// [`online_softmax_row_body`] compiled for AVX-512 when the CPU has it, like Chapter 3's
/// `softmax_row`: the same operations in the same order, so the same bits.
fn online_softmax_row(s: &mut [f32], m: f32, l: f32) -> (f32, f32, f32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has every feature the wide copy was compiled for.
        return unsafe { online_softmax_row_avx512(s, m, l) };
    }
    online_softmax_row_body(s, m, l)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn online_softmax_row_avx512(s: &mut [f32], m: f32, l: f32) -> (f32, f32, f32) {
    online_softmax_row_body(s, m, l)
}

// ANCHOR: forward_block (long: the whole loop of the tiling diagram in one unit)
/// The forward pass for one block of queries (rows i0..i0 + B_r): a loop over the key
/// blocks that carries the running max m, sum l and unnormalised output O_i, then
/// O_i / l and lse = m + ln l. Only the tiles of this block live at any time.
// q_i: [B_r, d_k], k: [T_k, d_k], v: [T_k, d_v] -> o_i: [B_r, d_v], lse_i: [B_r]
#[allow(clippy::too_many_arguments)]
fn forward_block(
    q_i: ArrayView2<'_, f32>,
    (k, v): (ArrayView2<'_, f32>, ArrayView2<'_, f32>),
    mask: &Mask<'_>,
    i0: usize,
    t_q: usize,
    b_c: usize,
    mut o_i: ArrayViewMut2<'_, f32>,
    lse_i: &mut [f32],
) {
    let (b_r, t_k) = (q_i.nrows(), k.nrows());
    let scale = 1.0 / (q_i.ncols() as f32).sqrt();
    let (mut m, mut l) = (vec![f32::NEG_INFINITY; b_r], vec![0.0f32; b_r]);
    let mut s_buf = Array2::<f32>::zeros((b_r, b_c));
    o_i.fill(0.0);
    // Causal: key blocks past what the block's last query sees are never visited.
    for j0 in (0..keys_seen(mask, i0 + b_r, (t_q, t_k))).step_by(b_c) {
        let j1 = (j0 + b_c).min(t_k);
        let mut s_ij = s_buf.slice_mut(s![.., ..j1 - j0]);
        let k_j = k.slice(s![j0..j1, ..]);
        tile_scores(q_i, k_j, mask, (i0, j0), (t_q, t_k), scale, &mut s_ij);
        for (r, mut row) in s_ij.rows_mut().into_iter().enumerate() {
            let row = row.as_slice_mut().expect("tile rows are contiguous");
            let alpha;
            (m[r], l[r], alpha) = online_softmax_row(row, m[r], l[r]);
            if alpha != 1.0 {
                o_i.row_mut(r).iter_mut().for_each(|o| *o *= alpha);
            }
        }
        // O_i ← diag(α) O_i + P̃_ij V_j (the rescale is done just above).
        general_mat_mul(1.0, &s_ij, &v.slice(s![j0..j1, ..]), 1.0, &mut o_i);
    }
    for (r, mut o_row) in o_i.rows_mut().into_iter().enumerate() {
        // l = 0: the query saw no key; its output stays 0 as in Chapter 3.
        let inv = if l[r] > 0.0 { 1.0 / l[r] } else { 0.0 };
        o_row.iter_mut().for_each(|o| *o *= inv);
        lse_i[r] = m[r] + l[r].ln();
    }
}
// ANCHOR_END: forward_block

// ANCHOR: flash_forward
/// Flash attention forward for one head: softmax(Q Kᵀ / √d_k + mask) V in tiles, the
/// query blocks in parallel (each writes only its own rows of O and lse, so the result
/// is the same at any thread count). Masks are Chapter 3's, causal aligned bottom-right.
// q: [T_q, d_k], k: [T_k, d_k], v: [T_k, d_v] -> o: [T_q, d_v], lse: [T_q]
pub fn flash_forward(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    mask: &Mask<'_>,
    blocks: Blocks,
) -> Result<FlashOutput, FlashError> {
    check(q, k, v, mask, blocks)?;
    let t_q = q.nrows();
    let mut o = Array2::<f32>::zeros((t_q, v.ncols()));
    let mut lse = vec![0.0f32; t_q];
    let o_blocks: Vec<_> = o.axis_chunks_iter_mut(Axis(0), blocks.b_r).collect();
    o_blocks
        .into_par_iter()
        .zip(lse.par_chunks_mut(blocks.b_r))
        .enumerate()
        .for_each(|(n, (o_i, lse_i))| {
            let i0 = n * blocks.b_r;
            let q_i = q.slice(s![i0..i0 + lse_i.len(), ..]);
            forward_block(q_i, (k, v), mask, i0, t_q, blocks.b_c, o_i, lse_i);
        });
    Ok(FlashOutput {
        o,
        lse: Array1::from(lse),
    })
}
// ANCHOR_END: flash_forward

/// The T_q × T_k weights P = e^{S - lse} that the forward's log-sum-exp implies: for
/// tests and figures only (it is the matrix Flash Attention exists to avoid).
// q: [T_q, d_k], k: [T_k, d_k], lse: [T_q] -> [T_q, T_k]
pub fn weights_from_lse(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    mask: &Mask<'_>,
    lse: ArrayView1<'_, f32>,
) -> Array2<f32> {
    let (t_q, t_k) = (q.nrows(), k.nrows());
    let mut p = Array2::zeros((t_q, t_k));
    let scale = 1.0 / (q.ncols() as f32).sqrt();
    tile_scores(q, k, mask, (0, 0), (t_q, t_k), scale, &mut p.view_mut());
    for (mut row, &lse) in p.rows_mut().into_iter().zip(lse) {
        exp_minus(row.as_slice_mut().expect("contiguous"), lse);
    }
    p
}

// ANCHOR: exp_minus
/// P = e^{S - lse} in place: a tile's exact softmax weights, recomputed in one pass from
/// the forward's log-sum-exp, with no max or sum to find again. A query that saw no
/// key (lse = -inf) gets weights 0.
// s: [B_c] -> [B_c]
#[inline(always)]
fn exp_minus_body(s: &mut [f32], lse: f32) {
    if lse == f32::NEG_INFINITY {
        s.fill(0.0);
    } else {
        s.iter_mut().for_each(|x| *x = exp(*x - lse));
    }
}
// ANCHOR_END: exp_minus

fn exp_minus(s: &mut [f32], lse: f32) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has every feature the wide copy was compiled for.
        return unsafe { exp_minus_avx512(s, lse) };
    }
    exp_minus_body(s, lse)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn exp_minus_avx512(s: &mut [f32], lse: f32) {
    exp_minus_body(s, lse)
}

/// Everything the backward reads, with the shapes checked once.
#[derive(Clone, Copy)]
struct Saved<'a> {
    q: ArrayView2<'a, f32>,
    k: ArrayView2<'a, f32>,
    v: ArrayView2<'a, f32>,
    lse: ArrayView1<'a, f32>,
    d_o: ArrayView2<'a, f32>,
    // d: [T_q], D_i = rowsum(dO ∘ O)
    d: ArrayView1<'a, f32>,
}

// ANCHOR: tile_grad
/// For the tile (queries i0..i0 + B_r, keys j0..j1): P_ij = e^{S_ij - lse_i} recomputed
/// into `p`, and dS_ij = P_ij ∘ (dO_i V_jᵀ - D_i) into `ds`. D_i = rowsum(dO_i ∘ O_i)
/// stands in for Chapter 3's rowsum(dP ∘ P), which would need the whole row of P.
// p, ds: [B_r, B_c] scratch, overwritten
fn tile_grad(
    saved: Saved<'_>,
    mask: &Mask<'_>,
    (i0, i1): (usize, usize),
    (j0, j1): (usize, usize),
    p: &mut ArrayViewMut2<'_, f32>,
    ds: &mut ArrayViewMut2<'_, f32>,
) {
    let (t_q, t_k) = (saved.q.nrows(), saved.k.nrows());
    let scale = 1.0 / (saved.q.ncols() as f32).sqrt();
    let q_i = saved.q.slice(s![i0..i1, ..]);
    let k_j = saved.k.slice(s![j0..j1, ..]);
    tile_scores(q_i, k_j, mask, (i0, j0), (t_q, t_k), scale, p);
    for (mut row, &lse) in p.rows_mut().into_iter().zip(&saved.lse.slice(s![i0..i1])) {
        exp_minus(row.as_slice_mut().expect("tile rows are contiguous"), lse);
    }
    let d_o_i = saved.d_o.slice(s![i0..i1, ..]);
    general_mat_mul(1.0, &d_o_i, &saved.v.slice(s![j0..j1, ..]).t(), 0.0, ds); // dP
    for ((mut ds_row, p_row), &d_i) in ds
        .rows_mut()
        .into_iter()
        .zip(p.rows())
        .zip(&saved.d.slice(s![i0..i1]))
    {
        ds_row
            .iter_mut()
            .zip(p_row)
            .for_each(|(ds, &p)| *ds = p * (*ds - d_i));
    }
}
// ANCHOR_END: tile_grad

// ANCHOR: backward_kv
/// dK_j and dV_j for one block of keys (j0..j1): a loop over the query blocks that see
/// it, dV_j += P_ijᵀ dO_i and dK_j += dS_ijᵀ Q_i / √d_k. Each key block owns its rows
/// of dK and dV, so the blocks run in parallel with no atomic adds.
// dk_j: [B_c, d_k], dv_j: [B_c, d_v]
fn backward_kv_block(
    saved: Saved<'_>,
    mask: &Mask<'_>,
    (j0, j1): (usize, usize),
    b_r: usize,
    mut dk_j: ArrayViewMut2<'_, f32>,
    mut dv_j: ArrayViewMut2<'_, f32>,
) {
    let (t_q, t_k) = (saved.q.nrows(), saved.k.nrows());
    let scale = 1.0 / (saved.q.ncols() as f32).sqrt();
    let mut p_buf = Array2::<f32>::zeros((b_r, j1 - j0));
    let mut ds_buf = p_buf.clone();
    for i0 in (0..t_q).step_by(b_r) {
        let i1 = (i0 + b_r).min(t_q);
        if keys_seen(mask, i1, (t_q, t_k)) <= j0 {
            continue; // a tile above the causal diagonal: all its weights are 0
        }
        let mut p = p_buf.slice_mut(s![..i1 - i0, ..]);
        let mut ds = ds_buf.slice_mut(s![..i1 - i0, ..]);
        tile_grad(saved, mask, (i0, i1), (j0, j1), &mut p, &mut ds);
        general_mat_mul(
            1.0,
            &p.t(),
            &saved.d_o.slice(s![i0..i1, ..]),
            1.0,
            &mut dv_j,
        );
        general_mat_mul(
            scale,
            &ds.t(),
            &saved.q.slice(s![i0..i1, ..]),
            1.0,
            &mut dk_j,
        );
    }
}
// ANCHOR_END: backward_kv

// ANCHOR: backward_q
/// dQ_i for one block of queries (i0..i1): a loop over the key blocks it sees,
/// recomputing each tile's dS_ij, dQ_i += dS_ij K_j / √d_k.
// dq_i: [B_r, d_k]
fn backward_q_block(
    saved: Saved<'_>,
    mask: &Mask<'_>,
    (i0, i1): (usize, usize),
    b_c: usize,
    mut dq_i: ArrayViewMut2<'_, f32>,
) {
    let (t_q, t_k) = (saved.q.nrows(), saved.k.nrows());
    let scale = 1.0 / (saved.q.ncols() as f32).sqrt();
    let mut p_buf = Array2::<f32>::zeros((i1 - i0, b_c));
    let mut ds_buf = p_buf.clone();
    for j0 in (0..keys_seen(mask, i1, (t_q, t_k))).step_by(b_c) {
        let j1 = (j0 + b_c).min(t_k);
        let mut p = p_buf.slice_mut(s![.., ..j1 - j0]);
        let mut ds = ds_buf.slice_mut(s![.., ..j1 - j0]);
        tile_grad(saved, mask, (i0, i1), (j0, j1), &mut p, &mut ds);
        general_mat_mul(scale, &ds, &saved.k.slice(s![j0..j1, ..]), 1.0, &mut dq_i);
    }
}
// ANCHOR_END: backward_q

// ANCHOR: flash_backward (long: the two sweeps read best side by side)
/// Flash attention backward for one head, from the forward's O and lse and ∂L/∂O. Two
/// sweeps over the tiles, as in Triton's fused-attention tutorial: key blocks in
/// parallel for dK and dV, then query blocks in parallel for dQ. The second sweep
/// recomputes S and dP once more; in exchange no two tasks write the same row, so the
/// result is deterministic at any thread count.
// q: [T_q, d_k], k: [T_k, d_k], v: [T_k, d_v], o, d_o: [T_q, d_v], lse: [T_q]
//   -> dq: [T_q, d_k], dk: [T_k, d_k], dv: [T_k, d_v]
#[allow(clippy::too_many_arguments)]
pub fn flash_backward(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    mask: &Mask<'_>,
    fwd: &FlashOutput,
    d_o: ArrayView2<'_, f32>,
    blocks: Blocks,
) -> Result<Grads, FlashError> {
    check_backward(q, k, v, mask, fwd, d_o, blocks)?;
    let d = (&d_o * &fwd.o).sum_axis(Axis(1)); // D_i = rowsum(dO ∘ O)
    let saved = Saved {
        q,
        k,
        v,
        lse: fwd.lse.view(),
        d_o,
        d: d.view(),
    };
    let (mut dq, mut dk, mut dv) = (
        Array2::zeros(q.raw_dim()),
        Array2::zeros(k.raw_dim()),
        Array2::zeros(v.raw_dim()),
    );
    let kv: Vec<_> = dk
        .axis_chunks_iter_mut(Axis(0), blocks.b_c)
        .zip(dv.axis_chunks_iter_mut(Axis(0), blocks.b_c))
        .collect();
    kv.into_par_iter()
        .enumerate()
        .for_each(|(n, (dk_j, dv_j))| {
            let j0 = n * blocks.b_c;
            let j1 = j0 + dk_j.nrows();
            backward_kv_block(saved, mask, (j0, j1), blocks.b_r, dk_j, dv_j);
        });
    let dq_blocks: Vec<_> = dq.axis_chunks_iter_mut(Axis(0), blocks.b_r).collect();
    dq_blocks.into_par_iter().enumerate().for_each(|(n, dq_i)| {
        let i0 = n * blocks.b_r;
        let i1 = i0 + dq_i.nrows();
        backward_q_block(saved, mask, (i0, i1), blocks.b_c, dq_i);
    });
    Ok((dq, dk, dv))
}
// ANCHOR_END: flash_backward

#[allow(clippy::too_many_arguments)]
fn check_backward(
    q: ArrayView2<'_, f32>,
    k: ArrayView2<'_, f32>,
    v: ArrayView2<'_, f32>,
    mask: &Mask<'_>,
    fwd: &FlashOutput,
    d_o: ArrayView2<'_, f32>,
    blocks: Blocks,
) -> Result<(), FlashError> {
    check(q, k, v, mask, blocks)?;
    let want = vec![q.nrows(), v.ncols()];
    for (what, got) in [
        ("o", fwd.o.shape().to_vec()),
        ("d_o", d_o.shape().to_vec()),
        ("lse", vec![fwd.lse.len(), v.ncols()]),
    ] {
        if got != want {
            let want = if what == "lse" {
                vec![q.nrows()]
            } else {
                want.clone()
            };
            let got = if what == "lse" {
                vec![fwd.lse.len()]
            } else {
                got
            };
            return Err(FlashError::Shape { what, got, want });
        }
    }
    Ok(())
}
