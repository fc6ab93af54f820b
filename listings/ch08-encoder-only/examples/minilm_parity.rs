//! How close the book's all-MiniLM-L6-v2 comes to sentence-transformers and
//! transformers on the golden sentences (fixture: tools/golden/ch08_minilm.py):
//!
//!     cargo run --release -p ch08-encoder-only --example minilm_parity
//!
//! `cargo xtask bench` writes its output to src/figures/ch08/minilm-parity.txt, which
//! the text quotes. Needs the models cache (`cargo xtask models`).

use std::path::Path;

use anyhow::{Context, Result};
use ch08_encoder_only::SentenceEncoder;
use golden::Fixture;
use ndarray::{Array2, Ix1, Ix3, s};

fn max_abs<'a>(
    a: impl IntoIterator<Item = &'a f32>,
    b: impl IntoIterator<Item = &'a f32>,
) -> f32 {
    a.into_iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn main() -> Result<()> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/minilm.json");
    let fixture = Fixture::load(&path)?;
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path)?)?;
    let cases = doc["cases"].as_object().context("cases")?;
    let dir = models::ALL_MINILM_L6_V2.dir()?;
    let mut enc = SentenceEncoder::load(&dir)?;
    let versions = &cases["versions"];
    println!(
        "all-MiniLM-L6-v2: the book's code against sentence-transformers {} (embeddings) and transformers {} (hidden states)",
        versions["sentence_transformers"].as_str().unwrap_or("?"),
        versions["transformers"].as_str().unwrap_or("?")
    );
    println!("{}", ch08_encoder_only::report::model_summary(&enc));
    println!("\n{:<12} {:>7} {:>13}", "sentence", "tokens", "max |Δ|");
    let mut worst = 0.0f32;
    for (name, case) in cases {
        let Some(text) = case.get("embedding").and(case["text"].as_str()) else {
            continue;
        };
        let tokens = enc.tokenize(text);
        let got = enc.embed_tokens(std::slice::from_ref(&tokens));
        let want = fixture.array::<Ix1>(name, "embedding")?;
        let err = max_abs(got.row(0), &want);
        worst = worst.max(err);
        let len = if tokens.truncated() {
            format!("{}→{}", tokens.full_len, tokens.ids.len())
        } else {
            tokens.ids.len().to_string()
        };
        println!("{name:<12} {len:>7} {err:>13.1e}");
    }
    println!("{:<12} {:>7} {worst:>13.1e}", "worst", "");

    let case = &cases["hidden_states"];
    let text = case["text"].as_str().context("text")?;
    let want = fixture.array::<Ix3>("hidden_states", "states")?;
    let ids = enc.tokenize(text).ids;
    let x = Array2::from_shape_fn((1, ids.len()), |(_, t)| ids[t] as usize);
    let states = enc.bert.hidden_states(&x, &Array2::zeros(x.dim()), None);
    println!("\nhidden states of {text:?} ({} tokens)", ids.len());
    println!("{:<12} {:>10} {:>13}", "layer", "max |h|", "max |Δ|");
    for (layer, got) in states.iter().enumerate() {
        let want = want.slice(s![layer, .., ..]);
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let name = if layer == 0 {
            "embeddings".to_owned()
        } else {
            format!("block {layer}")
        };
        println!("{name:<12} {scale:>10.2} {:>13.1e}", max_abs(got, want));
    }
    Ok(())
}
