//! Tier 3: what the chapter prints about the real all-MiniLM-L6-v2 (needs `cargo
//! xtask models`). Similarities are rounded to 2 decimals, far above the 1e-7 that
//! separates the book's numbers from sentence-transformers'.

mod common;

use ch08_encoder_only::report::{model_summary, similarities};
use common::minilm;

#[test]
fn model_summary_from_its_config() {
    let enc = minilm().lock().unwrap();
    insta::assert_snapshot!("minilm-summary", model_summary(&enc));
}

#[test]
fn sentence_similarities() {
    let mut enc = minilm().lock().unwrap();
    let texts = [
        "A man is playing a guitar.",
        "Someone plays an instrument.",
        "A woman is slicing an onion.",
        "Vegetables are being cut in a kitchen.",
        "The stock market fell sharply today.",
    ];
    insta::assert_snapshot!("similarities", similarities(&mut enc, &texts));
}
