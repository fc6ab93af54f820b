//! The fused cross-entropy: against torch.nn.functional.cross_entropy (and PaLM's z-loss
//! written out in torch) from tools/golden/ch11_loss.py, against central finite
//! differences, against Chapters 1 and 7's losses it generalises, and its errors.

use ch01_foundations::calculus::softmax_cross_entropy;
use ch01_foundations::gradcheck::GradCheck;
use ch01_foundations::init::{normal, seeded_rng};
use ch07_transformer::loss::label_smoothed_cross_entropy;
use ch11_training::loss::{CrossEntropy, LossError, Reduction};
use golden::{Fixture, max_abs_diff};
use ndarray::{Array2, Ix2};

fn fixture() -> Fixture {
    Fixture::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/ch11_loss.json"
    ))
    .unwrap()
}

/// The case's settings as the fixture states them.
fn settings(fx: &Fixture, case: &str) -> CrossEntropy {
    let c = &fx.cases()[case];
    CrossEntropy {
        ignore_index: c["ignore_index"].as_u64().map(|i| i as usize),
        label_smoothing: c["label_smoothing"].as_f64().unwrap() as f32,
        z_loss: c["z_loss"].as_f64().unwrap() as f32,
        reduction: match c["reduction"].as_str().unwrap() {
            "mean" => Reduction::Mean,
            "sum" => Reduction::Sum,
            other => panic!("{case}: unknown reduction {other}"),
        },
    }
}

/// Tolerance: 2e-6 relative on the loss and 1e-6 absolute on dlogits (entries are at
/// most 1 in size): float32 rounding of a different order of summation, nothing more.
#[test]
fn golden_vs_torch_cross_entropy() {
    let fx = fixture();
    let names: Vec<String> = fx.cases().as_object().unwrap().keys().cloned().collect();
    assert_eq!(names.len(), 13);
    let (mut worst_loss, mut worst_grad) = (0.0f32, 0.0f32);
    for case in &names {
        let logits: Array2<f32> = fx.array::<Ix2>(case, "logits").unwrap();
        let targets = fx.indices(case, "targets").unwrap();
        let want_loss = fx.tensor(case, "loss").unwrap().into_iter().next().unwrap();
        let want_grad = fx.tensor(case, "dlogits").unwrap();
        let ours = settings(&fx, case)
            .forward_backward(&logits, &targets)
            .unwrap();
        let grad_err = max_abs_diff(&ours.dlogits.clone().into_dyn(), &want_grad);
        if case == "all_ignored_mean" {
            // torch divides 0 by 0 rows; ours reports 0 and the same zero gradient
            assert!(want_loss.is_nan(), "torch's mean over no rows is NaN");
            assert_eq!((ours.loss, ours.counted), (0.0, 0));
        } else {
            let rel = (ours.loss - want_loss).abs() / want_loss.abs().max(1.0);
            eprintln!(
                "{case}: loss {} vs {want_loss} (rel {rel:.1e}), dlogits {grad_err:.1e}",
                ours.loss
            );
            assert!(
                rel <= 2e-6,
                "{case}: loss {} vs torch {want_loss}",
                ours.loss
            );
            worst_loss = worst_loss.max(rel);
        }
        assert!(grad_err <= 1e-6, "{case}: dlogits differ by {grad_err:.1e}");
        worst_grad = worst_grad.max(grad_err);
    }
    eprintln!("worst: loss relative {worst_loss:.1e}, dlogits absolute {worst_grad:.1e}");
}

#[test]
fn gradient_matches_finite_differences() {
    let mut rng = seeded_rng(3);
    let logits: Array2<f32> = normal((5, 9), 2.0, &mut rng);
    let targets = [4, 0, 8, 0, 2];
    let settings = [
        (None, 0.0, 0.0, Reduction::Mean),
        (Some(0), 0.0, 0.0, Reduction::Mean),
        (Some(0), 0.1, 0.0, Reduction::Sum),
        (None, 0.3, 1e-2, Reduction::Mean),
        (Some(0), 0.1, 0.5, Reduction::Sum), // a big z-loss, so its term is not lost
    ];
    let check = GradCheck {
        eps: 1e-2,
        ..GradCheck::default()
    };
    for (ignore_index, label_smoothing, z_loss, reduction) in settings {
        let ce = CrossEntropy {
            ignore_index,
            label_smoothing,
            z_loss,
            reduction,
        };
        let analytic = ce.forward_backward(&logits, &targets).unwrap().dlogits;
        let report = check.check(&logits, &analytic, |x| {
            ce.forward_backward(x, &targets).unwrap().loss
        });
        report.assert_within(1e-2, &format!("{ce:?}"));
    }
}

#[test]
fn special_cases_are_chapter_1_and_chapter_7() {
    let mut rng = seeded_rng(4);
    let logits: Array2<f32> = normal((6, 10), 2.0, &mut rng);
    let targets = [3, 0, 9, 1, 0, 5];
    // no smoothing, nothing ignored: Chapter 1's softmax_cross_entropy
    let ours = CrossEntropy::default()
        .forward_backward(&logits, &targets)
        .unwrap();
    let (loss, dlogits) = softmax_cross_entropy(&logits, &targets);
    assert!((ours.loss - loss).abs() < 1e-6, "{} vs {loss}", ours.loss);
    assert!(max_abs_diff(&ours.dlogits.into_dyn(), &dlogits.into_dyn()) < 1e-6);
    // padding id 0 ignored, ε = 0.1: Chapter 7's label_smoothed_cross_entropy
    let ce = CrossEntropy {
        ignore_index: Some(0),
        label_smoothing: 0.1,
        ..CrossEntropy::default()
    };
    let ours = ce.forward_backward(&logits, &targets).unwrap();
    let (loss, dlogits) = label_smoothed_cross_entropy(&logits, &targets, 0, 0.1);
    assert_eq!(ours.counted, 4);
    assert!((ours.loss - loss).abs() < 1e-6, "{} vs {loss}", ours.loss);
    assert!(max_abs_diff(&ours.dlogits.into_dyn(), &dlogits.into_dyn()) < 1e-6);
}

#[test]
fn sum_is_mean_times_count_and_rows_of_the_gradient_sum_to_zero() {
    let mut rng = seeded_rng(5);
    let logits: Array2<f32> = normal((8, 12), 3.0, &mut rng);
    let targets = [1, 2, 0, 0, 11, 3, 0, 7];
    let mean = CrossEntropy {
        ignore_index: Some(0),
        label_smoothing: 0.2,
        ..CrossEntropy::default()
    };
    let sum = CrossEntropy {
        reduction: Reduction::Sum,
        ..mean
    };
    let (m, s) = (
        mean.forward_backward(&logits, &targets).unwrap(),
        sum.forward_backward(&logits, &targets).unwrap(),
    );
    assert_eq!((m.counted, s.counted), (5, 5));
    assert!((s.loss - 5.0 * m.loss).abs() < 1e-5 * s.loss);
    // Σ_j (p_j - q_j) = 1 - 1: moving every logit of a row together changes nothing
    for row in s.dlogits.rows() {
        assert!(row.sum().abs() < 1e-6, "row sums to {}", row.sum());
    }
}

#[test]
fn bad_input_is_an_error_naming_it() {
    let logits = Array2::<f32>::zeros((3, 4));
    let ce = CrossEntropy::default();
    assert_eq!(
        ce.forward_backward(&logits, &[0, 1]),
        Err(LossError::Rows {
            rows: 3,
            targets: 2
        })
    );
    let err = ce.forward_backward(&logits, &[0, 4, 1]).unwrap_err();
    assert_eq!(
        err,
        LossError::Target {
            row: 1,
            target: 4,
            vocab: 4
        }
    );
    assert_eq!(
        err.to_string(),
        "cross-entropy: target 4 at row 1 is out of range for 4 classes"
    );
    // an ignore index may lie outside the vocabulary, like PyTorch's -100
    let pad = CrossEntropy {
        ignore_index: Some(usize::MAX),
        ..ce
    };
    assert_eq!(
        pad.forward_backward(&logits, &[0, usize::MAX, 1])
            .unwrap()
            .counted,
        2
    );
    let smooth = CrossEntropy {
        label_smoothing: 1.5,
        ..ce
    };
    assert_eq!(
        smooth.forward_backward(&logits, &[0, 1, 2]),
        Err(LossError::Smoothing(1.5))
    );
    let z = CrossEntropy {
        z_loss: -1e-4,
        ..ce
    };
    assert_eq!(
        z.forward_backward(&logits, &[0, 1, 2]),
        Err(LossError::ZLoss(-1e-4))
    );
}
