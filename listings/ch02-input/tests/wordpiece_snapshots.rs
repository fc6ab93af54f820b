//! Tier 3: what the WordPiece section prints, pinned; the book includes these files.

use ch02_input::wordpiece::{WordPiece, report};

fn snapshot(name: &str, text: String) {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

fn bert() -> WordPiece {
    WordPiece::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/bert-uncased-vocab.txt"
    ))
    .expect("committed vocab loads")
}

#[test]
fn basic_steps() {
    snapshot("wordpiece_basic_steps", report::basic_steps());
}

#[test]
fn wordpieces() {
    snapshot(
        "wordpiece_pieces",
        report::wordpieces(&bert()).expect("demo ids are in vocab"),
    );
}

#[test]
fn first_merges() {
    let text = report::first_merges(&report::book_corpus(), 1000, 12).expect("trains");
    snapshot("wordpiece_merges", text);
}

#[test]
fn usage() {
    let text = report::usage_table(&report::book_corpus(), &[1000, 2000, 4000, 8000])
        .expect("trains");
    snapshot("wordpiece_usage", text);
}
