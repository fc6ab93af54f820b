//! Tier 2: numerics against PyTorch 2 (`tools/golden/ch07_transformer.py`), float32 on CPU.
//! (a) One `nn.TransformerDecoderLayer` (Post-LN and Pre-LN) with a causal target mask and
//! padding on both sides: output and the gradients of the input, the memory and every
//! parameter. (b) A whole encoder-decoder built from PyTorch's layers, with embeddings ×
//! √C + sinusoidal positions, tied or untied output, and label-smoothed cross-entropy on a
//! padded batch: logits, loss and a few parameter gradients.
//! The fixtures store every parameter under the book's dotted name and in its layout, so
//! loading is one pass of `visit_params_mut` (Chapter 1's `Fixture::load_params`).

use ch01_foundations::init::seeded_rng;
use ch01_foundations::linalg::{rows, unrows};
use ch01_foundations::module::Module;
use ch05_encoder::block::Wiring;
use ch07_transformer::loss::label_smoothed_cross_entropy;
use ch07_transformer::{Config, DecoderLayer, Padding, Transformer};
use golden::{Fixture, assert_close};
use ndarray::{Array2, Ix3};

/// One layer: float32 rounding in another summation order, through three sub-layers and
/// their LayerNorms; outputs and gradients are O(1). Observed: ~1e-6.
const TOL_LAYER: f32 = 1e-5;
/// The whole model: 2 + 2 layers, embeddings and the loss, where rounding could compound
/// with depth. Observed: ~6e-7, the loss exact.
const TOL_MODEL: f32 = 1e-5;

fn fixture(name: &str) -> Fixture {
    Fixture::load(format!(
        "{}/tests/golden/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .expect("fixture")
}

/// Sets every parameter from the fixture's "p.<name>" and checks that the fixture has
/// as many parameters as the module.
fn load_params(module: &mut impl Module, f: &Fixture, case: &str) {
    let n = f.load_params(module, case, "p.").unwrap();
    assert_eq!(
        n as f32,
        f.scalar(case, "n_params").unwrap(),
        "{case}: tensor count"
    );
}

/// Compares every parameter gradient the fixture stores; returns the largest error.
fn compare_grads(module: &impl Module, f: &Fixture, case: &str, tol: f32) -> f32 {
    let (mut n, mut worst) = (0, 0.0f32);
    module.visit_params(&mut |name, p| {
        if let Ok(want) = f.tensor(case, &format!("g.{name}")) {
            let what = format!("{case}: d {name}");
            let err = assert_close(&what, &p.grad.to_owned(), &want, tol);
            worst = worst.max(err);
            n += 1;
        }
    });
    assert_eq!(
        n as f32,
        f.scalar(case, "n_grads").unwrap(),
        "{case}: gradient count"
    );
    worst
}

fn padding(f: &Fixture, case: &str, field: &str, t: usize) -> Array2<bool> {
    let lens = f.indices(case, field).unwrap();
    Array2::from_shape_fn((lens.len(), t), |(b, j)| j >= lens[b])
}

// ANCHOR: decoder_layer_case
fn decoder_layer_case(case: &str, wiring: Wiring) {
    let f = fixture("decoder_layer.json");
    let (x, m, g) = (
        f.array::<Ix3>(case, "x").unwrap(),
        f.array::<Ix3>(case, "m").unwrap(),
        f.array::<Ix3>(case, "upstream").unwrap(),
    );
    let (c, t, s) = (x.dim().2, x.dim().1, m.dim().1);
    let heads = f.scalar(case, "heads").unwrap() as usize;
    let d_ff = f.scalar(case, "d_ff").unwrap() as usize;
    let mut layer = DecoderLayer::new(c, heads, d_ff, wiring, &mut seeded_rng(0));
    load_params(&mut layer, &f, case);
    let (tgt_pad, src_pad) = (
        padding(&f, case, "tgt_lens", t),
        padding(&f, case, "src_lens", s),
    );
    let pad = Padding {
        src: Some(&src_pad),
        tgt: Some(&tgt_pad),
    };
    let y = layer.forward(&x, &m, pad);
    let (dx, dm) = layer.backward(&g);
    let mut worst = 0.0f32;
    for (what, ours) in [("out", y), ("dx", dx), ("dm", dm)] {
        let want = f.tensor(case, what).unwrap();
        let what = format!("{case}: {what}");
        worst = worst.max(assert_close(&what, &ours.into_dyn(), &want, TOL_LAYER));
    }
    worst = worst.max(compare_grads(&layer, &f, case, TOL_LAYER));
    eprintln!("{case}: worst error {worst:.2e} (tolerance {TOL_LAYER:.0e})");
}

// ANCHOR_END: decoder_layer_case

#[test]
fn decoder_layer_post_ln_matches_pytorch() {
    decoder_layer_case("dec_post", Wiring::PostLn);
}

#[test]
fn decoder_layer_pre_ln_matches_pytorch() {
    decoder_layer_case("dec_pre", Wiring::PreLn);
}

fn ids(f: &Fixture, case: &str, field: &str, shape: &str) -> Array2<usize> {
    let dims = f.indices(case, shape).unwrap();
    Array2::from_shape_vec((dims[0], dims[1]), f.indices(case, field).unwrap()).unwrap()
}

fn model_case(case: &str, wiring: Wiring, tie_output: bool) {
    let f = fixture("model.json");
    let n = |field: &str| f.scalar(case, field).unwrap() as usize;
    let cfg = Config {
        src_vocab: n("src_vocab"),
        tgt_vocab: n("tgt_vocab"),
        max_len: n("max_len"),
        d_model: n("d_model"),
        n_heads: n("heads"),
        d_ff: n("d_ff"),
        n_enc: n("n_enc"),
        n_dec: n("n_dec"),
        wiring,
        tie_output,
        pad: n("pad"),
    };
    let mut model = Transformer::new(cfg, &mut seeded_rng(0));
    load_params(&mut model, &f, case);
    let src = ids(&f, case, "src", "src_shape");
    let tgt_in = ids(&f, case, "tgt_in", "tgt_shape");
    let tgt = ids(&f, case, "tgt", "tgt_shape");

    let logits = model.forward(&src, &tgt_in); // [B, T, V]
    let (b, t, v) = logits.dim();
    let targets: Vec<usize> = tgt.iter().copied().collect();
    let eps = f.scalar(case, "label_smoothing").unwrap();
    let (loss, dlogits) =
        label_smoothed_cross_entropy(&rows(&logits), &targets, cfg.pad, eps);
    model.backward(&unrows(dlogits, b, t, v));

    let want = f.tensor(case, "logits").unwrap();
    let what = format!("{case}: logits");
    let mut worst = assert_close(&what, &logits.into_dyn(), &want, TOL_MODEL);
    let loss_err = (loss - f.scalar(case, "loss").unwrap()).abs();
    eprintln!("{case}: loss {loss:.6} max |ours - PyTorch| = {loss_err:.2e}");
    assert!(
        loss_err <= TOL_MODEL,
        "{case}: loss differs by {loss_err:.2e}"
    );
    worst = worst.max(loss_err);
    worst = worst.max(compare_grads(&model, &f, case, TOL_MODEL));
    eprintln!("{case}: worst error {worst:.2e} (tolerance {TOL_MODEL:.0e})");
}

#[test]
fn post_ln_tied_model_matches_pytorch() {
    model_case("model_post_tied", Wiring::PostLn, true);
}

#[test]
fn pre_ln_untied_model_matches_pytorch() {
    model_case("model_pre_untied", Wiring::PreLn, false);
}
