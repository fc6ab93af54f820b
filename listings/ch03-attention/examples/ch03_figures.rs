//! Regenerates the chapter's deterministic figures:
//! `cargo run --release -p ch03-attention --example ch03_figures -- src/figures/ch03`
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("src/figures/ch03"), PathBuf::from);
    for path in ch03_attention::figures::write_all(&dir)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}
