//! Regenerates every figure of Chapter 2 (`cargo xtask figures` runs this):
//! `cargo run --release -p ch02-input --example ch02_figures -- src/figures/ch02`
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = std::env::args()
        .nth(1)
        .map_or_else(|| PathBuf::from("src/figures/ch02"), PathBuf::from);
    let mut written = ch02_input::bpe::figures::write_all(&dir)?;
    written.extend(ch02_input::compare::write_figures(&dir)?);
    written.extend(ch02_input::positions::figures::write_all(&dir)?);
    for path in written {
        println!("wrote {}", path.display());
    }
    Ok(())
}
