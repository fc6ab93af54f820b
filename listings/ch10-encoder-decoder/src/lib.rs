//! Chapter 10 of *Transformers Deep Dive*: encoder-decoder models. T5 from scratch, and
//! the real Whisper tiny.en transcribing speech with the book's code.
//!
//! - [`audio`]: Whisper's audio front end: WAV in, 16 kHz mono, the STFT, Slaney mel
//!   filters, and the 80 × 3000 log-mel spectrogram

pub mod audio;
