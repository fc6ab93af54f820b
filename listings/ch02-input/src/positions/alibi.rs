//! ALiBi: attention with linear biases (section "ALiBi"). No vectors are added to the
//! input at all; each head penalises attention scores by its slope times the distance.

use ndarray::{Array1, Array2, Array3, Axis};

// ANCHOR: alibi_slopes
/// The per-head slopes of the ALiBi reference implementation (Press et al., 2022).
/// For n a power of two: m_h = 2^(-8h/n), h = 1..=n, a geometric sequence from 2^(-8/n)
/// down to 2^-8. Otherwise: the slopes for p = 2^⌊log2 n⌋ heads, then the first n - p of
/// every other slope for 2p heads, which fall between the first p.
// n_heads -> slopes: [n_heads]
pub fn alibi_slopes(n_heads: usize) -> Vec<f32> {
    assert!(n_heads > 0, "alibi: need at least one head");
    fn power_of_two(n: usize) -> Vec<f64> {
        let start = 2f64.powf(-8.0 / n as f64);
        (0..n).map(|i| start * start.powi(i as i32)).collect()
    }
    let slopes = if n_heads.is_power_of_two() {
        power_of_two(n_heads)
    } else {
        let p = 1 << n_heads.ilog2();
        let mut slopes = power_of_two(p);
        slopes.extend(power_of_two(2 * p).into_iter().step_by(2).take(n_heads - p));
        slopes
    };
    slopes.into_iter().map(|m| m as f32).collect()
}
// ANCHOR_END: alibi_slopes

// ANCHOR: alibi_bias
/// bias[h, i, j] = -m_h · (i - j) for keys j ≤ i, and -inf for j > i: ALiBi was designed
/// for causal language models, and a key in the future gets no attention whatever its
/// score. Added to the scores q_i · k_j / √d before the softmax.
// (slopes: [H], T) -> bias: [H, T, T]
pub fn alibi_bias(slopes: &[f32], t: usize) -> Array3<f32> {
    // distance[i, j] = i - j on and below the diagonal, +inf above it.
    let distance = Array2::from_shape_fn((t, t), |(i, j)| {
        if j <= i {
            (i - j) as f32
        } else {
            f32::INFINITY
        }
    });
    let m = Array1::from(slopes.to_vec())
        .insert_axis(Axis(1))
        .insert_axis(Axis(2)); // [H, 1, 1]
    -(&m * &distance.insert_axis(Axis(0))) // [H, 1, 1] * [1, T, T] -> [H, T, T]
}
// ANCHOR_END: alibi_bias
