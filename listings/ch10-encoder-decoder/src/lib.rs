//! Chapter 10 of *Transformers Deep Dive*: encoder-decoder models. T5 from scratch, and
//! the real Whisper tiny.en transcribing speech with the book's code.
//!
//! - [`exercises`]: solutions to the chapter's exercises.
//! - [`t5`]: T5 from scratch: relative position buckets and bias, attention without the
//!   scale, the ReLU and gated-GELU FFNs, the stacks and the tied, scaled head; span
//!   corruption.
//! - [`text_to_text`]: T5 trained: span-corruption pretraining on the book, two tasks
//!   told apart by a prefix, ROUGE-L, pretrained against from scratch.

pub mod exercises;
pub mod t5;
pub mod text_to_text;
