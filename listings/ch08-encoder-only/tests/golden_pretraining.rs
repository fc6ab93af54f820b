//! The whole model against PyTorch: transformers' `BertForPreTraining` with a small
//! config and the same weights (fixture: tools/golden/ch08_bert.py). Both heads' logits
//! and the gradient of every parameter under L = Σ mlm ⊙ R1 + Σ nsp ⊙ R2, so the
//! backward pass is driven by dmlm = R1, dnsp = R2. Every position is compared,
//! padded ones too: the key-padding mask hides padded keys only, so a padded query
//! still gets an output, and PyTorch's additive mask (a large negative number, whose
//! exp underflows to exactly 0) gives the same one.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch04_ffn_norms::activations::Activation;
use ch08_encoder_only::checkpoint::assign_pretraining;
use ch08_encoder_only::config::BertConfig;
use ch08_encoder_only::heads::BertForPreTraining;
use golden::{Fixture, assert_close, assert_grad_close};
use ndarray::{Array2, ArrayD, Ix1, Ix2, Ix3};

/// Tolerance, f32 against f32: max-abs for the logits; for a gradient, relative to its
/// largest entry (at least 1), because L sums 820 random-weighted logits and some
/// gradients reach 40, where one f32 ulp is already 4e-6. Each error is printed with
/// `-- --nocapture`.
const TOL: f32 = 1e-5;
const CASE: &str = "pretraining";

/// The config ch08_bert.py gives transformers.
fn config() -> BertConfig {
    BertConfig {
        vocab_size: 40,
        hidden_size: 16,
        num_hidden_layers: 2,
        num_attention_heads: 2,
        intermediate_size: 32,
        max_position_embeddings: 16,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        hidden_act: Activation::Gelu,
    }
}

/// A model whose every parameter is set, through the checkpoint loader's name
/// mapping, from the fixture's `{prefix}{hf name}` tensors; and the names it read.
fn model_from(f: &Fixture, prefix: &str) -> (BertForPreTraining, BTreeSet<String>) {
    let mut model = BertForPreTraining::new(config(), &mut seeded_rng(1));
    let read = RefCell::new(BTreeSet::new());
    let field = |n: &str| {
        read.borrow_mut().insert(n.to_owned());
        format!("{prefix}{n}")
    };
    let w = |n: &str| f.array::<Ix2>(CASE, &field(n)).unwrap();
    let b = |n: &str| f.array::<Ix1>(CASE, &field(n)).unwrap();
    assign_pretraining(&mut model, &w, &b);
    (model, read.into_inner())
}

/// Every parameter name transformers listed (tied ones once).
fn hf_names(path: &Path) -> BTreeSet<String> {
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let names = doc["cases"][CASE]["names"].as_array().expect("names");
    names
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect()
}

fn integers(f: &Fixture, field: &str) -> Array2<usize> {
    f.array::<Ix2>(CASE, field).unwrap().mapv(|x| x as usize)
}

#[test]
fn bert_for_pretraining_matches_transformers_logits_and_every_gradient() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/bert.json");
    let f = Fixture::load(&path).unwrap();
    let (mut model, read) = model_from(&f, "param.");
    assert_eq!(
        read,
        hf_names(&path),
        "every HF parameter is loaded, and only those"
    );
    let ids = integers(&f, "ids");
    let segments = integers(&f, "segments");
    let padding = integers(&f, "attention_mask").mapv(|m| m == 0);
    assert!(padding.iter().any(|&p| p), "the batch has padding");

    let (mlm, nsp) = model.forward(&ids, &segments, Some(&padding));
    let mut worst = BTreeMap::new();
    let want = f.tensor(CASE, "prediction_logits").unwrap();
    worst.insert(
        "logits",
        assert_close("prediction_logits", &mlm.into_dyn(), &want, TOL),
    );
    let want = f.tensor(CASE, "seq_relationship_logits").unwrap();
    let e = assert_close("seq_relationship_logits", &nsp.into_dyn(), &want, TOL);
    worst.insert("logits", e.max(worst["logits"]));

    let r1 = f.array::<Ix3>(CASE, "r1").unwrap();
    let r2 = f.array::<Ix2>(CASE, "r2").unwrap();
    model.backward(&r1, &r2);

    // PyTorch's gradients, put in the book's layout by the same loader: a model whose
    // values are those gradients (q, k, v side by side in W_qkv, weights transposed,
    // the tied table's one gradient holding both uses).
    let (reference, _) = model_from(&f, "grad.");
    let mut want: BTreeMap<String, ArrayD<f32>> = BTreeMap::new();
    reference.visit_params(&mut |name, p| {
        want.insert(name.to_owned(), p.value.to_owned());
    });
    let mut n = 0;
    model.visit_params(&mut |name, p| {
        let relative = assert_grad_close(name, &p.grad.to_owned(), &want[name], TOL);
        let part = if name.starts_with("bert.") {
            "encoder grads"
        } else {
            "head grads"
        };
        let w = worst.entry(part).or_insert(0.0f32);
        *w = w.max(relative);
        n += 1;
    });
    assert_eq!(n, want.len());
    eprintln!("{n} parameters; max error (gradients: / max |reference|): {worst:?}");
}
