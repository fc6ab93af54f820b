//! Tier 1: the whole encoder block, and the whole encoder, against central finite
//! differences, in both wirings, with a padded batch.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch04_ffn_norms::activations::Activation;
use ch05_encoder::encoder::EncoderConfig;
use ch05_encoder::{Encoder, EncoderBlock, EncoderStack, Wiring};
use ndarray::{Array2, Array3, Ix3};

const TOL: f32 = 1e-2;

/// Σ y ⊙ r in f64, so the finite difference is not swamped by f32 rounding of the sum.
fn loss(y: &Array3<f32>, r: &Array3<f32>) -> f64 {
    y.iter().zip(r).map(|(&y, &r)| y as f64 * r as f64).sum()
}

fn padding() -> Array2<bool> {
    // Item 1's last two tokens are padding.
    Array2::from_shape_fn((2, 5), |(b, t)| b == 1 && t >= 3)
}

fn checker() -> GradCheck {
    GradCheck {
        eps: 1e-2,
        ..GradCheck::default()
    }
}

#[test]
fn encoder_block_both_wirings() {
    let pad = padding();
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut block = EncoderBlock::new(8, 2, 16, wiring, &mut seeded_rng(1));
        // ReLU's kink at 0: a step of h can cross it for one of the 160 hidden units and
        // the finite difference then straddles two slopes. GELU is smooth everywhere.
        block.ffn.act = Activation::Gelu;
        let x: Array3<f32> = normal((2, 5, 8), 1.0, &mut seeded_rng(2));
        let reports = checker().check_layer(
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
            report.assert_within(TOL, &format!("{wiring:?} encoder block: dL/d{name}"));
        }
    }
}

fn gelu_everywhere(stack: &mut EncoderStack) {
    for block in &mut stack.blocks {
        block.ffn.act = Activation::Gelu;
    }
}

#[test]
fn encoder_stack_both_wirings() {
    let pad = padding();
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut stack = EncoderStack::new(2, 8, 2, 16, wiring, &mut seeded_rng(4));
        gelu_everywhere(&mut stack);
        let x: Array3<f32> = normal((2, 5, 8), 1.0, &mut seeded_rng(5));
        let reports = checker().check_layer(
            &mut stack,
            &x,
            6,
            |m, x| m.forward(x, Some(&pad)),
            |m, dy| m.backward(dy),
        );
        // x, 2 blocks × 12 tensors, and Pre-LN's final norm.
        let want = if wiring == Wiring::PreLn { 27 } else { 25 };
        assert_eq!(reports.len(), want, "{wiring:?}: every parameter checked");
        for (name, report) in reports {
            report.assert_within(TOL, &format!("{wiring:?} encoder stack: dL/d{name}"));
        }
    }
}

#[test]
fn whole_encoder_down_to_the_embedding_table() {
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let cfg = EncoderConfig {
            vocab: 11,
            max_len: 8,
            d_model: 8,
            n_heads: 2,
            d_ff: 16,
            n_layers: 2,
            wiring,
        };
        let mut enc = Encoder::new(cfg, &mut seeded_rng(7));
        gelu_everywhere(&mut enc.stack);
        // Token 3 appears three times: its table row sums three positions' gradients.
        let ids =
            Array2::from_shape_vec((2, 5), vec![3, 1, 4, 1, 5, 9, 2, 6, 3, 3]).unwrap();
        let pad = padding();
        let r = random_upstream(&[2, 5, 8], 8)
            .into_dimensionality::<Ix3>()
            .unwrap();
        enc.zero_grad();
        let y = enc.forward(&ids, Some(&pad));
        enc.backward(&r);
        let base = loss(&y, &r);
        let what = format!("{wiring:?} encoder");
        let mut shifted =
            |m: &mut Encoder| (loss(&m.forward(&ids, Some(&pad)), &r) - base) as f32;
        // The blocks with the step of the tests above; the table with a smaller one,
        // because a table entry enters x multiplied by √C ≈ 2.8.
        let blocks = GradCheck {
            eps: 1e-2,
            ..GradCheck::default()
        };
        let table = GradCheck {
            eps: 3e-3,
            max_elements: 88, // the 11 × 8 table, every entry; unused rows must be 0
            ..GradCheck::default()
        };
        let reports = blocks.check_module(&mut enc, &mut shifted);
        assert_eq!(
            reports.len(),
            1 + 26 - usize::from(wiring == Wiring::PostLn) * 2
        );
        let (name, report) = &table.check_module(&mut enc, &mut shifted)[0];
        assert_eq!(name, "embed.table", "the table is visited first");
        report.assert_within(TOL, &format!("{what}: dL/d{name}"));
        for (name, report) in &reports[1..] {
            report.assert_within(TOL, &format!("{what}: dL/d{name}"));
        }
    }
}
