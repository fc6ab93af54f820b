//! Chapter 9 of *Transformers Deep Dive*: decoder-only models.
//!
//! - [`bench`]: a timed greedy run and its prompt, for the speed tables of SmolLM2
//!   in any weight format.
//! - [`checkpoint`]: the trained GPT-2 and Llama saved and loaded (safetensors).
//! - [`config`]: a Llama model's hyperparameters from the GGUF metadata, and the
//!   tensors they imply, checked against the file.
//! - [`exercises`]: solutions to the chapter's exercises.
//! - [`few_shot`]: zero- and few-shot prompting of SmolLM2-Instruct on Chapter 8's
//!   sentiment sentences, answered by scoring the labels and by generation.
//! - [`generate`]: the `generate` example's core: streaming, greedy or sampled.
//! - [`gguf`]: llama.cpp's GGUF format, read and checked; F32, F16, Q8_0 and Q4_1
//!   tensors dequantized to f32. It loads the real SmolLM2-135M-Instruct.
//! - [`gpt2`]: GPT-2 from scratch from Chapters 2–6's parts: forward, backward, the
//!   next-token loss, GPT-2's initialisation and Hugging Face's parameter names.
//! - [`gqa`]: grouped-query attention with RoPE, forward and backward.
//! - [`llama`]: a Llama model for inference from a GGUF file, with f32 weights or any
//!   other [`llama::Weight`].
//! - [`llama_model`]: a trainable Llama (RMSNorm, RoPE, SwiGLU, GQA), forward and
//!   backward, and the K/V memory per token.
//! - [`tokenizer`]: the byte-level BPE stored in a GGUF file's metadata, and
//!   SmolLM2-Instruct's chat prompt.
//! - [`training`]: one interface for both models, batches, the training loop and
//!   the held-out loss.
//! - [`train_run`]: the `train_decoders` example's run: GPT-2 and Llama trained on
//!   the book, compared, sampled, and tested for in-context copying.

pub mod bench;
pub mod checkpoint;
pub mod config;
pub mod exercises;
pub mod few_shot;
pub mod generate;
pub mod gguf;
pub mod gpt2;
pub mod gqa;
pub mod llama;
pub mod llama_model;
pub mod tokenizer;
pub mod train_run;
pub mod training;
