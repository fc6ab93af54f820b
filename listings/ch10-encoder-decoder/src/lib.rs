//! Chapter 10 of *Transformers Deep Dive*: encoder-decoder models. T5 from scratch, and
//! the real Whisper tiny.en transcribing speech with the book's code.
