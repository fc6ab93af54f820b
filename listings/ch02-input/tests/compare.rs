//! The tokenizer comparison: its printed table is pinned, its figures are up to date, and
//! the measurements behave as the text says.

use std::path::Path;

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
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch02");
    let fresh = std::env::temp_dir().join(format!("ch02-compare-{}", std::process::id()));
    for path in write_figures(&fresh).unwrap() {
        let name = path.file_name().unwrap();
        let want = std::fs::read_to_string(committed.join(name)).unwrap_or_else(|e| {
            panic!(
                "src/figures/ch02/{} missing ({e}): run `cargo xtask figures`",
                name.display()
            )
        });
        assert!(
            std::fs::read_to_string(&path).unwrap() == want,
            "src/figures/ch02/{} is stale: run `cargo xtask figures`",
            name.display()
        );
    }
    std::fs::remove_dir_all(&fresh).unwrap();
}
