//! Regenerates the chapter's figures:
//! `cargo run --release -p ch05-encoder --example ch05_figures -- src/figures/ch05`
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("src/figures/ch05"), PathBuf::from);
    for path in ch05_encoder::figures::write_all(&dir)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
