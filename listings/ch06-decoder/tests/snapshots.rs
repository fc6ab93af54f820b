//! Tier 3: what the chapter prints, pinned. The book includes these .snap files.
//! (The training report is pinned in tests/training.rs, beside the run it reports.)

use ch06_decoder::report;

fn snapshot(name: &str, text: String) {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn block() {
    snapshot("block", report::block_demo());
}

#[test]
fn causality() {
    snapshot("causality", report::causality_demo());
}

#[test]
fn generate_errors() {
    snapshot("generate_errors", report::generate_errors_demo());
}
