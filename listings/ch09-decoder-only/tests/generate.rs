//! The `generate` core: greedy ids equal Hugging Face's greedy continuation, text
//! streams whole characters, and sampling depends only on the seed.

mod common;

use std::sync::OnceLock;

use ch09_decoder_only::generate::{Options, generate, prompt_ids};
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;

fn model() -> &'static (Llama, GgufTokenizer) {
    static M: OnceLock<(Llama, GgufTokenizer)> = OnceLock::new();
    M.get_or_init(|| {
        let g = common::smollm2();
        (
            Llama::from_gguf(g).unwrap(),
            GgufTokenizer::from_gguf(g).unwrap(),
        )
    })
}

fn opts() -> Options {
    Options {
        raw: true,
        greedy: true,
        max_new_tokens: 32,
        ids: true,
        temperature: 1.0,
        seed: 0,
    }
}

fn run(prompt: &str, opts: &Options) -> (Vec<u32>, String) {
    let (m, tok) = model();
    let ids = prompt_ids(tok, prompt, opts.raw);
    let mut out = Vec::new();
    let new = generate(m, tok, &ids, opts, Some(2), &mut out).unwrap();
    (new, String::from_utf8(out).unwrap())
}

#[test]
fn greedy_ids_match_hugging_face() {
    let text = std::fs::read_to_string(common::golden_dir().join("smollm2_logits.json"))
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let case = &doc["cases"]["plain"];
    let want: Vec<u32> = serde_json::from_value(case["greedy"].clone()).unwrap();
    let (new, printed) = run(case["text"].as_str().unwrap(), &opts());
    assert_eq!(new, want);
    let line: Vec<String> = want.iter().map(|i| i.to_string()).collect();
    assert_eq!(printed, line.join(" ") + "\n");
}

#[test]
fn text_mode_prints_the_decoded_continuation() {
    let o = Options {
        ids: false,
        max_new_tokens: 8,
        ..opts()
    };
    let (new, printed) = run("The capital of France is", &o);
    let (_, tok) = model();
    let text = String::from_utf8(tok.decode(&new).unwrap()).unwrap();
    assert_eq!(printed, text + "\n");
}

#[test]
fn chat_mode_wraps_the_prompt_and_stops_at_im_end() {
    let o = Options {
        raw: false,
        ids: false,
        ..opts()
    };
    let (new, printed) = run("What is 2 + 2?", &o);
    assert_eq!(new.last(), Some(&2), "ends with <|im_end|>");
    assert!(!printed.contains("<|im_end|>"), "{printed:?}");
    assert!(printed.contains('4'), "{printed:?}");
}

#[test]
fn sampling_depends_only_on_the_seed() {
    let o = Options {
        greedy: false,
        temperature: 0.8,
        max_new_tokens: 12,
        ..opts()
    };
    let a = run("Once upon a time", &o).0;
    assert_eq!(run("Once upon a time", &o).0, a);
    let b = run(
        "Once upon a time",
        &Options {
            seed: 1,
            ..o.clone()
        },
    )
    .0;
    assert_ne!(a, b, "another seed, another story");
}
