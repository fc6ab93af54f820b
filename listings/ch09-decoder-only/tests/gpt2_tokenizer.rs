//! The real GPT-2 tokenizer: Chapter 2's BPE with OpenAI's `gpt2.tiktoken` ranks (from
//! the models cache) against tiktoken's `gpt2` encoding (tests/golden/gpt2_tokenizer.json,
//! written by tools/golden/ch09_gpt2_tokenizer.py). Ids must be identical.

mod common;

use std::sync::OnceLock;

use ch02_input::bpe::ranks::show;
use ch02_input::bpe::{Bpe, ENDOFTEXT, gpt2_from_file};

/// GPT-2's tokenizer, loaded once. Without the cache this fails with one line naming
/// `cargo xtask models`.
fn gpt2() -> &'static Bpe {
    static BPE: OnceLock<Bpe> = OnceLock::new();
    BPE.get_or_init(|| {
        let dir = models::OPENAI_WHISPER_ASSETS
            .dir()
            .unwrap_or_else(|e| panic!("{e}"));
        gpt2_from_file(&dir.join("gpt2.tiktoken")).unwrap_or_else(|e| panic!("{e}"))
    })
}

fn ids(case: &serde_json::Value) -> Vec<u32> {
    case["ids"]
        .as_array()
        .expect("ids")
        .iter()
        .map(|v| v.as_u64().expect("an id") as u32)
        .collect()
}

#[test]
fn the_file_holds_gpt2s_vocabulary() {
    let bpe = gpt2();
    assert_eq!(bpe.n_tokens(), 50_256);
    assert_eq!(bpe.special(ENDOFTEXT), Some(50_256));
    assert_eq!(bpe.rank(b" the"), Some(262));
    assert_eq!(bpe.rank(b"\n"), Some(198));
}

#[test]
fn ids_match_tiktoken_gpt2_and_decode_back() {
    let bpe = gpt2();
    let cases = common::fixture("gpt2_tokenizer.json");
    let cases = cases.as_object().expect("cases");
    assert!(cases.len() >= 15, "{} cases", cases.len());
    let mut total = 0;
    for (name, case) in cases {
        let text = case["text"].as_str().expect("text");
        let want = ids(case);
        let got = if name == "endoftext_allowed" {
            bpe.encode(text, &[ENDOFTEXT]).expect("a special of GPT-2")
        } else {
            bpe.encode_ordinary(text)
        };
        assert_eq!(got, want, "case {name}: {text:?}");
        let back = bpe.decode(&got).expect("known ids");
        assert_eq!(back, text.as_bytes(), "case {name}: decode");
        total += got.len();
    }
    // The plain-text "<|endoftext|>" is several ordinary tokens, never 50256.
    assert!(!ids(&cases["endoftext"]).contains(&50_256));
    assert!(ids(&cases["endoftext_allowed"]).contains(&50_256));
    assert!(total > 1000, "{total} ids in all");
}

/// A token for people: its text with spaces and line breaks visible, or its bytes
/// escaped when it is part of a UTF-8 character.
fn spelled(bpe: &Bpe, id: u32) -> String {
    let token = bpe.decode(&[id]).expect("a known id");
    show(&token)
        .replace(' ', "␣")
        .replace('\n', "\\n")
        .replace('\t', "\\t")
        .replace('\r', "\\r")
}

#[test]
fn gpt2_tokens_of_a_few_texts() {
    let bpe = gpt2();
    let cases = common::fixture("gpt2_tokenizer.json");
    let mut out = String::new();
    for name in [
        "plain",
        "digits",
        "whitespace",
        "contractions",
        "accents",
        "emoji",
        "endoftext",
    ] {
        let text = cases[name]["text"].as_str().unwrap();
        let ids = bpe.encode_ordinary(text);
        let shown: Vec<String> = ids.iter().map(|&i| spelled(bpe, i)).collect();
        out += &format!("{text:?}\n  {} tokens: {}\n", ids.len(), shown.join(" "));
    }
    insta::assert_snapshot!(out);
}
