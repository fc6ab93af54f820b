//! Adam, the Noam schedule and gradient clipping: properties, and a golden run against
//! torch.optim.Adam + LambdaLR + clip_grad_norm_ (tools/golden/ch07_optim.py).

use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ch07_transformer::optim::{Adam, clip_grad_norm, noam_lr};
use golden::{Fixture, max_abs_diff};
use ndarray::{Array1, Array2, Ix1, Ix2, array};

/// Two parameters of different ranks, named like a real model's.
struct Toy {
    a: Param<Ix2>,
    b: Param<Ix1>,
}

impl Module for Toy {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("layer.a", self.a.view());
        f("layer.b", self.b.view());
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("layer.a", self.a.view_mut());
        f("layer.b", self.b.view_mut());
    }
}

fn toy(a: Array2<f32>, b: Array1<f32>) -> Toy {
    Toy {
        a: Param::new(a),
        b: Param::new(b),
    }
}

#[test]
fn golden_adam_noam_clip_vs_torch() {
    let fx = Fixture::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/optim.json"
    ))
    .unwrap();
    let a = fx
        .tensor("init", "a")
        .unwrap()
        .into_dimensionality()
        .unwrap();
    let b = fx
        .tensor("init", "b")
        .unwrap()
        .into_dimensionality()
        .unwrap();
    let mut model = toy(a, b);
    let mut adam = Adam::new(0.9, 0.98, 1e-9);
    let (mut worst_value, mut worst_lr, mut worst_norm) = (0.0f32, 0.0f32, 0.0f32);
    for t in 1..=6 {
        let case = format!("step{t}");
        model.a.grad = fx
            .tensor(&case, "grad_a")
            .unwrap()
            .into_dimensionality()
            .unwrap();
        model.b.grad = fx
            .tensor(&case, "grad_b")
            .unwrap()
            .into_dimensionality()
            .unwrap();
        let lr = noam_lr(t, 64, 3, 2.0);
        worst_lr = worst_lr.max((lr - fx.scalar(&case, "lr").unwrap()).abs());
        let norm = clip_grad_norm(&mut model, 1.0);
        worst_norm = worst_norm.max((norm - fx.scalar(&case, "norm").unwrap()).abs());
        adam.step(&mut model, lr);
        let da = max_abs_diff(
            &model.a.value.clone().into_dyn(),
            &fx.tensor(&case, "a").unwrap(),
        );
        let db = max_abs_diff(
            &model.b.value.clone().into_dyn(),
            &fx.tensor(&case, "b").unwrap(),
        );
        worst_value = worst_value.max(da).max(db);
    }
    eprintln!(
        "optim vs torch: values {worst_value:e}, lr {worst_lr:e}, norm {worst_norm:e}"
    );
    // f32 arithmetic in a different order than torch's fused kernels: ~1e-7 per step
    assert!(
        worst_value < 1e-5,
        "parameters differ from torch by {worst_value}"
    );
    assert!(
        worst_lr < 1e-7,
        "Noam lr differs from LambdaLR by {worst_lr}"
    );
    assert!(
        worst_norm < 1e-5,
        "gradient norm differs from torch by {worst_norm}"
    );
}

#[test]
fn adam_first_step_moves_every_weight_by_lr() {
    // m̂ = g and v̂ = g² after bias correction, so the first step is lr · sign(g).
    let mut model = toy(Array2::zeros((2, 2)), Array1::zeros(3));
    model.a.grad = array![[1e-3, -5.0], [2.0, -0.5]];
    model.b.grad = array![100.0, -1e-2, 3.0];
    Adam::vaswani().step(&mut model, 0.1);
    for (&w, &g) in model.a.value.iter().zip(&model.a.grad) {
        assert!((w + 0.1 * g.signum()).abs() < 1e-5, "w = {w} for g = {g}");
    }
    for (&w, &g) in model.b.value.iter().zip(&model.b.grad) {
        assert!((w + 0.1 * g.signum()).abs() < 1e-5, "w = {w} for g = {g}");
    }
}

#[test]
fn adam_keeps_state_by_name() {
    let mut model = toy(Array2::zeros((2, 2)), Array1::zeros(3));
    model.a.grad.fill(1.0);
    let mut adam = Adam::vaswani();
    adam.step(&mut model, 0.01);
    let (m, v) = adam.moment("layer.a").expect("state under the dotted name");
    assert!(m.iter().all(|&x| (x - 0.1).abs() < 1e-7)); // (1 - β₁)·g
    assert!(v.iter().all(|&x| (x - 0.02).abs() < 1e-7)); // (1 - β₂)·g²
    assert_eq!(m.shape(), [2, 2]);
    assert!(adam.moment("a").is_none());
}

#[test]
fn noam_rises_linearly_peaks_at_warmup_then_decays_as_inverse_sqrt() {
    let (d, w) = (512, 4000);
    let peak = noam_lr(w, d, w, 1.0);
    assert!((peak - (d as f32 * w as f32).powf(-0.5)).abs() < 1e-9);
    assert!((noam_lr(w / 2, d, w, 1.0) - peak / 2.0).abs() < 1e-8); // linear warmup
    assert!((noam_lr(4 * w, d, w, 1.0) - peak / 2.0).abs() < 1e-8); // 1/√step after
    assert!((1..3 * w).all(|s| noam_lr(s, d, w, 1.0) <= peak * (1.0 + 1e-6)));
    assert_eq!(noam_lr(10, d, w, 2.0), 2.0 * noam_lr(10, d, w, 1.0));
    assert_eq!(noam_lr(0, d, w, 1.0), noam_lr(1, d, w, 1.0)); // steps count from 1
}

#[test]
fn clipping_returns_the_norm_and_scales_only_above_the_limit() {
    let mut model = toy(Array2::zeros((1, 2)), Array1::zeros(1));
    model.a.grad = array![[3.0, 0.0]];
    model.b.grad = array![4.0]; // global norm 5 across both parameters
    assert_eq!(clip_grad_norm(&mut model, 10.0), 5.0);
    assert_eq!(model.b.grad[0], 4.0); // under the limit: untouched
    assert_eq!(clip_grad_norm(&mut model, 1.0), 5.0);
    let after = (model.a.grad[[0, 0]].powi(2) + model.b.grad[0].powi(2)).sqrt();
    assert!((after - 1.0).abs() < 1e-5, "clipped norm {after}");
    let ratio = model.a.grad[[0, 0]] / model.b.grad[0];
    assert!((ratio - 0.75).abs() < 1e-6); // the direction is kept
}

#[test]
fn the_smoothed_loss_floor_is_the_entropy_of_the_target() {
    use ch07_transformer::train::smoothed_loss_floor;
    assert_eq!(smoothed_loss_floor(0.0, 14), 0.0); // one-hot: zero entropy
    let uniform = smoothed_loss_floor(1.0, 14); // ε = 1: the uniform distribution
    assert!((uniform - (14f32).ln()).abs() < 1e-6, "{uniform}");
    // the label-smoothed loss of logits log q is exactly the floor
    let (v, eps) = (14, 0.1f32);
    let q: Vec<f32> = (0..v)
        .map(|j| eps / v as f32 + if j == 3 { 1.0 - eps } else { 0.0 })
        .collect();
    let logits =
        Array2::from_shape_vec((1, v), q.iter().map(|p| p.ln()).collect()).unwrap();
    let (loss, _) =
        ch07_transformer::loss::label_smoothed_cross_entropy(&logits, &[3], 0, eps);
    assert!((loss - smoothed_loss_floor(eps, v)).abs() < 1e-6, "{loss}");
}
