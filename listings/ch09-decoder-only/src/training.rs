//! Training a decoder on the book (section "Training on the book"): one interface that
//! GPT-2 and Llama both answer, random windows of a token stream as batches, the
//! training loop (Chapter 7's Adam and clipping, Chapter 8's warmup) and the held-out
//! loss. Nothing here knows which of the two models it trains.

use ch01_foundations::module::{Mode, Module};
use ch01_foundations::softmax::log_softmax;
use ch06_decoder::lm_loss;
use ch07_transformer::optim::{Adam, clip_grad_norm};
use ch08_encoder_only::pretraining::warmup_linear_lr;
use ndarray::{Array2, Axis};
use rand::{Rng, RngExt};

use crate::gpt2::Gpt2;
use crate::llama_model::Llama;

// ANCHOR: language_model
/// What training, evaluation and sampling need from a decoder-only model.
pub trait LanguageModel: Module {
    /// The mean next-token cross-entropy of a batch: row b predicts ids[b, t + 1] from
    /// ids[b, ..=t]. Its gradients are added to every parameter's.
    // ids: [B, T] -> loss
    fn lm_step(&mut self, ids: &Array2<usize>) -> f32;

    /// The next-token logits at every position of one sequence.
    // ids: [T] -> logits: [T, vocab]
    fn logits(&mut self, ids: &[usize]) -> Array2<f32>;
}
// ANCHOR_END: language_model

impl LanguageModel for Gpt2 {
    fn lm_step(&mut self, ids: &Array2<usize>) -> f32 {
        Gpt2::lm_step(self, ids).expect("a batch of in-vocabulary ids that fits")
    }

    fn logits(&mut self, ids: &[usize]) -> Array2<f32> {
        let batch = Array2::from_shape_vec((1, ids.len()), ids.to_vec()).expect("[1, T]");
        let logits = self.forward(&batch).expect("in-vocabulary ids that fit");
        logits.index_axis_move(Axis(0), 0)
    }
}

// ANCHOR: llama_step
/// The trainable Llama reads one sequence at a time: a batch is a loop over its rows,
/// each row's gradient scaled by 1/B so that the sum is the gradient of the batch mean.
impl LanguageModel for Llama {
    fn lm_step(&mut self, ids: &Array2<usize>) -> f32 {
        let (b, t) = ids.dim();
        assert!(
            t >= 2,
            "lm_step: [B, T] = [{b}, {t}] leaves nothing to predict"
        );
        let mut total = 0.0;
        for row in ids.rows() {
            let seq = row.to_vec();
            let logits = self.forward(&seq).insert_axis(Axis(0)); // [1, T, vocab]
            let targets = Array2::from_shape_fn((1, t), |(_, j)| seq.get(j + 1).copied());
            let (loss, dlogits) = lm_loss(&logits, &targets);
            self.backward(&(dlogits.index_axis_move(Axis(0), 0) / b as f32));
            total += loss;
        }
        total / b as f32
    }

    fn logits(&mut self, ids: &[usize]) -> Array2<f32> {
        self.forward(ids)
    }
}
// ANCHOR_END: llama_step

// ANCHOR: batch
/// B windows of T tokens from random places in the training stream: an epoch has no
/// fixed order, and a window may start mid-sentence, as in GPT-2's training.
// stream: [N] -> ids: [B, T]
pub fn random_batch(
    stream: &[usize],
    b: usize,
    t: usize,
    rng: &mut impl Rng,
) -> Array2<usize> {
    assert!(
        stream.len() > t,
        "a stream of {} tokens has no window of {t}",
        stream.len()
    );
    let mut ids = Array2::zeros((b, t));
    for mut row in ids.rows_mut() {
        let start = rng.random_range(0..=stream.len() - t);
        row.iter_mut()
            .zip(&stream[start..start + t])
            .for_each(|(x, &id)| *x = id);
    }
    ids
}
// ANCHOR_END: batch

/// How one model is trained; both models get the same.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Schedule {
    pub batch: usize,
    pub context: usize,
    pub steps: usize,
    pub warmup: usize,
    pub peak_lr: f32,
    pub clip: f32,
}

/// What a training run records: the loss of every step.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainLog {
    pub losses: Vec<f32>,
    pub heldout: Vec<(usize, f32)>, // (step, held-out loss)
}

// ANCHOR: train
/// Trains `model` on random windows of `stream`: Adam (β = 0.9, 0.95, as GPT-3), a
/// linear warmup to `peak_lr` then linear decay to 0, clipping at `clip`. Every
/// `eval_every` steps (and at the end) it measures the held-out loss.
pub fn train<M: LanguageModel>(
    model: &mut M,
    stream: &[usize],
    heldout: &[usize],
    s: &Schedule,
    eval_every: usize,
    rng: &mut impl Rng,
    mut on_step: impl FnMut(usize, f32),
) -> TrainLog {
    let mut adam = Adam::new(0.9, 0.95, 1e-8);
    let mut log = TrainLog::default();
    model.set_mode(&mut Mode::Eval); // no dropout: the models are trained as they are used
    for step in 1..=s.steps {
        let ids = random_batch(stream, s.batch, s.context, rng);
        model.zero_grad();
        let loss = model.lm_step(&ids);
        clip_grad_norm(model, s.clip);
        adam.step(model, warmup_linear_lr(step, s.warmup, s.steps, s.peak_lr));
        log.losses.push(loss);
        on_step(step, loss);
        if step % eval_every == 0 || step == s.steps {
            log.heldout
                .push((step, heldout_loss(model, heldout, s.context)));
        }
    }
    log
}
// ANCHOR_END: train

// ANCHOR: heldout
/// -log p(ids[t + 1] | ids[..=t]) at every position of one sequence.
// ids: [T] -> [T - 1]
pub fn token_losses<M: LanguageModel>(model: &mut M, ids: &[usize]) -> Vec<f32> {
    let logp = log_softmax(&model.logits(ids), Axis(1)); // [T, vocab]
    (logp.rows().into_iter().zip(&ids[1..]))
        .map(|(row, &next)| -row[next])
        .collect()
}

/// The mean next-token loss over the held-out stream, cut into windows of `t` tokens
/// (the last, shorter one too): every token but a window's first is predicted once,
/// from the tokens before it in its window. Perplexity is its exponential.
// stream: [N] -> mean loss in nats
pub fn heldout_loss<M: LanguageModel>(model: &mut M, stream: &[usize], t: usize) -> f32 {
    let (mut sum, mut count) = (0.0f64, 0usize);
    for window in stream.chunks(t).filter(|w| w.len() >= 2) {
        let losses = token_losses(model, window);
        sum += losses.iter().map(|&l| f64::from(l)).sum::<f64>();
        count += losses.len();
    }
    (sum / count.max(1) as f64) as f32
}
// ANCHOR_END: heldout

// ANCHOR: by_position
/// The mean held-out loss at each position of a full window: entry p - 1 is the loss
/// of predicting a token from the p tokens before it. A model that uses its context
/// predicts better the more of it there is.
// stream: [N] -> [t - 1]
pub fn loss_by_position<M: LanguageModel>(
    model: &mut M,
    stream: &[usize],
    t: usize,
) -> Vec<f32> {
    let mut sums = vec![0.0f64; t - 1];
    let windows: Vec<&[usize]> = stream.chunks_exact(t).collect();
    for window in &windows {
        for (sum, l) in sums.iter_mut().zip(token_losses(model, window)) {
            *sum += f64::from(l);
        }
    }
    sums.iter()
        .map(|s| (s / windows.len() as f64) as f32)
        .collect()
}
// ANCHOR_END: by_position
