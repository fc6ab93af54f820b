//! Prints a GGUF file's header, metadata and per-type tensor summary.
//!
//! cargo run --release -p ch09-decoder-only --example gguf_info [-- FILE]
//!
//! Without FILE it reads the real SmolLM2-135M-Instruct from the models cache
//! (`cargo xtask models` puts it there).

use std::path::PathBuf;

use anyhow::Result;
use ch09_decoder_only::gguf::{Gguf, summary};

fn main() -> Result<()> {
    let named = std::env::args_os().nth(1).map(PathBuf::from);
    let path = models::SMOLLM2_135M_INSTRUCT.file_or(models::SMOLLM2_GGUF, named)?;
    let g = Gguf::open(&path)?;
    print!("{}", summary(&g));
    Ok(())
}
