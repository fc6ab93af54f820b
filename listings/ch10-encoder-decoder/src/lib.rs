//! Chapter 10 of *Transformers Deep Dive*: encoder-decoder models. T5 from scratch, and
//! the real Whisper tiny.en transcribing speech with the book's code.
//!
//! - [`exercises`]: solutions to the chapter's exercises.
//! - [`t5`]: T5 from scratch: relative position buckets and bias, attention without the
//!   scale, the ReLU and gated-GELU FFNs, the stacks and the tied, scaled head; span
//!   corruption.
//! - [`text_to_text`]: T5 trained: span-corruption pretraining on the book, two tasks
//!   told apart by a prefix, ROUGE-L, pretrained against from scratch.
//! - [`audio`]: Whisper's audio front end: WAV in, 16 kHz mono, the STFT, Slaney mel
//!   filters, and the 80 × 3000 log-mel spectrogram.
//! - [`ctranslate2`]: CTranslate2's `model.bin` read and checked; F32, F16 and BF16
//!   variables as f32. It loads the real Whisper tiny.en.
//! - [`conv`]: Whisper's conv stem, two 1-D convolutions with GELU, forward and backward.
//! - [`whisper`]: Whisper from Chapters 3–7's modules, its sizes and every weight
//!   read from a CTranslate2 `model.bin` and checked, the fused projections split.
//! - [`transcribe`]: greedy decoding with Whisper's rules (prompt, suppressed tokens,
//!   end of text) and ids to text through Chapter 2's byte-level BPE.
//! - [`kv_cache`]: Whisper's decoder one token a step, cross-attention's keys and values
//!   computed once and self-attention's appended.
//! - [`transcription`]: a WAV file to its transcript: the window as openai-whisper's
//!   `transcribe()` cuts it, the encoder, greedy decoding, text.
//! - [`wer`]: word error rate: a stated normalisation and a word-level edit distance.

pub mod audio;
pub mod conv;
pub mod ctranslate2;
pub mod exercises;
pub mod kv_cache;
pub mod t5;
pub mod text_to_text;
pub mod transcribe;
pub mod transcription;
pub mod wer;
pub mod whisper;
