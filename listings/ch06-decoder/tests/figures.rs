//! The committed figures are exactly what the code draws: regenerate with
//! `cargo xtask figures` after changing the code, never edit an SVG by hand.

use std::path::Path;

use ch01_foundations::figures::assert_up_to_date;

#[test]
fn committed_figures_are_up_to_date() {
    let checked = assert_up_to_date(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
        "ch06",
        ch06_decoder::figures::write_all,
    );
    assert_eq!(checked, 4);
}
