//! Dropout in the full transformer: the decoder layer's three sub-layers and both
//! embedding paths, checked against finite differences with the masks held fixed (every
//! probe re-seeds the training generator); bits that do not depend on the thread count;
//! and evaluation mode giving back the model without dropout.

use ch01_foundations::gradcheck::GradCheck;
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::linalg::in_pool;
use ch01_foundations::module::{Mode, Module};
use ch04_ffn_norms::activations::Activation;
use ch05_encoder::block::{DropoutConfig, Wiring};
use ch07_transformer::loss::label_smoothed_cross_entropy;
use ch07_transformer::{Config, DecoderLayer, Padding, Transformer};
use ndarray::{Array2, Array3, ArrayD, array};

const TOL: f32 = 1e-2;
/// As in tests/gradients.rs: three LayerNorms in a chain put the Post-LN layer's f32
/// noise near 1e-2 relative, so the layer gets twice the tolerance.
const TOL_LAYER: f32 = 2e-2;

const DROP: DropoutConfig = DropoutConfig {
    residual: 0.2,
    embedding: 0.2,
    attention: 0.2,
};

/// Training mode from a fresh generator of a fixed seed: every forward pass after it
/// draws the same masks.
fn train(m: &mut impl Module, seed: u64) {
    m.set_mode(&mut Mode::Train(&mut seeded_rng(seed)));
}

#[test]
fn decoder_layer_gradients_with_dropout_on_both_wirings() {
    let src_pad = Array2::from_shape_fn((2, 4), |(b, s)| b == 0 && s == 3);
    let tgt_pad = Array2::from_shape_fn((2, 5), |(b, t)| b == 1 && t >= 3);
    let pad = Padding {
        src: Some(&src_pad),
        tgt: Some(&tgt_pad),
    };
    let checker = GradCheck {
        eps: 1e-2,
        ..GradCheck::default()
    };
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut layer = DecoderLayer::new(8, 2, 16, wiring, &mut seeded_rng(1));
        layer.ffn.act = Activation::Gelu;
        layer.set_dropout(DROP);
        let x: Array3<f32> = normal((2, 5, 8), 1.0, &mut seeded_rng(2));
        let m: Array3<f32> = normal((2, 4, 8), 1.0, &mut seeded_rng(3));
        let mut reports = checker.check_layer(
            &mut layer,
            &x,
            4,
            |l, x| {
                train(l, 6);
                l.forward(x, &m, pad)
            },
            |l, dy| l.backward(dy).0,
        );
        let mut via_m = checker.check_layer(
            &mut layer,
            &m,
            5,
            |l, m| {
                train(l, 6);
                l.forward(&x, m, pad)
            },
            |l, dy| l.backward(dy).1,
        );
        via_m[0].0 = "m".to_owned();
        reports.extend(via_m);
        assert_eq!(reports.len(), 2 * (1 + 20));
        for (name, report) in reports {
            let what = format!("{wiring:?} decoder layer, dropout: dL/d{name}");
            report.assert_within(TOL_LAYER, &what);
        }
    }
}

fn small_model(wiring: Wiring, tie_output: bool) -> Transformer {
    let cfg = Config {
        src_vocab: 9,
        tgt_vocab: 8,
        max_len: 6,
        d_model: 8,
        n_heads: 2,
        d_ff: 16,
        n_enc: 1,
        n_dec: 1,
        wiring,
        tie_output,
        pad: 0,
    };
    let mut model = Transformer::new(cfg, &mut seeded_rng(6));
    model.encoder.blocks[0].ffn.act = Activation::Gelu;
    model.decoder.layers[0].ffn.act = Activation::Gelu;
    model.set_dropout(DROP);
    model
}

#[test]
fn whole_model_gradients_with_dropout_down_to_both_tables() {
    let src = array![[3, 4, 5, 0], [6, 7, 3, 4]]; // pad = 0
    let tgt_in = array![[1, 3, 4, 0], [1, 5, 6, 7]];
    let tgt_out: Vec<usize> = vec![3, 4, 2, 0, 5, 6, 7, 2];
    for (wiring, tie_output) in [(Wiring::PostLn, true), (Wiring::PreLn, false)] {
        let mut model = small_model(wiring, tie_output);
        let loss = |m: &mut Transformer| {
            train(m, 8);
            let logits = m.forward(&src, &tgt_in);
            let (b, t, v) = logits.dim();
            let logits = logits.into_shape_with_order((b * t, v)).unwrap();
            label_smoothed_cross_entropy(&logits, &tgt_out, 0, 0.1)
        };
        model.zero_grad();
        let (base, dlogits) = loss(&mut model);
        model.backward(&dlogits.into_shape_with_order((2, 4, 8)).unwrap());
        let shifted = |m: &mut Transformer| loss(m).0 - base;
        let check = GradCheck {
            eps: 5e-3,
            ..GradCheck::default()
        };
        let reports = check.check_module(&mut model, shifted);
        assert_eq!(&reports[0].0, "src_embed.table");
        assert_eq!(&reports[1].0, "tgt_embed.table");
        for (name, report) in reports {
            let what =
                format!("{wiring:?} model (tied {tie_output}), dropout: dL/d{name}");
            report.assert_within(TOL, &what);
        }
    }
}

/// Two teacher-forced steps of a model with every kind of dropout on a batch large
/// enough to be split across threads: logits, then every gradient.
fn model_steps() -> Vec<ArrayD<f32>> {
    let mut model = small_model(Wiring::PreLn, true);
    train(&mut model, 3);
    let src = Array2::from_shape_fn((6, 5), |(b, s)| 1 + (2 * b + 3 * s) % 8);
    let tgt_in = Array2::from_shape_fn((6, 4), |(b, t)| 1 + (b + 5 * t) % 7);
    let mut out = Vec::new();
    for _ in 0..2 {
        let logits = model.forward(&src, &tgt_in);
        model.backward(&(&logits * 0.1));
        out.push(logits.into_dyn());
    }
    model.visit_params(&mut |_, p| out.push(p.grad.to_owned()));
    out
}

#[test]
fn dropout_masks_are_bit_identical_on_one_and_two_threads() {
    let (one, two) = (in_pool(1, model_steps), in_pool(2, model_steps));
    assert!(
        one == two,
        "the transformer with dropout changed with the thread count"
    );
    assert!(one[0] != one[1], "two steps should draw different masks");
}

#[test]
fn eval_mode_is_the_model_without_dropout() {
    let src = array![[3, 4, 5, 0], [6, 7, 3, 4]];
    let tgt_in = array![[1, 3, 4, 0], [1, 5, 6, 7]];
    let mut plain = small_model(Wiring::PostLn, true);
    plain.set_dropout(DropoutConfig::default());
    train(&mut plain, 2); // p = 0: training draws nothing
    let want = plain.forward(&src, &tgt_in);
    let mut model = small_model(Wiring::PostLn, true);
    train(&mut model, 2);
    assert!(
        model.forward(&src, &tgt_in) != want,
        "dropout dropped nothing"
    );
    model.set_mode(&mut Mode::Eval);
    assert!(
        model.forward(&src, &tgt_in) == want,
        "evaluation mode still drops"
    );
}
