//! Distributions, sampling, entropy, cross-entropy and KL (section "Probability").

use ndarray::ArrayRef1;
use rand::{Rng, RngExt};

// ANCHOR: sample_categorical
/// Draws index i with probability p_i by inverting the cumulative distribution: draw
/// u ~ U[0, total) and return the first i whose running sum passes u. `p` need not sum
/// to exactly 1 (rounding never does), only to something positive.
// p: [n] -> index in 0..n
pub fn sample_categorical(p: &ArrayRef1<f32>, rng: &mut impl Rng) -> usize {
    assert!(!p.is_empty(), "sample_categorical: empty distribution");
    assert!(
        p.iter().all(|&x| x.is_finite() && x >= 0.0),
        "sample_categorical: probabilities must be finite and non-negative, got {p}"
    );
    let total: f32 = p.sum();
    assert!(total > 0.0, "sample_categorical: probabilities sum to zero");
    let u = rng.random::<f32>() * total;
    let mut cumulative = 0.0;
    for (i, &p_i) in p.iter().enumerate() {
        cumulative += p_i;
        if u < cumulative {
            return i;
        }
    }
    // Rounding can leave u just above the final running sum: give the last index that
    // has any mass, never one with p = 0.
    p.iter().rposition(|&x| x > 0.0).expect("total > 0")
}
// ANCHOR_END: sample_categorical

/// Index of the largest value, the first one on ties: the greedy choice, which sampling
/// at temperature T → 0 approaches. Classification accuracy and greedy decoding use it.
pub fn argmax(values: impl IntoIterator<Item = f32>) -> usize {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, v) in values.into_iter().enumerate() {
        if v > best.1 {
            best = (i, v);
        }
    }
    best.0
}

// ANCHOR: entropy
/// Entropy H(p) = -Σ p_i ln p_i in nats, with 0 · ln 0 = 0: the average surprise of a
/// draw from p, and the fewest nats per symbol any code for p can use.
// p: [n] -> scalar
pub fn entropy(p: &ArrayRef1<f32>) -> f32 {
    -p.iter()
        .filter(|&&x| x > 0.0)
        .map(|&x| x * x.ln())
        .sum::<f32>()
}

/// Cross-entropy H(p, q) = -Σ p_i ln q_i: the average surprise of draws from p under a
/// model q. Infinite if q gives zero probability to something p can produce.
// p, q: [n] -> scalar
pub fn cross_entropy(p: &ArrayRef1<f32>, q: &ArrayRef1<f32>) -> f32 {
    assert_eq!(
        p.len(),
        q.len(),
        "cross_entropy: p has {} entries, q has {}",
        p.len(),
        q.len()
    );
    -p.iter()
        .zip(q)
        .filter(|&(&pi, _)| pi > 0.0)
        .map(|(&pi, &qi)| pi * qi.ln())
        .sum::<f32>()
}
// ANCHOR_END: entropy

// ANCHOR: kl_divergence
/// Kullback–Leibler divergence KL(p ‖ q) = Σ p_i ln(p_i / q_i) = H(p, q) - H(p) ≥ 0:
/// the extra nats paid for modelling p with q. Zero exactly when q = p.
// p, q: [n] -> scalar
pub fn kl_divergence(p: &ArrayRef1<f32>, q: &ArrayRef1<f32>) -> f32 {
    assert_eq!(
        p.len(),
        q.len(),
        "kl_divergence: p has {} entries, q has {}",
        p.len(),
        q.len()
    );
    p.iter()
        .zip(q)
        .filter(|&(&pi, _)| pi > 0.0)
        .map(|(&pi, &qi)| pi * (pi / qi).ln())
        .sum()
}
// ANCHOR_END: kl_divergence

/// Expectation E_p[f] = Σ p_i f(i).
// p: [n] -> scalar
pub fn expectation(p: &ArrayRef1<f32>, f: impl Fn(usize) -> f32) -> f32 {
    p.iter().enumerate().map(|(i, &pi)| pi * f(i)).sum()
}
