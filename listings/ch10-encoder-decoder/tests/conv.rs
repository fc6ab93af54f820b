//! The conv stem: PyTorch's conv1d + GELU on the same weights (forward and every
//! gradient), and finite differences on the book's own backward.

mod common;

use ch01_foundations::gradcheck::GradCheck;
use ch01_foundations::init::seeded_rng;
use ch10_encoder_decoder::conv::{Conv1d, ConvStem};
use ndarray::{Array1, Array2, Array3, ArrayD, IxDyn};
use serde_json::Value;

fn tensor(v: &Value) -> ArrayD<f32> {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), common::floats(&v["data"])).unwrap()
}

fn stem_from(case: &Value) -> ConvStem {
    let w = |n: &str| {
        tensor(&case[n])
            .into_dimensionality::<ndarray::Ix3>()
            .unwrap()
    };
    let b = |n: &str| {
        tensor(&case[n])
            .into_dimensionality::<ndarray::Ix1>()
            .unwrap()
    };
    ConvStem::new(
        Conv1d::from_params(w("w1"), b("b1"), 1, 1),
        Conv1d::from_params(w("w2"), b("b2"), 2, 1),
    )
}

fn max_abs_diff(a: &ArrayD<f32>, b: &ArrayD<f32>) -> f32 {
    assert_eq!(a.shape(), b.shape());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

/// Tolerance: f32 sums of at most 3·8 products of O(1) values against PyTorch in f64.
const TOL: f32 = 2e-5;

#[test]
fn the_stem_matches_pytorch_forward_and_backward() {
    let cases = common::fixture("conv.json");
    for (name, case) in cases.as_object().unwrap() {
        let mut stem = stem_from(case);
        let mel = tensor(&case["mel"])
            .into_dimensionality::<ndarray::Ix2>()
            .unwrap();
        let y = stem.forward(&mel); // [T_out, C]
        let expected = tensor(&case["y"]); // [C, T_out]
        let err = max_abs_diff(&y.t().to_owned().into_dyn(), &expected);
        assert!(err < TOL, "{name}: y differs by {err}");
        let r = tensor(&case["r"])
            .into_dimensionality::<ndarray::Ix2>()
            .unwrap();
        let dmel = stem.backward(&r.t().as_standard_layout().into_owned());
        let checks = [
            ("dmel", dmel.into_dyn()),
            ("dw1", stem.conv1.w.grad.clone().into_dyn()),
            ("db1", stem.conv1.b.grad.clone().into_dyn()),
            ("dw2", stem.conv2.w.grad.clone().into_dyn()),
            ("db2", stem.conv2.b.grad.clone().into_dyn()),
        ];
        for (g, ours) in checks {
            let err = max_abs_diff(&ours, &tensor(&case[g]));
            assert!(err < TOL, "{name}: {g} differs by {err}");
        }
    }
}

#[test]
fn conv1d_backward_matches_finite_differences() {
    // Strides 1 to 3, padding 0 to 2, kernel 3, lengths that leave a remainder.
    for (stride, padding, t) in [(1, 1, 7), (2, 1, 9), (2, 0, 8), (3, 2, 10)] {
        let mut rng = seeded_rng(stride as u64 * 10 + padding as u64);
        let mut conv = Conv1d::new(3, 4, 3, stride, padding, &mut rng);
        conv.b.value = Array1::from_iter((0..4).map(|i| 0.1 * i as f32 - 0.15));
        let x = ch01_foundations::init::normal((t, 3), 1.0, &mut rng);
        let reports = GradCheck::default().check_layer(
            &mut conv,
            &x,
            7,
            |c, x| c.forward(x),
            |c, dy| c.backward(dy),
        );
        for (what, report) in reports {
            report.assert_within(1e-2, &format!("conv1d s={stride} p={padding} {what}"));
        }
    }
}

#[test]
fn the_stem_backward_matches_finite_differences() {
    let mut rng = seeded_rng(3);
    let mut stem = ConvStem::new(
        Conv1d::new(5, 6, 3, 1, 1, &mut rng),
        Conv1d::new(6, 6, 3, 2, 1, &mut rng),
    );
    let mel: Array2<f32> = ch01_foundations::init::normal((5, 11), 1.0, &mut rng);
    let reports = GradCheck::default().check_layer(
        &mut stem,
        &mel,
        11,
        |s, x| s.forward(x).t().as_standard_layout().into_owned(),
        |s, dy| s.backward(&dy.t().as_standard_layout().into_owned()),
    );
    for (what, report) in reports {
        report.assert_within(1e-2, &format!("stem {what}"));
    }
}

#[test]
fn output_lengths_follow_the_formula() {
    let mut rng = seeded_rng(0);
    let conv2 = Conv1d::from_params(Array3::zeros((2, 2, 3)), Array1::zeros(2), 2, 1);
    assert_eq!(conv2.out_len(3000), 1500);
    assert_eq!(conv2.out_len(3001), 1501);
    let conv1 = Conv1d::new(2, 2, 3, 1, 1, &mut rng);
    assert_eq!(conv1.out_len(3000), 3000);
}
