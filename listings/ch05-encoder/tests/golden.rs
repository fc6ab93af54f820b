//! Tier 2: one encoder layer and a 2-layer encoder stack against PyTorch's
//! `nn.TransformerEncoderLayer` / `nn.TransformerEncoder` (fixtures from
//! tools/golden/ch05_encoder.py): batch_first, dropout 0, ReLU, a key-padding mask, in
//! both wirings (`norm_first` False = Post-LN, True = Pre-LN). For one layer: the output,
//! ∂L/∂x and every parameter's gradient; for the stack: the output and ∂L/∂x.

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch05_encoder::block::padding_mask;
use ch05_encoder::{EncoderBlock, EncoderStack, Wiring};
use golden::{Fixture, assert_close};
use ndarray::{Array2, ArrayD, Ix3};

/// Max absolute difference allowed. Values are O(1) (LayerNorm outputs, gradients of an
/// upstream N(0, 1)); the two sides sum the same products in a different order, so
/// they differ by a few f32 ulps times the depth of the computation (~1e-6).
const TOL: f32 = 1e-5;

fn fixture() -> Fixture {
    Fixture::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/ch05.json"
    ))
    .unwrap()
}

/// Asserts |ours - PyTorch| ≤ TOL everywhere and returns the largest difference.
fn close(ours: ArrayD<f32>, f: &Fixture, case: &str, field: &str) -> f32 {
    let want = f.tensor(case, field).unwrap();
    assert_close(&format!("{case}.{field}"), &ours, &want, TOL)
}

/// Overwrites every parameter with PyTorch's, by the book's dotted name.
fn load(m: &mut dyn Module, f: &Fixture, case: &str) {
    f.load_params(m, case, "").unwrap();
}

fn pad(f: &Fixture, case: &str, t: usize) -> Array2<bool> {
    padding_mask(&f.indices(case, "pad_lens").unwrap(), t)
}

fn wiring(case: &str) -> Wiring {
    if case.ends_with("pre_ln") {
        Wiring::PreLn
    } else {
        Wiring::PostLn
    }
}

#[test]
fn encoder_layer_matches_torch_forward_and_every_gradient() {
    let f = fixture();
    for case in ["layer_post_ln", "layer_pre_ln"] {
        let x = f.array::<Ix3>(case, "x").unwrap();
        let (_, t, c) = x.dim();
        let mut block = EncoderBlock::new(c, 2, 16, wiring(case), &mut seeded_rng(0));
        load(&mut block, &f, case);
        block.zero_grad();
        let y = block.forward(&x, Some(&pad(&f, case, t)));
        let dx = block.backward(&f.array::<Ix3>(case, "upstream").unwrap());
        let mut worst = close(y.into_dyn(), &f, case, "y");
        worst = worst.max(close(dx.into_dyn(), &f, case, "dx"));
        let mut grads = Vec::new();
        block.visit_params(&mut |name, p| {
            grads.push((name.to_owned(), p.grad.to_owned()))
        });
        assert_eq!(grads.len(), 12, "every parameter of the layer");
        for (name, g) in grads {
            worst = worst.max(close(g, &f, case, &format!("d.{name}")));
        }
        // Seen with `cargo test -p ch05-encoder --test golden -- --nocapture`.
        eprintln!(
            "{case}: y, dx and 12 parameter gradients, max |ours - PyTorch| = {worst:.2e} (tolerance {TOL:.0e})"
        );
    }
}

#[test]
fn encoder_stack_matches_torch() {
    let f = fixture();
    for case in ["stack_post_ln", "stack_pre_ln"] {
        let x = f.array::<Ix3>(case, "x").unwrap();
        let (_, t, c) = x.dim();
        let mut stack = EncoderStack::new(2, c, 2, 16, wiring(case), &mut seeded_rng(0));
        assert_eq!(stack.final_norm.is_some(), wiring(case) == Wiring::PreLn);
        load(&mut stack, &f, case);
        stack.zero_grad();
        let y = stack.forward(&x, Some(&pad(&f, case, t)));
        let dx = stack.backward(&f.array::<Ix3>(case, "upstream").unwrap());
        let mut worst = close(y.into_dyn(), &f, case, "y");
        worst = worst.max(close(dx.into_dyn(), &f, case, "dx"));
        if let Some(norm) = &stack.final_norm {
            worst = worst.max(close(
                norm.gamma.grad.clone().into_dyn(),
                &f,
                case,
                "d.final_norm.gamma",
            ));
            worst = worst.max(close(
                norm.beta.grad.clone().into_dyn(),
                &f,
                case,
                "d.final_norm.beta",
            ));
        }
        eprintln!(
            "{case}: 2 layers, y and dx, max |ours - PyTorch| = {worst:.2e} (tolerance {TOL:.0e})"
        );
    }
}
