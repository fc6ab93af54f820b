//! The tokenizer comparison: its printed table is pinned, its figures are up to date, and
//! the measurements behave as the text says.

use std::path::Path;

use ch01_foundations::figures::assert_up_to_date;

use ch02_input::compare::{compare, report, write_figures};

#[test]
fn comparison_table() {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("compare", report().unwrap());
    });
}

#[test]
fn bigger_vocabularies_cover_more_bytes_per_token_and_use_less_of_themselves() {
    let rows = compare().unwrap();
    for name in ["byte-level BPE", "WordPiece"] {
        let r: Vec<_> = rows.iter().filter(|r| r.tokenizer == name).collect();
        assert!(r.len() >= 2);
        for w in r.windows(2) {
            assert!(
                w[1].bytes_per_token >= w[0].bytes_per_token,
                "{name}: {w:?}"
            );
        }
        assert!(
            r.last().unwrap().fraction_used < r[0].fraction_used,
            "{name}: {r:?}"
        );
    }
    let bert = rows
        .iter()
        .find(|r| r.tokenizer.starts_with("BERT"))
        .unwrap();
    assert_eq!(bert.vocab, 30_522);
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
