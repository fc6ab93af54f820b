//! Exercise "stochastic rounding": bf16 accumulation of small updates.

use ch11_training::exercises::stochastic_rounding::{accumulate_bf16, bf16_stochastic};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

#[test]
fn stochastic_rounding_lands_on_a_neighbour_and_is_unbiased() {
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let x = 1.0 + 1e-3; // between bf16's 1 and 1 + 2^-7
    let (lo, hi) = (1.0f32, 1.0 + 2f32.powi(-7));
    let n = 100_000;
    let mut sum = 0.0f64;
    for _ in 0..n {
        let r = bf16_stochastic(x, &mut rng);
        assert!(r == lo || r == hi, "{r}");
        sum += f64::from(r);
    }
    // the mean of n draws has standard deviation < 2^-8 / sqrt(n) ≈ 1.2e-5: allow 5e-5
    assert!(
        (sum / n as f64 - f64::from(x)).abs() < 5e-5,
        "{}",
        sum / n as f64
    );
    assert_eq!(bf16_stochastic(2.0, &mut rng), 2.0, "a bf16 value is kept");
    assert!(bf16_stochastic(f32::NAN, &mut rng).is_nan());
    assert_eq!(bf16_stochastic(-0.0, &mut rng), 0.0);
}

#[test]
fn small_updates_vanish_with_nearest_rounding_and_survive_stochastic() {
    let (w, delta, steps) = (1.0, 1e-4, 1000); // exact sum 1.1
    assert_eq!(
        accumulate_bf16(w, delta, steps, None),
        1.0,
        "every update lost"
    );
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut round = |x: f32| bf16_stochastic(x, &mut rng);
    // one run is a random walk on bf16's grid (spacing 2^-7, about 0.03 standard
    // deviation after 1000 steps); the mean of 200 runs is within 0.002 of 1.1: allow 0.01
    let runs = 200;
    let mean = (0..runs)
        .map(|_| accumulate_bf16(w, delta, steps, Some(&mut round)))
        .sum::<f32>()
        / runs as f32;
    assert!((mean - 1.1).abs() < 0.01, "{mean}");
}
