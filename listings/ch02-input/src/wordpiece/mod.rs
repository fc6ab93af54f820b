//! WordPiece, the BERT family's tokenizer: the basic tokenizer (clean, lowercase, strip
//! accents, split on punctuation, space out CJK), greedy longest-match-first with `##`
//! continuations, `vocab.txt`, and training with the score-based pair rule.
//!
//! [`WordPiece::encode`] gives the same ids as Hugging Face `tokenizers` with BERT's
//! uncased pipeline (`tests/wordpiece_golden.rs` checks it against a fixture).

pub mod basic;
pub mod exercises;
pub mod greedy;
pub mod legacy;
pub mod report;
pub mod train;
pub mod vocab;

pub use basic::BasicTokenizer;
pub use greedy::{CONTINUATION, MAX_INPUT_CHARS_PER_WORD, word_pieces};
pub use train::{Merge, Trained, Usage, train, train_and_measure};
pub use vocab::{SPECIAL_TOKENS, SpecialIds, Vocab, WordPieceError};

use std::path::Path;

/// A BERT tokenizer: a vocabulary and the basic tokenizer that runs before it.
#[derive(Clone, Debug)]
pub struct WordPiece {
    pub vocab: Vocab,
    pub basic: BasicTokenizer,
}

/// A piece of the input: ordinary text, or a special token written literally.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Segment<'a> {
    Text(&'a str),
    Special(u32),
}

impl WordPiece {
    /// An uncased BERT tokenizer over `vocab`.
    pub fn new(vocab: Vocab) -> WordPiece {
        WordPiece {
            vocab,
            basic: BasicTokenizer::default(),
        }
    }

    /// Loads `vocab.txt` from `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<WordPiece, WordPieceError> {
        Ok(WordPiece::new(Vocab::load(path)?))
    }

    // ANCHOR: special_split
    /// Finds special tokens written in the raw text (`the [MASK] of France`) before
    /// any normalisation, as Hugging Face does: they are matched case-sensitively,
    /// leftmost first, and never lowercased or split.
    pub fn segments<'a>(&self, text: &'a str) -> Vec<Segment<'a>> {
        let mut out = Vec::new();
        let (mut start, mut i) = (0, 0);
        while let Some(off) = text[i..].find('[') {
            i += off;
            let hit = SPECIAL_TOKENS.iter().find(|t| text[i..].starts_with(**t));
            match hit.and_then(|t| self.vocab.id(t).map(|id| (t.len(), id))) {
                Some((len, id)) => {
                    if start < i {
                        out.push(Segment::Text(&text[start..i]));
                    }
                    out.push(Segment::Special(id));
                    i += len;
                    start = i;
                }
                None => i += 1,
            }
        }
        if start < text.len() {
            out.push(Segment::Text(&text[start..]));
        }
        out
    }
    // ANCHOR_END: special_split

    // ANCHOR: encode
    /// Text to ids, without `[CLS]`/`[SEP]`. Total on any `&str`: unknown words are
    /// `[UNK]`, nothing panics.
    pub fn encode_words(&self, text: &str) -> Vec<u32> {
        let mut ids = Vec::new();
        for segment in self.segments(text) {
            match segment {
                Segment::Special(id) => ids.push(id),
                Segment::Text(t) => {
                    for word in basic::pre_tokenize(&self.basic.normalize(t)) {
                        word_pieces(&self.vocab, word, &mut ids);
                    }
                }
            }
        }
        ids
    }

    /// BERT's input for one sequence: `[CLS] pieces... [SEP]`.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let special = self.vocab.special();
        let mut ids = vec![special.cls];
        ids.extend(self.encode_words(text));
        ids.push(special.sep);
        ids
    }
    // ANCHOR_END: encode

    /// The token strings for `ids`; an id outside the vocabulary is an error.
    pub fn tokens(&self, ids: &[u32]) -> Result<Vec<&str>, WordPieceError> {
        ids.iter()
            .map(|&id| {
                self.vocab.token(id).ok_or(WordPieceError::IdOutOfRange {
                    id,
                    len: self.vocab.len(),
                })
            })
            .collect()
    }

    // ANCHOR: decode
    /// Ids back to text as Hugging Face's WordPiece decoder does: special tokens are
    /// skipped, `##` pieces glue onto the previous piece, other pieces get a space,
    /// and a space before `.`, `?`, `!` or `,` is removed. Lowercasing and stripped
    /// accents cannot be undone: WordPiece decoding is lossy.
    pub fn decode(&self, ids: &[u32]) -> Result<String, WordPieceError> {
        let s = self.vocab.special();
        let specials = [s.pad, s.unk, s.cls, s.sep, s.mask];
        let mut text = String::new();
        let kept = ids.iter().filter(|id| !specials.contains(id));
        for (i, token) in self
            .tokens(&kept.copied().collect::<Vec<_>>())?
            .iter()
            .enumerate()
        {
            let piece = match token.strip_prefix(CONTINUATION) {
                Some(rest) if i > 0 => rest.to_owned(),
                _ if i > 0 => format!(" {token}"),
                _ => token.to_string(),
            };
            text.push_str(&cleanup(&piece));
        }
        Ok(text)
    }
    // ANCHOR_END: decode
}

/// HF's `cleanup`, applied to each piece on its own (as HF does), so only the rules
/// that fit inside one piece ever fire.
fn cleanup(piece: &str) -> String {
    piece
        .replace(" .", ".")
        .replace(" ?", "?")
        .replace(" !", "!")
        .replace(" ,", ",")
        .replace(" ' ", "'")
        .replace(" n't", "n't")
        .replace(" 'm", "'m")
        .replace(" do not", " don't")
        .replace(" 's", "'s")
        .replace(" 've", "'ve")
        .replace(" 're", "'re")
}
