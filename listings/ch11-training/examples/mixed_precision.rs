//! Trains Chapter 9's Llama on the book four times, in f32, bf16, fp16 without loss
//! scaling and fp16 with dynamic loss scaling, from the same initialisation on the
//! same batches, and writes the curves and the report the text quotes.
//!
//! ```sh
//! cargo run --release -p ch11-training --example mixed_precision            # src/figures/ch11
//! cargo run --release -p ch11-training --example mixed_precision -- --out DIR --steps 100
//! cargo run --release -p ch11-training --example mixed_precision -- --table-only  # bit-layouts.txt
//! ```

use std::path::{Path, PathBuf};

use ch09_decoder_only::train_run::book_tokens;
use ch11_training::precision::{TABLE_VALUES, bit_table};
use ch11_training::precision_run::{config, precision_experiment, underflow};
use clap::Parser;

#[derive(Parser)]
#[command(about = "Chapter 9's Llama in f32, bf16, fp16 and fp16 with loss scaling")]
struct Cli {
    /// Folder for mixed-precision.{svg,txt} [default: src/figures/ch11]
    #[arg(long)]
    out: Option<PathBuf>,
    /// Training steps of each run.
    #[arg(long, default_value_t = 400)]
    steps: usize,
    /// Write only the bit-layout table, bit-layouts.txt, and stop.
    #[arg(long)]
    table_only: bool,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = cli.out.unwrap_or_else(|| root.join("src/figures/ch11"));
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("bit-layouts.txt"), bit_table(&TABLE_VALUES))?;
    if cli.table_only {
        return Ok(());
    }
    let (cfg, growth_interval) = config(cli.steps);
    let data = book_tokens(&cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (_, report) = precision_experiment(&out, &data, &cfg, growth_interval, |l| {
        eprintln!(
            "{}: held-out {:.3}, {:.1} s, skipped {}, fp16-flushed dlogits {:.3} %",
            l.name,
            l.heldout.last().map_or(f32::NAN, |h| h.1),
            l.seconds,
            l.skipped,
            100.0 * underflow(&l.dlogits)
        )
    })
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("{report}");
    eprintln!("wrote {}", out.display());
    Ok(())
}
