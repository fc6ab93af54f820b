//! The trainable Llama against PyTorch: transformers' `LlamaForCausalLM` with a tiny
//! config (hidden 16, 2 layers, 4 query heads sharing 2 K/V heads, SwiGLU 32, vocab
//! 40, RoPE base 10000, untied head) and the same weights (fixture:
//! tools/golden/ch09_llama.py). The logits of two sequences, and the gradient of every
//! parameter under L = Σ logits ⊙ R, so backward is driven by dlogits = R. Hugging Face
//! stores a linear layer's weight as [out, in]; the book multiplies x W with W: [in,
//! out], so every projection is transposed on the way in. Both use rotate-half RoPE.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch02_input::positions::rope::RopeStyle;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig, book_layout, hf_name};
use golden::{Fixture, assert_close, assert_grad_close, max_abs_diff};
use ndarray::{ArrayD, Axis, Ix2, Ix3, s};

/// Tolerance, f32 against f32: max-abs for the logits; for a gradient, relative to its
/// largest entry (at least 1). Each error is printed with `-- --nocapture`.
const TOL: f32 = 1e-5;
const CASE: &str = "llama";

#[test]
fn llama_matches_transformers_logits_and_every_gradient() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/llama_train.json");
    let f = Fixture::load(&path).unwrap();
    let mut model = Llama::new(LlamaTrainConfig::tiny(), &mut seeded_rng(1)).unwrap();
    let mut read = BTreeSet::new();
    model.visit_params_mut(&mut |name, mut p| {
        let v = book_layout(name, |hf| f.tensor(CASE, &format!("param.{hf}")).unwrap());
        assert_eq!(p.value.shape(), v.shape(), "{name}");
        p.value.assign(&v);
        read.insert(hf_name(name).0);
    });
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let names: BTreeSet<String> = doc["cases"][CASE]["names"]
        .as_array()
        .expect("names")
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(read, names, "every HF parameter is loaded, and only those");

    let ids = f.array::<Ix2>(CASE, "ids").unwrap().mapv(|x| x as usize);
    let want = f.array::<Ix3>(CASE, "logits").unwrap();
    let r = f.array::<Ix3>(CASE, "r").unwrap();
    model.zero_grad();
    let mut logits_err = 0.0f32;
    for (b, seq) in ids.outer_iter().enumerate() {
        let seq: Vec<usize> = seq.to_vec();
        let logits = model.forward(&seq);
        let want_b = want.index_axis(Axis(0), b).to_owned().into_dyn();
        let e = assert_close("logits", &logits.clone().into_dyn(), &want_b, TOL);
        logits_err = logits_err.max(e);
        // Gradients accumulate over the batch, as PyTorch's do over its sum.
        model.backward(&r.index_axis(Axis(0), b).to_owned());
    }
    eprintln!("logits: max |ours - transformers| = {logits_err:.2e}");

    let mut want: BTreeMap<String, ArrayD<f32>> = BTreeMap::new();
    model.visit_params(&mut |name, _| {
        want.insert(
            name.to_owned(),
            book_layout(name, |hf| f.tensor(CASE, &format!("grad.{hf}")).unwrap()),
        );
    });
    let mut worst = 0.0f32;
    model.visit_params(&mut |name, p| {
        let relative = assert_grad_close(name, &p.grad.to_owned(), &want[name], TOL);
        worst = worst.max(relative);
    });
    eprintln!(
        "{} parameters; max logits error {logits_err:.2e}; max gradient error / max |reference| {worst:.2e}",
        want.len()
    );
}

/// The RoPE convention is part of the checkpoint: the same weights with interleaved
/// pairs agree at position 0 (no rotation) and nowhere after.
#[test]
fn interleaved_rope_on_hugging_face_weights_gives_other_logits() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/llama_train.json");
    let f = Fixture::load(&path).unwrap();
    let mut model = Llama::new(LlamaTrainConfig::tiny(), &mut seeded_rng(1)).unwrap();
    model.visit_params_mut(&mut |name, mut p| {
        p.value.assign(&book_layout(name, |hf| {
            f.tensor(CASE, &format!("param.{hf}")).unwrap()
        }))
    });
    for block in &mut model.blocks {
        block.attn.rope_style = RopeStyle::Interleaved;
    }
    let ids = f.array::<Ix2>(CASE, "ids").unwrap().mapv(|x| x as usize);
    let want = f.array::<Ix3>(CASE, "logits").unwrap();
    let logits = model.forward(&ids.row(0).to_vec());
    let want = want.index_axis(Axis(0), 0);
    let first = max_abs_diff(
        &logits.slice(s![..1, ..]).to_owned().into_dyn(),
        &want.slice(s![..1, ..]).to_owned().into_dyn(),
    );
    assert!(first <= TOL, "position 0 is not rotated: {first:.2e}");
    for t in 1..logits.nrows() {
        let e = max_abs_diff(
            &logits.row(t).to_owned().into_dyn(),
            &want.row(t).to_owned().into_dyn(),
        );
        eprintln!("position {t}: interleaved vs rotate-half logits differ by {e:.2e}");
        assert!(e > 1e-2, "position {t} differs by only {e:.2e}");
    }
}
