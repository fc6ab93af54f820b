//! Chapter 10 of *Transformers Deep Dive*: encoder-decoder models. T5 from scratch, and
//! the real Whisper tiny.en transcribing speech with the book's code.
//!
//! - [`ctranslate2`]: CTranslate2's `model.bin` read and checked; F32, F16 and BF16
//!   variables as f32. It loads the real Whisper tiny.en.
//! - [`conv`]: Whisper's conv stem, two 1-D convolutions with GELU, forward and backward.
//! - [`whisper`]: Whisper from Chapters 3–7's modules, its sizes and every weight
//!   read from a CTranslate2 `model.bin` and checked, the fused projections split.
//! - [`transcribe`]: greedy decoding with Whisper's rules (prompt, suppressed tokens,
//!   end of text) and ids to text through Chapter 2's byte-level BPE.
//! - [`kv_cache`]: Whisper's decoder one token a step, cross-attention's keys and values
//!   computed once and self-attention's appended.

pub mod conv;
pub mod ctranslate2;
pub mod kv_cache;
pub mod transcribe;
pub mod whisper;
