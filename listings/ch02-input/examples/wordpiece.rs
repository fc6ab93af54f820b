//! WordPiece from the command line.
//!
//! ```text
//! cargo run --release -p ch02-input --example wordpiece -- encode --vocab vocab.txt
//! cargo run --release -p ch02-input --example wordpiece -- train --vocab-size 2000 \
//!     --input corpus.txt --output vocab.txt
//! cargo run --release -p ch02-input --example wordpiece -- demo
//! ```
//!
//! `encode` reads lines from stdin and prints each one's ids, `[CLS]` and `[SEP]`
//! included, space-separated. Errors go to stderr with a non-zero exit status.

use std::io::{BufRead, Write};
use std::path::PathBuf;

use anyhow::Context;
use ch02_input::wordpiece::{WordPiece, report, train};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(about = "BERT-style WordPiece: encode with a vocab.txt, or train one")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Encode stdin, one line of ids per input line.
    Encode {
        #[arg(long)]
        vocab: PathBuf,
    },
    /// Train a vocabulary on a UTF-8 text file and write it as vocab.txt.
    Train {
        #[arg(long)]
        vocab_size: usize,
        #[arg(long)]
        input: PathBuf,
        #[arg(long)]
        output: PathBuf,
    },
    /// Print what the book's WordPiece section shows.
    Demo,
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Encode { vocab } => {
            let wp = WordPiece::load(&vocab)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            for (i, line) in std::io::stdin().lock().lines().enumerate() {
                let line = line.with_context(|| format!("stdin: line {}", i + 1))?;
                let ids: Vec<String> =
                    wp.encode(&line).iter().map(u32::to_string).collect();
                writeln!(out, "{}", ids.join(" "))?;
            }
            out.flush()?;
        }
        Command::Train {
            vocab_size,
            input,
            output,
        } => {
            let corpus = std::fs::read_to_string(&input).with_context(|| {
                format!("{}: cannot read corpus as UTF-8", input.display())
            })?;
            let trained = train(&corpus, vocab_size)?;
            std::fs::write(&output, trained.vocab_text())
                .with_context(|| format!("{}: cannot write", output.display()))?;
            eprintln!(
                "{}: {} tokens ({} merges)",
                output.display(),
                trained.tokens.len(),
                trained.merges.len()
            );
        }
        Command::Demo => {
            let vocab = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/golden/bert-uncased-vocab.txt"
            );
            let bert = WordPiece::load(vocab)?;
            let corpus = report::book_corpus();
            println!("{}", report::basic_steps());
            println!("{}", report::wordpieces(&bert)?);
            println!("{}", report::first_merges(&corpus, 1000, 12)?);
            println!(
                "{}",
                report::usage_table(&corpus, &[1000, 2000, 4000, 8000])?
            );
        }
    }
    Ok(())
}

// anyhow prints the error and its causes and exits non-zero.
fn main() -> anyhow::Result<()> {
    run(Cli::parse())
}
