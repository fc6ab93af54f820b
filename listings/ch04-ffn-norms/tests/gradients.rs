//! Tier 1: every backward pass against central finite differences (Chapter 1's checker),
//! for the input and for every parameter. Loss L = Σ y ⊙ r with a seeded random r.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch04_ffn_norms::activations::Activation;
use ch04_ffn_norms::ffn::Ffn;
use ch04_ffn_norms::linear::Linear;
use ch04_ffn_norms::norms::{LayerNorm, RmsNorm};
use ch04_ffn_norms::residual::{ResidualBlock, Wiring, stack};
use ch04_ffn_norms::swiglu::SwiGlu;
use ndarray::{Array2, Ix2};

const TOL: f32 = 1e-2;

fn upstream(shape: (usize, usize), seed: u64) -> Array2<f32> {
    random_upstream(&[shape.0, shape.1], seed)
        .into_dimensionality::<Ix2>()
        .unwrap()
}

/// Σ y ⊙ r summed in f64: an f32 sum of a few dozen O(1) terms has rounding noise of
/// ≈ 1e-6, which the finite difference divides by 2h ≈ 6e-3.
fn loss(y: &Array2<f32>, r: &Array2<f32>) -> f64 {
    y.iter().zip(r).map(|(&y, &r)| y as f64 * r as f64).sum()
}

/// Checks dL/dx and every parameter gradient of a layer given its forward and backward.
fn check_layer<M: Module + Clone>(
    what: &str,
    layer: &mut M,
    x: &Array2<f32>,
    forward: impl Fn(&mut M, &Array2<f32>) -> Array2<f32>,
    backward: impl Fn(&mut M, &Array2<f32>) -> Array2<f32>,
) {
    let r = upstream(forward(layer, x).dim(), 7);
    layer.zero_grad();
    forward(layer, x);
    let dx = backward(layer, &r);
    let check = GradCheck::default();
    // The checker works in f32: hand it L - L(x), small, so no digits are lost.
    let base = loss(&forward(&mut layer.clone(), x), &r);
    let mut probe = layer.clone(); // forward overwrites caches: probe on a copy
    check
        .check(x, &dx, |x| {
            (loss(&forward(&mut probe, x), &r) - base) as f32
        })
        .assert_within(TOL, &format!("{what}: dL/dx"));
    let shifted = |m: &mut M| (loss(&forward(m, x), &r) - base) as f32;
    for (name, report) in check.check_module(layer, shifted) {
        report.assert_within(TOL, &format!("{what}: dL/d{name}"));
    }
}

fn input(n: usize, c: usize, seed: u64) -> Array2<f32> {
    normal((n, c), 1.0, &mut seeded_rng(seed))
}

#[test]
fn linear() {
    let mut lin = Linear::new(6, 5, &mut seeded_rng(1));
    lin.b.value = normal(5, 0.5, &mut seeded_rng(2));
    check_layer(
        "Linear",
        &mut lin,
        &input(7, 6, 3),
        |m, x| m.forward(x),
        |m, dy| m.backward(dy),
    );
}

#[test]
fn activations() {
    // Inputs away from ReLU's kink at 0, where finite differences straddle two slopes.
    let x = input(4, 9, 4).mapv(|v| if v.abs() < 0.05 { v + 0.2 } else { v }) * 2.0;
    let r = upstream(x.dim(), 5);
    for act in Activation::ALL {
        let dx = act.backward(&x, &r);
        GradCheck::default()
            .check(&x, &dx, |x| loss(&act.forward(x), &r) as f32)
            .assert_within(TOL, act.name());
    }
}

#[test]
fn ffn_smooth_activations() {
    // ReLU is left out: a weight step of h moves some pre-activation across ReLU's kink,
    // where a finite difference straddles two slopes. ReLU's own derivative is checked
    // above, and the FFN's backward code is the same for every activation.
    for act in [Activation::Gelu, Activation::GeluTanh, Activation::Silu] {
        let mut ffn = Ffn::new(6, 24, act, &mut seeded_rng(6));
        ffn.fc1.b.value = normal(24, 0.5, &mut seeded_rng(7));
        check_layer(
            act.name(),
            &mut ffn,
            &input(5, 6, 8),
            |m, x| m.forward(x),
            |m, dy| m.backward(dy),
        );
    }
}

#[test]
fn swiglu() {
    let mut swiglu = SwiGlu::new(6, 16, &mut seeded_rng(9));
    check_layer(
        "SwiGlu",
        &mut swiglu,
        &input(5, 6, 10),
        |m, x| m.forward(x),
        |m, dy| m.backward(dy),
    );
}

#[test]
fn layernorm() {
    let mut ln = LayerNorm::new(8, 1e-5);
    ln.gamma.value = normal(8, 1.0, &mut seeded_rng(11));
    ln.beta.value = normal(8, 1.0, &mut seeded_rng(12));
    // Rows with an offset: the mean subtraction must carry its share of the gradient.
    let x = input(5, 8, 13) + 3.0;
    check_layer(
        "LayerNorm",
        &mut ln,
        &x,
        |m, x| m.forward(x),
        |m, dy| m.backward(dy),
    );
}

#[test]
fn rmsnorm() {
    let mut rms = RmsNorm::new(8, 1e-6);
    rms.weight.value = normal(8, 1.0, &mut seeded_rng(14));
    let x = input(5, 8, 15) + 1.0;
    check_layer(
        "RmsNorm",
        &mut rms,
        &x,
        |m, x| m.forward(x),
        |m, dy| m.backward(dy),
    );
}

#[test]
fn residual_blocks_both_wirings() {
    for wiring in [Wiring::PreLn, Wiring::PostLn] {
        let mut block: ResidualBlock = stack(1, 6, wiring, 16).remove(0);
        check_layer(
            &format!("{wiring:?} block"),
            &mut block,
            &input(4, 6, 17),
            |m, x| m.forward(x),
            |m, dy| m.backward(dy),
        );
    }
}
