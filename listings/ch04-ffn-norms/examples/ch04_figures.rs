//! Regenerates the chapter's figures:
//! `cargo run --release -p ch04-ffn-norms --example ch04_figures -- src/figures/ch04`
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("src/figures/ch04"), PathBuf::from);
    for path in ch04_ffn_norms::figures::write_all(&dir)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
