//! Tier 3: what the chapter prints, pinned. The book includes these .snap files, so the
//! text shows exactly this output. Review a change with `cargo insta review`.

use ch01_foundations::report;

fn snapshot(name: &str, text: String) {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn shapes() {
    snapshot("shapes", report::shapes());
}

#[test]
fn softmax() {
    snapshot("softmax", report::softmax_demo());
}

#[test]
fn probability() {
    snapshot("probability", report::probability_demo());
}

#[test]
fn gradients() {
    snapshot("gradients", report::gradients_demo());
}

#[test]
fn init() {
    snapshot("init", report::init_demo());
}

#[test]
fn softmax_regression() {
    snapshot("softmax_regression", report::regression_demo());
}
