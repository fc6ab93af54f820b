//! The committed figures are exactly what the code draws: regenerate with
//! `cargo xtask figures` after changing the code, never edit an SVG by hand.

use std::path::Path;

#[test]
fn committed_figures_are_up_to_date() {
    let committed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch04");
    let fresh = std::env::temp_dir().join(format!("ch04-figures-{}", std::process::id()));
    let written = ch04_ffn_norms::figures::write_all(&fresh).expect("figures draw");
    assert_eq!(written.len(), 6);
    for path in written {
        let name = path.file_name().unwrap();
        let want = std::fs::read_to_string(committed.join(name)).unwrap_or_else(|e| {
            panic!(
                "src/figures/ch04/{} is missing ({e}): run `cargo xtask figures`",
                name.display()
            )
        });
        let got = std::fs::read_to_string(&path).unwrap();
        assert!(
            got == want,
            "src/figures/ch04/{} is stale: run `cargo xtask figures`",
            name.display()
        );
    }
    std::fs::remove_dir_all(&fresh).unwrap();
}
