//! Chapter 5 of *Transformers Deep Dive*: the encoder. One block is multi-head
//! self-attention and an FFN, each inside a residual connection with a LayerNorm, wired
//! Post-LN (2017) or Pre-LN (every large model since); a stack of blocks over token
//! embeddings plus positions is the encoder. Every token sees every other token.

pub mod block;
pub mod depth;
pub mod encoder;
pub mod exercises;
pub mod figures;
pub mod report;
pub mod stack;

pub use block::{DropoutConfig, EncoderBlock, Wiring};
pub use encoder::Encoder;
pub use stack::EncoderStack;
