//! Training and evaluation (section "Training"): one step of the recipe, the loop that
//! repeats it on the date task, and exact-match accuracy of greedy and beam decoding on
//! held-out sentences.

use std::time::Instant;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::linalg::{rows, unrows};
use ch01_foundations::module::Module;
use ch05_encoder::block::Wiring;
use ndarray::{Array2, Axis};

use crate::data::{BOS, Batch, DataError, EOS, Example, PAD, Task, pad_rows};
use crate::decode::{beam_search, greedy};
use crate::loss::label_smoothed_cross_entropy;
use crate::model::{Config, Transformer};
use crate::optim::{Adam, clip_grad_norm, noam_lr};

// ANCHOR: train_config
/// Everything that decides a run. Same values, same seed ⇒ the same losses, bit for
/// bit, on any number of threads.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    pub seed: u64,
    pub steps: usize,
    pub max_tokens: usize, // padded source + target tokens per batch
    pub warmup: usize,     // Noam warmup steps
    pub lr_scale: f32,     // Noam's scale factor
    pub clip: f32,         // max global gradient norm
    pub smoothing: f32,    // label smoothing ε
    pub n_heldout: usize,  // held-out examples, never trained on
}
// ANCHOR_END: train_config

impl TrainConfig {
    /// The run of the `translate` example.
    pub fn full() -> Self {
        TrainConfig {
            seed: 7,
            steps: 1000,
            max_tokens: 1600,
            warmup: 400,
            lr_scale: 1.0,
            clip: 1.0,
            smoothing: 0.1,
            n_heldout: 1000,
        }
    }
}

/// The model of the `translate` example, sized for the task's vocabularies.
pub fn model_config(task: &Task, d_model: usize, n_layers: usize) -> Config {
    Config {
        src_vocab: task.src_vocab.len(),
        tgt_vocab: task.tgt_vocab.len(),
        max_len: 16,
        d_model,
        n_heads: 4,
        d_ff: 4 * d_model,
        n_enc: n_layers,
        n_dec: n_layers,
        wiring: Wiring::PostLn,
        tie_output: true,
        pad: PAD,
    }
}

/// What one step measured.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct StepStats {
    pub loss: f32,
    pub grad_norm: f32, // before clipping
    pub lr: f32,
    pub tokens: usize, // target tokens the loss counted
}

// ANCHOR: train_step
/// One step of the recipe: teacher-forced forward, label-smoothed loss over the real
/// target tokens, backward, clip, Adam at the scheduled learning rate.
pub fn train_step(
    model: &mut Transformer,
    adam: &mut Adam,
    batch: &Batch,
    cfg: &TrainConfig,
) -> StepStats {
    let lr = noam_lr(
        adam.t as usize + 1,
        model.cfg.d_model,
        cfg.warmup,
        cfg.lr_scale,
    );
    model.zero_grad();
    let logits = model.forward(&batch.src, &batch.tgt_in); // [B, T, V]
    let (b, t, v) = logits.dim();
    let targets: Vec<usize> = batch.tgt_out.iter().copied().collect();
    let (loss, dlogits) =
        label_smoothed_cross_entropy(&rows(&logits), &targets, PAD, cfg.smoothing);
    model.backward(&unrows(dlogits, b, t, v));
    let grad_norm = clip_grad_norm(model, cfg.clip);
    adam.step(model, lr);
    StepStats {
        loss,
        grad_norm,
        lr,
        tokens: batch.n_tokens(),
    }
}
// ANCHOR_END: train_step

/// A finished run: the losses of every step and the examples it never saw.
pub struct TrainLog {
    pub losses: Vec<f32>,
    pub tokens: usize,
    pub heldout: Vec<Example>,
}

// ANCHOR: train
/// Builds the model from `seed` and trains it for `cfg.steps` steps on batches drawn from
/// the training stream; `on_step` sees every step (the example draws a progress bar).
pub fn train(
    task: &Task,
    model_cfg: Config,
    cfg: &TrainConfig,
    mut on_step: impl FnMut(usize, &StepStats),
) -> (Transformer, TrainLog) {
    let mut model = Transformer::new(model_cfg, &mut seeded_rng(cfg.seed));
    let mut data_rng = seeded_rng(cfg.seed.wrapping_add(1)); // data apart from weights
    let (heldout, stream) = task.split(cfg.n_heldout, &mut data_rng);
    let mut adam = Adam::vaswani();
    let (mut losses, mut tokens) = (Vec::with_capacity(cfg.steps), 0);
    for step in 1..=cfg.steps {
        let batch = Batch::new(&stream.batch(cfg.max_tokens, &mut data_rng));
        let stats = train_step(&mut model, &mut adam, &batch, cfg);
        losses.push(stats.loss);
        tokens += stats.tokens;
        on_step(step, &stats);
    }
    let log = TrainLog {
        losses,
        tokens,
        heldout,
    };
    (model, log)
}
// ANCHOR_END: train

// ANCHOR: floor
/// The lowest label-smoothed loss possible: the entropy of the smoothed target
/// q = (1 - ε)·onehot + ε/V, reached when the model predicts q exactly.
pub fn smoothed_loss_floor(eps: f32, vocab: usize) -> f32 {
    let (eps, v) = (f64::from(eps), vocab as f64);
    let hit = 1.0 - eps + eps / v; // q of the correct token
    let miss = eps / v; // q of each of the V - 1 others
    let h = |q: f64| if q > 0.0 { -q * q.ln() } else { 0.0 }; // 0 · log 0 = 0
    (h(hit) + (v - 1.0) * h(miss)) as f32
}
// ANCHOR_END: floor

// ANCHOR: evaluate
/// Greedy and beam predictions of every example (without BOS and EOS), and the
/// fraction each got exactly right: one wrong digit makes a wrong date.
pub struct Evaluation {
    pub greedy: Vec<Vec<usize>>,
    pub beam: Vec<Vec<usize>>,
    pub greedy_accuracy: f32,
    pub beam_accuracy: f32,
    pub greedy_seconds: f64, // wall time: reported, never asserted
    pub beam_seconds: f64,
}

pub fn evaluate(
    model: &mut Transformer,
    examples: &[Example],
    beam: usize,
    alpha: f32,
) -> Evaluation {
    let max_len = Task::TGT_LEN + 1;
    let start = Instant::now();
    let mut greedy_out = Vec::with_capacity(examples.len());
    for chunk in examples.chunks(256) {
        let srcs: Vec<&[usize]> = chunk.iter().map(|e| e.src.as_slice()).collect();
        let src: Array2<usize> = pad_rows(&srcs);
        greedy_out.extend(greedy(model, &src, BOS, EOS, max_len));
    }
    let greedy_seconds = start.elapsed().as_secs_f64();
    let start = Instant::now();
    let beam_out: Vec<Vec<usize>> = examples
        .iter()
        .map(|e| beam_search(model, &e.src, BOS, EOS, max_len, beam, alpha))
        .collect();
    let beam_seconds = start.elapsed().as_secs_f64();
    let accuracy = |out: &[Vec<usize>]| {
        let right = out
            .iter()
            .zip(examples)
            .filter(|(p, e)| **p == e.tgt)
            .count();
        right as f32 / examples.len().max(1) as f32
    };
    Evaluation {
        greedy_accuracy: accuracy(&greedy_out),
        beam_accuracy: accuracy(&beam_out),
        greedy: greedy_out,
        beam: beam_out,
        greedy_seconds,
        beam_seconds,
    }
}
// ANCHOR_END: evaluate

// ANCHOR: translate
/// Translates one sentence typed by a user: unknown words are an error naming the word.
/// `beam` = 1 is greedy decoding.
pub fn translate(
    model: &mut Transformer,
    task: &Task,
    text: &str,
    beam: usize,
) -> Result<String, DataError> {
    let src = task.src_vocab.encode(text, model.cfg.max_len)?;
    let max_len = model.cfg.max_len;
    let out = if beam <= 1 {
        let src = Array2::from_shape_vec((1, src.len()), src).expect("one row");
        greedy(model, &src, BOS, EOS, max_len).remove(0)
    } else {
        beam_search(model, &src, BOS, EOS, max_len, beam, 0.6)
    };
    Ok(task.tgt_vocab.decode(&out, ""))
}
// ANCHOR_END: translate

// ANCHOR: alignment
/// Where the decoder looked: the last decoder layer's cross-attention weights while it
/// reads BOS and `out`, averaged over heads. Row t is the step that produced out[t] (the
/// last row produced EOS), column s is source word s.
// src: [S], out: [T] -> [T + 1, S]
pub fn cross_attention_map(
    model: &mut Transformer,
    src: &[usize],
    out: &[usize],
) -> Array2<f32> {
    let src = Array2::from_shape_vec((1, src.len()), src.to_vec()).expect("one row");
    let tgt_in: Vec<usize> = std::iter::once(BOS).chain(out.iter().copied()).collect();
    let tgt_in = Array2::from_shape_vec((1, tgt_in.len()), tgt_in).expect("one row");
    model.forward(&src, &tgt_in);
    let last = model
        .decoder
        .layers
        .last()
        .expect("at least one decoder layer");
    let p = last
        .cross_attn
        .weights()
        .expect("cached by the forward pass"); // [1, h, T, S]
    p.index_axis(Axis(0), 0)
        .mean_axis(Axis(0))
        .expect("at least one head")
}
// ANCHOR_END: alignment
