//! The committed BPE figure is exactly what the code draws: regenerate with
//! `cargo run --release -p ch02-input --example bpe_demo -- src/figures/ch02`.

use std::path::Path;

use ch01_foundations::figures::assert_up_to_date;

#[test]
fn committed_bpe_figures_are_up_to_date() {
    let checked = assert_up_to_date(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
        "ch02",
        ch02_input::bpe::figures::write_all,
    );
    assert_eq!(checked, 1);
}
