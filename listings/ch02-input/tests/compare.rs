//! The tokenizer comparison: its printed table is pinned, its figures are up to date, and
//! the measurements behave as the text says.

use std::path::Path;

use ch01_foundations::figures::assert_up_to_date;

use ch02_input::compare::{Measured, compare, distinct_bytes, report, write_figures};
use ch02_input::corpus::BOOK_CH01;

#[test]
fn comparison_table() {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("compare", report().unwrap());
    });
}

#[test]
fn bigger_vocabularies_cover_more_bytes_per_token_and_use_their_share_unevenly() {
    let rows = compare().unwrap();
    let trained = |name: &str| -> Vec<Measured> {
        rows.iter()
            .filter(|r| r.tokenizer == name)
            .cloned()
            .collect()
    };
    let (bpe, wp) = (trained("byte-level BPE"), trained("WordPiece"));
    // "bytes per token grows with every doubling of the vocabulary"
    for r in [&bpe, &wp] {
        assert_eq!(r.len(), 4);
        for w in r.windows(2) {
            assert!(w[1].bytes_per_token >= w[0].bytes_per_token, "{w:?}");
        }
    }
    let used = |r: &[Measured]| r.iter().map(|m| m.fraction_used).collect::<Vec<_>>();
    let (b, w) = (used(&bpe), used(&wp));
    // "BPE's rises from 512 to 1024, then falls at each size after"
    assert!(b[1] > b[0] && b[2] < b[1] && b[3] < b[2], "BPE {b:?}");
    // "at 512 ... the byte values the text never uses are most of the unused share"
    let never = (256 - distinct_bytes(BOOK_CH01)) as f64 / bpe[0].vocab as f64;
    assert!(
        never > 0.5 * (1.0 - b[0]),
        "{never} vs unused {}",
        1.0 - b[0]
    );
    // "WordPiece's falls to its lowest at 2048 and ends a little above it"
    assert!(w[1] < w[0] && w[2] < w[1] && w[3] > w[2], "WordPiece {w:?}");
    // "both end lower than they start"
    assert!(b[3] < b[0] && w[3] < w[0], "BPE {b:?}, WordPiece {w:?}");
    let bert = rows
        .iter()
        .find(|r| r.tokenizer.starts_with("BERT"))
        .unwrap();
    assert_eq!(bert.vocab, 30_522);
    // "the chapter uses only a small share of them"
    assert!(bert.fraction_used < 0.2, "{bert:?}");
}

#[test]
fn committed_comparison_figures_are_up_to_date() {
    let checked = assert_up_to_date(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
        "ch02",
        write_figures,
    );
    assert_eq!(checked, 2);
}
