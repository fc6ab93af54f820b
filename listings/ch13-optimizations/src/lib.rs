//! Chapter 13 of *Transformers Deep Dive*: modern optimizations. Low-rank adapters,
//! number formats and quantization down to 4 bits with integer SIMD kernels,
//! quantization-aware training, QLoRA, and Flash Attention forward and backward.
//!
//! - [`exercises`]: solutions to the chapter's exercises.
//! - [`flash`]: Flash Attention for one head, forward (tiles, online softmax, only O and
//!   the log-sum-exp saved) and backward (tiles recomputed from the log-sum-exp).
//! - [`flash_decoding`]: flash decoding, one query over a long KV cache split into
//!   chunks whose partial softmaxes merge by the log-sum-exp rule.
//! - [`flash_measure`]: a counting global allocator, and the peak memory and time of
//!   naive against flash attention that the `flash_measure` example writes.

pub mod exercises;
pub mod flash;
pub mod flash_decoding;
pub mod flash_measure;
