//! Semantic search over the book's Chapters 1-7 with the real all-MiniLM-L6-v2:
//!
//!     cargo run --release -p ch08-encoder-only --example book_search
//!     cargo run --release -p ch08-encoder-only --example book_search -- "What is a residual?"
//!
//! Embeds every passage of the frozen pages once, then prints the top sections for each
//! query (the section's own queries when none is given).

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Context;
use ch08_encoder_only::SentenceEncoder;
use ch08_encoder_only::search::{Index, QUERIES, book_passages, search_report};
use clap::Parser;

#[derive(Parser)]
#[command(about = "The sections of Chapters 1-7 closest in meaning to each query")]
struct Args {
    /// Questions to answer (default: the section's six).
    queries: Vec<String>,
    /// Sections printed for each query.
    #[arg(long, default_value_t = 3)]
    top: usize,
    /// A sentence-transformers model directory (default: the models cache's
    /// all-MiniLM-L6-v2).
    #[arg(long)]
    model: Option<PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let dir = models::ALL_MINILM_L6_V2.dir_or(args.model)?;
    let mut enc = SentenceEncoder::load(&dir)
        .with_context(|| format!("loading the model from {}", dir.display()))?;
    let start = Instant::now();
    let passages = book_passages();
    let n = passages.len();
    let index = Index::build(&mut enc, passages, 32);
    eprintln!(
        "{n} passages embedded in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    let queries: Vec<&str> = if args.queries.is_empty() {
        QUERIES.to_vec()
    } else {
        args.queries.iter().map(String::as_str).collect()
    };
    print!("{}", search_report(&index, &mut enc, &queries, args.top));
    Ok(())
}
