//! Tier 2: WordPiece against Hugging Face `tokenizers` (BERT uncased pipeline from the
//! all-MiniLM-L6-v2 tokenizer.json), fixture written by tools/golden/ch02_wordpiece.py.
//! Tolerance: none. Ids, decoded text and every character class must match exactly.

use ch02_input::wordpiece::{WordPiece, basic};
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

fn fixture() -> Value {
    let path = format!("{DIR}/wordpiece.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let doc: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    doc["cases"].clone()
}

fn bert() -> WordPiece {
    WordPiece::load(format!("{DIR}/bert-uncased-vocab.txt"))
        .expect("committed vocab loads")
}

#[test]
fn vocab_has_bert_base_uncased_layout() {
    let wp = bert();
    let s = wp.vocab.special();
    assert_eq!(wp.vocab.len(), 30_522);
    assert_eq!(
        (s.pad, s.unk, s.cls, s.sep, s.mask),
        (0, 100, 101, 102, 103)
    );
}

#[test]
fn ids_tokens_and_decoding_match_hugging_face() {
    let wp = bert();
    let cases = fixture();
    let sentences = cases["sentences"].as_array().expect("sentences array");
    assert!(
        sentences.len() >= 25,
        "fixture has {} sentences",
        sentences.len()
    );
    let mut failures = Vec::new();
    for case in sentences {
        let text = case["text"].as_str().expect("text");
        let want: Vec<u32> = case["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| v.as_u64().expect("id") as u32)
            .collect();
        let got = wp.encode(text);
        if got != want {
            failures.push(format!(
                "{text:?}\n  hf:   {:?}\n  ours: {:?}",
                wp.tokens(&want).unwrap(),
                wp.tokens(&got).unwrap()
            ));
            continue;
        }
        let decoded = wp.decode(&got).expect("ids in vocab");
        let want_decoded = case["decoded"].as_str().expect("decoded");
        if decoded != want_decoded {
            failures.push(format!(
                "decode {text:?}: hf {want_decoded:?}, ours {decoded:?}"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn in_ranges(ranges: &Value, field: &str) -> Vec<bool> {
    let mut flags = vec![false; 0x110000];
    for r in ranges[field]
        .as_array()
        .unwrap_or_else(|| panic!("no {field} ranges"))
    {
        let (lo, hi) = (
            r[0].as_u64().unwrap() as usize,
            r[1].as_u64().unwrap() as usize,
        );
        flags[lo..=hi].iter_mut().for_each(|f| *f = true);
    }
    flags
}

fn all_chars() -> impl Iterator<Item = char> {
    (0..0x110000u32).filter_map(char::from_u32)
}

/// Every code point (1,112,064 of them), each class HF's components define.
#[test]
fn character_classes_match_hugging_face_on_every_code_point() {
    let cases = fixture();
    let classes = &cases["char_classes"];
    let control = in_ranges(classes, "control");
    let space = in_ranges(classes, "whitespace");
    let chinese = in_ranges(classes, "chinese");
    let punct = in_ranges(classes, "punctuation");
    let mut bad = Vec::new();
    for c in all_chars() {
        let i = c as usize;
        let dropped = c == '\0' || c == '\u{FFFD}' || basic::is_control(c);
        let ours = [
            dropped,
            !dropped && basic::is_whitespace(c),
            basic::is_chinese_char(c),
            basic::is_punctuation(c) && !basic::is_whitespace(c),
        ];
        let theirs = [control[i], space[i], chinese[i], punct[i]];
        if ours != theirs {
            bad.push(format!("U+{i:04X} ours {ours:?} hf {theirs:?}"));
        }
    }
    assert!(
        bad.is_empty(),
        "{} code points differ:\n{}",
        bad.len(),
        bad.join("\n")
    );
}

fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xCBF2_9CE4_8422_2325, |h, &b| {
        (h ^ b as u64).wrapping_mul(0x0000_0100_0000_01B3)
    })
}

/// The whole normaliser on every code point alone, compared block by block (4096 code
/// points a block) through a hash of the outputs.
#[test]
fn normalizer_matches_hugging_face_on_every_code_point() {
    let cases = fixture();
    let hashes = cases["char_classes"]["normalized_block_fnv1a64"]
        .as_array()
        .unwrap();
    assert_eq!(hashes.len(), 0x110000 / 4096);
    let basic = basic::BasicTokenizer::default();
    let mut bad = Vec::new();
    for (block, want) in hashes.iter().enumerate() {
        let mut bytes = Vec::new();
        for cp in block as u32 * 4096..(block as u32 + 1) * 4096 {
            if let Some(c) = char::from_u32(cp) {
                bytes.extend(basic.normalize(&c.to_string()).as_bytes());
                bytes.push(1);
            }
        }
        let got = format!("{:016x}", fnv1a64(&bytes));
        if got != want.as_str().unwrap() {
            bad.push(format!(
                "U+{:04X}..U+{:04X}",
                block * 4096,
                block * 4096 + 4095
            ));
        }
    }
    assert!(
        bad.is_empty(),
        "{} blocks differ: {}",
        bad.len(),
        bad.join(", ")
    );
}

/// What HF's older tables disagree with Unicode 16.0 on, computed from the fixture and
/// the raw Unicode 16.0 categories: the content of `wordpiece::legacy`.
fn legacy_from_fixture() -> (Vec<(u32, u32)>, Vec<char>, Vec<char>) {
    use unicode_general_category::{GeneralCategory as Gc, get_general_category};
    use unicode_normalization::UnicodeNormalization;
    let cases = fixture();
    let classes = &cases["char_classes"];
    let control = in_ranges(classes, "control");
    let punct = in_ranges(classes, "punctuation");
    let changed = in_ranges(classes, "normalization_changes");
    let (mut newer, mut extra_marks, mut extra_punct) =
        (Vec::<(u32, u32)>::new(), Vec::new(), Vec::new());
    for c in all_chars() {
        let (i, cat) = (c as usize, get_general_category(c));
        let raw_control = !matches!(c, '\t' | '\n' | '\r')
            && matches!(cat, Gc::Control | Gc::Format | Gc::PrivateUse)
            || c == '\0'
            || c == '\u{FFFD}';
        let raw_punct = c.is_ascii_punctuation()
            || matches!(
                cat,
                Gc::ConnectorPunctuation
                    | Gc::DashPunctuation
                    | Gc::OpenPunctuation
                    | Gc::ClosePunctuation
                    | Gc::InitialPunctuation
                    | Gc::FinalPunctuation
                    | Gc::OtherPunctuation
            );
        let stripped: String = c
            .to_string()
            .nfd()
            .filter(|&d| get_general_category(d) != Gc::NonspacingMark)
            .flat_map(char::to_lowercase)
            .collect();
        let raw_changed = raw_control
            || (c.is_whitespace() && c != ' ')
            || basic::is_chinese_char(c)
            || stripped != c.to_string();
        let raw_punct = raw_punct && !c.is_whitespace();
        if !raw_punct && punct[i] {
            extra_punct.push(c);
        }
        if raw_control != control[i]
            || (raw_punct && !punct[i])
            || (raw_changed && !changed[i])
        {
            match newer.last_mut() {
                Some((_, hi)) if *hi + 1 == c as u32 => *hi = c as u32,
                _ => newer.push((c as u32, c as u32)),
            }
        } else if !raw_changed && changed[i] {
            extra_marks.push(c);
        }
    }
    (newer, extra_marks, extra_punct)
}

#[test]
fn legacy_table_matches_fixture() {
    let (newer, extra_marks, extra_punct) = legacy_from_fixture();
    assert_eq!(
        ch02_input::wordpiece::legacy::HF_EXTRA_PUNCTUATION,
        extra_punct.as_slice()
    );
    assert_eq!(
        ch02_input::wordpiece::legacy::NEWER_THAN_HF,
        newer.as_slice()
    );
    assert_eq!(
        ch02_input::wordpiece::legacy::HF_EXTRA_MARKS,
        extra_marks.as_slice()
    );
}

#[test]
#[ignore = "prints the table for src/wordpiece/legacy.rs"]
fn print_legacy_table() {
    let (newer, extra_marks, extra_punct) = legacy_from_fixture();
    let punct: Vec<String> = extra_punct
        .iter()
        .map(|c| format!("'\\u{{{:X}}}'", *c as u32))
        .collect();
    println!(
        "pub const HF_EXTRA_PUNCTUATION: &[char] = &[{}];",
        punct.join(", ")
    );
    println!("pub const NEWER_THAN_HF: &[(u32, u32)] = &[");
    for chunk in newer.chunks(4) {
        let cells: Vec<String> = chunk
            .iter()
            .map(|(lo, hi)| format!("(0x{lo:05X}, 0x{hi:05X})"))
            .collect();
        println!("    {},", cells.join(", "));
    }
    println!("];");
    let marks: Vec<String> = extra_marks
        .iter()
        .map(|c| format!("'\\u{{{:X}}}'", *c as u32))
        .collect();
    println!(
        "pub const HF_EXTRA_MARKS: &[char] = &[{}];",
        marks.join(", ")
    );
}

/// 300 seeded random strings drawn from every awkward category at once.
#[test]
fn random_mixed_strings_match_hugging_face() {
    let wp = bert();
    let cases = fixture();
    let strings = cases["random"].as_array().expect("random array");
    assert_eq!(strings.len(), 300);
    let mut failures = Vec::new();
    for case in strings {
        let text = case["text"].as_str().expect("text");
        let want: Vec<u32> = case["ids"]
            .as_array()
            .expect("ids")
            .iter()
            .map(|v| v.as_u64().expect("id") as u32)
            .collect();
        let got = wp.encode(text);
        if got != want {
            failures.push(format!("{text:?}\n  hf:   {want:?}\n  ours: {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
