//! `vocab.txt`: one token per line, the id is the line index (from 0).

use std::path::Path;

use rustc_hash::FxHashMap;

/// Everything that can go wrong reading a vocabulary, training, or decoding; each
/// message names the file (or source) and the line or token at fault.
#[derive(Debug, thiserror::Error)]
pub enum WordPieceError {
    #[error("{source_name}: cannot read vocabulary: {error}")]
    Io {
        source_name: String,
        error: std::io::Error,
    },
    #[error("{source_name}: line {line}: not valid UTF-8")]
    Utf8 { source_name: String, line: usize },
    #[error("{source_name}: line {line}: empty token (a vocab.txt has one token a line)")]
    EmptyToken { source_name: String, line: usize },
    #[error("{source_name}: line {line}: token {token:?} contains whitespace")]
    Whitespace {
        source_name: String,
        line: usize,
        token: String,
    },
    #[error("{source_name}: line {line}: token {token:?} already on line {first_line}")]
    Duplicate {
        source_name: String,
        line: usize,
        first_line: usize,
        token: String,
    },
    #[error("{source_name}: special token {token} is missing from the vocabulary")]
    MissingSpecial {
        source_name: String,
        token: &'static str,
    },
    #[error("id {id} is outside the vocabulary of {len} tokens")]
    IdOutOfRange { id: u32, len: usize },
    #[error("vocab size {requested} is below the {needed} special and alphabet tokens")]
    VocabTooSmall { requested: usize, needed: usize },
}

/// One line of `vocab.txt` as a token: UTF-8, not empty, no whitespace (a trailing
/// `\r` from a CRLF file is dropped).
fn check_line<'a>(
    source_name: &str,
    line: usize,
    raw: &'a [u8],
) -> Result<&'a str, WordPieceError> {
    let source_name = source_name.to_owned();
    let raw = raw.strip_suffix(b"\r").unwrap_or(raw);
    let Ok(token) = std::str::from_utf8(raw) else {
        return Err(WordPieceError::Utf8 { source_name, line });
    };
    if token.is_empty() {
        return Err(WordPieceError::EmptyToken { source_name, line });
    }
    if token.chars().any(char::is_whitespace) {
        let token = token.to_owned();
        return Err(WordPieceError::Whitespace {
            source_name,
            line,
            token,
        });
    }
    Ok(token)
}

/// The special tokens BERT's input format needs, in `bert-base-uncased`'s order.
pub const SPECIAL_TOKENS: [&str; 5] = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

/// Ids of the special tokens in one vocabulary.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SpecialIds {
    pub pad: u32,
    pub unk: u32,
    pub cls: u32,
    pub sep: u32,
    pub mask: u32,
}

impl SpecialIds {
    /// The ids of the five special tokens, each of which `vocab.txt` must hold.
    fn find(
        source_name: &str,
        ids: &FxHashMap<String, u32>,
    ) -> Result<SpecialIds, WordPieceError> {
        let id = |token: &'static str| {
            let source_name = source_name.to_owned();
            ids.get(token)
                .copied()
                .ok_or(WordPieceError::MissingSpecial { source_name, token })
        };
        let (pad, unk, cls) = (id("[PAD]")?, id("[UNK]")?, id("[CLS]")?);
        let (sep, mask) = (id("[SEP]")?, id("[MASK]")?);
        Ok(SpecialIds {
            pad,
            unk,
            cls,
            sep,
            mask,
        })
    }
}

/// A WordPiece vocabulary: token strings by id, and ids by token.
#[derive(Clone, Debug)]
pub struct Vocab {
    tokens: Vec<String>,
    ids: FxHashMap<String, u32>,
    special: SpecialIds,
}

impl Vocab {
    // ANCHOR: vocab_parse
    /// Parses `vocab.txt` bytes; `source_name` (a path) is what errors name. Unlike
    /// Hugging Face, which lets a later duplicate overwrite an earlier id and keeps
    /// empty lines as an empty token, both are errors here: they mean a corrupt file.
    pub fn parse(source_name: &str, bytes: &[u8]) -> Result<Vocab, WordPieceError> {
        let mut tokens = Vec::new();
        let mut ids = FxHashMap::default();
        let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
        for (i, raw) in body.split(|&b| b == b'\n').enumerate() {
            let token = check_line(source_name, i + 1, raw)?;
            if let Some(&first) = ids.get(token) {
                return Err(WordPieceError::Duplicate {
                    source_name: source_name.to_owned(),
                    line: i + 1,
                    first_line: first as usize + 1,
                    token: token.to_owned(),
                });
            }
            ids.insert(token.to_owned(), tokens.len() as u32);
            tokens.push(token.to_owned());
        }
        let special = SpecialIds::find(source_name, &ids)?;
        Ok(Vocab {
            tokens,
            ids,
            special,
        })
    }
    // ANCHOR_END: vocab_parse

    /// Reads and parses a `vocab.txt` file.
    pub fn load(path: impl AsRef<Path>) -> Result<Vocab, WordPieceError> {
        let path = path.as_ref();
        let source_name = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|error| WordPieceError::Io {
            source_name: source_name.clone(),
            error,
        })?;
        Vocab::parse(&source_name, &bytes)
    }

    /// Builds a vocabulary from tokens in id order (what training produces).
    pub fn from_tokens(tokens: &[String]) -> Result<Vocab, WordPieceError> {
        Vocab::parse("<tokens>", Vocab::to_text(tokens).as_bytes())
    }

    /// The `vocab.txt` text for tokens in id order.
    pub fn to_text(tokens: &[String]) -> String {
        tokens.iter().flat_map(|t| [t.as_str(), "\n"]).collect()
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn id(&self, token: &str) -> Option<u32> {
        self.ids.get(token).copied()
    }

    pub fn token(&self, id: u32) -> Option<&str> {
        self.tokens.get(id as usize).map(String::as_str)
    }

    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    pub fn special(&self) -> SpecialIds {
        self.special
    }
}
