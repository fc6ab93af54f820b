//! T5 against Hugging Face: transformers' `T5ForConditionalGeneration` with a tiny
//! config (d_model 16, d_kv 8 and 4 heads so H·d_kv = 32 ≠ d_model, d_ff 32, 2 + 2
//! layers, vocab 40, 8 buckets, max_distance 20; fixture: tools/golden/ch10_t5.py),
//! one source of 25 tokens and a target of 22, in two variants: T5 1.0 (ReLU, the head
//! tied to the shared table and scaled by d_model^-1/2) and T5 v1.1 (gated GELU, a head
//! of its own, unscaled). The weights are not stored: both sides draw them from the same
//! SplitMix64 stream (below). Compared: the logits, and the gradient of every parameter,
//! the two position-bias tables included, under L = Σ logits ⊙ R.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch10_encoder_decoder::t5::ffn::FeedForward;
use ch10_encoder_decoder::t5::model::{T5, T5Config, book_layout, hf_name};
use golden::{assert_close, assert_grad_close};
use ndarray::{Array2, ArrayD, IxDyn};

/// Tolerance, f32 against f32: max-abs for the logits; for a gradient, relative to its
/// largest entry (at least 1). Each error is printed with `-- --nocapture`.
const TOL: f32 = 1e-5;

/// SplitMix64, as tools/golden/ch10_t5.py writes it.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// offset + scale · (2u - 1), u the top 24 bits / 2^24, in f64 and then f32: exact.
    fn uniform(&mut self, shape: &[usize], scale: f64, offset: f64) -> ArrayD<f32> {
        let n = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|_| {
                let u = (self.next() >> 40) as f64 / 16_777_216.0;
                (offset + scale * (2.0 * u - 1.0)) as f32
            })
            .collect();
        ArrayD::from_shape_vec(IxDyn(shape), v).unwrap()
    }
}

/// The script's scales: norms 1 ± 0.2, the shared table ± 1, bias tables ± 0.5, the
/// rest ± 0.3.
fn scale_of(hf: &str) -> (f64, f64) {
    if hf.contains("layer_norm") {
        (0.2, 1.0)
    } else if hf == "shared.weight" {
        (1.0, 0.0)
    } else if hf.contains("relative_attention_bias") {
        (0.5, 0.0)
    } else {
        (0.3, 0.0)
    }
}

struct Case {
    src: Vec<usize>,
    tgt: Vec<usize>,
    params: BTreeMap<String, ArrayD<f32>>,
    logits: ArrayD<f32>,
    r: ArrayD<f32>,
    grads: BTreeMap<String, ArrayD<f32>>,
}

fn load(variant: &str) -> Case {
    let dir: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let json = dir.join(format!("t5_{variant}.json"));
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let case = &doc["cases"][variant];
    let ids = |f: &str| -> Vec<usize> {
        let v = case[f].as_array().unwrap();
        v.iter().map(|x| x.as_u64().unwrap() as usize).collect()
    };
    let names: Vec<(String, Vec<usize>)> =
        serde_json::from_value(case["names"].clone()).unwrap();
    let mut rng = SplitMix64(case["seed"].as_u64().unwrap());
    let mut params = BTreeMap::new();
    for (name, shape) in &names {
        let (scale, offset) = scale_of(name);
        params.insert(name.clone(), rng.uniform(shape, scale, offset));
    }
    let bytes = std::fs::read(dir.join(format!("t5_{variant}.bin"))).unwrap();
    let floats: Vec<f32> = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let mut at = 0;
    let mut take = |shape: &[usize]| {
        let n: usize = shape.iter().product();
        let t =
            ArrayD::from_shape_vec(IxDyn(shape), floats[at..at + n].to_vec()).unwrap();
        at += n;
        t
    };
    let lshape: Vec<usize> =
        serde_json::from_value(case["logits_shape"].clone()).unwrap();
    let logits = take(&lshape);
    let r = take(&lshape);
    let mut grads = BTreeMap::new();
    for (name, shape) in &names {
        grads.insert(name.clone(), take(shape));
    }
    assert_eq!(
        at,
        floats.len(),
        "{variant}: the .bin holds exactly the listed tensors"
    );
    Case {
        src: ids("src"),
        tgt: ids("tgt"),
        params,
        logits,
        r,
        grads,
    }
}

fn check(variant: &str, kind: FeedForward) {
    let case = load(variant);
    let mut model = T5::new(T5Config::tiny(kind), &mut seeded_rng(0)).unwrap();
    let mut loaded = Vec::new();
    model.visit_params_mut(&mut |name, mut p| {
        let v = book_layout(name, |hf| case.params[hf].clone());
        assert_eq!(p.value.shape(), v.shape(), "{name}");
        p.value.assign(&v);
        loaded.push(hf_name(name).0);
    });
    loaded.sort();
    let all: Vec<String> = case.params.keys().cloned().collect();
    assert_eq!(
        loaded, all,
        "every Hugging Face parameter is loaded, and only those"
    );

    model.zero_grad();
    let logits = model.forward(&case.src, &case.tgt).unwrap();
    let e = assert_close(
        &format!("{variant} logits"),
        &logits.into_dyn(),
        &case.logits,
        TOL,
    );
    eprintln!("{variant}: logits max |ours - transformers| = {e:.1e}");
    let r: Array2<f32> = case.r.clone().into_dimensionality().unwrap();
    model.backward(&r);
    let mut worst = 0.0f32;
    model.visit_params(&mut |name, p| {
        let want = book_layout(name, |hf| case.grads[hf].clone());
        let e = assert_grad_close(name, &p.grad.to_owned(), &want, TOL);
        worst = worst.max(e);
    });
    eprintln!("{variant}: every gradient, max |Δ| / max |g| = {worst:.1e}");
}

#[test]
fn t5_relu_tied_matches_transformers_logits_and_every_gradient() {
    check("relu", FeedForward::Relu);
}

#[test]
fn t5_gated_gelu_untied_matches_transformers_logits_and_every_gradient() {
    check("gated", FeedForward::GatedGelu);
}
