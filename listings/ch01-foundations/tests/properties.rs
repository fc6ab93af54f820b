//! Property tests: what must hold for every input, not just the examples in the text.

use ch01_foundations::exercises::online_logsumexp;
use ch01_foundations::init::seeded_rng;
use ch01_foundations::probability::{kl_divergence, sample_categorical};
use ch01_foundations::softmax::{log_softmax, logsumexp, softmax};
use ndarray::{Array1, Axis};
use proptest::prelude::*;

fn logits(range: f32) -> impl Strategy<Value = Vec<f32>> {
    prop::collection::vec(-range..range, 1..40)
}

proptest! {
    #[test]
    fn softmax_sums_to_one(z in logits(1e4)) {
        let p = softmax(&Array1::from(z), Axis(0));
        prop_assert!((p.sum() - 1.0).abs() < 1e-5, "sum = {}", p.sum());
        prop_assert!(p.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }

    #[test]
    fn softmax_is_invariant_to_adding_a_constant(z in logits(50.0), c in -1e3f32..1e3) {
        let z = Array1::from(z);
        let p = softmax(&z, Axis(0));
        let shifted = softmax(&(&z + c), Axis(0));
        // z + c is rounded to f32: at |c| ≤ 1e3 that moves each logit by ≤ 6e-5.
        for (a, b) in p.iter().zip(&shifted) {
            prop_assert!((a - b).abs() < 1e-4, "{a} vs {b} after adding {c}");
        }
    }

    #[test]
    fn no_nan_or_inf_at_extreme_logits(z in prop::collection::vec(prop_oneof![Just(1e4f32), Just(-1e4f32), -1e4f32..1e4], 1..40)) {
        let z = Array1::from(z);
        prop_assert!(softmax(&z, Axis(0)).iter().all(|v| v.is_finite()));
        prop_assert!(log_softmax(&z, Axis(0)).iter().all(|v| v.is_finite()));
        prop_assert!(logsumexp(&z, Axis(0)).into_scalar().is_finite());
    }

    #[test]
    fn logsumexp_lies_between_max_and_max_plus_log_n(z in logits(100.0)) {
        let n = z.len() as f32;
        let max = z.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let lse = logsumexp(&Array1::from(z), Axis(0)).into_scalar();
        prop_assert!(lse >= max - 1e-4 && lse <= max + n.ln() + 1e-4, "lse {lse}, max {max}");
    }

    #[test]
    fn online_logsumexp_agrees_with_two_pass(z in logits(100.0)) {
        let two_pass = logsumexp(&Array1::from(z.clone()), Axis(0)).into_scalar();
        let online = online_logsumexp(z);
        prop_assert!((online - two_pass).abs() <= 1e-4 * two_pass.abs().max(1.0), "{online} vs {two_pass}");
    }

    #[test]
    fn sampling_never_returns_an_impossible_index(p in prop::collection::vec(prop_oneof![Just(0.0f32), 0.0f32..1.0], 1..20), seed in any::<u64>()) {
        prop_assume!(p.iter().sum::<f32>() > 0.0);
        let p = Array1::from(p);
        let mut rng = seeded_rng(seed);
        for _ in 0..50 {
            let i = sample_categorical(&p, &mut rng);
            prop_assert!(p[i] > 0.0, "drew index {i} with probability 0");
        }
    }

    #[test]
    fn kl_is_non_negative_and_zero_on_itself(a in logits(5.0), b_seed in any::<u64>()) {
        let p = softmax(&Array1::from(a.clone()), Axis(0));
        let b: Array1<f32> = ch01_foundations::init::normal(a.len(), 2.0, &mut seeded_rng(b_seed));
        let q = softmax(&b, Axis(0));
        prop_assert!(kl_divergence(&p, &q) >= -1e-6);
        prop_assert!(kl_divergence(&p, &p).abs() < 1e-6);
    }
}

#[test]
fn fast_exp_matches_f64_exp_and_keeps_nan_and_infinities() {
    use ch01_foundations::softmax::exp;
    let mut worst = 0.0f64;
    let (lo, hi, steps) = (-87.0f64, 88.7f64, 400_000);
    for i in 0..=steps {
        let x = (lo + (hi - lo) * i as f64 / steps as f64) as f32;
        let want = (x as f64).exp();
        worst = worst.max((exp(x) as f64 - want).abs() / want);
    }
    assert!(worst < 5e-7, "relative error {worst:.2e} on [-87, 88.7]");
    assert_eq!(exp(0.0), 1.0);
    assert_eq!(exp(-87.5), 0.0, "below -87 underflows to 0");
    assert_eq!(exp(f32::NEG_INFINITY), 0.0, "a masked score gets weight 0");
    assert_eq!(exp(88.8), f32::INFINITY, "above 88.7 overflows to +inf");
    assert_eq!(exp(f32::INFINITY), f32::INFINITY);
    assert!(
        exp(f32::NAN).is_nan(),
        "NaN must propagate, not become a number"
    );
}

#[test]
fn a_nan_logit_makes_its_lane_nan() {
    use ndarray::array;
    let z = array![
        [1.0, f32::NAN, 3.0],
        [1.0, 2.0, 3.0],
        [f32::NAN, f32::NAN, f32::NAN]
    ];
    let p = softmax(&z, Axis(1));
    assert!(p.row(0).iter().all(|v| v.is_nan()), "{p:?}");
    assert!((p.row(1).sum() - 1.0).abs() < 1e-6);
    assert!(
        p.row(2).iter().all(|v| v.is_nan()),
        "an all-NaN lane is NaN, not 0"
    );
    let lse = logsumexp(&z, Axis(1));
    assert!(lse[0].is_nan() && lse[2].is_nan() && lse[1].is_finite());
}
