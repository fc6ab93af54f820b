//! Tier 2: one decoder block against PyTorch's `nn.TransformerEncoderLayer` with a causal
//! mask (fixtures from tools/golden/ch06_decoder.py), both wirings, with and without key
//! padding: output, input gradient and all twelve parameter gradients.

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch05_encoder::Wiring;
use ch06_decoder::DecoderBlock;
use golden::{Fixture, assert_close};
use ndarray::{Array2, ArrayD, Ix2, Ix3};

/// Max absolute difference allowed, for values and gradients of size ~1 in f32: the
/// observed errors (printed) are below 3e-6, f32 rounding through two sub-layers.
const TOL: f32 = 2e-5;

/// Our parameter name -> (PyTorch's name, stored transposed?).
const NAMES: [(&str, &str, bool); 12] = [
    ("attn.w_qkv", "self_attn.in_proj_weight", true),
    ("attn.b_qkv", "self_attn.in_proj_bias", false),
    ("attn.w_o", "self_attn.out_proj.weight", true),
    ("attn.b_o", "self_attn.out_proj.bias", false),
    ("norm1.gamma", "norm1.weight", false),
    ("norm1.beta", "norm1.bias", false),
    ("ffn.fc1.w", "linear1.weight", true),
    ("ffn.fc1.b", "linear1.bias", false),
    ("ffn.fc2.w", "linear2.weight", true),
    ("ffn.fc2.b", "linear2.bias", false),
    ("norm2.gamma", "norm2.weight", false),
    ("norm2.beta", "norm2.bias", false),
];

fn torch_layout(f: &Fixture, case: &str, field: &str, transposed: bool) -> ArrayD<f32> {
    if transposed {
        f.array::<Ix2>(case, field)
            .unwrap()
            .reversed_axes()
            .as_standard_layout()
            .into_owned()
            .into_dyn()
    } else {
        f.tensor(case, field).unwrap()
    }
}

fn check(case: &str) -> f32 {
    let f = Fixture::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/ch06.json"
    ))
    .unwrap();
    let x = f.array::<Ix3>(case, "x").unwrap();
    let (b, t, c) = x.dim();
    let heads = f.scalar(case, "heads").unwrap() as usize;
    let wiring = if f.scalar(case, "norm_first").unwrap() == 1.0 {
        Wiring::PreLn
    } else {
        Wiring::PostLn
    };
    let mut block = DecoderBlock::new(c, heads, 2 * c, wiring, &mut seeded_rng(0));
    block.visit_params_mut(&mut |name, mut p| {
        let (_, torch, tr) = NAMES.iter().find(|(n, _, _)| *n == name).unwrap();
        p.value.assign(&torch_layout(&f, case, torch, *tr));
    });
    let pad = f
        .indices(case, "pad_lens")
        .ok()
        .map(|lens| Array2::from_shape_fn((b, t), |(i, j)| j >= lens[i]));
    let g = f.array::<Ix3>(case, "upstream").unwrap();
    block.zero_grad();
    let y = block.forward(&x, pad.as_ref());
    let dx = block.backward(&g);
    let mut worst = 0.0f32;
    let mut compare = |what: &str, ours: ArrayD<f32>, want: ArrayD<f32>| {
        worst = worst.max(assert_close(&format!("{case}.{what}"), &ours, &want, TOL));
    };
    compare("out", y.into_dyn(), f.tensor(case, "out").unwrap());
    compare("dx", dx.into_dyn(), f.tensor(case, "dx").unwrap());
    let mut grads = Vec::new();
    block.visit_params(&mut |name, p| grads.push((name.to_owned(), p.grad.to_owned())));
    assert_eq!(grads.len(), 12);
    for (name, grad) in grads {
        let (_, torch, tr) = NAMES.iter().find(|(n, _, _)| *n == name).unwrap();
        compare(
            &name,
            grad,
            torch_layout(&f, case, &format!("d_{torch}"), *tr),
        );
    }
    // Seen with `cargo test -p ch06-decoder --test golden -- --nocapture`.
    eprintln!("{case}: max |ours - PyTorch| over output and all gradients = {worst:.2e}");
    worst
}

#[test]
fn post_ln_causal() {
    check("post_ln_causal");
}

#[test]
fn post_ln_causal_padding() {
    check("post_ln_causal_padding");
}

#[test]
fn pre_ln_causal() {
    check("pre_ln_causal");
}

#[test]
fn pre_ln_causal_padding() {
    check("pre_ln_causal_padding");
}
