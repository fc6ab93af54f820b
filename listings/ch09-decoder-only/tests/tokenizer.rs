//! The tokenizer from SmolLM2's GGUF metadata against the one Hugging Face transformers
//! builds from the same file (tools/golden/ch09_tokenizer.py): identical ids on varied
//! text, and decoding gives the text back.

mod common;

use std::sync::OnceLock;

use ch09_decoder_only::tokenizer::{GgufTokenizer, smollm2_chat_prompt};

fn tokenizer() -> &'static GgufTokenizer {
    static TOK: OnceLock<GgufTokenizer> = OnceLock::new();
    TOK.get_or_init(|| GgufTokenizer::from_gguf(common::smollm2()).unwrap())
}

#[test]
fn ids_match_hugging_face_on_varied_text() {
    let tok = tokenizer();
    let cases = common::fixture("tokenizer.json");
    let mut n = 0;
    for (name, case) in cases.as_object().unwrap() {
        let text = case["text"].as_str().unwrap();
        let want: Vec<u32> = serde_json::from_value(case["ids"].clone()).unwrap();
        assert_eq!(tok.encode(text), want, "{name}: {text:?}");
        n += want.len();
    }
    assert!(n > 300, "{n} ids compared");
}

#[test]
fn decoding_gives_the_text_back() {
    let tok = tokenizer();
    for (name, case) in common::fixture("tokenizer.json").as_object().unwrap() {
        let text = case["text"].as_str().unwrap();
        if name == "missing_bytes" {
            continue; // bytes the vocabulary lacks are dropped
        }
        let back = tok.decode(&tok.encode(text)).unwrap();
        assert_eq!(String::from_utf8(back).unwrap(), text, "{name}");
    }
}

#[test]
fn the_chat_prompt_matches_the_template() {
    let chat = &common::fixture("tokenizer.json")["chat"];
    let prompt = smollm2_chat_prompt(chat["user"].as_str().unwrap());
    assert_eq!(prompt, chat["text"].as_str().unwrap());
}

#[test]
fn vocabulary_and_specials() {
    let tok = tokenizer();
    assert_eq!(tok.n_tokens(), 49152);
    assert_eq!(tok.special("<|endoftext|>"), Some(0));
    assert_eq!(tok.special("<|im_start|>"), Some(1));
    assert_eq!(tok.special("<|im_end|>"), Some(2));
    assert_eq!(tok.special("hello"), None);
    let e = tok.decode(&[49152]).unwrap_err().to_string();
    assert_eq!(e, "token id 49152: the vocabulary has 49152 tokens");
}

/// What the book shows: a few texts as the tokens SmolLM2's vocabulary spells.
#[test]
fn tokens_of_a_few_texts() {
    let tok = tokenizer();
    let cases = common::fixture("tokenizer.json");
    let mut out = String::new();
    for name in [
        "plain",
        "digits",
        "whitespace",
        "accents",
        "code",
        "specials",
    ] {
        let text = cases[name]["text"].as_str().unwrap();
        let ids = tok.encode(text);
        let shown: Vec<String> = ids.iter().map(|&i| tok.spelled(i).unwrap()).collect();
        out += &format!("{text:?}\n  {} tokens: {}\n", ids.len(), shown.join(" "));
    }
    insta::assert_snapshot!(out);
}

/// Why the GPT-2 pattern alone gives the ids of llama.cpp's `smollm` pre-tokenizer,
/// which also isolates every digit: no merge joins an ASCII digit to anything.
#[test]
fn no_merge_involves_an_ascii_digit() {
    let merges = common::smollm2()
        .str_array("tokenizer.ggml.merges")
        .unwrap();
    let with_digit: Vec<&&str> = merges
        .iter()
        .filter(|m| m.bytes().any(|b| b.is_ascii_digit()))
        .collect();
    assert!(with_digit.is_empty(), "{with_digit:?}");
}
