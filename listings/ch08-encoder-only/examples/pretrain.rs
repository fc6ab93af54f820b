//! Pretrains a small BERT with MLM and NSP on the book's own frozen text (Chapters 1
//! to 7), evaluates it on held-out pages, and writes the loss curve and the report
//! the text quotes.
//!
//! ```sh
//! cargo run --release -p ch08-encoder-only --example pretrain            # src/figures/ch08
//! cargo run --release -p ch08-encoder-only --example pretrain -- --out DIR
//! ```
//!
//! `--out` (default `src/figures/ch08`) receives `pretrain-loss.svg` and
//! `pretrain-run.txt` (`ch08_encoder_only::pretrain_run`, which
//! `tests/pretrain_run.rs` reruns).

use std::path::{Path, PathBuf};

use ch08_encoder_only::pretrain_run::{PretrainConfig, pretrain_and_report};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Pretrain BERT (MLM + NSP) on the book's own text")]
struct Cli {
    /// Folder for pretrain-loss.svg and pretrain-run.txt [default: src/figures/ch08]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Training steps of 32 sentence pairs.
    #[arg(long, default_value_t = PretrainConfig::full().steps)]
    steps: usize,
    /// Dropout on the embeddings, the attention weights and every sub-layer's output.
    #[arg(long, default_value_t = PretrainConfig::full().dropout)]
    dropout: f32,
    /// Seeds the initial weights, the pairs, the masks and the dropout.
    #[arg(long, default_value_t = PretrainConfig::full().seed)]
    seed: u64,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = cli.out.unwrap_or_else(|| root.join("src/figures/ch08"));
    let cfg = PretrainConfig {
        steps: cli.steps,
        seed: cli.seed,
        dropout: cli.dropout,
        ..PretrainConfig::full()
    };
    let every = (cfg.steps / 20).max(1);
    let run = pretrain_and_report(&out, &cfg, |step, parts| {
        if step % every == 0 {
            eprintln!("step {step:>5}  MLM {:.3}  NSP {:.3}", parts.mlm, parts.nsp);
        }
    })
    .map_err(|e| anyhow::anyhow!("pretraining into {}: {e}", out.display()))?;
    print!("{}", run.report);
    Ok(())
}
