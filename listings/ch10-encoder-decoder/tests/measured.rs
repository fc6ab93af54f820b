//! The text's claims about committed measurements, checked against the files under
//! src/figures/ch10 that the text includes. Nothing is measured here: `cargo xtask
//! figures` rewrites the files, and if a rerun changes what they show, this test says
//! which sentence no longer holds.

use std::path::Path;

fn figure(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../src/figures/ch10")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn t5_parity_is_within_the_stated_tolerance() {
    let text = figure("t5-parity.txt");
    // "every error is below 1e-5": the logits, the bias tables, all gradients, both variants
    let errors: Vec<f64> = text
        .lines()
        .filter(|l| l.contains(" = "))
        .map(|l| {
            l.rsplit(" = ")
                .next()
                .unwrap()
                .trim()
                .parse::<f64>()
                .unwrap()
        })
        .collect();
    assert_eq!(errors.len(), 6, "three lines for each of the two variants");
    for e in &errors {
        assert!(*e < 1e-5, "{e} in\n{text}");
    }
    // "47 and 52 gradients": every parameter of each variant
    assert!(
        text.contains("all 47 gradients") && text.contains("all 52 gradients"),
        "{text}"
    );
}
