//! Exercise "Save every k steps": a run that checkpoints only every k updates, crashes,
//! and resumes from its last checkpoint. The updates since that save are lost and done
//! again; because the data position was saved too, they are done again identically.

use std::path::Path;

use ch09_decoder_only::llama_model::Llama;

use crate::checkpoint::{ResumeError, load_trainer, save_trainer};
use crate::optim::AdamW;
use crate::trainer::Trainer;

// ANCHOR: save_every
/// Trains `trainer` to `total` updates on windows of `stream`, `b` a batch, saving into
/// `dir` after every `k`-th update; the process "dies" after update `crash` (everything
/// in memory is dropped) and the run resumes from `dir`. Returns the finished trainer
/// and how many updates were done twice.
pub fn train_with_crash(
    mut trainer: Trainer<Llama, AdamW>,
    (stream, b): (&[usize], usize),
    dir: &Path,
    (total, k, crash): (usize, usize, usize),
) -> Result<(Trainer<Llama, AdamW>, usize), ResumeError> {
    let cfg = trainer.model.cfg.clone();
    save_trainer(dir, &trainer, stream.len())?; // step 0: there is always a save
    while trainer.step < crash {
        trainer.train_step(stream, b);
        if trainer.step.is_multiple_of(k) {
            save_trainer(dir, &trainer, stream.len())?;
        }
    }
    drop(trainer); // the crash: only the files survive
    let mut trainer = load_trainer(dir, &cfg, stream.len())?;
    let redone = crash - trainer.step;
    while trainer.step < total {
        trainer.train_step(stream, b);
    }
    Ok((trainer, redone))
}
// ANCHOR_END: save_every
