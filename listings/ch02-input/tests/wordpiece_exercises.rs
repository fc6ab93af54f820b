//! The WordPiece exercises' solutions.

use ch02_input::wordpiece::exercises::{Rule, encode_pair, first_merges_by_rule};
use ch02_input::wordpiece::{WordPiece, report};
use serde_json::Value;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

/// Exercise 1 against Hugging Face's pair encoding (exact ids and type ids).
#[test]
fn pair_encoding_matches_hugging_face() {
    let wp = WordPiece::load(format!("{DIR}/bert-uncased-vocab.txt")).expect("vocab");
    let text = std::fs::read_to_string(format!("{DIR}/wordpiece.json")).expect("fixture");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    let pairs = doc["cases"]["pairs"].as_array().expect("pairs");
    assert_eq!(pairs.len(), 3);
    let nums = |v: &Value| -> Vec<u32> {
        v.as_array()
            .expect("array")
            .iter()
            .map(|x| x.as_u64().expect("int") as u32)
            .collect()
    };
    for case in pairs {
        let (a, b) = (case["a"].as_str().unwrap(), case["b"].as_str().unwrap());
        let (ids, type_ids) = encode_pair(&wp, a, b);
        assert_eq!(ids, nums(&case["ids"]), "{a:?} + {b:?}");
        assert_eq!(type_ids, nums(&case["type_ids"]), "{a:?} + {b:?}");
    }
}

/// Exercise 2: the frequency rule merges common letters first; the score rule
/// merges pairs whose parts rarely occur apart.
#[test]
fn frequency_and_score_rules_learn_different_first_merges() {
    let corpus = report::book_corpus();
    let freq = first_merges_by_rule(&corpus, Rule::Frequency, 5);
    let score = first_merges_by_rule(&corpus, Rule::Score, 5);
    assert_eq!(freq[0], "th", "frequency rule: {freq:?}");
    assert_ne!(freq, score);
    assert!(!score.contains(&"th".to_owned()), "score rule: {score:?}");
}
