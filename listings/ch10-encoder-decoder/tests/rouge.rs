//! ROUGE-L against Google's rouge-score 0.1.2 (tools/golden/ch10_rouge.py): the tokens
//! exactly, and precision, recall and F-measure within 1e-12 (both sides compute the
//! same few divisions in f64), on pairs that exercise case, punctuation, non-ASCII
//! letters, repeats, reordering and empty sides.

use ch10_encoder_decoder::text_to_text::rouge::{lcs_len, rouge_l, tokenize};

#[test]
fn rouge_l_equals_rouge_score() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/ch10_rouge.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = doc["cases"].as_object().unwrap();
    assert_eq!(cases.len(), 15, "the page counts fifteen pairs");
    for (name, case) in cases {
        let (r, p) = (
            case["reference"].as_str().unwrap(),
            case["prediction"].as_str().unwrap(),
        );
        for (text, key) in [(r, "reference_tokens"), (p, "prediction_tokens")] {
            let want: Vec<String> = serde_json::from_value(case[key].clone()).unwrap();
            assert_eq!(tokenize(text), want, "{name}: {key}");
        }
        let got = rouge_l(r, p);
        for (value, key) in [
            (got.precision, "precision"),
            (got.recall, "recall"),
            (got.fmeasure, "fmeasure"),
        ] {
            let want = case[key].as_f64().unwrap();
            assert!(
                (value - want).abs() < 1e-12,
                "{name}: {key} {value} vs {want}"
            );
        }
    }
}

#[test]
fn lcs_of_small_cases() {
    assert_eq!(lcs_len(&[1, 2, 3, 4], &[2, 4]), 2);
    assert_eq!(lcs_len(&[1, 2, 3], &[3, 2, 1]), 1);
    assert_eq!(lcs_len::<u8>(&[], &[1, 2]), 0);
    assert_eq!(lcs_len(b"ABCBDAB", b"BDCABA"), 4); // CLRS's example
}

#[test]
fn rouge_l_is_symmetric_in_f_but_not_in_p_and_r() {
    let (a, b) = ("anna sold 12 lamps", "anna sold lamps in oslo today");
    let (x, y) = (rouge_l(a, b), rouge_l(b, a));
    assert_eq!(x.fmeasure, y.fmeasure);
    assert_eq!((x.precision, x.recall), (y.recall, y.precision));
    assert_eq!(x.recall, 0.75); // "anna sold lamps": 3 of the reference's 4
}
