//! The trainable Llama against transformers' `LlamaForCausalLM` on the fixture that
//! tools/golden/ch09_llama.py writes: the logits' error and every gradient's, one line
//! per parameter. Its output is committed as src/figures/ch09/llama-parity.txt:
//!
//!   cargo run --release -p ch09-decoder-only --example llama_parity
//!
//! tests/llama_golden.rs asserts the same numbers are within 1e-5.

use std::path::Path;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig, book_layout};
use golden::{Fixture, max_abs_diff};
use ndarray::{Axis, Ix2, Ix3};

fn main() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/llama_train.json");
    let f = Fixture::load(&path).unwrap();
    let cfg = LlamaTrainConfig::tiny();
    let mut model = Llama::new(cfg, &mut seeded_rng(1)).unwrap();
    model.visit_params_mut(&mut |name, mut p| {
        p.value.assign(&book_layout(name, |hf| {
            f.tensor("llama", &format!("param.{hf}")).unwrap()
        }))
    });
    let ids = f.array::<Ix2>("llama", "ids").unwrap().mapv(|x| x as usize);
    let want = f.array::<Ix3>("llama", "logits").unwrap();
    let r = f.array::<Ix3>("llama", "r").unwrap();
    let mut logits_err = 0.0f32;
    for (b, seq) in ids.outer_iter().enumerate() {
        let logits = model.forward(&seq.to_vec());
        let want_b = want.index_axis(Axis(0), b).to_owned().into_dyn();
        logits_err = logits_err.max(max_abs_diff(&logits.into_dyn(), &want_b));
        model.backward(&r.index_axis(Axis(0), b).to_owned());
    }
    println!(
        "Llama (hidden 16, 2 layers, 4 query heads, 2 K/V heads, SwiGLU 32, vocab 40)"
    );
    println!("against transformers' LlamaForCausalLM, 2 sequences of 9 tokens");
    println!("logits: max |ours - transformers| = {logits_err:.1e}");
    println!();
    println!(
        "{:<28} {:>9} {:>12} {:>10}",
        "gradient", "shape", "max |Δ|", "/ max |g|"
    );
    let mut worst = 0.0f32;
    model.visit_params(&mut |name, p| {
        let reference =
            book_layout(name, |hf| f.tensor("llama", &format!("grad.{hf}")).unwrap());
        let scale = reference.iter().fold(1.0f32, |m, x| m.max(x.abs()));
        let e = max_abs_diff(&p.grad.to_owned(), &reference);
        worst = worst.max(e / scale);
        let shape = format!("{:?}", p.value.shape());
        println!("{name:<28} {shape:>9} {e:>12.1e} {:>10.1e}", e / scale);
    });
    println!();
    println!("every gradient: max |Δ| / max |g| = {worst:.1e}");
}
