//! Byte-level BPE, the GPT-2 / tiktoken family.
//!
//! - [`pretokenize`]: the GPT-2 pattern, as a hand-written scanner.
//! - [`train`]: from a corpus to a vocabulary, with incremental pair counts and a heap.
//! - [`encode`]: [`Bpe`], encoding by rank (tiktoken's algorithm) and decoding.
//! - [`ranks`]: reading and writing tiktoken's `.tiktoken` rank files.
//! - [`gpt2`]: the real GPT-2 tokenizer from OpenAI's `gpt2.tiktoken`.
//! - [`reference`]: the naive trainer and merge loop, the oracles the fast code is
//!   tested against.
//! - [`report`]: what the section prints; [`figures`]: its figure;
//!   [`exercises`]: solutions to its exercises.

pub mod encode;
pub mod exercises;
pub mod figures;
pub mod gpt2;
pub mod lines;
pub mod pretokenize;
pub mod ranks;
pub mod reference;
pub mod report;
pub mod train;

pub use encode::Bpe;
pub use gpt2::gpt2_from_file;
pub use pretokenize::{GPT2_PATTERN, pretokenize, pretokenize_str};
pub use ranks::{read_tiktoken, write_tiktoken};
pub use train::{Trained, train};

/// A token id. tiktoken calls it a rank: the lower, the earlier the token was merged.
pub type Rank = u32;

/// The special token GPT-2 puts between documents.
pub const ENDOFTEXT: &str = "<|endoftext|>";

/// Everything that can go wrong with user data: rank files, ids, vocabulary sizes.
#[derive(Debug, thiserror::Error)]
pub enum BpeError {
    /// A file could not be read or written.
    #[error("{file}: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// A line of a rank file is malformed.
    #[error("{file}:{line}: {msg}")]
    Line {
        file: String,
        line: usize,
        msg: String,
    },
    /// A rank table is unusable as a whole (a missing byte, a clash with a special).
    #[error("{0}")]
    Table(String),
    /// Fewer than the 256 byte tokens were asked for.
    #[error("vocabulary size {0} is below 256: byte-level BPE needs one token per byte")]
    VocabTooSmall(usize),
    /// An id that is neither a token nor a special token.
    #[error("unknown token id {0}")]
    UnknownId(Rank),
}
