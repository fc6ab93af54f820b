//! Trains the encoder-decoder to translate dates written in words into ISO 8601, then
//! translates from the command line with the saved checkpoint.
//!
//! ```sh
//! cargo run --release -p ch07-transformer --example translate            # = train
//! cargo run --release -p ch07-transformer --example translate -- train --out DIR
//! cargo run --release -p ch07-transformer --example translate -- translate \
//!     --checkpoint model.safetensors "the first of may nineteen ninety"
//! ```
//!
//! `train` writes the checkpoint, and into `--out` (default `src/figures/ch07`) the loss
//! curve `loss.svg`, the cross-attention map `alignment.svg`, the encoder self-attention
//! map `encoder-self-attention.svg` and `translate-run.txt` with every number the text
//! quotes (`ch07_transformer::run`, which `tests/figures.rs` reruns).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use ch07_transformer::checkpoint;
use ch07_transformer::run::train_and_report;
use ch07_transformer::train::{TrainConfig, translate};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

/// The workspace root, so the defaults work from any directory.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Parser)]
#[command(about = "Dates in words -> ISO 8601 with the 2017 encoder-decoder transformer")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Train, evaluate on held-out sentences, save the checkpoint and the figures.
    Train {
        /// Folder for loss.svg, alignment.svg and translate-run.txt
        /// [default: src/figures/ch07]
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where to save the model [default: target/ch07/model.safetensors]
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        #[arg(long, default_value_t = TrainConfig::full().steps)]
        steps: usize,
        #[arg(long, default_value_t = TrainConfig::full().seed)]
        seed: u64,
    },
    /// Translate sentences with a saved checkpoint.
    Translate {
        /// A checkpoint written by `train` [default: target/ch07/model.safetensors]
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Beam width; 1 is greedy decoding.
        #[arg(long, default_value_t = 4)]
        beam: usize,
        /// Dates in words, e.g. "the first of may nineteen ninety".
        #[arg(required = true)]
        sentences: Vec<String>,
    },
}

fn default_checkpoint() -> PathBuf {
    root().join("target/ch07/model.safetensors")
}

fn train_and_save(
    out: &Path,
    checkpoint_path: &Path,
    steps: usize,
    seed: u64,
) -> Result<(), Box<dyn Error>> {
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} {msg}",
    )?);
    let start = Instant::now();
    let mut tokens = 0;
    let run = train_and_report(out, steps, seed, |_, stats| {
        tokens += stats.tokens;
        let per_s = tokens as f64 / start.elapsed().as_secs_f64();
        bar.set_message(format!("loss {:.3}  {per_s:.0} tok/s", stats.loss));
        bar.inc(1);
    })?;
    bar.finish();
    checkpoint::save(checkpoint_path, &run.model, &run.task)?;
    eprintln!("saved {}", checkpoint_path.display());
    print!("{}", run.report);
    Ok(())
}

fn run(cli: Cli) -> Result<(), Box<dyn Error>> {
    let command = cli.command.unwrap_or(Command::Train {
        out: None,
        checkpoint: None,
        steps: TrainConfig::full().steps,
        seed: TrainConfig::full().seed,
    });
    match command {
        Command::Train {
            out,
            checkpoint,
            steps,
            seed,
        } => {
            let out = out.unwrap_or_else(|| root().join("src/figures/ch07"));
            let checkpoint = checkpoint.unwrap_or_else(default_checkpoint);
            train_and_save(&out, &checkpoint, steps, seed)
        }
        Command::Translate {
            checkpoint,
            beam,
            sentences,
        } => {
            let path = checkpoint.unwrap_or_else(default_checkpoint);
            let (mut model, task) = checkpoint::load(&path)?;
            for sentence in &sentences {
                println!("{}", translate(&mut model, &task, sentence, beam)?);
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
