//! The committed BPE figure is exactly what the code draws: regenerate with
//! `cargo run --release -p ch02-input --example bpe_demo -- src/figures/ch02`.

use std::path::Path;

#[test]
fn committed_bpe_figures_are_up_to_date() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch02");
    let fresh =
        std::env::temp_dir().join(format!("ch02-bpe-figures-{}", std::process::id()));
    let written = ch02_input::bpe::figures::write_all(&fresh).expect("figures draw");
    assert_eq!(written.len(), 1);
    for path in written {
        let name = path.file_name().unwrap();
        let want = std::fs::read_to_string(committed.join(name)).unwrap_or_else(|e| {
            panic!("src/figures/ch02/{} is missing ({e})", name.display())
        });
        assert!(
            std::fs::read_to_string(&path).unwrap() == want,
            "src/figures/ch02/{} is stale: regenerate it",
            name.display()
        );
    }
    std::fs::remove_dir_all(&fresh).unwrap();
}
