//! Chapter 7 of *Transformers Deep Dive*: the full transformer.
