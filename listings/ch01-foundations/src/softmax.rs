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
/// becomes all zeros rather than the 0/0 = NaN the formula would give. A NaN anywhere in
/// a lane makes the whole lane NaN, so a diverged computation cannot pass as a number.
// x: [.., n, ..] -> [.., n, ..], each lane along `axis` sums to 1
pub fn softmax<D: Dimension>(x: &ArrayRef<f32, D>, axis: Axis) -> Array<f32, D> {
    let mut y = x.to_owned();
    for mut lane in y.lanes_mut(axis) {
        let max = lane.fold(f32::NEG_INFINITY, |m, &v| nan_max(m, v));
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

/// max(m, v) that lets a NaN win and stick; `f32::max` returns the other operand.
#[inline(always)]
pub fn nan_max(m: f32, v: f32) -> f32 {
    if v > m || v.is_nan() { v } else { m }
}

// ANCHOR: logsumexp
/// log Σ_i exp(x_i) along `axis`, as max + log Σ exp(x - max). An all -inf lane gives
/// -inf.
// x: [.., n, ..] -> [.., ..] (axis removed)
pub fn logsumexp<D: RemoveAxis>(
    x: &ArrayRef<f32, D>,
    axis: Axis,
) -> Array<f32, D::Smaller> {
    x.map_axis(axis, |lane| {
        let max = lane.fold(f32::NEG_INFINITY, |m, &v| nan_max(m, v));
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

// ANCHOR: exp
/// e^x in f32 without a library call, so that a loop over it compiles to SIMD code:
/// `f32::exp` is a call per element, and attention takes B·h·T² of them. Cephes' expf:
/// x = n·ln 2 + r with |r| ≤ ln 2 / 2, e^r by a polynomial, 2^n by writing n into the
/// float's exponent bits. Relative error below 5e-7 on [-87, 88.7] (tested against f64).
/// Outside it the answer is what f32 arithmetic gives: 0 below -87 (and for -inf, so a
/// masked score gets weight exactly 0), +inf above 88.7 (and for +inf), NaN for NaN: a
/// diverging run must show up as NaN, not be hidden as a weight of 0.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const ROUND: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
    let xc = x.clamp(-87.0, 88.7); // clamp keeps NaN, which then flows through
    let t = xc * LOG2E + ROUND;
    let n = t - ROUND;
    let r = xc - n * 0.693_359_4 - n * -2.121_944_4e-4; // x - n·ln 2 in two parts
    let p = 1.987_569_1e-4_f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_5e-1;
    let p = p * r + 0.5;
    let e_r = p * r * r + r + 1.0;
    // n ∈ [-126, 128]; 2^128 has no f32 exponent, so it is built as 2^127 · 2.
    let n = t.to_bits() as i32 - ROUND.to_bits() as i32;
    let top = (n > 127) as i32;
    let two_n = f32::from_bits(((n - top + 127) << 23) as u32);
    let y = e_r * two_n * (1 + top) as f32;
    if x < -87.0 {
        0.0
    } else if x > 88.7 {
        f32::INFINITY
    } else {
        y
    }
}
// ANCHOR_END: exp
