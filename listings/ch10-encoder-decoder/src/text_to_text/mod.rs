//! Training T5 (page "Text to text"): span-corruption pretraining on the book's own text,
//! then one model fine-tuned on two tasks told apart by a prefix, scored by exact match
//! and ROUGE-L; the experiment that compares starting from the pretrained checkpoint
//! with starting from scratch.
//!
//! - [`vocab`]: Chapter 2's BPE with T5's pad, end-of-sequence and sentinel ids.
//! - [`batch`]: padded batches, the loss that ignores padding, greedy decoding.
//! - [`tasks`]: `translate dates:` (Chapter 7's dates) and `summarize:` (templated
//!   reports, some templates held out).
//! - [`rouge`]: ROUGE-L as Google's `rouge-score` computes it.
//! - [`experiment`]: pretraining, fine-tuning, evaluation, the report and the figure.

pub mod batch;
pub mod experiment;
pub mod rouge;
pub mod tasks;
pub mod vocab;
