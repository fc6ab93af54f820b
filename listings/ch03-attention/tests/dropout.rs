//! Attention-weight dropout: gradients with the mask held fixed, masks that do not depend
//! on the thread count, and evaluation (or p = 0) leaving the layer exactly as it was.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::in_pool;
use ch01_foundations::module::{Mode, Module};
use ch03_attention::cross::CrossAttention;
use ch03_attention::heads::AttentionDropout;
use ch03_attention::mha::MultiHeadAttention;
use ndarray::{Array2, Array3, ArrayD, Ix3};

const TOL: f32 = 1e-2;

fn checker() -> GradCheck {
    GradCheck {
        eps: 1e-2,
        ..GradCheck::default()
    }
}

/// Training mode from a fresh generator of a fixed seed: every forward pass that follows
/// draws the same masks, which is what finite differences need.
fn train(layer: &mut impl Module, seed: u64) {
    layer.set_mode(&mut Mode::Train(&mut seeded_rng(seed)));
}

#[test]
fn mha_weight_dropout_gradients_with_a_fixed_mask() {
    let (b, t, c) = (2, 5, 8);
    let pad = Array2::from_shape_fn((b, t), |(bi, j)| bi == 1 && j >= 3);
    for causal in [false, true] {
        let mut layer = MultiHeadAttention::new(c, 2, causal, &mut seeded_rng(1));
        layer.dropout = AttentionDropout::new(0.3);
        layer.b_qkv.value = normal(3 * c, 0.3, &mut seeded_rng(2));
        let x: Array3<f32> = normal((b, t, c), 1.0, &mut seeded_rng(4));
        let reports = checker().check_layer(
            &mut layer,
            &x,
            6,
            |m, x| {
                train(m, 7); // the same mask on every probe
                m.forward(x, Some(&pad))
            },
            |m, dy| m.backward(dy),
        );
        assert_eq!(reports.len(), 5, "x and 4 parameter tensors");
        for (name, report) in reports {
            report
                .assert_within(TOL, &format!("mha, dropout (causal {causal}): d{name}"));
        }
    }
}

#[test]
fn cross_attention_weight_dropout_gradients_with_a_fixed_mask() {
    let (b, tq, tk, c) = (2, 3, 5, 8);
    let mut layer = CrossAttention::new(c, 2, &mut seeded_rng(1));
    layer.dropout = AttentionDropout::new(0.3);
    layer.b_q.value = normal(c, 0.3, &mut seeded_rng(2));
    layer.b_kv.value = normal(2 * c, 0.3, &mut seeded_rng(3));
    let x: Array3<f32> = normal((b, tq, c), 1.0, &mut seeded_rng(5));
    let m: Array3<f32> = normal((b, tk, c), 1.0, &mut seeded_rng(6));
    let pad = Array2::from_shape_fn((b, tk), |(bi, j)| bi == 0 && j >= 4);
    let r = random_upstream(&[b, tq, c], 7)
        .into_dimensionality::<Ix3>()
        .unwrap();
    let run = |l: &mut CrossAttention, x: &Array3<f32>, m: &Array3<f32>| {
        train(l, 8);
        (l.forward(x, m, Some(&pad)) * &r).sum()
    };
    run(&mut layer, &x, &m);
    let (dx, dm) = layer.backward(&r);
    let gc = checker();
    gc.check(&x, &dx, |x| run(&mut layer, x, &m))
        .assert_within(TOL, "cross, dropout: dx");
    gc.check(&m, &dm, |m| run(&mut layer, &x, m))
        .assert_within(TOL, "cross, dropout: dmemory");
    for (name, report) in gc.check_module(&mut layer, |l| run(l, &x, &m)) {
        report.assert_within(TOL, &format!("cross, dropout: {name}"));
    }
}

/// Two training steps of an MHA layer with weight dropout: outputs, dx, every gradient.
fn mha_steps(causal: bool) -> Vec<ArrayD<f32>> {
    let (b, t, c) = (4, 33, 32);
    let mut layer = MultiHeadAttention::new(c, 4, causal, &mut seeded_rng(9));
    layer.dropout = AttentionDropout::new(0.2);
    train(&mut layer, 12);
    let x: Array3<f32> = normal((b, t, c), 1.0, &mut seeded_rng(10));
    let mut all = Vec::new();
    for _ in 0..2 {
        let y = layer.forward(&x, None);
        all.push(layer.backward(&(&y * 0.5)).into_dyn());
        all.push(y.into_dyn());
    }
    layer.visit_params(&mut |_, p| all.push(p.grad.to_owned()));
    all
}

#[test]
fn weight_dropout_is_bit_identical_on_one_and_two_threads() {
    for causal in [false, true] {
        let (one, two) = (
            in_pool(1, || mha_steps(causal)),
            in_pool(2, || mha_steps(causal)),
        );
        assert!(
            one == two,
            "mha with dropout (causal {causal}) changed with the thread count"
        );
        assert!(
            one[1] != one[3],
            "the two steps should draw different masks"
        );
    }
    let cross = || {
        let mut layer = CrossAttention::new(16, 2, &mut seeded_rng(1));
        layer.dropout = AttentionDropout::new(0.2);
        train(&mut layer, 3);
        let x: Array3<f32> = normal((3, 7, 16), 1.0, &mut seeded_rng(2));
        let m: Array3<f32> = normal((3, 11, 16), 1.0, &mut seeded_rng(3));
        let y = layer.forward(&x, &m, None);
        let (dx, dm) = layer.backward(&(&y * 0.5));
        (y, dx, dm, layer.w_kv.grad.clone())
    };
    assert!(
        in_pool(1, cross) == in_pool(2, cross),
        "cross-attention with dropout changed with the thread count"
    );
}

#[test]
fn eval_mode_and_p_zero_leave_the_layer_exactly_as_before() {
    let x: Array3<f32> = normal((2, 6, 8), 1.0, &mut seeded_rng(1));
    let plain = MultiHeadAttention::new(8, 2, true, &mut seeded_rng(2)).forward(&x, None);
    // p = 0 in training mode: nothing drawn, nothing changed.
    let mut zero = MultiHeadAttention::new(8, 2, true, &mut seeded_rng(2));
    train(&mut zero, 5);
    assert!(zero.forward(&x, None) == plain, "p = 0 changed the output");
    // p > 0: training changes the output, evaluation is the plain layer again.
    let mut layer = MultiHeadAttention::new(8, 2, true, &mut seeded_rng(2));
    layer.dropout = AttentionDropout::new(0.5);
    train(&mut layer, 5);
    assert!(layer.forward(&x, None) != plain, "p = 0.5 dropped nothing");
    layer.set_mode(&mut Mode::Eval);
    assert!(
        layer.forward(&x, None) == plain,
        "evaluation mode still drops weights"
    );
    // The weights a heat map reads are P itself, undropped: rows still sum to 1.
    train(&mut layer, 5);
    layer.forward(&x, None);
    for row in layer.weights().unwrap().rows() {
        assert!(
            (row.sum() - 1.0).abs() < 1e-5,
            "a weight row sums to {}",
            row.sum()
        );
    }
}

#[test]
#[should_panic(expected = "set_mode")]
fn dropout_without_a_generator_says_to_call_set_mode() {
    let mut layer = MultiHeadAttention::new(8, 2, false, &mut seeded_rng(1));
    layer.dropout = AttentionDropout::new(0.1);
    layer.forward(&normal((1, 3, 8), 1.0, &mut seeded_rng(2)), None);
}
