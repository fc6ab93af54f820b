//! The whole GPT-2 against PyTorch: transformers' `GPT2LMHeadModel` with a tiny config
//! and the same weights (fixture: tools/golden/ch09_gpt2.py). The logits and the
//! gradient of every parameter under L = Σ logits ⊙ R, so the backward pass is driven
//! by dlogits = R. Every parameter is set through [`hf_name`], the name mapping the
//! text shows: Hugging Face's `Conv1D` weights are [in, out] like the book's, so
//! nothing is transposed.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch09_decoder_only::gpt2::{Gpt2, Gpt2Config, hf_name};
use golden::{Fixture, assert_close, assert_grad_close};
use ndarray::{Array2, Ix2, Ix3};

/// Tolerance, f32 against f32: max-abs for the logits; for a gradient, relative to its
/// largest entry (at least 1), because L sums 960 random-weighted logits. Each error
/// is printed with `-- --nocapture`.
const TOL: f32 = 1e-5;
const CASE: &str = "gpt2";

/// The config ch09_gpt2.py gives transformers.
fn config() -> Gpt2Config {
    Gpt2Config {
        vocab_size: 40,
        n_positions: 16,
        n_embd: 16,
        n_layer: 2,
        n_head: 2,
        layer_norm_epsilon: 1e-5,
        embd_pdrop: 0.0,
        attn_pdrop: 0.0,
        resid_pdrop: 0.0,
    }
}

fn fixture() -> (Fixture, Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/gpt2.json");
    let f = Fixture::load(&path).unwrap();
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let names = doc["cases"][CASE]["names"].as_array().expect("names");
    let names = names
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    (f, names)
}

/// A model whose every parameter is the fixture's `{prefix}{hf name}` tensor; and the
/// HF names it read.
fn model_from(f: &Fixture, prefix: &str) -> (Gpt2, BTreeSet<String>) {
    let mut model = Gpt2::new(config(), &mut seeded_rng(1)).unwrap();
    let mut read = BTreeSet::new();
    model.visit_params_mut(&mut |name, mut p| {
        let hf = hf_name(name).unwrap_or_else(|| panic!("no HF name for {name}"));
        let t = f.tensor(CASE, &format!("{prefix}{hf}")).unwrap();
        assert_eq!(t.shape(), p.value.shape(), "{name} ← {hf}");
        p.value.assign(&t);
        read.insert(hf);
    });
    (model, read)
}

#[test]
fn every_parameter_has_a_hugging_face_name() {
    let (f, names) = fixture();
    let (_, read) = model_from(&f, "param.");
    let hf: BTreeSet<String> = names.into_iter().collect();
    assert_eq!(read, hf, "every HF parameter is loaded, and only those");
}

#[test]
fn gpt2_matches_transformers_logits_and_every_gradient() {
    let (f, _) = fixture();
    let (mut model, _) = model_from(&f, "param.");
    let ids: Array2<usize> = f.array::<Ix2>(CASE, "ids").unwrap().mapv(|x| x as usize);

    let logits = model.forward(&ids).unwrap();
    let want = f.tensor(CASE, "logits").unwrap();
    let e_logits = assert_close("logits", &logits.into_dyn(), &want, TOL);

    let r = f.array::<Ix3>(CASE, "r").unwrap();
    model.zero_grad();
    model.backward(&r);

    // PyTorch's gradients, by the same name mapping: a model whose values they are.
    let (reference, _) = model_from(&f, "grad.");
    let mut want = BTreeMap::new();
    reference.visit_params(&mut |name, p| {
        want.insert(name.to_owned(), p.value.to_owned());
    });
    let mut worst = 0.0f32;
    let mut n = 0;
    model.visit_params(&mut |name, p| {
        let relative = assert_grad_close(name, &p.grad.to_owned(), &want[name], TOL);
        worst = worst.max(relative);
        n += 1;
    });
    assert_eq!(n, 4 + 12 * 2, "wte, wpe, ln_f (2) and 12 tensors a block");
    eprintln!("{n} parameters; logits max error {e_logits:.2e}; gradients {worst:.2e}");
}
