//! Chapter 13 of *Transformers Deep Dive*: modern optimizations. Low-rank adapters,
//! number formats and quantization down to 4 bits with integer SIMD kernels,
//! quantization-aware training, QLoRA, and Flash Attention forward and backward.
//!
//! - [`exercises`]: solutions to the chapter's exercises.
//! - [`qat`]: fake quantization (symmetric absmax per output channel or group, b bits)
//!   with the straight-through estimator; post-training quantization and
//!   quantization-aware training of Chapter 9's Llama.
//! - [`qat_run`]: the `qat_vs_ptq` example's run: PTQ against QAT at 8, 4, 3 and 2 bits.

pub mod exercises;
pub mod qat;
pub mod qat_run;
