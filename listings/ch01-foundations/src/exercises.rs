//! Solutions to the chapter's exercises. The text folds them away; the tests in
//! `tests/exercises.rs` check each one.

use ndarray::{Array1, Array2, ArrayRef1, ArrayRef2, Axis, Zip, s};
use rand::{Rng, RngExt};

use crate::softmax::softmax;

// ANCHOR: ex_temperature
/// Exercise 1: softmax(z / T). As T → 0 it approaches the one-hot of the argmax; as
/// T → ∞, the uniform distribution.
// logits: [n], t > 0 -> [n]
pub fn softmax_with_temperature(logits: &ArrayRef1<f32>, t: f32) -> Array1<f32> {
    assert!(t > 0.0, "temperature must be positive, got {t}");
    softmax(&logits.mapv(|z| z / t), Axis(0))
}
// ANCHOR_END: ex_temperature

// ANCHOR: ex_softmax_backward
/// Exercise 2: the backward pass of softmax alone. The Jacobian is
/// ∂y_i/∂z_j = y_i (δ_ij - y_j), so dz = y ⊙ (dy - Σ_j dy_j y_j): one dot product per
/// row, never the [n, n] Jacobian.
// y = softmax(z) along rows: [rows, n], dy: [rows, n] -> dz: [rows, n]
pub fn softmax_backward(y: &ArrayRef2<f32>, dy: &ArrayRef2<f32>) -> Array2<f32> {
    assert_eq!(
        y.dim(),
        dy.dim(),
        "softmax_backward: y is {:?} but dy is {:?}",
        y.dim(),
        dy.dim()
    );
    let dot = (dy * y).sum_axis(Axis(1)).insert_axis(Axis(1)); // [rows, 1]
    let mut dz = dy.to_owned();
    *dz -= &*dot;
    *dz *= y;
    dz
}
// ANCHOR_END: ex_softmax_backward

// ANCHOR: ex_online_logsumexp
/// Exercise 3: logsumexp in one pass over a stream. Keep the running max m and
/// s = Σ exp(x - m); when a new max arrives, rescale s by exp(m_old - m_new). This is the
/// trick at the heart of Flash Attention (chapter 13).
pub fn online_logsumexp(xs: impl IntoIterator<Item = f32>) -> f32 {
    let (mut m, mut s) = (f32::NEG_INFINITY, 0.0f32);
    for x in xs {
        if x > m {
            s = s * (m - x).exp() + 1.0;
            m = x;
        } else if x > f32::NEG_INFINITY {
            s += (x - m).exp();
        }
    }
    m + s.ln()
}
// ANCHOR_END: ex_online_logsumexp

// ANCHOR: ex_tiled_matmul
/// Exercise 4: matmul over square tiles, so each tile of A, B and C stays in cache while
/// it is reused `tile` times. Each tile product goes through `dot`.
// a: [m, k], b: [k, n] -> [m, n]
pub fn tiled_matmul(a: &ArrayRef2<f32>, b: &ArrayRef2<f32>, tile: usize) -> Array2<f32> {
    let ((m, k), (k2, n)) = (a.dim(), b.dim());
    assert_eq!(k, k2, "tiled_matmul: a is [{m}, {k}] but b is [{k2}, {n}]");
    assert!(tile > 0, "tiled_matmul: tile size must be positive");
    let mut c = Array2::zeros((m, n));
    for i in (0..m).step_by(tile) {
        for j in (0..n).step_by(tile) {
            let mut c_tile = c.slice_mut(s![i..(i + tile).min(m), j..(j + tile).min(n)]);
            for p in (0..k).step_by(tile) {
                let a_tile = a.slice(s![i..(i + tile).min(m), p..(p + tile).min(k)]);
                let b_tile = b.slice(s![p..(p + tile).min(k), j..(j + tile).min(n)]);
                c_tile += &a_tile.dot(&b_tile);
            }
        }
    }
    c
}
// ANCHOR_END: ex_tiled_matmul

// ANCHOR: ex_gumbel_max
/// Exercise 5: the Gumbel-max trick. argmax_i (z_i + g_i) with g_i = -ln(-ln u_i),
/// u_i ~ U(0, 1), is distributed as softmax(z), with no normalisation at all.
// logits: [n] -> index in 0..n
pub fn gumbel_max_sample(logits: &ArrayRef1<f32>, rng: &mut impl Rng) -> usize {
    let noise: Array1<f32> = (0..logits.len())
        .map(|_| {
            // u = 0 would give -ln(-ln 0) = -inf: draw from (0, 1).
            let u: f32 = rng.random_range(f32::MIN_POSITIVE..1.0);
            -(-u.ln()).ln()
        })
        .collect();
    let mut best = (0, f32::NEG_INFINITY);
    Zip::indexed(logits).and(&noise).for_each(|i, &z, &g| {
        if z + g > best.1 {
            best = (i, z + g);
        }
    });
    best.0
}
// ANCHOR_END: ex_gumbel_max
