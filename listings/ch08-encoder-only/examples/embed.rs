//! Sentence embeddings from the real all-MiniLM-L6-v2:
//!
//!     cargo run --release -p ch08-encoder-only --example embed < lines.txt
//!     cargo run --release -p ch08-encoder-only --example embed -- --model DIR < lines.txt
//!
//! Reads UTF-8 lines from stdin and writes one line of 384 floats for each. The weights
//! come from the models cache (`cargo xtask models` fills it) unless `--model` names a
//! sentence-transformers directory.

use std::io::{BufWriter, stdin, stdout};
use std::path::PathBuf;

use anyhow::Context;
use ch08_encoder_only::SentenceEncoder;
use ch08_encoder_only::embed::embed_lines;
use clap::Parser;

#[derive(Parser)]
#[command(about = "One line of 384 floats (all-MiniLM-L6-v2) for each line of stdin")]
struct Args {
    /// A sentence-transformers model directory (default: the models cache's
    /// all-MiniLM-L6-v2).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Lines embedded together.
    #[arg(long, default_value_t = 32)]
    batch: usize,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = models::ALL_MINILM_L6_V2.dir_or(args.model)?;
    let mut enc = SentenceEncoder::load(&dir)
        .with_context(|| format!("loading the model from {}", dir.display()))?;
    let out = BufWriter::new(stdout().lock());
    embed_lines(&mut enc, stdin().lock(), out, "stdin", args.batch)?;
    Ok(())
}
