//! The exercises' solutions, checked.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch01_foundations::report::round;
use ch05_encoder::block::padding_mask;
use ch05_encoder::depth::{SETUP, mean, train};
use ch05_encoder::encoder::EncoderConfig;
use ch05_encoder::exercises::{
    causal_block, encoder_param_count, masked_mean, masked_mean_backward,
    train_with_warmup,
};
use ch05_encoder::report::DEMO;
use ch05_encoder::{Encoder, Wiring};
use ndarray::{Array3, Ix2, s};

#[test]
fn closed_form_parameter_count() {
    for (n_layers, wiring, d_model, d_ff) in [
        (1, Wiring::PostLn, 8, 32),
        (3, Wiring::PreLn, 16, 24),
        (6, Wiring::PostLn, 32, 128),
    ] {
        let cfg = EncoderConfig {
            n_layers,
            wiring,
            d_model,
            d_ff,
            ..DEMO
        };
        let enc = Encoder::new(cfg, &mut seeded_rng(0));
        assert_eq!(encoder_param_count(&cfg), enc.num_params(), "{cfg:?}");
    }
    // The text's answer for the 2017 base encoder (37,000 shared BPE tokens).
    let base = EncoderConfig {
        vocab: 37_000,
        max_len: 512,
        d_model: 512,
        n_heads: 8,
        d_ff: 2048,
        n_layers: 6,
        wiring: Wiring::PostLn,
    };
    assert_eq!(encoder_param_count(&base), 37_000 * 512 + 18_914_304);
    assert_eq!(encoder_param_count(&base), 37_858_304);
}

#[test]
fn masked_mean_ignores_padding_and_its_gradient_checks() {
    let h: Array3<f32> = normal((2, 5, 4), 1.0, &mut seeded_rng(1));
    let pad = padding_mask(&[5, 2], 5);
    let pooled = masked_mean(&h, &pad);
    let mut junk = h.clone();
    junk.slice_mut(s![1, 2.., ..]).fill(1e3);
    assert_eq!(pooled, masked_mean(&junk, &pad), "padding must not leak in");
    let want = h.slice(s![1, ..2, ..]).sum_axis(ndarray::Axis(0)) / 2.0;
    assert!((&pooled.row(1) - &want).iter().all(|d| d.abs() < 1e-6));
    let r = random_upstream(&[2, 4], 2)
        .into_dimensionality::<Ix2>()
        .unwrap();
    let dh = masked_mean_backward(&r, &pad);
    GradCheck::default()
        .check(&h, &dh, |h| (masked_mean(h, &pad) * &r).sum())
        .assert_within(1e-2, "masked mean dh");
}

#[test]
fn a_causal_block_sees_only_the_past() {
    let mut block = causal_block(16, 2, 64, 4);
    let x: Array3<f32> = normal((1, 6, 16), 1.0, &mut seeded_rng(5));
    let y = block.forward(&x, None);
    for j in 0..6 {
        let mut x2 = x.clone();
        // One feature, not all: LayerNorm would cancel a shift of the whole row.
        x2[[0, j, 0]] += 1.0;
        let y2 = block.forward(&x2, None);
        for i in 0..6 {
            let d = (&y.slice(s![0, i, ..]) - &y2.slice(s![0, i, ..]))
                .iter()
                .fold(0.0f32, |m, v| m.max(v.abs()));
            if j > i {
                assert_eq!(d, 0.0, "a later token {j} reached output {i}");
            } else {
                assert!(d > 1e-3, "token {j} should reach output {i}");
            }
        }
    }
}

/// A training test: about 3 s in the optimised test profile.
#[test]
fn warm_up_lets_post_ln_leave_the_plateau() {
    let (depth, steps) = (6, 400);
    let plain = train(&SETUP, depth, Wiring::PostLn, steps);
    let warm = train_with_warmup(&SETUP, depth, Wiring::PostLn, steps, 50);
    let (plain_end, warm_end) = (mean(&plain, 350, 400), mean(&warm, 350, 400));
    assert!(plain_end > 1.3, "without warm-up: {plain_end}");
    assert!(warm_end < 1.0, "with 50 warm-up steps: {warm_end}");
    let text = format!(
        "6-block Post-LN, SGD lr {}, mean loss over steps 350-400\n\
         without warm-up:          {}\n\
         with 50 warm-up steps:    {}\n",
        SETUP.lr,
        round(plain_end, 3),
        round(warm_end, 3)
    );
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("warmup", text);
    });
}
