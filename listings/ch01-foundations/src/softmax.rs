//! Numerically stable softmax, log-softmax and logsumexp (section "Stable softmax").

use ndarray::{Array, ArrayRef, Axis, Dimension, RemoveAxis, Zip};

// ANCHOR: naive_softmax
/// Softmax straight from the definition, exp(x_i) / Σ_j exp(x_j). Overflows to
/// inf / inf = NaN as soon as a logit passes ln(f32::MAX) ≈ 88.72. Kept only to show why.
// x: [n] -> [n]
pub fn naive_softmax(x: &[f32]) -> Vec<f32> {
    let exps: Vec<f32> = x.iter().map(|v| v.exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}
// ANCHOR_END: naive_softmax

// ANCHOR: softmax
/// Softmax along `axis`, computed as exp(x - max) / Σ exp(x - max): subtracting the
/// lane's maximum changes nothing mathematically but keeps every exponent ≤ 0, so
/// nothing overflows and the largest term is exactly 1.
///
/// A lane that is entirely -inf (every position masked out) has no distribution; it
/// becomes all zeros rather than the 0/0 = NaN the formula would give.
// x: [.., n, ..] -> [.., n, ..], each lane along `axis` sums to 1
pub fn softmax<D: Dimension>(x: &ArrayRef<f32, D>, axis: Axis) -> Array<f32, D> {
    let mut y = x.to_owned();
    for mut lane in y.lanes_mut(axis) {
        let max = lane.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        if max == f32::NEG_INFINITY {
            lane.fill(0.0);
            continue;
        }
        lane.mapv_inplace(|v| (v - max).exp());
        let sum = lane.sum();
        lane.mapv_inplace(|e| e / sum);
    }
    y
}
// ANCHOR_END: softmax

// ANCHOR: logsumexp
/// log Σ_i exp(x_i) along `axis`, as max + log Σ exp(x - max). An all -inf lane gives
/// -inf.
// x: [.., n, ..] -> [.., ..] (axis removed)
pub fn logsumexp<D: RemoveAxis>(
    x: &ArrayRef<f32, D>,
    axis: Axis,
) -> Array<f32, D::Smaller> {
    x.map_axis(axis, |lane| {
        let max = lane.fold(f32::NEG_INFINITY, |m, &v| m.max(v));
        if max == f32::NEG_INFINITY {
            return f32::NEG_INFINITY;
        }
        max + lane.fold(0.0, |s, &v| s + (v - max).exp()).ln()
    })
}

/// log softmax(x) = x - logsumexp(x), without ever forming softmax(x): log of a tiny
/// probability stays finite (-1e4, say) where log(softmax) would be log(0) = -inf.
// x: [.., n, ..] -> [.., n, ..]
pub fn log_softmax<D: RemoveAxis>(x: &ArrayRef<f32, D>, axis: Axis) -> Array<f32, D> {
    let lse = logsumexp(x, axis).insert_axis(axis);
    let mut y = x.to_owned();
    Zip::from(&mut y).and_broadcast(&lse).for_each(|v, &l| {
        *v = if l == f32::NEG_INFINITY {
            f32::NEG_INFINITY
        } else {
            *v - l
        }
    });
    y
}
// ANCHOR_END: logsumexp
