//! Tier 3: what the chapter prints, pinned. The book includes these .snap files, so the
//! text shows exactly this output. Review a change with `cargo insta review`.

use ch05_encoder::report;

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
fn encoder() {
    snapshot("encoder", report::encoder_demo());
}

#[test]
fn bidirectional() {
    snapshot("bidirectional", report::bidirectional_demo());
}

/// Also a training test (tier 4): the numbers the section's argument rests on.
#[test]
fn depth() {
    snapshot("depth-grads", report::depth_grads_demo());
    snapshot("depth-training", report::depth_training_demo());
}
