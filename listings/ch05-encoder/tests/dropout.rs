//! Dropout in the encoder: gradients with the masks held fixed (each probe re-seeds the
//! training generator), in both wirings and down to the embedding table; bits that do
//! not depend on the thread count; and p = 0 or evaluation mode changing nothing.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::in_pool;
use ch01_foundations::module::{Mode, Module};
use ch04_ffn_norms::activations::Activation;
use ch05_encoder::encoder::EncoderConfig;
use ch05_encoder::{DropoutConfig, Encoder, EncoderBlock, Wiring};
use ndarray::{Array2, Array3, ArrayD, Ix3};

const TOL: f32 = 1e-2;

/// Residual and attention-weight dropout high enough that every mask drops something.
const DROP: DropoutConfig = DropoutConfig {
    residual: 0.2,
    embedding: 0.3,
    attention: 0.2,
};

/// Training mode from a fresh generator of a fixed seed: every forward pass after it
/// draws the same masks, so finite differences see one fixed function.
fn train(m: &mut impl Module, seed: u64) {
    m.set_mode(&mut Mode::Train(&mut seeded_rng(seed)));
}

fn padding() -> Array2<bool> {
    Array2::from_shape_fn((2, 5), |(b, t)| b == 1 && t >= 3)
}

#[test]
fn block_gradients_with_dropout_on_both_wirings() {
    let pad = padding();
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut block = EncoderBlock::new(8, 2, 16, wiring, &mut seeded_rng(1));
        block.ffn.act = Activation::Gelu; // smooth: no kink for a probe to straddle
        block.set_dropout(DROP);
        let x: Array3<f32> = normal((2, 5, 8), 1.0, &mut seeded_rng(2));
        let gc = GradCheck {
            eps: 1e-2,
            ..GradCheck::default()
        };
        let reports = gc.check_layer(
            &mut block,
            &x,
            3,
            |m, x| {
                train(m, 4);
                m.forward(x, Some(&pad))
            },
            |m, dy| m.backward(dy),
        );
        assert_eq!(reports.len(), 1 + 12);
        for (name, report) in reports {
            report.assert_within(TOL, &format!("{wiring:?} block, dropout: dL/d{name}"));
        }
    }
}

fn encoder(wiring: Wiring, seed: u64) -> Encoder {
    let cfg = EncoderConfig {
        vocab: 11,
        max_len: 8,
        d_model: 8,
        n_heads: 2,
        d_ff: 16,
        n_layers: 1,
        wiring,
    };
    let mut enc = Encoder::new(cfg, &mut seeded_rng(seed));
    enc.stack.blocks[0].ffn.act = Activation::Gelu;
    enc.set_dropout(DROP);
    enc
}

#[test]
fn encoder_gradients_with_embedding_dropout_down_to_the_table() {
    let ids = Array2::from_shape_vec((2, 5), vec![3, 1, 4, 1, 5, 9, 2, 6, 3, 3]).unwrap();
    let pad = padding();
    let r = random_upstream(&[2, 5, 8], 8)
        .into_dimensionality::<Ix3>()
        .unwrap();
    let loss = |y: &Array3<f32>| -> f64 {
        y.iter()
            .zip(&r)
            .map(|(&y, &r)| f64::from(y) * f64::from(r))
            .sum()
    };
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut enc = encoder(wiring, 7);
        enc.zero_grad();
        train(&mut enc, 9);
        let base = loss(&enc.forward(&ids, Some(&pad)));
        enc.backward(&r);
        let mut shifted = |m: &mut Encoder| {
            train(m, 9);
            (loss(&m.forward(&ids, Some(&pad))) - base) as f32
        };
        // As in tests/gradients.rs: the blocks with a step of 1e-2, the table with a
        // smaller one, because a table entry enters x multiplied by √C ≈ 2.8.
        let blocks = GradCheck {
            eps: 1e-2,
            ..GradCheck::default()
        };
        // Every entry of the 11 × 8 table. The f32 noise of a finite difference here is
        // ≈ 3e-4, more than 1 % of the smallest entries: below 0.05 compare absolutely.
        let table = GradCheck {
            eps: 3e-3,
            max_elements: 88,
            floor: 5e-2,
        };
        let reports = blocks.check_module(&mut enc, &mut shifted);
        let (name, report) = &table.check_module(&mut enc, &mut shifted)[0];
        assert_eq!(name, "embed.table");
        report.assert_within(TOL, &format!("{wiring:?} encoder, dropout: dL/d{name}"));
        for (name, report) in &reports[1..] {
            report
                .assert_within(TOL, &format!("{wiring:?} encoder, dropout: dL/d{name}"));
        }
    }
}

/// Two training steps of an encoder with every kind of dropout: outputs and gradients.
fn encoder_steps() -> Vec<ArrayD<f32>> {
    let mut enc = encoder(Wiring::PreLn, 3);
    train(&mut enc, 5);
    let ids = Array2::from_shape_fn((4, 7), |(b, t)| (3 * b + 5 * t) % 11);
    let mut out = Vec::new();
    for _ in 0..2 {
        let y = enc.forward(&ids, None);
        enc.backward(&(&y * 0.5));
        out.push(y.into_dyn());
    }
    enc.visit_params(&mut |_, p| out.push(p.grad.to_owned()));
    out
}

#[test]
fn dropout_masks_are_bit_identical_on_one_and_two_threads() {
    let (one, two) = (in_pool(1, encoder_steps), in_pool(2, encoder_steps));
    assert!(
        one == two,
        "the encoder with dropout changed with the thread count"
    );
    assert!(one[0] != one[1], "two steps should draw different masks");
}

#[test]
fn p_zero_and_eval_mode_change_nothing() {
    let ids = Array2::from_shape_fn((2, 6), |(b, t)| (b + 2 * t) % 11);
    let plain = |enc: &mut Encoder| enc.forward(&ids, None);
    let mut reference = encoder(Wiring::PostLn, 4);
    reference.set_dropout(DropoutConfig::default());
    let want = plain(&mut reference);
    // p = 0 everywhere, in training mode: bit for bit the model without dropout.
    let mut zero = encoder(Wiring::PostLn, 4);
    zero.set_dropout(DropoutConfig::default());
    train(&mut zero, 1);
    assert!(plain(&mut zero) == want, "p = 0 changed the output");
    // p > 0: training changes the output, evaluation gives the plain model back.
    let mut drop = encoder(Wiring::PostLn, 4);
    train(&mut drop, 1);
    assert!(plain(&mut drop) != want, "dropout dropped nothing");
    drop.set_mode(&mut Mode::Eval);
    assert!(plain(&mut drop) == want, "evaluation mode still drops");
}
