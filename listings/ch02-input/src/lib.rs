//! Chapter 2 — Input processing: from text to vectors a transformer can read.
//!
//! - [`bpe`]: byte-level BPE, the GPT-2 / tiktoken family: pre-tokenization, training,
//!   encoding by rank, `.tiktoken` rank files.
//! - [`wordpiece`]: WordPiece, the BERT family: the basic tokenizer, greedy
//!   longest-match-first, `vocab.txt`, training.
//! - [`embedding`]: the embedding layer, forward and backward.
//! - [`positions`]: sinusoidal, learned, RoPE and ALiBi positional information.
//! - [`compare`]: BPE against WordPiece on the book's own text.
//! - [`corpus`]: the text the chapter trains its tokenizers on.

pub mod bpe;
pub mod compare;
pub mod corpus;
pub mod embedding;
pub mod positions;
pub mod wordpiece;
