//! The exercises' solutions.

use ch01_foundations::init::seeded_rng;
use ch12_inference::exercises::speculative_length::{expected_tokens, simulated_tokens};

/// The formula against 100,000 seeded simulated passes. A pass emits between 1 and
/// k + 1 ≤ 9 tokens, so its standard deviation is at most 4 and the mean's standard
/// error at most 4/√100000 ≈ 0.013: the tolerance 0.05 is about 4 standard errors.
#[test]
fn expected_accepted_length_matches_simulation() {
    let mut rng = seeded_rng(12);
    for alpha in [0.0, 0.3, 0.6, 0.8, 0.95, 1.0] {
        for k in [1, 4, 8] {
            let (f, s) = (
                expected_tokens(alpha, k),
                simulated_tokens(alpha, k, 100_000, &mut rng),
            );
            assert!(
                (f - s).abs() < 0.05,
                "alpha {alpha}, k {k}: formula {f}, simulated {s}"
            );
        }
    }
    assert_eq!(expected_tokens(0.0, 5), 1.0);
    assert_eq!(expected_tokens(1.0, 5), 6.0);
}
