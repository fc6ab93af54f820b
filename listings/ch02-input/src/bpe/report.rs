//! What the section prints. The `bpe_demo` example prints these, the snapshot tests pin
//! them, and the book includes the snapshots.

use std::fmt::Write;

use super::{Bpe, ENDOFTEXT, Rank, Trained, pretokenize_str, train};

/// The chapter's training corpus: chapter 1's text (the golden fixture).
pub const CORPUS: &[u8] = crate::corpus::BOOK_CH01.as_bytes();

// Writing into a String cannot fail.
macro_rules! out {
    ($s:expr, $($arg:tt)*) => { writeln!($s, $($arg)*).expect("writing to a String") };
}

/// The tokenizer every demo uses: 1000 tokens learned from [`CORPUS`].
pub fn book_tokenizer() -> (Trained, Bpe) {
    let trained = train(CORPUS, 1000).expect("1000 >= 256");
    let bpe = trained.bpe();
    (trained, bpe)
}

/// A token as a string literal if it is UTF-8, else as a byte string literal.
fn literal(token: &[u8]) -> String {
    match std::str::from_utf8(token) {
        Ok(s) => format!("{s:?}"),
        Err(_) => format!("b\"{}\"", token.escape_ascii()),
    }
}

fn tokens(bpe: &Bpe, ids: &[Rank]) -> String {
    let parts: Vec<String> = ids
        .iter()
        .map(|&id| literal(&bpe.decode(&[id]).expect("a known id")))
        .collect();
    format!("[{}]", parts.join(", "))
}

/// Pre-tokens of sentences that exercise every rule of the pattern.
pub fn pretokens_demo() -> String {
    let mut s = String::new();
    for text in [
        "Hello world, it's 2024!",
        "We'll see:   3 spaces\tand a tab.\n\n",
        "naïve café 日本語 👨‍👩‍👧 x²",
    ] {
        out!(s, "{text:?}");
        out!(s, "  -> {:?}", pretokenize_str(text));
    }
    s
}

/// The first merges learned from chapter 1's text, and the compression they buy.
pub fn merges_demo() -> String {
    let (t, _) = book_tokenizer();
    let mut s = String::new();
    out!(
        s,
        "corpus: {} bytes, {} merges to 1000 tokens",
        CORPUS.len(),
        t.merges.len()
    );
    for &(a, b, c) in t.merges.iter().take(12) {
        let v = |i: Rank| literal(&t.vocab[i as usize]);
        out!(s, "  {c:4} = {:>6} + {:<6} -> {}", v(a), v(b), v(c));
    }
    let last = t.merges.last().expect("merges");
    out!(
        s,
        "  ...\n  {:4} = {}",
        last.2,
        literal(&t.vocab[last.2 as usize])
    );
    let (bytes, tokens) = (
        t.corpus_tokens[0],
        *t.corpus_tokens.last().expect("non-empty"),
    );
    out!(
        s,
        "corpus: {bytes} tokens before, {tokens} after: {:.2} bytes per token",
        bytes as f64 / tokens as f64
    );
    s
}

/// Encoding and decoding: emoji, invalid UTF-8, and special tokens.
pub fn encode_demo() -> String {
    let (_, bpe) = book_tokenizer();
    let mut s = String::new();
    let text = "The softmax is stable. 👨‍👩‍👧";
    let ids = bpe.encode_ordinary(text);
    out!(
        s,
        "{text:?}\n  ids    {ids:?}\n  tokens {}",
        tokens(&bpe, &ids)
    );
    out!(
        s,
        "  decode == text: {}",
        bpe.decode(&ids).expect("known ids") == text.as_bytes()
    );
    let bytes = b"caf\xc3\xa9 \xff\xfe ok";
    let ids = bpe.encode_ordinary(bytes);
    out!(s, "{} (not UTF-8)\n  ids    {ids:?}", literal(bytes));
    let back = bpe.decode(&ids).expect("known ids");
    out!(
        s,
        "  decode == bytes: {}; lossy: {:?}",
        back == bytes,
        bpe.decode_lossy(&ids).expect("ids")
    );
    let text = format!("end.{ENDOFTEXT}Next");
    let ordinary = bpe.encode_ordinary(&text);
    let special = bpe.encode(&text, &[ENDOFTEXT]).expect("a known special");
    out!(
        s,
        "{text:?}\n  encode_ordinary {ordinary:?}\n    = {}",
        tokens(&bpe, &ordinary)
    );
    out!(
        s,
        "  encode(allowed = [{ENDOFTEXT}]) {special:?}\n    = {}",
        tokens(&bpe, &special)
    );
    s
}

/// Everything the section prints, in order.
pub fn demo() -> String {
    [pretokens_demo(), merges_demo(), encode_demo()].join("\n")
}
