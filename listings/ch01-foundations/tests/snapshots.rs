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

/// The text's reading of the init table: Kaiming keeps the ReLU network's scale within
/// 15 % of layer 1's through layer 10; Xavier's tanh network shrinks layer by layer.
#[test]
fn init_table_says_what_the_text_says() {
    let table = report::init_demo();
    let stds = |name: &str| -> Vec<f32> {
        let line = table
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name:?} in\n{table}"));
        line[name.len()..]
            .split_whitespace()
            .take(3)
            .map(|v| v.parse().expect("a std"))
            .collect()
    };
    let kaiming = stds("Kaiming / ReLU");
    for &s in &kaiming[1..] {
        let change = (s / kaiming[0] - 1.0).abs();
        assert!(change <= 0.15, "Kaiming {kaiming:?}: {change} from layer 1");
    }
    let xavier = stds("Xavier / tanh");
    assert!(xavier[0] > xavier[1] && xavier[1] > xavier[2], "{xavier:?}");
}

#[test]
fn softmax_regression() {
    snapshot("softmax_regression", report::regression_demo());
}
