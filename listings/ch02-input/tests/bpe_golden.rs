//! Tier 2: the book's BPE against tiktoken 0.14 and HF tokenizers 0.23, from the
//! fixtures `tools/golden/ch02_bpe.py` wrote. Token ids are integers: the tolerance is
//! exact equality.

use std::path::{Path, PathBuf};

use ch02_input::bpe::{Bpe, ENDOFTEXT, pretokenize_str, read_tiktoken, train};
use serde_json::Value;

fn golden(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name)
}

fn fixture() -> Value {
    let text = std::fs::read_to_string(golden("bpe.json")).expect("bpe.json");
    serde_json::from_str(&text).expect("bpe.json is JSON")
}

fn ids(v: &Value) -> Vec<u32> {
    let list = v.as_array().expect("an id list");
    list.iter()
        .map(|x| x.as_u64().expect("an id") as u32)
        .collect()
}

fn cases() -> Vec<(String, Value)> {
    let doc = fixture();
    let cases = doc["cases"].as_object().expect("cases");
    assert!(cases.len() >= 8, "the fixture has {} cases", cases.len());
    cases.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
}

fn load(file: &str) -> Bpe {
    let ranks = read_tiktoken(&golden(file)).expect("rank file");
    let eot = ranks.len() as u32;
    Bpe::new(ranks, &[(ENDOFTEXT, eot)]).expect("a usable rank table")
}

#[test]
fn retraining_reproduces_the_committed_rank_file() {
    // The rank file tiktoken was given is what the trainer makes from the corpus.
    let corpus = ch02_input::corpus::BOOK_CH01.as_bytes().to_vec();
    let trained = train(&corpus, 1000).expect("vocab 1000");
    let committed = read_tiktoken(&golden("bpe-book-1000.tiktoken")).expect("rank file");
    assert_eq!(trained.ranks(), committed);
}

#[test]
fn pretokens_match_the_python_regex_module() {
    for (name, case) in cases() {
        let want: Vec<&str> = case["pretokens"]
            .as_array()
            .expect("pretokens")
            .iter()
            .map(|s| s.as_str().expect("a string"))
            .collect();
        let text = case["text"].as_str().expect("text");
        assert_eq!(pretokenize_str(text), want, "case {name}");
    }
}

fn check(file: &str, prefix: &str) {
    let bpe = load(file);
    for (name, case) in cases() {
        let text = case["text"].as_str().expect("text");
        let ordinary = bpe.encode_ordinary(text);
        assert_eq!(
            ordinary,
            ids(&case[format!("{prefix}_ordinary")]),
            "{file} {name}"
        );
        let special = bpe.encode(text, &[ENDOFTEXT]).expect("a known special");
        assert_eq!(
            special,
            ids(&case[format!("{prefix}_special")]),
            "{file} {name}"
        );
        assert_eq!(bpe.decode(&ordinary).expect("known ids"), text.as_bytes());
        assert_eq!(bpe.decode(&special).expect("known ids"), text.as_bytes());
    }
}

#[test]
fn book_ranks_give_tiktokens_ids() {
    check("bpe-book-1000.tiktoken", "book");
}

#[test]
fn hf_ranks_give_tiktokens_ids() {
    check("bpe-hf-1000.tiktoken", "hf");
}

#[test]
fn hf_ranks_give_hf_own_ids() {
    let bpe = load("bpe-hf-1000.tiktoken");
    let mut checked = 0;
    for (name, case) in cases() {
        if let Some(want) = case.get("hf_own_as_ranks") {
            let text = case["text"].as_str().expect("text");
            assert_eq!(bpe.encode_ordinary(text), ids(want), "{name}");
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} cases carry HF's own ids");
}

#[test]
fn the_special_case_really_contains_specials() {
    // Guards the fixture: with specials allowed, the id for <|endoftext|> must appear.
    let case = &fixture()["cases"]["special"];
    let bpe = load("bpe-book-1000.tiktoken");
    let eot = bpe.special(ENDOFTEXT).expect("eot");
    assert_eq!(
        ids(&case["book_special"])
            .iter()
            .filter(|&&i| i == eot)
            .count(),
        2
    );
    assert!(!ids(&case["book_ordinary"]).contains(&eot));
}
