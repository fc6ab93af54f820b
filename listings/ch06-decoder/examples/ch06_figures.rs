//! Regenerates the chapter's figures:
//! `cargo run --release -p ch06-decoder --example ch06_figures -- src/figures/ch06`
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("src/figures/ch06"), PathBuf::from);
    for path in ch06_decoder::figures::write_all(&dir)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
