//! Regenerates the chapter's figures:
//! `cargo run --release -p ch01-foundations --example ch01_figures -- src/figures/ch01`
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("src/figures/ch01"), PathBuf::from);
    for path in ch01_foundations::figures::write_all(&dir)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
