//! Dropout in the decoder-only LM: gradients down to the tied table with the masks held
//! fixed, the causal property still holding in training mode, bits that do not depend on
//! the thread count, and evaluation mode giving back the model without dropout.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::seeded_rng;
use ch01_foundations::linalg::in_pool;
use ch01_foundations::module::{Mode, Module};
use ch04_ffn_norms::activations::Activation;
use ch05_encoder::{DropoutConfig, Wiring};
use ch06_decoder::{DecoderLm, LmConfig};
use ndarray::{Array2, Array3, ArrayD, Ix3, s};

const DROP: DropoutConfig = DropoutConfig {
    residual: 0.2,
    embedding: 0.2,
    attention: 0.2,
};

fn lm(wiring: Wiring) -> DecoderLm {
    let cfg = LmConfig {
        vocab: 9,
        max_len: 12,
        d_model: 8,
        n_heads: 2,
        d_ff: 16,
        n_layers: 1,
        wiring,
        act: Activation::Gelu, // smooth, for the finite differences
    };
    let mut lm = DecoderLm::new(cfg, &mut seeded_rng(5));
    lm.set_dropout(DROP);
    lm
}

/// Training mode from a fresh generator of a fixed seed: the same masks every time.
fn train(m: &mut impl Module, seed: u64) {
    m.set_mode(&mut Mode::Train(&mut seeded_rng(seed)));
}

#[test]
fn lm_gradients_with_dropout_on_both_wirings() {
    let ids = Array2::from_shape_fn((2, 6), |(b, t)| (3 * b + 2 * t + 1) % 9);
    let r = random_upstream(&[2, 6, 9], 3)
        .into_dimensionality::<Ix3>()
        .unwrap();
    let loss = |y: &Array3<f32>| -> f64 {
        y.iter()
            .zip(&r)
            .map(|(&y, &r)| f64::from(y) * f64::from(r))
            .sum()
    };
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut model = lm(wiring);
        model.zero_grad();
        train(&mut model, 4);
        let base = loss(&model.forward(&ids, None));
        model.backward(&r);
        let shifted = |m: &mut DecoderLm| {
            train(m, 4);
            (loss(&m.forward(&ids, None)) - base) as f32
        };
        let gc = GradCheck {
            eps: 3e-3,
            floor: 5e-2, // below this, compare absolutely: f32 noise is ≈ 3e-4 here
            ..GradCheck::default()
        };
        for (name, report) in gc.check_module(&mut model, shifted) {
            report.assert_within(1e-2, &format!("{wiring:?} LM, dropout: dL/d{name}"));
        }
    }
}

#[test]
fn logits_at_t_ignore_later_tokens_in_training_mode_too() {
    let mut model = lm(Wiring::PreLn);
    let ids = Array2::from_shape_fn((1, 10), |(_, t)| (t * 5 + 2) % 9);
    let mut later = ids.clone();
    later.slice_mut(s![.., 6..]).fill(0);
    train(&mut model, 7);
    let a = model.forward(&ids, None);
    train(&mut model, 7);
    let b = model.forward(&later, None);
    assert!(a.slice(s![.., ..6, ..]) == b.slice(s![.., ..6, ..]));
}

fn lm_steps() -> Vec<ArrayD<f32>> {
    let mut model = lm(Wiring::PreLn);
    train(&mut model, 1);
    let ids = Array2::from_shape_fn((6, 10), |(b, t)| (b + 4 * t) % 9);
    let mut out = Vec::new();
    for _ in 0..2 {
        let logits = model.forward(&ids, None);
        model.backward(&(&logits * 0.1));
        out.push(logits.into_dyn());
    }
    model.visit_params(&mut |_, p| out.push(p.grad.to_owned()));
    out
}

#[test]
fn dropout_masks_are_bit_identical_on_one_and_two_threads() {
    let (one, two) = (in_pool(1, lm_steps), in_pool(2, lm_steps));
    assert!(
        one == two,
        "the LM with dropout changed with the thread count"
    );
    assert!(one[0] != one[1], "two steps should draw different masks");
}

#[test]
fn eval_mode_is_the_model_without_dropout() {
    let ids = Array2::from_shape_fn((2, 7), |(b, t)| (2 * b + t) % 9);
    let mut plain = lm(Wiring::PostLn);
    plain.set_dropout(DropoutConfig::default());
    train(&mut plain, 3);
    let want = plain.forward(&ids, None);
    let mut model = lm(Wiring::PostLn);
    train(&mut model, 3);
    assert!(model.forward(&ids, None) != want, "dropout dropped nothing");
    model.set_mode(&mut Mode::Eval);
    assert!(
        model.forward(&ids, None) == want,
        "evaluation mode still drops"
    );
}
