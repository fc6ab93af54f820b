//! SmolLM2-135M-Instruct run by the book's code against Hugging Face transformers
//! loading the same GGUF in float32 (tools/golden/ch09_smollm2.py): the logits at every
//! position of three prompts, at the top-5 ids and a fixed set of ids, and the row
//! statistics. Tolerance: 1e-3 of the row's largest |logit|.

mod common;

use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;

#[test]
fn smollm2_logits_match_hugging_face() {
    let model = Llama::from_gguf(common::smollm2()).unwrap();
    let doc = {
        let path = common::golden_dir().join("smollm2_logits.json");
        let text = std::fs::read_to_string(&path).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let fixed: Vec<usize> = serde_json::from_value(doc["fixed_ids"].clone()).unwrap();
    let (mut worst, mut worst_abs) = (0f64, 0f64);
    let (mut n_logits, mut n_positions, mut n_clear) = (0, 0, 0);
    for (name, case) in doc["cases"].as_object().unwrap() {
        let ids: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        let logits = model.forward(&ids);
        for (t, pos) in case["positions"].as_array().unwrap().iter().enumerate() {
            let row = logits.row(t);
            let scale = f64::from(row.fold(0f32, |a, &b| a.max(b.abs())));
            let top: Vec<usize> = serde_json::from_value(pos["top_ids"].clone()).unwrap();
            let top_logits: Vec<f64> =
                serde_json::from_value(pos["top_logits"].clone()).unwrap();
            let fixed_logits: Vec<f64> =
                serde_json::from_value(pos["fixed"].clone()).unwrap();
            let pairs = top
                .iter()
                .zip(&top_logits)
                .chain(fixed.iter().zip(&fixed_logits));
            for (&id, &want) in pairs {
                let d = (f64::from(row[id]) - want).abs();
                worst_abs = worst_abs.max(d);
                worst = worst.max(d / scale);
                assert!(
                    d / scale < 1e-3,
                    "{name} position {t} id {id}: {} against {want}",
                    row[id]
                );
                n_logits += 1;
            }
            let argmax = row
                .iter()
                .enumerate()
                .fold((0, f32::MIN), |a, (i, &v)| if v > a.1 { (i, v) } else { a })
                .0;
            let margin = top_logits[0] - top_logits[1];
            n_positions += 1;
            if margin > 1e-2 {
                assert_eq!(argmax, top[0], "{name} position {t}: top-1");
                n_clear += 1;
            }
        }
    }
    println!(
        "largest logit error: {worst_abs:.3e} absolute, {worst:.3e} of the row's largest |logit|"
    );
    // The snapshot rounds each error up to a power of ten, so that CPU differences
    // cannot change it.
    let up = |x: f64| format!("1e{}", x.log10().ceil() as i32);
    let n_prompts = doc["cases"].as_object().unwrap().len();
    insta::assert_snapshot!(format!(
        "{n_prompts} prompts, {n_positions} positions, {n_logits} logits compared\n\
         largest error: below {} absolute, below {} of the row's largest |logit|\n\
         top-1 identical wherever the reference margin exceeds 0.01 ({n_clear} of {n_positions} positions)",
        up(worst_abs),
        up(worst)
    ));
}

/// Greedy continuations identical to Hugging Face's `generate(do_sample=False)` for up
/// to 32 tokens (each prompt's smallest top-1/top-2 margin is in the fixture: 0.05 and
/// up, far above the logit error).
#[test]
fn smollm2_greedy_continuations_match_hugging_face() {
    let g = common::smollm2();
    let model = Llama::from_gguf(g).unwrap();
    let eos = g.uint("tokenizer.ggml.eos_token_id").unwrap() as u32;
    let tok = GgufTokenizer::from_gguf(g).unwrap();
    let mut shown = String::new();
    let text = std::fs::read_to_string(common::golden_dir().join("smollm2_logits.json"))
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    for (name, case) in doc["cases"].as_object().unwrap() {
        let ids: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        let want: Vec<u32> = serde_json::from_value(case["greedy"].clone()).unwrap();
        let margins: Vec<f64> =
            serde_json::from_value(case["greedy_margins"].clone()).unwrap();
        // The text: the smallest margin along the continuations is 0.05.
        assert!(
            margins.iter().all(|&m| m >= 0.05),
            "{name}: a margin under 0.05 in the reference: {margins:?}"
        );
        let new = model.greedy(&ids, 32, Some(eos));
        assert_eq!(new, want, "{name}");
        let prompt = case["text"].as_str().unwrap();
        let text = String::from_utf8_lossy(&tok.decode(&new).unwrap()).into_owned();
        shown += &format!("{prompt:?}\n  -> {text:?} ({} tokens)\n", new.len());
    }
    insta::assert_snapshot!(shown);
}
