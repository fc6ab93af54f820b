//! Tier 3: what the BPE section prints, pinned. The book includes these .snap files.

use ch02_input::bpe::report;

fn snapshot(name: &str, text: String) {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn bpe_pretokens() {
    snapshot("bpe_pretokens", report::pretokens_demo());
}

#[test]
fn bpe_merges() {
    snapshot("bpe_merges", report::merges_demo());
}

#[test]
fn bpe_encode() {
    snapshot("bpe_encode", report::encode_demo());
}
