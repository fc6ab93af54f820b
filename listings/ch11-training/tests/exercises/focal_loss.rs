//! Exercise "focal loss": its gradient against finite differences, γ = 0 against the
//! chapter's cross-entropy, and the down-weighting of rows the model already gets right.

use ch01_foundations::gradcheck::GradCheck;
use ch01_foundations::init::{normal, seeded_rng};
use ch11_training::exercises::focal_loss::focal_loss;
use ch11_training::loss::{CrossEntropy, LossError};
use golden::max_abs_diff;
use ndarray::{Array2, array};

#[test]
fn gamma_zero_is_cross_entropy() {
    let logits: Array2<f32> = normal((6, 9), 2.0, &mut seeded_rng(1));
    let targets = [0, 8, 3, 3, 1, 5];
    let (loss, d) = focal_loss(&logits, &targets, 0.0).unwrap();
    let ce = CrossEntropy::default()
        .forward_backward(&logits, &targets)
        .unwrap();
    assert!((loss - ce.loss).abs() < 1e-6, "{loss} vs {}", ce.loss);
    assert!(max_abs_diff(&d.into_dyn(), &ce.dlogits.into_dyn()) < 1e-6);
}

#[test]
fn gradient_matches_finite_differences() {
    let logits: Array2<f32> = normal((5, 7), 2.0, &mut seeded_rng(2));
    let targets = [6, 0, 2, 2, 4];
    let check = GradCheck {
        eps: 1e-2,
        ..GradCheck::default()
    };
    for gamma in [0.5, 1.0, 2.0, 5.0] {
        let (_, d) = focal_loss(&logits, &targets, gamma).unwrap();
        let report =
            check.check(&logits, &d, |x| focal_loss(x, &targets, gamma).unwrap().0);
        report.assert_within(1e-2, &format!("focal loss, γ = {gamma}"));
    }
}

#[test]
fn easy_rows_lose_more_of_their_gradient_than_hard_ones() {
    // row 0: p_y ≈ 0.96 (easy); row 1: p_y ≈ 0.02 (hard)
    let logits = array![[4.0f32, 0.0, 0.0, 0.0], [0.0, 4.0, 0.0, 0.0]];
    let targets = [0, 0];
    let (_, focal) = focal_loss(&logits, &targets, 2.0).unwrap();
    let ce = CrossEntropy::default()
        .forward_backward(&logits, &targets)
        .unwrap()
        .dlogits;
    let ratio = |i: usize| {
        let n = |a: &Array2<f32>| a.row(i).mapv(|x| x * x).sum().sqrt();
        n(&focal) / n(&ce)
    };
    assert!(ratio(0) < 0.01, "easy row keeps {}", ratio(0));
    assert!(ratio(1) > 0.9, "hard row keeps {}", ratio(1));
    // a target p_y of exactly 1 gives a zero gradient, not NaN
    let (_, d) = focal_loss(&array![[100.0f32, 0.0]], &[0], 0.5).unwrap();
    assert!(d.iter().all(|x| x.is_finite()));
    assert_eq!(
        focal_loss(&logits, &[0, 4], 2.0),
        Err(LossError::Target {
            row: 1,
            target: 4,
            vocab: 4
        })
    );
}
