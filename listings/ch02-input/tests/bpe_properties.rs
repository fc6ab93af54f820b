//! Properties of the BPE code, each checked against an independent oracle: the regex for
//! the scanner, the naive merge loop for the encoder, the naive trainer for the trainer.

use std::sync::OnceLock;

use ch02_input::bpe::reference::{encode_naive, encode_with_merges, train_naive};
use ch02_input::bpe::{Bpe, GPT2_PATTERN, Trained, pretokenize, pretokenize_str, train};
use fancy_regex::Regex;
use proptest::prelude::*;
use rustc_hash::FxHashMap;

const CORPUS: &[u8] = ch02_input::corpus::BOOK_CH01.as_bytes();

fn regex() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(GPT2_PATTERN).expect("the GPT-2 pattern compiles"))
}

fn regex_pieces(text: &str) -> Vec<&str> {
    regex()
        .find_iter(text)
        .map(|m| m.expect("no backtrack limit").as_str())
        .collect()
}

fn trained() -> &'static (Trained, Bpe) {
    static T: OnceLock<(Trained, Bpe)> = OnceLock::new();
    T.get_or_init(|| {
        let t = train(CORPUS, 800).expect("vocab >= 256");
        let bpe = t.bpe();
        (t, bpe)
    })
}

/// Characters from every class the pattern distinguishes, and the tricky ones between.
fn interesting_char() -> impl Strategy<Value = char> {
    let tricky: Vec<char> = concat!(
        "aZsdmtlvre'' '\"!?.,-_09", // ASCII, contraction letters
        "\t\n\r\u{b}\u{c}\u{1c}\u{1f}\u{85}\u{a0}\u{1680}\u{2000}\u{200a}",
        "\u{2028}\u{2029}\u{202f}\u{205f}\u{3000}\u{200b}\u{feff}", // spaces and non-spaces
        "éßΩяא中日ひカ한ǅʰ",             // letters: Ll Lu Lo Lt Lm
        "\u{301}\u{308}\u{93f}\u{20dd}", // combining marks (not letters)
        "٣७²½Ⅻ〇",                       // Nd No Nl numbers
        "👨👩👧🏽🎉❤\u{fe0f}\u{200d}🇫🇷",   // emoji, ZWJ, selector
        "\u{fffd}\u{e000}\u{378}"        // replacement, private, unassigned
    )
    .chars()
    .collect();
    prop_oneof![
        6 => proptest::sample::select(tricky),
        1 => any::<char>(),
    ]
}

fn unicode_text() -> impl Strategy<Value = String> {
    proptest::collection::vec(interesting_char(), 0..48).prop_map(String::from_iter)
}

/// Text that looks like the corpus (so merges fire) with random characters mixed in.
fn corpus_like_text() -> impl Strategy<Value = String> {
    let corpus = std::str::from_utf8(CORPUS).expect("the corpus is UTF-8");
    let chars: Vec<char> = corpus.chars().collect();
    let n = chars.len();
    (0..n - 200, 1..200usize, unicode_text(), 0..200usize).prop_map(
        move |(start, len, noise, at)| {
            let mut s: String = chars[start..start + len].iter().collect();
            let at = s.char_indices().map(|(i, _)| i).nth(at).unwrap_or(s.len());
            s.insert_str(at, &noise);
            s
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn scanner_equals_regex(text in unicode_text()) {
        prop_assert_eq!(pretokenize_str(&text), regex_pieces(&text));
    }

    #[test]
    fn scanner_equals_regex_on_any_string(text in any::<String>()) {
        prop_assert_eq!(pretokenize_str(&text), regex_pieces(&text));
    }

    #[test]
    fn invalid_utf8_pretokenizes_like_its_lossy_decoding(
        bytes in proptest::collection::vec(any::<u8>(), 0..64)
    ) {
        // Bytes that are not UTF-8 act as U+FFFD does, and the pieces keep them.
        let pieces: Vec<&[u8]> = pretokenize(&bytes).collect();
        prop_assert_eq!(pieces.concat(), bytes.clone());
        let lossy: Vec<String> =
            pieces.iter().map(|p| String::from_utf8_lossy(p).into_owned()).collect();
        let whole = String::from_utf8_lossy(&bytes);
        prop_assert_eq!(lossy, regex_pieces(&whole));
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    #[test]
    fn any_bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        let bpe = &trained().1;
        prop_assert_eq!(bpe.decode(&bpe.encode_ordinary(&bytes)).unwrap(), bytes);
    }

    #[test]
    fn any_text_round_trips(text in corpus_like_text()) {
        let bpe = &trained().1;
        let ids = bpe.encode_ordinary(&text);
        prop_assert_eq!(bpe.decode_lossy(&ids).unwrap(), text);
    }

    #[test]
    fn encoder_equals_naive_merge_loop(text in corpus_like_text()) {
        let (t, bpe) = trained();
        let ranks: FxHashMap<Vec<u8>, u32> = t.ranks().into_iter().collect();
        let naive = encode_naive(&ranks, text.as_bytes());
        prop_assert_eq!(bpe.encode_ordinary(&text), naive);
    }

    #[test]
    fn encoder_equals_merge_list_bpe_on_trained_vocab(text in corpus_like_text()) {
        // With a vocabulary from this trainer, merging by rank of the result (tiktoken)
        // and applying the learned merges in order (GPT-2's encoder.py) agree.
        let (t, bpe) = trained();
        let classic = encode_with_merges(t, text.as_bytes());
        prop_assert_eq!(bpe.encode_ordinary(&text), classic);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn incremental_trainer_equals_naive(
        // A small alphabet makes many ties: the tie-breaking rule is exercised.
        words in proptest::collection::vec("[ab ]{1,12}|[abc']{1,6}|[xy\n]{1,4}", 1..40),
        extra in 0usize..80,
    ) {
        let corpus = words.concat();
        let fast = train(corpus.as_bytes(), 256 + extra).unwrap();
        let slow = train_naive(corpus.as_bytes(), 256 + extra).unwrap();
        prop_assert_eq!(fast, slow);
    }
}

#[test]
fn incremental_trainer_equals_naive_on_the_book() {
    let fast = train(CORPUS, 1200).expect("vocab >= 256");
    let slow = train_naive(CORPUS, 1200).expect("vocab >= 256");
    assert_eq!(fast.merges.len(), 1200 - 256);
    assert_eq!(fast, slow);
}

#[test]
fn empty_input_encodes_to_nothing() {
    let bpe = &trained().1;
    assert!(bpe.encode_ordinary("").is_empty());
    assert!(bpe.encode("", &["<|endoftext|>"]).unwrap().is_empty());
    assert!(bpe.decode(&[]).unwrap().is_empty());
    assert_eq!(pretokenize(b"").count(), 0);
}

#[test]
fn corpus_length_shrinks_by_each_merges_count() {
    // corpus_tokens is bookkeeping from pair counts; re-encoding every word checks it.
    let (t, bpe) = trained();
    let encoded = bpe.encode_ordinary(CORPUS).len() as u64;
    assert_eq!(t.corpus_tokens[0], CORPUS.len() as u64);
    assert_eq!(*t.corpus_tokens.last().unwrap(), encoded);
}
