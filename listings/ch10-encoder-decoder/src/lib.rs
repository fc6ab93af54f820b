//! Chapter 10 of *Transformers Deep Dive*: encoder-decoder models. T5 from scratch, and
//! the real Whisper tiny.en transcribing speech with the book's code.
//!
//! - [`t5`]: T5 from scratch: relative position buckets and bias, attention without the
//!   scale, the ReLU and gated-GELU FFNs, the stacks and the tied, scaled head; span
//!   corruption.

pub mod t5;
