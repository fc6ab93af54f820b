//! The section's figure, drawn from the trainer's own bookkeeping.

use std::error::Error;
use std::path::{Path, PathBuf};

use ch01_foundations::plot::{LineChart, Series, write_line_chart};

use super::report::CORPUS;
use super::train;

/// Bytes per token of chapter 1's text as the vocabulary grows from 256 to 4096: each
/// merge shortens the corpus by the number of times it applies.
pub fn bpe_compression(path: &Path) -> Result<(), Box<dyn Error>> {
    let t = train(CORPUS, 4096)?;
    let bytes = t.corpus_tokens[0] as f64;
    let points = t
        .corpus_tokens
        .iter()
        .enumerate()
        .map(|(k, &n)| ((256 + k) as f64, bytes / n as f64))
        .collect();
    let mut chart = LineChart::new(
        "Compression of chapter 1's text as BPE learns merges",
        "vocabulary size (256 bytes + merges)",
        "bytes per token",
    );
    chart
        .series
        .push(Series::new("trained on the same text", points));
    write_line_chart(path, &chart)
}

/// Draws every BPE figure into `dir`; returns the paths written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join("bpe-compression.svg");
    bpe_compression(&path)?;
    Ok(vec![path])
}
