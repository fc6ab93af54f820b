//! What the WordPiece section prints: the examples print these strings, and the
//! snapshot tests pin them.

use std::fmt::Write;

use ch01_foundations::report::round;

use super::{BasicTokenizer, WordPiece, WordPieceError, train, train_and_measure};

// Writing into a String cannot fail, so `expect` below never fires.
macro_rules! out {
    ($s:expr, $($arg:tt)*) => { writeln!($s, $($arg)*).expect("writing to a String") };
}

/// The book's own text (Chapter 1, frozen in `data/book-ch01.md`), the corpus the
/// section trains on.
pub fn book_corpus() -> String {
    crate::corpus::BOOK_CH01.to_owned()
}

/// The sentence the section follows through the basic tokenizer.
pub const SENTENCE: &str = "Héllo,\tWORLD!\u{200B} Naïve café—5€ 東京 [MASK]?!";

/// The basic tokenizer's steps on [`SENTENCE`] (strings in Rust's `{:?}` form, so
/// tabs and invisible characters show).
pub fn basic_steps() -> String {
    let steps = BasicTokenizer::default().steps(SENTENCE);
    let mut s = String::new();
    out!(s, "input             {SENTENCE:?}");
    out!(s, "cleaned           {:?}", steps.cleaned);
    out!(s, "CJK spaced        {:?}", steps.cjk_spaced);
    out!(s, "accents stripped  {:?}", steps.accents_stripped);
    out!(s, "lowercased        {:?}", steps.lowercased);
    out!(s, "words             {:?}", steps.words);
    s
}

/// Words through BERT's real vocabulary, then whole sentences with `[CLS]`/`[SEP]`.
pub fn wordpieces(bert: &WordPiece) -> Result<String, WordPieceError> {
    let mut s = String::new();
    let long = "a".repeat(101);
    let words = [
        "transformer",
        "tokenization",
        "unaffable",
        "embeddings",
        "wordpiece",
        "naïve",
        "gpt",
        "rustacean",
        "😀",
        long.as_str(),
    ];
    for word in words {
        let ids = bert.encode_words(word);
        let shown = if word.chars().count() > 20 {
            "a × 101"
        } else {
            word
        };
        out!(
            s,
            "{shown:<14} {:<36} {ids:?}",
            bert.tokens(&ids)?.join(" ")
        );
    }
    out!(s, "");
    for text in [SENTENCE, "", "Paris is the [MASK] of France."] {
        let ids = bert.encode(text);
        out!(s, "{text:?}");
        out!(s, "  tokens  {}", bert.tokens(&ids)?.join(" "));
        out!(s, "  ids     {ids:?}");
        out!(s, "  decoded {:?}", bert.decode(&ids)?);
    }
    Ok(s)
}

/// The first merges training learns on `corpus`, with the counts behind each score.
pub fn first_merges(
    corpus: &str,
    vocab_size: usize,
    n: usize,
) -> Result<String, WordPieceError> {
    let trained = train(corpus, vocab_size)?;
    let mut s = String::new();
    out!(
        s,
        "corpus: {} bytes; alphabet: {} tokens (c and ##c)",
        corpus.len(),
        trained.alphabet
    );
    out!(
        s,
        "{:>3}  {:<18} {:>6} {:>7} {:>7}  score",
        "#",
        "merge",
        "c(ab)",
        "c(a)",
        "c(b)"
    );
    for (i, m) in trained.merges.iter().take(n).enumerate() {
        let merge = format!("{} + {} -> {}", m.left, m.right, m.merged);
        out!(
            s,
            "{:>3}  {merge:<18} {:>6} {:>7} {:>7}  {}",
            i + 1,
            m.pair_count,
            m.left_count,
            m.right_count,
            round(m.score() as f32, 5)
        );
    }
    let last = trained
        .merges
        .last()
        .map(|m| m.merged.as_str())
        .unwrap_or("-");
    out!(
        s,
        "... {} merges in all; the last one makes {last:?}",
        trained.merges.len()
    );
    let wp = WordPiece::new(trained.vocab()?);
    for text in [
        "The gradient of the softmax.",
        "Transformers tokenize text.",
    ] {
        let ids = wp.encode(text);
        out!(s, "{text:?} -> {}", wp.tokens(&ids)?.join(" "));
    }
    Ok(s)
}

/// Bytes per token and vocabulary use at several sizes, trained and measured on `corpus`.
pub fn usage_table(corpus: &str, sizes: &[usize]) -> Result<String, WordPieceError> {
    let mut s = String::new();
    out!(
        s,
        "{:>6} {:>7} {:>8} {:>12} {:>9} {:>5}",
        "target",
        "vocab",
        "tokens",
        "bytes/token",
        "used",
        "[UNK]"
    );
    for &size in sizes {
        let u = train_and_measure(corpus, size)?;
        out!(
            s,
            "{size:>6} {:>7} {:>8} {:>12} {:>8}% {:>5}",
            u.vocab_size,
            u.tokens,
            round(u.bytes_per_token() as f32, 2),
            round(100.0 * u.fraction_used() as f32, 1),
            u.unk
        );
    }
    Ok(s)
}
