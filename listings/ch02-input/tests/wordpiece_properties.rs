//! Properties: WordPiece is total on any Unicode input; its ids stay in the vocabulary.

use ch02_input::wordpiece::WordPiece;
use proptest::prelude::*;
use std::sync::OnceLock;

fn bert() -> &'static WordPiece {
    static BERT: OnceLock<WordPiece> = OnceLock::new();
    BERT.get_or_init(|| {
        WordPiece::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/golden/bert-uncased-vocab.txt"
        ))
        .expect("committed vocab loads")
    })
}

/// Characters from every awkward category: accents and combining marks, CJK, kana,
/// Hangul, emoji with ZWJ and modifiers, controls, exotic spaces, punctuation runs,
/// characters newer than HF's tables, and literal special tokens.
fn awkward() -> impl Strategy<Value = String> {
    let pieces = prop::sample::select(vec![
        "a",
        "Z",
        "é",
        "\u{301}",
        "\u{327}",
        "İ",
        "ß",
        "Σ",
        "中",
        "豈",
        "\u{2B820}",
        "の",
        "カ",
        "한",
        "😀",
        "\u{200D}",
        "👨",
        "🏽",
        "\u{FE0F}",
        "\0",
        "\u{7}",
        "\u{200B}",
        "\u{FFFD}",
        "\t",
        "\r\n",
        "\u{A0}",
        "\u{3000}",
        "...",
        "?!",
        "—",
        "$",
        "\u{E000}",
        "\u{890}",
        "\u{105C9}",
        "[MASK]",
        "[CLS",
        "##",
        "9",
        " ",
    ]);
    prop::collection::vec(pieces, 0..60).prop_map(|v| v.concat())
}

fn check(text: &str) -> Result<(), TestCaseError> {
    let wp = bert();
    let ids = wp.encode(text);
    let s = wp.vocab.special();
    prop_assert!(ids.len() >= 2);
    prop_assert_eq!(ids[0], s.cls);
    prop_assert_eq!(*ids.last().unwrap(), s.sep);
    prop_assert!(ids.iter().all(|&id| (id as usize) < wp.vocab.len()));
    let decoded = wp.decode(&ids);
    prop_assert!(decoded.is_ok());
    // Decoding and encoding again gives the same pieces, except that [UNK] and the
    // special tokens are dropped by decoding (they come back only if written).
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_string_encodes_within_the_vocabulary(text in any::<String>()) {
        check(&text)?;
    }

    #[test]
    fn awkward_strings_encode_within_the_vocabulary(text in awkward()) {
        check(&text)?;
    }

    #[test]
    fn encoding_is_deterministic_and_splits_at_words(a in awkward(), b in awkward()) {
        let wp = bert();
        prop_assert_eq!(wp.encode(&a), wp.encode(&a));
        // A space never joins words, so encoding "a b" is encoding a, then b.
        let mut both = wp.encode_words(&a);
        both.extend(wp.encode_words(&b));
        prop_assert_eq!(wp.encode_words(&format!("{a} {b}")), both);
    }
}
