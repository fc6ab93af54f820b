//! Tier 3: what the chapter's model and decoding sections print, pinned. The book includes
//! these .snap files, so the text shows exactly this output. Review a change with
//! `cargo insta review`.

use ch07_transformer::demo;

fn snapshot(name: &str, text: String) {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn data_flow() {
    snapshot("data_flow", demo::data_flow_demo());
}

#[test]
fn param_count() {
    snapshot("param_count", demo::param_count_demo());
}

#[test]
fn decoding() {
    snapshot("decoding", demo::decoding_demo());
}
