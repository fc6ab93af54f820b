//! The exercises' solutions, checked.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch04_ffn_norms::activations::Activation;
use ch04_ffn_norms::exercises::{
    DeepNormBlock, GeGlu, dropout_mean, layernorm_backward_via_jacobian,
};
use ch04_ffn_norms::ffn::Ffn;
use ch04_ffn_norms::norms::LayerNorm;
use ndarray::{Array2, Ix2};

fn upstream(n: usize, c: usize, seed: u64) -> Array2<f32> {
    random_upstream(&[n, c], seed)
        .into_dimensionality::<Ix2>()
        .unwrap()
}

#[test]
fn layernorm_backward_equals_the_jacobian_route() {
    let x: Array2<f32> = normal((3, 7), 2.0, &mut seeded_rng(1)) + 5.0;
    let dy = upstream(3, 7, 2);
    let mut ln = LayerNorm::new(7, 1e-5);
    ln.forward(&x);
    let dx = ln.backward(&dy);
    for i in 0..3 {
        let want = layernorm_backward_via_jacobian(x.row(i), dy.row(i), 1e-5);
        let diff = (&dx.row(i) - &want)
            .mapv(f32::abs)
            .fold(0.0f32, |a, &b| a.max(b));
        assert!(diff < 1e-5, "row {i}: {diff}");
    }
}

#[test]
fn geglu_gradients() {
    let mut m = GeGlu::new(5, 12, &mut seeded_rng(3));
    let x: Array2<f32> = normal((4, 5), 1.0, &mut seeded_rng(4));
    let r = upstream(4, 5, 5);
    m.forward(&x);
    let dx = m.backward(&r);
    let loss = |m: &mut GeGlu, x: &Array2<f32>| (m.forward(x) * &r).sum();
    let mut probe = GeGlu::new(5, 12, &mut seeded_rng(3));
    GradCheck::default()
        .check(&x, &dx, |x| loss(&mut probe, x))
        .assert_within(1e-2, "GeGLU dx");
    // Parameter gradients through the inner SwiGlu's params, forward by GeGlu.
    let grads: Vec<_> = {
        let mut g = Vec::new();
        m.inner
            .visit_params(&mut |n, p| g.push((n.to_owned(), p.grad.to_owned())));
        g
    };
    for (name, grad) in grads {
        let w = match name.as_str() {
            "w1" => m.inner.w1.value.clone(),
            "w2" => m.inner.w2.value.clone(),
            _ => m.inner.w3.value.clone(),
        };
        let grad = grad.into_dimensionality::<Ix2>().unwrap();
        GradCheck::default()
            .check(&w, &grad, |w| {
                let mut probe = GeGlu::new(5, 12, &mut seeded_rng(3));
                match name.as_str() {
                    "w1" => probe.inner.w1.value = w.clone(),
                    "w2" => probe.inner.w2.value = w.clone(),
                    _ => probe.inner.w3.value = w.clone(),
                }
                loss(&mut probe, &x)
            })
            .assert_within(1e-2, &format!("GeGLU {name}"));
    }
}

#[test]
fn deepnorm_alpha_and_gradients() {
    let ffn = Ffn::new(6, 24, Activation::Gelu, &mut seeded_rng(6));
    let mut block = DeepNormBlock::new(ffn, 8);
    assert!((block.alpha - 16f32.powf(0.25)).abs() < 1e-6); // (2·8)^{1/4} = 2
    let x: Array2<f32> = normal((4, 6), 1.0, &mut seeded_rng(7));
    let r = upstream(4, 6, 8);
    block.forward(&x);
    let dx = block.backward(&r);
    let ffn = Ffn::new(6, 24, Activation::Gelu, &mut seeded_rng(6));
    let mut probe = DeepNormBlock::new(ffn, 8);
    GradCheck::default()
        .check(&x, &dx, |x| (probe.forward(x) * &r).sum())
        .assert_within(1e-2, "DeepNorm dx");
}

#[test]
fn dropout_mean_is_one_within_four_standard_errors() {
    for (p, seed) in [(0.1, 1), (0.5, 2), (0.9, 3)] {
        let (mean, se) = dropout_mean(p, 200_000, seed);
        assert!((mean - 1.0).abs() < 4.0 * se, "p = {p}: mean {mean} ± {se}");
        let expected_se = (p as f64 / (1.0 - p as f64) / 200_000.0).sqrt();
        assert!((se / expected_se - 1.0).abs() < 0.05, "p = {p}: se {se}");
    }
}
