//! Chapter 6 of *Transformers Deep Dive*: the decoder block.
