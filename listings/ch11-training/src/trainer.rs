//! One training loop for the whole chapter (section "Putting it together" builds on it):
//! batches drawn in a reproducible order with a position a checkpoint can record, and a
//! step that composes an optimizer, a schedule and clipping around any Chapter 9 model.

use ch01_foundations::module::grad_norm;
use ch07_transformer::optim::clip_grad_norm;
use ch09_decoder_only::training::LanguageModel;
use ndarray::Array2;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use crate::optim::Optimizer;
use crate::schedule::Schedule;

// ANCHOR: batches
/// Non-overlapping windows of `t` tokens, visited in a fresh random order each epoch.
/// The order of epoch e depends only on (seed, e), so (epoch, cursor) is the whole data
/// position: a resumed run rebuilds the order and carries on from the same window.
#[derive(Clone, Debug, PartialEq)]
pub struct Batches {
    pub seed: u64,
    pub t: usize,
    pub epoch: u64,
    pub cursor: usize, // windows of this epoch already served
    order: Vec<usize>, // window start offsets, shuffled
}

impl Batches {
    pub fn new(stream_len: usize, t: usize, seed: u64) -> Self {
        Batches::at(stream_len, t, seed, 0, 0)
    }

    /// The data position (epoch, cursor) of a run, rebuilt.
    pub fn at(stream_len: usize, t: usize, seed: u64, epoch: u64, cursor: usize) -> Self {
        assert!(
            stream_len >= t && t > 0,
            "a stream of {stream_len} tokens has no window of {t}"
        );
        let mut order: Vec<usize> = (0..stream_len / t).map(|i| i * t).collect();
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(
            seed ^ epoch.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        ));
        Batches {
            seed,
            t,
            epoch,
            cursor,
            order,
        }
    }

    /// The next `b` windows as a [b, t] batch, starting a new epoch when one runs out.
    // stream: [N] -> ids: [b, t]
    pub fn next(&mut self, stream: &[usize], b: usize) -> Array2<usize> {
        let mut ids = Array2::zeros((b, self.t));
        for mut row in ids.rows_mut() {
            if self.cursor == self.order.len() {
                *self = Batches::at(stream.len(), self.t, self.seed, self.epoch + 1, 0);
            }
            let start = self.order[self.cursor];
            self.cursor += 1;
            row.iter_mut()
                .zip(&stream[start..start + self.t])
                .for_each(|(x, &id)| *x = id);
        }
        ids
    }
}
// ANCHOR_END: batches

// ANCHOR: trainer
/// Everything a training run's future depends on: a checkpoint of these fields resumes
/// it exactly.
pub struct Trainer<M, O> {
    pub model: M,
    pub opt: O,
    pub schedule: Schedule,
    pub peak_lr: f32,
    pub clip: Option<f32>, // clip the global gradient norm at this value
    pub step: usize,       // updates taken
    pub batches: Batches,
}

/// What one step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepLog {
    pub loss: f32,
    pub grad_norm: f32, // before clipping
    pub lr: f32,
}
// ANCHOR_END: trainer

// ANCHOR: step
impl<M: LanguageModel, O: Optimizer> Trainer<M, O> {
    /// One update on the next batch of `b` windows: forward and backward, clip, then the
    /// optimizer at the schedule's learning rate for this step.
    pub fn train_step(&mut self, stream: &[usize], b: usize) -> StepLog {
        let ids = self.batches.next(stream, b);
        self.model.zero_grad();
        let loss = self.model.lm_step(&ids);
        let grad_norm = match self.clip {
            Some(max) => clip_grad_norm(&mut self.model, max),
            None => grad_norm(&self.model),
        };
        let lr = self.peak_lr * self.schedule.factor(self.step);
        self.opt.step(&mut self.model, lr);
        self.step += 1;
        StepLog {
            loss,
            grad_norm,
            lr,
        }
    }
}
// ANCHOR_END: step
