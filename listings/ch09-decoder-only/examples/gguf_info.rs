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
    let path = match std::env::args_os().nth(1) {
        Some(p) => PathBuf::from(p),
        None => models::SMOLLM2_135M_INSTRUCT
            .dir()?
            .join("SmolLM2-135M-Instruct.Q4_1.gguf"),
    };
    let g = Gguf::open(&path)?;
    print!("{}", summary(&g));
    Ok(())
}
