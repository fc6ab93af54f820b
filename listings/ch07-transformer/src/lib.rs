//! Chapter 7 of *Transformers Deep Dive*: the full 2017 encoder-decoder transformer. The
//! encoder of Chapter 5, a decoder whose layers add cross-attention to the encoder's
//! output, an output projection tied to the target embedding, the first training recipe
//! (label-smoothed cross-entropy, Adam with the Noam schedule, gradient clipping), greedy
//! and beam decoding, and a synthetic translation task it learns to solve.

pub mod count;
pub mod decode;
pub mod decoder;
pub mod demo;
pub mod exercises;
pub mod loss;
pub mod model;

pub use decoder::{DecoderLayer, DecoderStack, Padding};
pub use model::{Config, Memory, Transformer, shift_right};

pub mod checkpoint;
pub mod data;
pub mod exercises_training;
pub mod optim;
pub mod overfit;
pub mod run;
pub mod train;
