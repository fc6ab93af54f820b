//! The exercises' solutions: ROUGE-1 and ROUGE-2 against rouge-score 0.1.2 (the same
//! fixture as tests/rouge.rs, tolerance 1e-12), and the recovered LCS against the
//! length the chapter's `lcs_len` computes, on random sequences.

use ch10_encoder_decoder::exercises::{lcs, rouge_n};
use ch10_encoder_decoder::text_to_text::rouge::lcs_len;
use proptest::prelude::*;

#[test]
fn rouge_1_and_2_equal_rouge_score() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/ch10_rouge.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = doc["cases"].as_object().unwrap();
    assert_eq!(cases.len(), 15);
    for (name, case) in cases {
        let (r, p) = (
            case["reference"].as_str().unwrap(),
            case["prediction"].as_str().unwrap(),
        );
        for (n, key) in [(1, "rouge1"), (2, "rouge2")] {
            let want: Vec<f64> = serde_json::from_value(case[key].clone()).unwrap();
            let got = rouge_n(r, p, n);
            let got = [got.precision, got.recall, got.fmeasure];
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-12, "{name} {key}: {got:?} vs {want:?}");
            }
        }
    }
}

#[test]
fn clipping_stops_repeats_from_counting_twice() {
    let s = rouge_n("the cat", "the the the the", 1);
    assert_eq!((s.precision, s.recall), (0.25, 0.5));
}

/// `sub` is a subsequence of `seq`.
fn is_subsequence(sub: &[u8], seq: &[u8]) -> bool {
    let mut it = seq.iter();
    sub.iter().all(|x| it.any(|y| y == x))
}

proptest! {
    #[test]
    fn the_lcs_is_common_and_longest(
        a in prop::collection::vec(0u8..4, 0..12),
        b in prop::collection::vec(0u8..4, 0..12),
    ) {
        let l = lcs(&a, &b);
        prop_assert!(is_subsequence(&l, &a) && is_subsequence(&l, &b), "{l:?}");
        prop_assert_eq!(l.len(), lcs_len(&a, &b));
    }
}

#[test]
fn the_lcs_of_clrs_example() {
    let l = lcs(b"ABCBDAB", b"BDCABA");
    assert_eq!(l.len(), 4);
    assert!(is_subsequence(&l, b"ABCBDAB") && is_subsequence(&l, b"BDCABA"));
}
