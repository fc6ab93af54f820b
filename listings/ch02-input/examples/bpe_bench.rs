//! Timings for `tools/golden/bench_ch02_bpe.py`, which runs the references in the same
//! session. Each command reports the best of `--repeat` runs, timing only the work
//! (not process start, not reading the file), single-threaded.
//!
//! ```sh
//! cargo run --release -p ch02-input --example bpe_bench -- train --vocab-size 4096 \
//!     --input corpus.txt --output ranks.tiktoken [--naive]
//! cargo run --release -p ch02-input --example bpe_bench -- encode \
//!     --ranks ranks.tiktoken --input corpus.txt
//! ```

use std::path::PathBuf;

use ch01_foundations::linalg::best_of;
use ch02_input::bpe::reference::train_naive;
use ch02_input::bpe::{Bpe, BpeError, train, write_tiktoken};
use clap::{Parser, Subcommand};

#[derive(Parser)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Runs to take the best of.
    #[arg(long, default_value_t = 3)]
    repeat: usize,
}

#[derive(Subcommand)]
enum Command {
    /// Time training; print `train_seconds=` and write the ranks.
    Train {
        #[arg(long)]
        vocab_size: usize,
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        output: PathBuf,
        #[arg(long)]
        naive: bool,
    },
    /// Time `encode_ordinary` over the whole file; print seconds, MB/s, token count and
    /// a checksum of the ids (so the script can compare them with tiktoken's).
    Encode {
        #[arg(long)]
        ranks: PathBuf,
        #[arg(long)]
        input: PathBuf,
    },
}

fn read(path: &PathBuf) -> Result<Vec<u8>, BpeError> {
    std::fs::read(path).map_err(|source| BpeError::Io {
        file: path.display().to_string(),
        source,
    })
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train {
            vocab_size,
            input,
            output,
            naive,
        } => {
            let corpus = read(&input)?;
            let (s, trained) = best_of(0, cli.repeat, || {
                if naive {
                    train_naive(&corpus, vocab_size)
                } else {
                    train(&corpus, vocab_size)
                }
            });
            let trained = trained?;
            write_tiktoken(&output, &trained.ranks())?;
            println!("train_seconds={s:.6} tokens={}", trained.vocab.len());
        }
        Command::Encode { ranks, input } => {
            let bpe = Bpe::from_file(&ranks, &[])?;
            let text = read(&input)?;
            let (s, ids) = best_of(0, cli.repeat, || bpe.encode_ordinary(&text));
            // FNV-1a over the ids: equal checksums mean (almost surely) equal id lists.
            let sum = ids.iter().fold(0xcbf29ce484222325u64, |h, &id| {
                (h ^ id as u64).wrapping_mul(0x100000001b3)
            });
            let mbps = text.len() as f64 / 1e6 / s;
            println!(
                "encode_seconds={s:.6} mb_per_s={mbps:.2} n_ids={} checksum={sum}",
                ids.len()
            );
        }
    }
    Ok(())
}

// anyhow prints the error and its causes and exits non-zero.
fn main() -> anyhow::Result<()> {
    run(Cli::parse())
}
