//! The optimizer and schedule sections' outputs, deterministic:
//!
//!   cargo run --release -p ch11-training --example optim_figures -- src/figures/ch11
//!
//! writes coupled-vs-decoupled.txt (Adam's L2 against AdamW's decay on two weights).

use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or("src/figures/ch11".into()));
    std::fs::create_dir_all(&dir)?;
    let table = ch11_training::coupling::decay_table();
    std::fs::write(dir.join("coupled-vs-decoupled.txt"), &table)?;
    print!("{table}");
    Ok(())
}
