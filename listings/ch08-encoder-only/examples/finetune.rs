//! Fine-tunes all-MiniLM-L6-v2 and a randomly initialised BERT of the same shape on the
//! chapter's sentiment and NER sets, with the same recipe, and writes the comparison:
//!
//!     cargo run --release -p ch08-encoder-only --example finetune
//!     cargo run --release -p ch08-encoder-only --example finetune -- --out DIR
//!
//! Writes `finetune-run.txt` (the table and the curves) and `finetune.svg` into `--out`
//! (default `src/figures/ch08`) and prints the report; `tests/finetune_run.rs` reruns it.
//! The weights come from the models cache (`cargo xtask models` fills it) unless
//! `--model` names a sentence-transformers directory.

use std::path::{Path, PathBuf};

use anyhow::Context;
use ch08_encoder_only::experiment::{ExperimentConfig, run_and_write};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Fine-tuning from pretrained vs random weights: sentiment and NER")]
struct Args {
    /// Folder for finetune-run.txt and finetune.svg [default: src/figures/ch08]
    #[arg(long)]
    out: Option<PathBuf>,
    /// A sentence-transformers model directory (default: the models cache's
    /// all-MiniLM-L6-v2).
    #[arg(long)]
    model: Option<PathBuf>,
    /// Fine-tuning steps for each task and init [default: the chapter's run]
    #[arg(long)]
    steps: Option<usize>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = args.out.unwrap_or_else(|| root.join("src/figures/ch08"));
    let dir = models::ALL_MINILM_L6_V2.dir_or(args.model)?;
    let mut cfg = ExperimentConfig::full();
    if let Some(steps) = args.steps {
        cfg.recipe.steps = steps;
        cfg.recipe.warmup = cfg.recipe.warmup.min(steps);
    }
    let (report, files) = run_and_write(&dir, &out, &cfg)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| format!("fine-tuning from {}", dir.display()))?;
    print!("{report}");
    for f in files {
        eprintln!("wrote {}", f.display());
    }
    Ok(())
}
