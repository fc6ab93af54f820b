//! Tier 2: the real all-MiniLM-L6-v2 against sentence-transformers and transformers
//! (fixture: tools/golden/ch08_minilm.py). Needs the models cache: without it every
//! test here fails with one line naming `cargo xtask models`.

mod common;

use ch08_encoder_only::sentence::Tokens;
use common::{golden_cases, golden_path, minilm};
use golden::Fixture;
use ndarray::{Array2, Ix1, Ix3, s};

/// Max-abs tolerance of the embeddings, as the chapter states it.
const TOL: f32 = 1e-5;

fn ids(case: &serde_json::Value) -> Vec<u32> {
    case["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_u64().expect("id") as u32)
        .collect()
}

fn max_abs(a: impl IntoIterator<Item = f32>, b: impl IntoIterator<Item = f32>) -> f32 {
    a.into_iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

#[test]
fn token_ids_match_sentence_transformers_including_truncation() {
    let enc = minilm().lock().unwrap();
    for (name, case) in golden_cases() {
        let Some(text) = case.get("text").and_then(|t| t.as_str()) else {
            continue;
        };
        let tokens = enc.tokenize(text);
        assert_eq!(tokens.ids, ids(&case), "{name}: {text:?}");
        if let Some(full) = case.get("untruncated_len").and_then(|n| n.as_u64()) {
            assert_eq!(
                tokens.full_len as u64, full,
                "{name}: length before truncation"
            );
        }
    }
}

#[test]
fn embeddings_match_sentence_transformers_within_1e_5() {
    let fixture = Fixture::load(golden_path()).unwrap();
    let mut enc = minilm().lock().unwrap();
    let cases: Vec<(String, String)> = golden_cases()
        .into_iter()
        .filter(|(_, c)| c.get("embedding").is_some())
        .map(|(name, c)| (name, c["text"].as_str().unwrap().to_owned()))
        .collect();
    assert!(cases.len() >= 8, "every golden sentence is checked");
    let texts: Vec<&str> = cases.iter().map(|(_, t)| t.as_str()).collect();
    // All at once (padded to the longest, as sentence-transformers batches) and one by one.
    let batched = enc.embed(&texts);
    for (i, (name, text)) in cases.iter().enumerate() {
        let want = fixture.array::<Ix1>(name, "embedding").unwrap();
        let alone = enc.embed(&[text.as_str()]);
        for (how, got) in [("batched", batched.row(i)), ("alone", alone.row(0))] {
            let err = max_abs(got.iter().copied(), want.iter().copied());
            assert!(err <= TOL, "{name} ({how}): max |Δ| = {err:e} > {TOL:e}");
        }
        let norm = batched.row(i).dot(&batched.row(i)).sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "{name}: |e| = {norm}");
    }
}

#[test]
fn hidden_states_of_every_layer_match_transformers() {
    let fixture = Fixture::load(golden_path()).unwrap();
    let case = &golden_cases()["hidden_states"];
    let want = fixture.array::<Ix3>("hidden_states", "states").unwrap(); // [N + 1, T, C]
    let ids = ids(case);
    let mut enc = minilm().lock().unwrap();
    assert_eq!(enc.tokenize(case["text"].as_str().unwrap()).ids, ids);
    let x = Array2::from_shape_fn((1, ids.len()), |(_, t)| ids[t] as usize);
    let states = enc.bert.hidden_states(&x, &Array2::zeros(x.dim()), None);
    assert_eq!(states.len(), want.dim().0, "embeddings + one per layer");
    for (layer, got) in states.iter().enumerate() {
        let want = want.slice(s![layer, .., ..]);
        let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let err = max_abs(got.iter().copied(), want.iter().copied());
        // Relative to the layer's largest entry: the residual stream grows with depth.
        assert!(
            err <= TOL * scale.max(1.0),
            "layer {layer}: max |Δ| = {err:e}, max |h| = {scale}"
        );
    }
}

#[test]
fn a_long_input_is_cut_to_256_tokens_ending_in_sep() {
    let enc = minilm().lock().unwrap();
    let long = golden_cases()["long"]["text"].as_str().unwrap().to_owned();
    let Tokens { ids, full_len } = enc.tokenize(&long);
    assert_eq!((ids.len(), full_len), (256, 380));
    let special = enc.tokenizer.vocab.special();
    assert_eq!((ids[0], ids[255]), (special.cls, special.sep));
    assert!(
        enc.truncation_note("line 1", &enc.tokenize(&long))
            .contains("380 tokens, truncated")
    );
}

#[test]
fn sorted_batches_give_the_same_vectors_in_the_input_order() {
    let mut enc = minilm().lock().unwrap();
    let texts = [
        "short",
        "",
        "a somewhat longer sentence than the first one",
        "mid length text",
    ];
    let sorted = enc.embed_sorted(&texts, 2);
    for (i, text) in texts.iter().enumerate() {
        let alone = enc.embed(&[text]);
        let err = max_abs(sorted.row(i).iter().copied(), alone.row(0).iter().copied());
        assert!(err < 1e-6, "{text:?}: {err}");
    }
}
