//! Tier 1: the decoder layer, the whole model and the loss against central finite
//! differences, in both wirings, tied and untied, with padding on both sides.

use ch01_foundations::gradcheck::GradCheck;
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch04_ffn_norms::activations::Activation;
use ch05_encoder::block::Wiring;
use ch07_transformer::loss::label_smoothed_cross_entropy;
use ch07_transformer::{Config, DecoderLayer, Padding, Transformer};
use ndarray::{Array2, Array3, Ix3, array};

const TOL: f32 = 1e-2;
/// The Post-LN decoder layer chains three LayerNorms: its f32 rounding noise (≈ 1e-4 on
/// gradients of ≈ 1e-2 at this step) sits near 1e-2 relative, at any step h (smaller h:
/// more rounding; larger: more truncation), so the layer gets twice the tolerance. A
/// wrong gradient (a missing term, a transpose) is off by O(1).
const TOL_LAYER: f32 = 2e-2;

fn checker() -> GradCheck {
    GradCheck {
        eps: 1e-2,
        ..GradCheck::default()
    }
}

#[test]
fn decoder_layer_both_wirings() {
    let src_pad = Array2::from_shape_fn((2, 4), |(b, s)| b == 0 && s == 3);
    let tgt_pad = Array2::from_shape_fn((2, 5), |(b, t)| b == 1 && t >= 3);
    let pad = Padding {
        src: Some(&src_pad),
        tgt: Some(&tgt_pad),
    };
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut layer = DecoderLayer::new(8, 2, 16, wiring, &mut seeded_rng(1));
        layer.ffn.act = Activation::Gelu; // smooth, unlike ReLU's kink
        let x: Array3<f32> = normal((2, 5, 8), 1.0, &mut seeded_rng(2));
        let m: Array3<f32> = normal((2, 4, 8), 1.0, &mut seeded_rng(3));
        // Once with the decoder input x as the variable, once with the memory m: every
        // parameter is checked twice, against two different upstream gradients.
        let mut reports = checker().check_layer(
            &mut layer,
            &x,
            4,
            |l, x| l.forward(x, &m, pad),
            |l, dy| l.backward(dy).0,
        );
        let mut via_m = checker().check_layer(
            &mut layer,
            &m,
            5,
            |l, m| l.forward(&x, m, pad),
            |l, dy| l.backward(dy).1,
        );
        via_m[0].0 = "m".to_owned();
        reports.extend(via_m);
        assert_eq!(
            reports.len(),
            2 * (1 + 20),
            "x or m, then 20 parameter tensors"
        );
        for (name, report) in reports {
            report.assert_within(
                TOL_LAYER,
                &format!("{wiring:?} decoder layer: dL/d{name}"),
            );
        }
    }
}

#[test]
fn label_smoothing_loss() {
    let logits: Array2<f32> = normal((4, 6), 2.0, &mut seeded_rng(5));
    let targets = [2, 0, 5, 0]; // pad = 0: rows 1 and 3 are ignored
    let (_, dlogits) = label_smoothed_cross_entropy(&logits, &targets, 0, 0.1);
    checker()
        .check(&logits, &dlogits, |l| {
            label_smoothed_cross_entropy(l, &targets, 0, 0.1).0
        })
        .assert_within(TOL, "label-smoothed cross-entropy");
    assert!(
        dlogits
            .row(1)
            .iter()
            .chain(dlogits.row(3))
            .all(|&d| d == 0.0)
    );
}

#[test]
fn whole_model_with_loss() {
    let src = array![[3, 4, 5, 0], [6, 7, 3, 4]]; // pad = 0
    let tgt_in = array![[1, 3, 4, 0], [1, 5, 6, 7]];
    let tgt_out: Vec<usize> = vec![3, 4, 2, 0, 5, 6, 7, 2];
    for (wiring, tie_output) in [(Wiring::PostLn, true), (Wiring::PreLn, false)] {
        let cfg = Config {
            src_vocab: 9,
            tgt_vocab: 8,
            max_len: 6,
            d_model: 8,
            n_heads: 2,
            d_ff: 16,
            n_enc: 2,
            n_dec: 2,
            wiring,
            tie_output,
            pad: 0,
        };
        let mut model = Transformer::new(cfg, &mut seeded_rng(6));
        for block in &mut model.encoder.blocks {
            block.ffn.act = Activation::Gelu;
        }
        for layer in &mut model.decoder.layers {
            layer.ffn.act = Activation::Gelu;
        }
        let loss = |m: &mut Transformer| {
            let logits = m.forward(&src, &tgt_in);
            let (b, t, v) = logits.dim();
            let logits = logits.into_shape_with_order((b * t, v)).unwrap();
            label_smoothed_cross_entropy(&logits, &tgt_out, 0, 0.1)
        };
        model.zero_grad();
        let (base, dlogits) = loss(&mut model);
        model.backward(
            &dlogits
                .into_shape_with_order((2, 4, 8))
                .unwrap()
                .into_dimensionality::<Ix3>()
                .unwrap(),
        );
        let shifted = |m: &mut Transformer| loss(m).0 - base;
        // The embedding rows enter scaled by √C, so a step h moves x by h·√C: a smaller
        // step keeps the truncation error (∝ h²) of the table's gradient in bounds.
        let check = GradCheck {
            eps: 5e-3,
            ..GradCheck::default()
        };
        for (name, report) in check.check_module(&mut model, shifted) {
            report.assert_within(
                TOL,
                &format!("{wiring:?} model (tied {tie_output}): dL/d{name}"),
            );
        }
    }
}
