//! Chapter 8 of *Transformers Deep Dive*: encoder-only models. BERT is Chapter 5's
//! Post-LN encoder stack with GELU, under learned token, segment and position
//! embeddings; a sentence encoder mean-pools its last layer. The real
//! all-MiniLM-L6-v2 checkpoint loads into these modules and reproduces
//! sentence-transformers' embeddings.
//!
//! - [`config`]: `config.json` and the sentence-transformers configs, checked.
//! - [`embeddings`]: token + segment + position embeddings and their LayerNorm.
//! - [`bert`]: the model: embeddings, the encoder stack, the pooler.
//! - [`pretrain_data`]: NSP sentence pairs and MLM masking (15 %, 80/10/10).
//! - [`book_corpus`]: the book's frozen text, cut into pages and sentences.
//! - [`pretraining`]: the MLM + NSP loss, masked-position batches, a training step.
//! - [`pretrain_run`]: the `pretrain` example's run: BERT pretrained on the book.
//! - [`heads`]: the MLM head (tied to the token embedding) and the NSP classifier.
//! - [`pooling`]: mean pooling over real tokens and L2 normalisation.
//! - [`checkpoint`]: Hugging Face safetensors names onto the book's modules.
//! - [`search`]: semantic search over the book: passages, an index, the top-k sections.
//! - [`sentence`]: the sentence encoder (tokenize, truncate, encode, pool).
//! - [`embed`]: the `embed` example's core: lines in, vectors out.
//! - [`report`]: what the chapter prints.
//! - [`tasks`]: seeded sentiment and NER data with held-out templates and words.
//! - [`finetune`]: sequence and token classification heads and the training step.
//! - [`seqeval`]: entity-level precision, recall and F1, as seqeval computes them.
//! - [`experiment`]: fine-tuning from pretrained and from random weights.

pub mod bert;
pub mod book_corpus;
pub mod checkpoint;
pub mod config;
pub mod embed;
pub mod embeddings;
pub mod exercises;
pub mod experiment;
pub mod finetune;
pub mod heads;
pub mod pooling;
pub mod pretrain_data;
pub mod pretrain_run;
pub mod pretraining;
pub mod report;
pub mod search;
pub mod sentence;
pub mod seqeval;
pub mod tasks;

pub use bert::Bert;
pub use checkpoint::LoadError;
pub use config::BertConfig;
pub use sentence::SentenceEncoder;
