//! Streaming never shows half a character, stop strings that straddle tokens cut the
//! text before them, and the end-of-sequence token and the token limit end a
//! generation: on the real SmolLM2 tokenizer with a scripted stand-in model.

mod common;

use ch12_inference::sampling::{Sampler, SamplerConfig};
use ch12_inference::stopping::{
    Generated, StopConditions, StopReason, StreamDecoder, generate,
};
use common::{Script, tokenizer};

const MULTI_BYTE: &str = "Crabs 🦀 and waves 👋🏽: 世界, ünïcödé, Ελληνικά, 한국어 ✓";

fn greedy() -> Sampler {
    Sampler::new(SamplerConfig {
        temperature: 0.0,
        ..SamplerConfig::default()
    })
    .unwrap()
}

/// Runs the scripted model after a one-token prompt, collecting each emitted chunk.
fn run(script: &[u32], stop: StopConditions) -> (Generated, Vec<String>) {
    let eos = tokenizer().special("<|im_end|>").unwrap();
    let model = Script {
        prompt_len: 1,
        script: script.to_vec(),
        end: eos,
    };
    let mut cache = Vec::new();
    let mut chunks = Vec::new();
    let g = generate(
        &model,
        tokenizer(),
        (&mut cache, &[0]),
        &mut greedy(),
        &stop,
        |s| chunks.push(s.to_owned()),
    )
    .unwrap();
    (g, chunks)
}

#[test]
fn the_tokenizer_splits_these_characters_across_tokens() {
    // The test below means something only if some token ends inside a character.
    let tok = tokenizer();
    let ids = tok.encode(MULTI_BYTE);
    let split = ids
        .iter()
        .filter(|&&id| std::str::from_utf8(&tok.decode(&[id]).unwrap()).is_err());
    assert!(
        split.count() >= 3,
        "no token of {MULTI_BYTE:?} splits a character"
    );
}

#[test]
fn streaming_emits_only_whole_characters() {
    let tok = tokenizer();
    let ids = tok.encode(MULTI_BYTE);
    let stop = StopConditions {
        eos: tok.special("<|im_end|>"),
        max_tokens: 100,
        ..Default::default()
    };
    let (g, chunks) = run(&ids, stop);
    assert_eq!(g.reason, StopReason::Eos);
    assert_eq!(g.ids.len(), ids.len() + 1);
    // Each chunk is a &str already (valid UTF-8 by type); none holds U+FFFD, and they
    // add up to the whole text.
    assert!(chunks.iter().all(|c| !c.contains('\u{FFFD}')), "{chunks:?}");
    assert_eq!(chunks.concat(), MULTI_BYTE);
    assert_eq!(g.text, MULTI_BYTE);
}

#[test]
fn stream_decoder_at_every_byte_split() {
    // Every way of cutting the bytes into two pieces: never half a character.
    let bytes = MULTI_BYTE.as_bytes();
    for cut in 0..=bytes.len() {
        let mut d = StreamDecoder::default();
        let (a, b) = (d.push(&bytes[..cut]), d.push(&bytes[cut..]));
        assert!(
            MULTI_BYTE.starts_with(&a) && a.len() <= cut,
            "cut {cut}: {a:?}"
        );
        assert_eq!(a + &b + &d.finish(), MULTI_BYTE);
    }
    // Bytes that can never be UTF-8 become U+FFFD instead of stalling the stream.
    let mut d = StreamDecoder::default();
    assert_eq!(d.push(&[b'a', 0xFF, b'b']), "a\u{FFFD}b");
    // An unfinished character at the end is shown lossily, not dropped.
    let mut d = StreamDecoder::default();
    assert_eq!(d.push(&[0xF0, 0x9F]), "");
    assert_eq!(d.finish(), "\u{FFFD}");
}

#[test]
fn a_stop_string_across_tokens_cuts_before_it() {
    let tok = tokenizer();
    let text = "First line.\nUser: and more";
    let ids = tok.encode(text);
    // "\nUser:" spans several tokens.
    assert!(ids.len() > 4);
    let stop = StopConditions {
        eos: tok.special("<|im_end|>"),
        stop_strings: vec!["\nUser:".into()],
        max_tokens: 100,
    };
    let (g, chunks) = run(&ids, stop);
    assert_eq!(g.reason, StopReason::StopString);
    assert_eq!(g.text, "First line.");
    assert_eq!(chunks.concat(), "First line.");
    // It stopped at the token that completed the stop string, not later.
    let upto = tok.decode(&g.ids).unwrap();
    assert!(String::from_utf8(upto).unwrap().ends_with("User:"));
}

#[test]
fn the_token_limit_and_eos() {
    let tok = tokenizer();
    let ids = tok.encode(MULTI_BYTE);
    let stop = StopConditions {
        eos: tok.special("<|im_end|>"),
        max_tokens: 5,
        ..Default::default()
    };
    let (g, _) = run(&ids, stop);
    assert_eq!((g.reason, g.ids.len()), (StopReason::MaxTokens, 5));
    // The text of five tokens, with any unfinished character at the end shown lossily.
    let want = String::from_utf8_lossy(&tok.decode(&ids[..5]).unwrap()).into_owned();
    assert_eq!(g.text, want);
    // Zero tokens allowed: nothing runs.
    let stop = StopConditions {
        max_tokens: 0,
        ..Default::default()
    };
    assert_eq!(run(&ids, stop).0.ids, Vec::<u32>::new());
}

/// With only a temperature, the sampler is Chapter 9's: the same seed gives the same
/// tokens from SmolLM2 through Chapter 9's `generate` and through this chapter's.
#[test]
fn temperature_alone_reproduces_chapter_9s_sampler() {
    use ch09_decoder_only::generate::{Options, generate as generate_ch09};
    let (m, tok) = (common::model(), tokenizer());
    let prompt = tok.encode("Once upon a time");
    let opts = Options {
        raw: true,
        greedy: false,
        max_new_tokens: 12,
        ids: true,
        temperature: 0.8,
        seed: 3,
    };
    let mut out = Vec::new();
    let theirs = generate_ch09(m, tok, &prompt, &opts, None, &mut out).unwrap();
    let cfg = SamplerConfig {
        temperature: 0.8,
        seed: 3,
        ..SamplerConfig::default()
    };
    let stop = StopConditions {
        max_tokens: 12,
        ..Default::default()
    };
    let mut cache = m.new_cache();
    let ours = generate(
        m,
        tok,
        (&mut cache, &prompt),
        &mut Sampler::new(cfg).unwrap(),
        &stop,
        |_| {},
    )
    .unwrap();
    assert_eq!(ours.ids, theirs);
}
