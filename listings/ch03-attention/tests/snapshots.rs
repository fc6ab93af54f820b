//! Tier 3: what the chapter prints, pinned. The book includes these .snap files.

use ch03_attention::report;

fn snapshot(name: &str, text: String) {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn scaling() {
    snapshot("scaling", report::scaling_table());
}

#[test]
fn masks() {
    snapshot("masks", report::masks_demo());
}

#[test]
fn multi_head() {
    snapshot("multi_head", report::mha_demo());
}

#[test]
fn cross_attention() {
    snapshot("cross_attention", report::cross_demo());
}

#[test]
fn sentence() {
    snapshot("sentence", report::sentence_demo());
}
