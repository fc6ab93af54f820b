//! The accumulation numbers of section "Clipping and accumulation": 4 padded
//! micro-batches through a tiny Llama, the gradient as one batch, accumulated with the
//! total token count, and as a mean of means. Writes `src/figures/ch11/accumulation.txt`.
//!
//! cargo run --release -p ch11-training --example accumulation

use std::path::Path;

fn main() -> std::io::Result<()> {
    let text = ch11_training::accumulate::report(4, 2, 24, 7);
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch11");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("accumulation.txt"), &text)?;
    print!("{text}");
    Ok(())
}
