//! Comparing tokenizers on the book's own text (section "Comparing tokenizers"): how many
//! bytes a token covers, and how much of the vocabulary the text actually uses, for BPE
//! and WordPiece at several vocabulary sizes, with BERT's real 30,522-token vocabulary as
//! a reference point.

use std::error::Error;
use std::fmt::Write;
use std::path::Path;

use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch01_foundations::report::round;
use rustc_hash::FxHashSet;

use crate::corpus::BOOK_CH01;
use crate::wordpiece::{WordPiece, train_and_measure};

/// The vocabulary sizes the comparison trains at.
pub const SIZES: [usize; 4] = [512, 1024, 2048, 4096];

/// One tokenizer at one vocabulary size, measured on the corpus it was trained on.
#[derive(Clone, Debug)]
pub struct Measured {
    pub tokenizer: &'static str,
    /// Requested size; `vocab` can be smaller when the corpus runs out of pairs to merge.
    pub target: usize,
    pub vocab: usize,
    pub tokens: usize,
    pub bytes_per_token: f64,
    /// Distinct ids in the encoded text / vocabulary size.
    pub fraction_used: f64,
}

// ANCHOR: measure_bpe
/// Trains byte-level BPE to `target` tokens on `corpus` and encodes the same text.
pub fn measure_bpe(corpus: &str, target: usize) -> Result<Measured, Box<dyn Error>> {
    let bpe = crate::bpe::train(corpus.as_bytes(), target)?.bpe();
    let ids = bpe.encode_ordinary(corpus);
    let used = ids.iter().collect::<FxHashSet<_>>().len();
    Ok(Measured {
        tokenizer: "byte-level BPE",
        target,
        vocab: bpe.n_tokens(),
        tokens: ids.len(),
        bytes_per_token: corpus.len() as f64 / ids.len().max(1) as f64,
        fraction_used: used as f64 / bpe.n_tokens() as f64,
    })
}
// ANCHOR_END: measure_bpe

/// Trains WordPiece to `target` tokens on `corpus` and encodes the same text (without
/// `[CLS]`/`[SEP]`). Bytes are counted in the original text, before lowercasing.
pub fn measure_wordpiece(
    corpus: &str,
    target: usize,
) -> Result<Measured, Box<dyn Error>> {
    let u = train_and_measure(corpus, target)?;
    Ok(Measured {
        tokenizer: "WordPiece",
        target,
        vocab: u.vocab_size,
        tokens: u.tokens,
        bytes_per_token: u.bytes_per_token(),
        fraction_used: u.fraction_used(),
    })
}

/// The real BERT uncased vocabulary (30,522 tokens, trained on Wikipedia and books) on
/// the same text: the reference point for what a large, general vocabulary does.
pub fn measure_bert(corpus: &str) -> Result<Measured, Box<dyn Error>> {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/bert-uncased-vocab.txt");
    let wp = WordPiece::load(&path)?;
    let ids = wp.encode_words(corpus);
    let used = ids.iter().collect::<FxHashSet<_>>().len();
    Ok(Measured {
        tokenizer: "BERT uncased (real)",
        target: wp.vocab.len(),
        vocab: wp.vocab.len(),
        tokens: ids.len(),
        bytes_per_token: corpus.len() as f64 / ids.len().max(1) as f64,
        fraction_used: used as f64 / wp.vocab.len() as f64,
    })
}

/// Every row of the comparison on the book's text: BPE and WordPiece at [`SIZES`], then
/// BERT.
pub fn compare() -> Result<Vec<Measured>, Box<dyn Error>> {
    let mut rows = Vec::new();
    for &n in &SIZES {
        rows.push(measure_bpe(BOOK_CH01, n)?);
    }
    for &n in &SIZES {
        rows.push(measure_wordpiece(BOOK_CH01, n)?);
    }
    rows.push(measure_bert(BOOK_CH01)?);
    Ok(rows)
}

/// How many of the 256 byte values occur in `text`: byte-level BPE's other base tokens
/// can never appear in its encoding.
pub fn distinct_bytes(text: &str) -> usize {
    text.bytes().collect::<FxHashSet<u8>>().len()
}

/// The comparison as the chapter prints it (`--example compare`).
pub fn report() -> Result<String, Box<dyn Error>> {
    let mut s = String::new();
    writeln!(
        s,
        "corpus: Chapter 1 of this book, {} bytes, {} distinct byte values",
        BOOK_CH01.len(),
        distinct_bytes(BOOK_CH01)
    )?;
    writeln!(
        s,
        "{:<20}{:>8}{:>8}{:>9}{:>13}{:>12}",
        "tokenizer", "target", "vocab", "tokens", "bytes/token", "vocab used"
    )?;
    for r in compare()? {
        writeln!(
            s,
            "{:<20}{:>8}{:>8}{:>9}{:>13}{:>11}%",
            r.tokenizer,
            r.target,
            r.vocab,
            r.tokens,
            round(r.bytes_per_token as f32, 2),
            round(100.0 * r.fraction_used as f32, 1)
        )?;
    }
    Ok(s)
}

/// Two figures: bytes per token, and the fraction of the vocabulary used, against
/// log2(vocabulary size), for both trained tokenizers and the real BERT vocabulary.
pub fn write_figures(dir: &Path) -> Result<Vec<std::path::PathBuf>, Box<dyn Error>> {
    std::fs::create_dir_all(dir)?;
    let rows = compare()?;
    let series = |name: &str, y: fn(&Measured) -> f64| -> Series {
        let points = rows
            .iter()
            .filter(|r| r.tokenizer == name)
            .map(|r| ((r.vocab as f64).log2(), y(r)))
            .collect();
        Series::new(name, points)
    };
    let mut written = Vec::new();
    // (file, title, y label, the measurement plotted)
    type Chart = (
        &'static str,
        &'static str,
        &'static str,
        fn(&Measured) -> f64,
    );
    let charts: [Chart; 2] = [
        (
            "tokenizer-bytes-per-token.svg",
            "Bytes per token on Chapter 1's text",
            "bytes per token",
            |r| r.bytes_per_token,
        ),
        (
            "tokenizer-vocab-used.svg",
            "Share of the vocabulary Chapter 1's text uses",
            "fraction of vocabulary used",
            |r| r.fraction_used,
        ),
    ];
    for (file, title, y_label, y) in charts {
        let mut chart = LineChart::new(title, "log2(vocabulary size)", y_label);
        chart.points = true;
        for name in ["byte-level BPE", "WordPiece", "BERT uncased (real)"] {
            chart.series.push(series(name, y));
        }
        let path = dir.join(file);
        write_line_chart(&path, &chart)?;
        written.push(path);
    }
    Ok(written)
}
