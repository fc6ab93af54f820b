//! Tier 3: what the chapter prints, pinned. The book includes these .snap files, so the
//! text shows exactly this output. Review a change with `cargo insta review`.

use ch04_ffn_norms::report;

fn snapshot(name: &str, text: String) {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn linear() {
    snapshot("linear", report::linear_demo());
}

#[test]
fn activations() {
    snapshot("activations", report::activations_demo());
}

#[test]
fn ffn() {
    snapshot("ffn", report::ffn_demo());
}

#[test]
fn norms() {
    snapshot("norms", report::norms_demo());
}

#[test]
fn residuals() {
    snapshot("residuals", report::residual_demo());
}

#[test]
fn dropout() {
    snapshot("dropout", report::dropout_demo());
}
