//! Chapter 13 of *Transformers Deep Dive*: modern optimizations. Low-rank adapters,
//! number formats and quantization down to 4 bits with integer SIMD kernels,
//! quantization-aware training, QLoRA, and Flash Attention forward and backward.
//!
//! - [`lora`]: low-rank adapters beside Chapter 9's attention projections, the frozen
//!   base, the merge, and the count of trainable parameters and optimizer memory.
//! - [`lora_run`]: the LoRA experiment: a copying Llama fine-tuned to encipher, by full
//!   fine-tuning and by LoRA at several ranks, with an optional transform of the base.

pub mod exercises;
pub mod lora;
pub mod lora_run;
