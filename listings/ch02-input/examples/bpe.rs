//! Byte-level BPE from the command line.
//!
//! ```sh
//! cargo run --release -p ch02-input --example bpe -- train --vocab-size 1000 \
//!     --input corpus.txt --output ranks.tiktoken
//! echo "Hello, world" | cargo run --release -p ch02-input --example bpe -- encode \
//!     --ranks ranks.tiktoken
//! echo "15496 11 995" | cargo run --release -p ch02-input --example bpe -- decode \
//!     --ranks ranks.tiktoken
//! ```
//!
//! `train` prints its training time (without process start and file reading) on stderr.
//! `--naive` trains with the recount-everything loop instead.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::time::Instant;

use ch02_input::bpe::lines::{decode_lines, encode_lines};
use ch02_input::bpe::reference::train_naive;
use ch02_input::bpe::{Bpe, BpeError, train, write_tiktoken};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "Byte-level BPE: train, encode, decode")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Learn a vocabulary from a corpus and write it as a .tiktoken rank file.
    Train {
        #[arg(long)]
        vocab_size: usize,
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        output: PathBuf,
        /// Use the naive trainer (recount every pair after every merge).
        #[arg(long)]
        naive: bool,
    },
    /// Encode stdin line by line: one line of space-separated ids per input line.
    Encode {
        #[arg(long)]
        ranks: PathBuf,
    },
    /// Decode stdin line by line: one line of bytes per line of ids.
    Decode {
        #[arg(long)]
        ranks: PathBuf,
    },
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train {
            vocab_size,
            input,
            output,
            naive,
        } => {
            let corpus = std::fs::read(&input).map_err(|source| BpeError::Io {
                file: input.display().to_string(),
                source,
            })?;
            let start = Instant::now();
            let trained = if naive {
                train_naive(&corpus, vocab_size)?
            } else {
                train(&corpus, vocab_size)?
            };
            let seconds = start.elapsed().as_secs_f64();
            write_tiktoken(&output, &trained.ranks())?;
            eprintln!(
                "trained {} tokens ({} merges) on {} bytes in {seconds:.3} s",
                trained.vocab.len(),
                trained.merges.len(),
                corpus.len()
            );
        }
        Command::Encode { ranks } => {
            let bpe = Bpe::from_file(&ranks, &[])?;
            let mut input = Vec::new();
            std::io::stdin().read_to_end(&mut input)?;
            std::io::stdout().write_all(encode_lines(&bpe, &input).as_bytes())?;
        }
        Command::Decode { ranks } => {
            let bpe = Bpe::from_file(&ranks, &[])?;
            let mut input = Vec::new();
            std::io::stdin().read_to_end(&mut input)?;
            std::io::stdout().write_all(&decode_lines(&bpe, &input, "<stdin>")?)?;
        }
    }
    Ok(())
}

// anyhow prints the error and its causes and exits non-zero.
fn main() -> anyhow::Result<()> {
    run(Cli::parse())
}
