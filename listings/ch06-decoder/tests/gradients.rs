//! Tier 1: the decoder block and the whole language model (embedding, blocks, final
//! norm, tied output layer, masked cross-entropy) against central finite differences.

use ch01_foundations::gradcheck::GradCheck;
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch04_ffn_norms::activations::Activation;
use ch05_encoder::Wiring;
use ch06_decoder::{DecoderBlock, DecoderLm, LmConfig, lm_loss};
use ndarray::{Array2, Array3};

/// Relative error, with GradCheck's floor of 1e-2 under small gradients. The block's
/// gradients of ~1e-3 meet f32 rounding (≈ 1e-4 absolute at this step) near the floor, so
/// the block gets twice the tolerance of the model, whose loss is a mean.
const TOL: f32 = 1e-2;
const TOL_BLOCK: f32 = 2e-2;

#[test]
fn decoder_block_both_wirings_with_padding() {
    let pad = Array2::from_shape_fn((2, 5), |(b, t)| b == 1 && t >= 3);
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut block = DecoderBlock::new(8, 2, 16, wiring, &mut seeded_rng(1));
        // ReLU's kink breaks finite differences; GELU is smooth everywhere.
        block.block.ffn.act = Activation::Gelu;
        let x: Array3<f32> = normal((2, 5, 8), 1.0, &mut seeded_rng(2));
        let check = GradCheck {
            eps: 5e-3,
            ..GradCheck::default()
        };
        let reports = check.check_layer(
            &mut block,
            &x,
            3,
            |m, x| m.forward(x, Some(&pad)),
            |m, dy| m.backward(dy),
        );
        assert_eq!(
            reports.len(),
            1 + 12,
            "x, 4 attention + 4 FFN + 4 norm tensors"
        );
        for (name, report) in reports {
            report.assert_within(
                TOL_BLOCK,
                &format!("{wiring:?} decoder block: dL/d{name}"),
            );
        }
    }
}

#[test]
fn language_model_end_to_end() {
    for wiring in [Wiring::PreLn, Wiring::PostLn] {
        let cfg = LmConfig {
            vocab: 7,
            max_len: 6,
            d_model: 8,
            n_heads: 2,
            d_ff: 16,
            n_layers: 2,
            wiring,
            act: Activation::Gelu,
        };
        let mut model = DecoderLm::new(cfg, &mut seeded_rng(4));
        let ids = Array2::from_shape_fn((2, 5), |(b, t)| (3 * b + 2 * t + 1) % 7);
        // Some positions without a target, as in training.
        let targets =
            Array2::from_shape_fn((2, 5), |(b, t)| (t > 0).then_some((b + 5 * t) % 7));
        model.zero_grad();
        let logits = model.forward(&ids, None);
        let (base, dlogits) = lm_loss(&logits, &targets);
        model.backward(&dlogits);
        let check = GradCheck {
            eps: 5e-3,
            ..GradCheck::default()
        };
        let reports = check.check_module(&mut model, |m| {
            lm_loss(&m.forward(&ids, None), &targets).0 - base
        });
        let names: Vec<&str> = reports.iter().map(|(n, _)| n.as_str()).collect();
        assert!(names.contains(&"embed.table") && names.contains(&"blocks.1.attn.w_qkv"));
        assert_eq!(
            names.contains(&"final_norm.gamma"),
            wiring == Wiring::PreLn,
            "{names:?}"
        );
        for (name, report) in reports {
            report.assert_within(TOL, &format!("{wiring:?} LM: dL/d{name}"));
        }
    }
}
