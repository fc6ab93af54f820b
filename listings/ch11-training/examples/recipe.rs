//! Retrains Chapter 9's Llama with Chapter 9's first recipe, with the chapter's recipe
//! (AdamW, warm-up and cosine, clipping, bf16) on the same batches, and with the
//! chapter's recipe on the chapter's fixed-window `Batches`: same model, initialisation
//! and token budget. Writes the held-out curves and the report the text quotes.
//!
//! ```sh
//! cargo run --release -p ch11-training --example recipe            # src/figures/ch11
//! cargo run --release -p ch11-training --example recipe -- --out DIR --steps 200
//! ```

use std::path::{Path, PathBuf};

use ch09_decoder_only::train_run::{TrainConfig, book_tokens};
use ch11_training::recipe::{Recipe, recipe_experiment};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Chapter 9's first recipe against this chapter's, same token budget")]
struct Cli {
    /// Folder for recipe.{svg,txt} [default: src/figures/ch11]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Training steps of each run [default: Chapter 9's]
    #[arg(long, default_value_t = TrainConfig::full().schedule.steps)]
    steps: usize,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = cli.out.unwrap_or_else(|| root.join("src/figures/ch11"));
    let mut cfg = TrainConfig::full();
    if cli.steps != cfg.schedule.steps {
        cfg.schedule.warmup = cfg.schedule.warmup * cli.steps / cfg.schedule.steps;
        cfg.schedule.steps = cli.steps;
        cfg.eval_every = (cli.steps / 10).max(1);
    }
    let data = book_tokens(&cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (_, report) = recipe_experiment(&out, &data, &cfg, &Recipe::chapter())
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{report}");
    eprintln!("wrote {}", out.display());
    Ok(())
}
