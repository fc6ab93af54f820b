//! Dropout where it matters (section "Dropout against overfitting"): the date task with
//! a small, fixed training set seen for many epochs, trained with and without dropout,
//! and measured on held-out sentences as training goes.

use std::collections::HashSet;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::linalg::rows;
use ch01_foundations::module::{Mode, Module};
use ch01_foundations::report::round;
use ch05_encoder::block::DropoutConfig;
use rand::seq::SliceRandom;

use crate::data::{BOS, Batch, EOS, Example, PAD, Task, pad_rows};
use crate::decode::greedy;
use crate::loss::label_smoothed_cross_entropy;
use crate::model::Transformer;
use crate::optim::Adam;
use crate::train::{TrainConfig, model_config, train_step};

// ANCHOR: overfit_config
/// An overfitting setup: `n_train` sentences, fixed, shown `epochs` times in shuffled
/// batches of `batch`; the rest of the recipe is the `translate` example's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OverfitConfig {
    pub seed: u64,
    pub n_train: usize,
    pub n_heldout: usize,
    pub epochs: usize,
    pub batch: usize,      // sentences per step
    pub eval_every: usize, // epochs between measurements
    pub d_model: usize,
    pub n_layers: usize, // encoder layers, and as many decoder layers
    pub smoothing: f32,  // label smoothing ε, itself a regulariser
}
// ANCHOR_END: overfit_config

impl OverfitConfig {
    /// The run of the `dropout_overfit` example: 80 sentences, 300 epochs.
    pub fn full() -> Self {
        OverfitConfig {
            seed: 11,
            n_train: 80,
            n_heldout: 500,
            epochs: 300,
            batch: 20,
            eval_every: 25,
            d_model: 64,
            n_layers: 2,
            smoothing: 0.0,
        }
    }

    /// The test's run, seconds long: 60 sentences, a quarter of the width, one layer.
    pub fn small() -> Self {
        OverfitConfig {
            n_train: 60,
            n_heldout: 200,
            epochs: 200,
            eval_every: 50,
            d_model: 32,
            n_layers: 1,
            ..OverfitConfig::full()
        }
    }

    /// The training recipe of the `translate` example, with a warmup scaled to the run.
    pub fn recipe(&self) -> TrainConfig {
        let steps = self.epochs * self.n_train.div_ceil(self.batch);
        TrainConfig {
            seed: self.seed,
            steps,
            max_tokens: 0, // unused: batches are counted in sentences here
            warmup: (steps / 10).max(1),
            lr_scale: 1.0,
            clip: 1.0,
            smoothing: self.smoothing,
            n_heldout: self.n_heldout,
        }
    }
}

/// One measurement: the step, and the model in evaluation mode on both sets.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Point {
    pub step: usize,
    pub train_loss: f32, // cross-entropy (no smoothing) on the training set
    pub heldout_loss: f32, // the same on the held-out sentences
    pub train_exact: f32, // greedy exact match on the training set
    pub heldout_exact: f32,
}

// ANCHOR: overfit_run
/// Trains one model with residual and embedding dropout `p` (the 2017 placement) on the
/// fixed training set and measures it every `eval_every` epochs. Dropout draws from its
/// own generator, so p changes the masks and nothing else: same weights at step 0, same
/// sentences, same batches.
pub fn overfit_run(task: &Task, cfg: &OverfitConfig, p: f32) -> Vec<Point> {
    let recipe = cfg.recipe();
    let model_cfg = model_config(task, cfg.d_model, cfg.n_layers);
    let mut model = Transformer::new(model_cfg, &mut seeded_rng(cfg.seed));
    model.set_dropout(DropoutConfig::vaswani(p));
    let mut data_rng = seeded_rng(cfg.seed.wrapping_add(1));
    let mut drop_rng = seeded_rng(cfg.seed.wrapping_add(2));
    let (heldout, train) = fixed_split(task, cfg, &mut data_rng);
    let mut adam = Adam::vaswani();
    let mut points = vec![measure(&mut model, 0, &train, &heldout)];
    for epoch in 1..=cfg.epochs {
        let mut order = train.clone();
        order.shuffle(&mut data_rng);
        for chunk in order.chunks(cfg.batch) {
            model.set_mode(&mut Mode::Train(&mut drop_rng));
            train_step(&mut model, &mut adam, &Batch::new(chunk), &recipe);
        }
        if epoch % cfg.eval_every == 0 {
            let step = adam.t as usize;
            points.push(measure(&mut model, step, &train, &heldout));
        }
    }
    points
}
// ANCHOR_END: overfit_run

/// `n_heldout` held-out sentences and `n_train` distinct training sentences, none of
/// them held out.
fn fixed_split(
    task: &Task,
    cfg: &OverfitConfig,
    rng: &mut rand_chacha::ChaCha8Rng,
) -> (Vec<Example>, Vec<Example>) {
    let (heldout, stream) = task.split(cfg.n_heldout, rng);
    let mut seen = HashSet::new();
    let mut train = Vec::with_capacity(cfg.n_train);
    while train.len() < cfg.n_train {
        let ex = stream.next(rng);
        if seen.insert((ex.date, ex.style)) {
            train.push(ex);
        }
    }
    (heldout, train)
}

// ANCHOR: measure
/// Both sets in evaluation mode (dropout off): teacher-forced cross-entropy without
/// smoothing, and greedy exact match.
fn measure(
    model: &mut Transformer,
    step: usize,
    train: &[Example],
    heldout: &[Example],
) -> Point {
    model.set_mode(&mut Mode::Eval);
    let (train_loss, train_exact) = loss_and_exact(model, train);
    let (heldout_loss, heldout_exact) = loss_and_exact(model, heldout);
    Point {
        step,
        train_loss,
        heldout_loss,
        train_exact,
        heldout_exact,
    }
}

fn loss_and_exact(model: &mut Transformer, examples: &[Example]) -> (f32, f32) {
    let batch = Batch::new(examples);
    let logits = model.forward(&batch.src, &batch.tgt_in); // [B, T, V]
    let targets: Vec<usize> = batch.tgt_out.iter().copied().collect();
    let (loss, _) = label_smoothed_cross_entropy(&rows(&logits), &targets, PAD, 0.0);
    let srcs: Vec<&[usize]> = examples.iter().map(|e| e.src.as_slice()).collect();
    let out = greedy(model, &pad_rows(&srcs), BOS, EOS, Task::TGT_LEN + 1);
    let right = out
        .iter()
        .zip(examples)
        .filter(|(o, e)| **o == e.tgt)
        .count();
    (loss, right as f32 / examples.len().max(1) as f32)
}
// ANCHOR_END: measure

/// The table the text quotes: at every measurement, each p's training loss, held-out
/// loss and held-out exact match.
pub fn overfit_report(cfg: &OverfitConfig, runs: &[(f32, Vec<Point>)]) -> String {
    let recipe = cfg.recipe();
    let mut s = format!(
        "{} training sentences, fixed, {} epochs in batches of {} ({} steps), seed {}; \
         {} held-out sentences\nd_model {}, {} + {} layers, Post-LN, label smoothing {}; \
         dropout on every sub-layer output and on the embeddings\n\n",
        cfg.n_train,
        cfg.epochs,
        cfg.batch,
        recipe.steps,
        cfg.seed,
        cfg.n_heldout,
        cfg.d_model,
        cfg.n_layers,
        cfg.n_layers,
        cfg.smoothing
    );
    s += "      ";
    for (p, _) in runs {
        s += &format!("  {:<22}", format!("P_drop = {p}"));
    }
    s = s.trim_end().to_owned() + "\n  step";
    for _ in runs {
        s += "   train held-out  exact";
    }
    s += "\n";
    for i in 0..runs[0].1.len() {
        s += &format!("{:>6}", runs[0].1[i].step);
        for (_, points) in runs {
            let q = &points[i];
            s += &format!(
                "  {:>6} {:>8} {:>5}%",
                round(q.train_loss, 2),
                round(q.heldout_loss, 2),
                round(100.0 * q.heldout_exact, 1)
            );
        }
        s += "\n";
    }
    s
}

/// One line per seed: the last measurement's held-out loss and exact match for each p.
pub fn seeds_report(seeds: &[(u64, Vec<(f32, Point)>)]) -> String {
    let mut s = String::from("held-out loss and exact match at the end, by seed:\n");
    for (seed, finals) in seeds {
        s += &format!("  seed {seed:>2}:");
        for (p, q) in finals {
            let (loss, exact) =
                (round(q.heldout_loss, 2), round(100.0 * q.heldout_exact, 1));
            s += &format!("   P_drop {p}: {loss} / {exact:>4}%");
        }
        s += "\n";
    }
    s
}
