//! Tier 1: every backward pass against central finite differences (Chapter 1's checker),
//! with respect to inputs and parameters. Tolerance: relative error 1e-2.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch03_attention::cross::CrossAttention;
use ch03_attention::mask::{Mask, causal_mask_top_left};
use ch03_attention::mha::MultiHeadAttention;
use ch03_attention::sdpa::{sdpa, sdpa_backward};
use ndarray::{Array2, Array3, Ix2, Ix3};

const TOL: f32 = 1e-2;

/// Chapter 1's checker with a larger step: the MHA losses sum many f32 products, and
/// h = 1e-2 keeps their rounding error (≈ 1e-7·|L| / h) well under the tolerance while
/// the truncation error (≈ h²) stays small.
fn checker() -> GradCheck {
    GradCheck {
        eps: 1e-2,
        ..GradCheck::default()
    }
}

fn check_sdpa(tq: usize, tk: usize, mask: &Mask<'_>, what: &str) {
    let mut rng = seeded_rng(11);
    let q: Array2<f32> = normal((tq, 4), 1.0, &mut rng);
    let k: Array2<f32> = normal((tk, 4), 1.0, &mut rng);
    let v: Array2<f32> = normal((tk, 3), 1.0, &mut rng);
    let r = random_upstream(&[tq, 3], 5)
        .into_dimensionality::<Ix2>()
        .unwrap();
    let a = sdpa(q.view(), k.view(), v.view(), mask);
    let (dq, dk, dv) = sdpa_backward(q.view(), k.view(), v.view(), a.p.view(), r.view());
    let gc = checker();
    let loss = |q: &Array2<f32>, k: &Array2<f32>, v: &Array2<f32>| {
        (sdpa(q.view(), k.view(), v.view(), mask).out * &r).sum()
    };
    gc.check(&q, &dq, |q| loss(q, &k, &v))
        .assert_within(TOL, &format!("{what}: dq"));
    gc.check(&k, &dk, |k| loss(&q, k, &v))
        .assert_within(TOL, &format!("{what}: dk"));
    gc.check(&v, &dv, |v| loss(&q, &k, v))
        .assert_within(TOL, &format!("{what}: dv"));
}

#[test]
fn sdpa_without_mask() {
    check_sdpa(4, 6, &Mask::default(), "sdpa");
}

#[test]
fn sdpa_causal_square_and_bottom_right() {
    check_sdpa(
        5,
        5,
        &Mask {
            causal: true,
            ..Mask::default()
        },
        "causal 5x5",
    );
    check_sdpa(
        3,
        6,
        &Mask {
            causal: true,
            ..Mask::default()
        },
        "causal 3x6",
    );
    // Tq > Tk: the first two queries see nothing, their gradient must be exactly zero.
    check_sdpa(
        6,
        4,
        &Mask {
            causal: true,
            ..Mask::default()
        },
        "causal 6x4",
    );
}

#[test]
fn sdpa_padding_boolean_and_additive_masks() {
    let pad = [false, false, true, false, true, true];
    check_sdpa(
        4,
        6,
        &Mask {
            key_padding: Some(&pad),
            ..Mask::default()
        },
        "padding",
    );
    let both = Mask {
        causal: true,
        key_padding: Some(&pad),
        ..Mask::default()
    };
    check_sdpa(6, 6, &both, "causal + padding");
    let allowed = causal_mask_top_left(4, 6);
    check_sdpa(
        4,
        6,
        &Mask {
            allowed: Some(allowed.view()),
            ..Mask::default()
        },
        "allowed",
    );
    let bias: Array2<f32> = normal((4, 6), 2.0, &mut seeded_rng(3));
    check_sdpa(
        4,
        6,
        &Mask {
            bias: Some(bias.view()),
            ..Mask::default()
        },
        "bias",
    );
}

#[test]
fn mha_input_and_parameters() {
    let (b, t, c) = (2, 5, 8);
    for causal in [false, true] {
        let mut layer = MultiHeadAttention::new(c, 2, causal, &mut seeded_rng(1));
        // Non-zero biases, so their gradients are not trivially checked at zero.
        layer.b_qkv.value = normal(3 * c, 0.3, &mut seeded_rng(2));
        layer.b_o.value = normal(c, 0.3, &mut seeded_rng(3));
        let x: Array3<f32> = normal((b, t, c), 1.0, &mut seeded_rng(4));
        let pad = Array2::from_shape_fn((b, t), |(bi, j)| bi == 1 && j >= 3);
        let r = random_upstream(&[b, t, c], 6)
            .into_dimensionality::<Ix3>()
            .unwrap();
        layer.forward(&x, Some(&pad));
        let dx = layer.backward(&r);
        let gc = checker();
        gc.check(&x, &dx, |x| (layer.forward(x, Some(&pad)) * &r).sum())
            .assert_within(TOL, &format!("mha (causal {causal}): dx"));
        for (name, report) in
            gc.check_module(&mut layer, |l| (l.forward(&x, Some(&pad)) * &r).sum())
        {
            report.assert_within(TOL, &format!("mha (causal {causal}): {name}"));
        }
    }
}

#[test]
fn cross_attention_both_inputs_and_parameters() {
    let (b, tq, tk, c) = (2, 3, 5, 8);
    let mut layer = CrossAttention::new(c, 2, &mut seeded_rng(1));
    layer.b_q.value = normal(c, 0.3, &mut seeded_rng(2));
    layer.b_kv.value = normal(2 * c, 0.3, &mut seeded_rng(3));
    layer.b_o.value = normal(c, 0.3, &mut seeded_rng(4));
    let x: Array3<f32> = normal((b, tq, c), 1.0, &mut seeded_rng(5));
    let m: Array3<f32> = normal((b, tk, c), 1.0, &mut seeded_rng(6));
    let pad = Array2::from_shape_fn((b, tk), |(bi, j)| bi == 0 && j >= 4);
    let r = random_upstream(&[b, tq, c], 7)
        .into_dimensionality::<Ix3>()
        .unwrap();
    layer.forward(&x, &m, Some(&pad));
    let (dx, dm) = layer.backward(&r);
    let gc = checker();
    gc.check(&x, &dx, |x| (layer.forward(x, &m, Some(&pad)) * &r).sum())
        .assert_within(TOL, "cross: dx");
    gc.check(&m, &dm, |m| (layer.forward(&x, m, Some(&pad)) * &r).sum())
        .assert_within(TOL, "cross: dmemory");
    for (name, report) in
        gc.check_module(&mut layer, |l| (l.forward(&x, &m, Some(&pad)) * &r).sum())
    {
        report.assert_within(TOL, &format!("cross: {name}"));
    }
}
