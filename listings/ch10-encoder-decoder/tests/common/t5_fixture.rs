//! The Hugging Face T5 fixtures (tools/golden/ch10_t5.py) read back: the weights
//! drawn from the shared SplitMix64 stream, the logits, R and every gradient from the
//! .bin, and the book's T5 measured against them. Shared by tests/t5_golden.rs and the
//! `t5_parity` example (which includes this file by path).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch10_encoder_decoder::t5::ffn::FeedForward;
use ch10_encoder_decoder::t5::model::{T5, T5Config, book_layout, hf_name};
use golden::max_abs_diff;
use ndarray::{Array2, ArrayD, IxDyn};

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

pub struct Case {
    src: Vec<usize>,
    tgt: Vec<usize>,
    params: BTreeMap<String, ArrayD<f32>>,
    logits: ArrayD<f32>,
    r: ArrayD<f32>,
    grads: BTreeMap<String, ArrayD<f32>>,
}

pub fn load(variant: &str) -> Case {
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

/// One variant's errors: the logits' max |Δ|, and per parameter (book name, shape,
/// max |Δ|, max |Δ| / max(1, max |g|)).
pub struct Parity {
    pub logits: f32,
    pub grads: Vec<(String, Vec<usize>, f32, f32)>,
}

/// Loads the fixture's weights into a fresh T5, runs forward and backward with R, and
/// measures the logits and every gradient. Panics if a parameter is missing or extra.
pub fn measure(variant: &str, kind: FeedForward) -> Parity {
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
    let logits = max_abs_diff(&logits.into_dyn(), &case.logits);
    let r: Array2<f32> = case.r.clone().into_dimensionality().unwrap();
    model.backward(&r);
    let mut grads = Vec::new();
    model.visit_params(&mut |name, p| {
        let want = book_layout(name, |hf| case.grads[hf].clone());
        let scale = want.iter().fold(1.0f32, |m, x| m.max(x.abs()));
        let e = max_abs_diff(&p.grad.to_owned(), &want);
        grads.push((name.to_owned(), p.value.shape().to_vec(), e, e / scale));
    });
    Parity { logits, grads }
}

/// The report the `t5_parity` example prints (src/figures/ch10/t5-parity.txt).
pub fn report() -> String {
    let mut out = String::from(
        "T5 (d_model 16, d_kv 8, 4 heads, d_ff 32, 2 + 2 layers, vocab 40, 8 buckets,\n\
         max_distance 20) against transformers' T5ForConditionalGeneration,\n\
         a source of 25 tokens and a target of 22\n",
    );
    for (variant, kind, what) in [
        (
            "relu",
            FeedForward::Relu,
            "T5 1.0: ReLU FFN, head tied and scaled",
        ),
        (
            "gated",
            FeedForward::GatedGelu,
            "T5 v1.1: gated-GELU FFN, untied head",
        ),
    ] {
        let p = measure(variant, kind);
        let worst = |f: &dyn Fn(&str) -> bool| {
            p.grads
                .iter()
                .filter(|g| f(&g.0))
                .fold(0.0f32, |m, g| m.max(g.3))
        };
        out += &format!("\n{what}\n");
        out += &format!("  logits: max |ours - transformers| = {:.1e}\n", p.logits);
        out += &format!(
            "  position-bias tables: max |Δ| / max |g| = {:.1e}\n",
            worst(&|n| n.contains("position_bias"))
        );
        out += &format!(
            "  all {} gradients: max |Δ| / max |g| = {:.1e}\n",
            p.grads.len(),
            worst(&|_| true)
        );
    }
    out
}
