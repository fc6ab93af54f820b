//! Pretrains Chapter 9's Llama on the book in f32, then compares post-training
//! quantization with quantization-aware training at 8, 4, 3 and 2 bits, from the same
//! state on the same batches, and writes the figures and the report the text quotes.
//!
//! ```sh
//! cargo run --release -p ch13-optimizations --example qat_vs_ptq            # src/figures/ch13
//! cargo run --release -p ch13-optimizations --example qat_vs_ptq -- --out DIR --tiny
//! ```

use std::path::{Path, PathBuf};

use ch09_decoder_only::train_run::book_tokens;
use ch13_optimizations::qat_run::{QatRunConfig, qat_experiment};
use clap::Parser;

#[derive(Parser)]
#[command(about = "PTQ against QAT on Chapter 9's Llama")]
struct Cli {
    /// Folder for qat.{svg,txt} and qat-curves.svg [default: src/figures/ch13]
    #[arg(long)]
    out: Option<PathBuf>,
    /// The tests' tiny config, in seconds.
    #[arg(long)]
    tiny: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = cli.out.unwrap_or_else(|| root.join("src/figures/ch13"));
    let cfg = if cli.tiny {
        QatRunConfig::tiny()
    } else {
        QatRunConfig::full()
    };
    let data = book_tokens(&cfg.train).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (_, report) =
        qat_experiment(&out, &data, &cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{report}");
    eprintln!("wrote {}", out.display());
    Ok(())
}
