//! Sentence embeddings per second with the real all-MiniLM-L6-v2:
//! `cargo run --release -p ch08-encoder-only --example minilm_bench -- --input FILE --threads 2`
//!
//! Embeds every line of FILE, `--batch` at a time in length-sorted batches (as
//! sentence-transformers' `encode` does), inside a rayon pool of `--threads` threads,
//! `--repeat` times after one warm-up run; prints the best time of the whole run and,
//! separately, of tokenization alone and of the model alone (batches already tokenized),
//! as one line of `key=value` fields. tools/golden/bench_ch08.py runs it next to
//! sentence-transformers and writes src/figures/ch08/embed-speed.txt.

use std::path::PathBuf;

use anyhow::Context;
use ch01_foundations::linalg::{best_of, in_pool};
use ch08_encoder_only::SentenceEncoder;
use ch08_encoder_only::sentence::Tokens;
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// One sentence per line.
    #[arg(long)]
    input: PathBuf,
    #[arg(long, default_value_t = 1)]
    threads: usize,
    #[arg(long, default_value_t = 32)]
    batch: usize,
    #[arg(long, default_value_t = 1)]
    repeat: usize,
    /// A sentence-transformers directory (default: the models cache).
    #[arg(long)]
    model: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = match args.model {
        Some(dir) => dir,
        None => models::ALL_MINILM_L6_V2.dir()?,
    };
    let mut enc = SentenceEncoder::load(&dir)?;
    let text = std::fs::read_to_string(&args.input)
        .with_context(|| format!("reading {}", args.input.display()))?;
    let lines: Vec<&str> = text.lines().collect();
    let tokens: Vec<Tokens> = lines.iter().map(|l| enc.tokenize(l)).collect();
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(tokens[i].ids.len()));
    let batches: Vec<Vec<Tokens>> = order
        .chunks(args.batch)
        .map(|c| c.iter().map(|&i| tokens[i].clone()).collect())
        .collect();
    let (total, tokenize, model) = in_pool(args.threads, || {
        std::hint::black_box(enc.embed_sorted(&lines, args.batch)); // warm-up
        let total = best_of(0, args.repeat, || {
            std::hint::black_box(enc.embed_sorted(&lines, args.batch));
        });
        let tokenize = best_of(0, args.repeat, || {
            for l in &lines {
                std::hint::black_box(enc.tokenize(l));
            }
        });
        let model = best_of(0, args.repeat, || {
            for b in &batches {
                std::hint::black_box(enc.embed_tokens(b));
            }
        });
        (total.0, tokenize.0, model.0)
    });
    let n_tokens: usize = tokens.iter().map(|t| t.ids.len()).sum();
    println!(
        "sentences={} tokens={} batch={} threads={} total_s={total:.6} tokenize_s={tokenize:.6} model_s={model:.6}",
        lines.len(),
        n_tokens,
        args.batch,
        args.threads
    );
    Ok(())
}
