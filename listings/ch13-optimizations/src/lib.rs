//! Chapter 13 of *Transformers Deep Dive*: modern optimizations. Low-rank adapters,
//! number formats and quantization down to 4 bits with integer SIMD kernels,
//! quantization-aware training, QLoRA, and Flash Attention forward and backward.
//!
//! - [`flash`]: Flash Attention for one head, forward (tiles, online softmax, only O and
//!   the log-sum-exp saved) and backward (tiles recomputed from the log-sum-exp).

pub mod flash;
