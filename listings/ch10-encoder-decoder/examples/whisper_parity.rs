//! The real Whisper tiny.en run by the book's code against CTranslate2 4.8.5 on the same
//! `model.bin`, on the fixture tools/golden/ch10_whisper.py writes: the encoder's output,
//! the top-5 logits at every decoding step, and the greedy ids and text. Needs the
//! models cache (`cargo xtask models`). Its output is committed as
//! src/figures/ch10/whisper-parity.txt:
//!
//!   cargo run --release -p ch10-encoder-decoder --example whisper_parity
//!
//! tests/whisper_real.rs asserts the same comparisons within their tolerances.

use std::path::Path;

use ch10_encoder_decoder::ctranslate2::Ct2Model;
use ch10_encoder_decoder::transcribe::{self, DecodingRules, NO_TIMESTAMPS, SOT};
use ch10_encoder_decoder::whisper::{Whisper, synthetic_log_mel};
use serde_json::Value;

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn ids(v: &Value) -> Vec<u32> {
    serde_json::from_value(v.clone()).unwrap()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = models::WHISPER_TINY_EN.dir()?;
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/whisper_ct2.json");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let cases = &doc["cases"];
    let mut model = Whisper::from_ct2(&Ct2Model::open(&dir.join("model.bin"))?)?;
    let mel = synthetic_log_mel();
    let m = model.encode(&mel)?;
    let enc = &cases["encoder"];
    let mut enc_err = 0.0f32;
    for (r, data) in enc["rows"]
        .as_array()
        .unwrap()
        .iter()
        .zip(enc["data"].as_array().unwrap())
    {
        let row = m.row(r.as_u64().unwrap() as usize);
        for (a, b) in row.iter().zip(floats(data)) {
            enc_err = enc_err.max((a - b).abs());
        }
    }
    let max_abs = m.iter().fold(0.0f32, |a, v| a.max(v.abs()));
    let mut rules = DecodingRules::from_config(&dir.join("config.json"))?;
    rules.max_length = cases["max_length"].as_u64().unwrap() as usize;
    let bpe = transcribe::read_vocabulary(&dir.join("vocabulary.txt"))?;
    let (mut logit_err, mut margin) = (0.0f32, f32::INFINITY);
    let mut rows = Vec::new();
    for (name, case) in cases["greedy"].as_object().unwrap() {
        let theirs = ids(&case["ids"]);
        let seq: Vec<u32> = [SOT, NO_TIMESTAMPS]
            .into_iter()
            .chain(theirs.clone())
            .collect();
        let logits = model.logits(&m, &seq)?;
        for (k, step) in case["steps"].as_array().unwrap().iter().enumerate() {
            for (&id, v) in ids(&step["top_ids"])
                .iter()
                .zip(floats(&step["top_logits"]))
            {
                logit_err = logit_err.max((logits[[1 + k, id as usize]] - v).abs());
            }
            margin = margin.min(step["margin"].as_f64().unwrap() as f32);
        }
        let prompt: Vec<u32> = [SOT, NO_TIMESTAMPS]
            .into_iter()
            .chain(ids(&case["forced"]))
            .collect();
        let ours = transcribe::greedy(&mut model, &m, &prompt, &rules)?;
        let text = transcribe::text(&bpe, &ours)?;
        rows.push((
            name.clone(),
            ours,
            theirs,
            text,
            case["text"].as_str().unwrap().to_owned(),
        ));
    }
    println!(
        "Whisper tiny.en: the book's model against CTranslate2 {} on the same model.bin",
        doc["ctranslate2"].as_str().unwrap()
    );
    println!("(fp16 weights computed in f32 on both sides), synthetic log-mel");
    println!("x[c, t] = 0.6 sin(0.37 c + 0.011 t) - 0.2, [80, 3000]");
    println!();
    println!(
        "encoder output [1500, 384]: max |ours - CTranslate2| = {enc_err:.1e} over 7 rows (max |x| = {max_abs:.2})"
    );
    println!("top-5 logits at every step: max |ours - CTranslate2| = {logit_err:.1e}");
    println!("smallest top-1/top-2 margin CTranslate2 saw:          {margin:.2}");
    println!();
    for (name, ours, theirs, text, their_text) in rows {
        let verdict = if ours == theirs && text == their_text {
            "same"
        } else {
            "DIFFERENT"
        };
        println!("{name}: ours {ours:?}, CTranslate2 {theirs:?}: {verdict}");
        println!("{:w$}  text {text:?}", "", w = name.len());
    }
    Ok(())
}
