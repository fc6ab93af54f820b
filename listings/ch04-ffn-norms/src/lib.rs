//! Chapter 4 of *Transformers Deep Dive*: the position-wise half of a transformer block.
//! A linear layer, the activations (ReLU, GELU, SiLU, SwiGLU), the feed-forward network,
//! LayerNorm and RMSNorm, residual wiring (Pre-LN and Post-LN), and dropout. Every
//! backward pass is gradient-checked and every layer is compared with PyTorch.

pub mod activations;
pub mod dropout;
pub mod exercises;
pub mod ffn;
pub mod figures;
pub mod linear;
pub mod norms;
pub mod report;
pub mod residual;
pub mod swiglu;
