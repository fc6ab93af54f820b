//! Tier 1: every backward pass of the chapter against central finite differences, and
//! proof that the checker itself fails when a gradient is wrong.

use ch01_foundations::calculus::{matmul_backward, softmax_cross_entropy};
use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch01_foundations::regression::SoftmaxRegression;
use ndarray::{Array2, Ix2};

/// Relative tolerance for f32 central differences with h = 3e-3 (see GradCheck::eps).
const TOL: f32 = 1e-2;

fn upstream(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    random_upstream(&[rows, cols], seed)
        .into_dimensionality::<Ix2>()
        .unwrap()
}

#[test]
fn matmul_gradients_match_finite_differences() {
    let mut rng = seeded_rng(1);
    let x: Array2<f32> = normal((5, 7), 1.0, &mut rng);
    let w: Array2<f32> = normal((7, 3), 1.0, &mut rng);
    let r = upstream(5, 3, 2);
    let (dx, dw) = matmul_backward(&x, &w, &r);
    let check = GradCheck {
        max_elements: usize::MAX,
        ..GradCheck::default()
    };
    check
        .check(&x, &dx, |x| (x.dot(&w) * &r).sum())
        .assert_within(TOL, "matmul dX");
    check
        .check(&w, &dw, |w| (x.dot(w) * &r).sum())
        .assert_within(TOL, "matmul dW");
}

#[test]
fn softmax_cross_entropy_gradient_matches_finite_differences() {
    let logits: Array2<f32> = normal((6, 10), 3.0, &mut seeded_rng(3));
    let targets = [0, 9, 4, 4, 1, 7];
    let (_, dlogits) = softmax_cross_entropy(&logits, &targets);
    let check = GradCheck {
        max_elements: usize::MAX,
        ..GradCheck::default()
    };
    let report = check.check(&logits, &dlogits, |z| softmax_cross_entropy(z, &targets).0);
    assert_eq!(report.checked, 60);
    report.assert_within(TOL, "softmax + cross-entropy");
}

#[test]
fn module_parameter_gradients_match_finite_differences() {
    let mut rng = seeded_rng(4);
    let mut model = SoftmaxRegression::new(4, 3, &mut rng);
    // Non-zero bias so the check is not at a special point.
    model.b.value = normal(3, 0.5, &mut rng);
    let x: Array2<f32> = normal((8, 4), 1.0, &mut rng);
    let y = [0, 1, 2, 2, 1, 0, 0, 1];
    model.zero_grad();
    let logits = model.forward(&x);
    let (_, dlogits) = softmax_cross_entropy(&logits, &y);
    model.backward(&dlogits);
    let reports = GradCheck::default()
        .check_module(&mut model, |m| softmax_cross_entropy(&m.forward(&x), &y).0);
    let names: Vec<&str> = reports.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["w", "b"]);
    for (name, report) in &reports {
        report.assert_within(TOL, name);
    }
}

#[test]
fn module_input_gradient_matches_finite_differences() {
    let mut rng = seeded_rng(5);
    let mut model = SoftmaxRegression::new(4, 3, &mut rng);
    let x: Array2<f32> = normal((8, 4), 1.0, &mut rng);
    let y = [2, 1, 0, 2, 1, 0, 0, 1];
    let (_, dlogits) = softmax_cross_entropy(&model.forward(&x), &y);
    let dx = model.backward(&dlogits);
    GradCheck::default()
        .check(&x, &dx, |x| softmax_cross_entropy(&model.forward(x), &y).0)
        .assert_within(TOL, "softmax regression dX");
}

#[test]
fn checker_reports_a_wrong_gradient_and_where_it_is() {
    let mut rng = seeded_rng(6);
    let x: Array2<f32> = normal((4, 4), 1.0, &mut rng);
    let w: Array2<f32> = normal((4, 4), 1.0, &mut rng);
    let r = upstream(4, 4, 7);
    let (mut dx, _) = matmul_backward(&x, &w, &r);
    dx[[2, 3]] += 0.5; // one wrong element
    let report = GradCheck::default().check(&x, &dx, |x| (x.dot(&w) * &r).sum());
    assert!(
        report.max_rel_error > 0.05,
        "the checker missed a wrong element: {report}"
    );
    assert_eq!(report.worst_index, vec![2, 3]);
    let caught =
        std::panic::catch_unwind(|| report.assert_within(TOL, "deliberately wrong dX"));
    assert!(caught.is_err(), "assert_within accepted a wrong gradient");
}

#[test]
fn checker_reports_a_transposed_gradient() {
    // A classic bug: X G instead of Xᵀ G. Square shapes so the wrong answer type-checks.
    let mut rng = seeded_rng(8);
    let x: Array2<f32> = normal((3, 3), 1.0, &mut rng);
    let w: Array2<f32> = normal((3, 3), 1.0, &mut rng);
    let r = upstream(3, 3, 9);
    let wrong_dw = x.dot(&r);
    let report = GradCheck::default().check(&w, &wrong_dw, |w| (x.dot(w) * &r).sum());
    assert!(
        report.max_rel_error > 0.1,
        "transposed gradient not caught: {report}"
    );
}

#[test]
fn checker_treats_nan_as_failure() {
    let x = Array2::<f32>::ones((2, 2));
    let mut g = Array2::<f32>::ones((2, 2));
    g[[0, 1]] = f32::NAN;
    let report = GradCheck::default().check(&x, &g, |x| x.sum());
    assert!(report.max_rel_error.is_infinite());
    assert_eq!(report.worst_index, vec![0, 1]);
}

#[test]
fn checker_probes_evenly_spaced_elements_of_large_tensors() {
    let x = Array2::<f32>::zeros((100, 100));
    let g = Array2::<f32>::from_elem((100, 100), 2.0);
    let report = GradCheck {
        max_elements: 10,
        ..GradCheck::default()
    }
    .check(&x, &g, |x| 2.0 * x.sum());
    assert_eq!(report.checked, 10);
    assert!(report.max_rel_error < 1e-3, "{report}");
}
