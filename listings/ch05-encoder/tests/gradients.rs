//! Tier 1: the whole encoder block, and the whole encoder, against central finite
//! differences, in both wirings, with a padded batch.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch04_ffn_norms::activations::Activation;
use ch05_encoder::{EncoderBlock, Wiring};
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

#[test]
fn encoder_block_both_wirings() {
    for wiring in [Wiring::PostLn, Wiring::PreLn] {
        let mut block = EncoderBlock::new(8, 2, 16, wiring, &mut seeded_rng(1));
        // ReLU's kink at 0: a step of h can cross it for one of the 160 hidden units and
        // the finite difference then straddles two slopes. GELU is smooth everywhere.
        block.ffn.act = Activation::Gelu;
        let x: Array3<f32> = normal((2, 5, 8), 1.0, &mut seeded_rng(2));
        let pad = padding();
        let r = random_upstream(&[2, 5, 8], 3)
            .into_dimensionality::<Ix3>()
            .unwrap();
        block.zero_grad();
        let y = block.forward(&x, Some(&pad));
        let dx = block.backward(&r);
        let base = loss(&y, &r);
        let check = GradCheck {
            eps: 1e-2,
            ..GradCheck::default()
        };
        let what = format!("{wiring:?} encoder block");
        check
            .check(&x, &dx, |x| {
                (loss(&block.forward(x, Some(&pad)), &r) - base) as f32
            })
            .assert_within(TOL, &format!("{what}: dL/dx"));
        let shifted =
            |m: &mut EncoderBlock| (loss(&m.forward(&x, Some(&pad)), &r) - base) as f32;
        // `check` above reran forward on the same block; the gradients it holds are
        // still those of the first backward.
        for (name, report) in check.check_module(&mut block, shifted) {
            report.assert_within(TOL, &format!("{what}: dL/d{name}"));
        }
    }
}
