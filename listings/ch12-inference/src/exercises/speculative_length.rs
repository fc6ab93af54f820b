//! Exercise: how many tokens does one target pass of speculative decoding emit?

use rand::{Rng, RngExt};

// ANCHOR: expected_tokens
/// If each of the k draft tokens is kept independently with probability α, a target
/// pass emits the kept prefix plus one token: 1 + α + α² + … + α^k = (1 − α^{k+1}) /
/// (1 − α) in expectation (k + 1 at α = 1).
pub fn expected_tokens(alpha: f64, k: usize) -> f64 {
    assert!(
        (0.0..=1.0).contains(&alpha),
        "alpha = {alpha} is not a probability"
    );
    if alpha == 1.0 {
        return (k + 1) as f64;
    }
    (1.0 - alpha.powi(k as i32 + 1)) / (1.0 - alpha)
}

/// The same by simulation: keep draft tokens while a coin with P(heads) = α says so,
/// at most k, then add the target's own token; the mean over `trials` passes.
pub fn simulated_tokens(alpha: f64, k: usize, trials: usize, rng: &mut impl Rng) -> f64 {
    let total: usize = (0..trials)
        .map(|_| (0..k).take_while(|_| rng.random::<f64>() < alpha).count() + 1)
        .sum();
    total as f64 / trials as f64
}
// ANCHOR_END: expected_tokens
