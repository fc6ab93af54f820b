//! Chapter 6 of *Transformers Deep Dive*: the decoder block. Chapter 5's encoder block
//! with its attention made causal is a decoder block; a stack of them over embeddings,
//! with the embedding table reused as the output layer, is a language model. The chapter
//! trains a tiny one, generates from it greedily, checks causality, and measures where
//! generation spends its time.

pub mod block;
pub mod chance;
pub mod cost;
pub mod data;
pub mod exercises;
pub mod figures;
pub mod generate;
pub mod lm;
pub mod report;
pub mod train;

pub use block::DecoderBlock;
pub use generate::{GenerateError, generate_greedy};
pub use lm::{DecoderLm, LmConfig, lm_loss};
