//! Gradient accumulation (section "Clipping and accumulation"): k micro-batches of padded
//! sequences give the gradient of one batch k times larger, if every predicted token is
//! weighted by 1 / (the real tokens of all k micro-batches), not by its own
//! micro-batch's count.

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ndarray::{Array2, Axis, concatenate, s};
use rand::{Rng, RngExt};

use crate::loss::{CrossEntropy, Reduction};

/// The target of a position that predicts nothing (after a sequence's last real token).
pub const IGNORE: usize = usize::MAX;

// ANCHOR: micro_batch
/// Padded sequences: row b holds `lengths[b]` real tokens, then padding (id 0, never a
/// target). A causal model's real positions never see the padding after them.
#[derive(Clone, Debug, PartialEq)]
pub struct MicroBatch {
    pub ids: Array2<usize>, // [b, T]
    pub lengths: Vec<usize>,
}

impl MicroBatch {
    /// Row b's next-token targets: ids[b, t + 1] while t + 1 < lengths[b], else IGNORE.
    // -> [T]
    pub fn targets(&self, b: usize) -> Vec<usize> {
        let t_max = self.ids.ncols();
        (0..t_max)
            .map(|t| match t + 1 < self.lengths[b] {
                true => self.ids[[b, t + 1]],
                false => IGNORE,
            })
            .collect()
    }

    /// The tokens that are predicted: Σ_b (lengths[b] - 1).
    pub fn real_tokens(&self) -> usize {
        self.lengths.iter().map(|&n| n.saturating_sub(1)).sum()
    }
}
// ANCHOR_END: micro_batch

// ANCHOR: backward_scaled
/// Adds `scale` × ∂(Σ of the micro-batch's token losses)/∂θ into the model's gradients;
/// returns that sum. The sum reduction lets the caller choose the divisor.
pub fn backward_scaled(model: &mut Llama, mb: &MicroBatch, scale: f32) -> f32 {
    let ce = CrossEntropy {
        ignore_index: Some(IGNORE),
        reduction: Reduction::Sum,
        ..CrossEntropy::default()
    };
    let mut total = 0.0;
    for (b, row) in mb.ids.rows().into_iter().enumerate() {
        let logits = model.forward(&row.to_vec()); // [T, vocab]
        let out = ce
            .forward_backward(&logits, &mb.targets(b))
            .expect("in-vocabulary targets");
        model.backward(&(out.dlogits * scale));
        total += out.loss;
    }
    total
}
// ANCHOR_END: backward_scaled

// ANCHOR: accumulate
/// Gradient accumulation done right: every token weighted 1 / N, N the real tokens of
/// all the micro-batches, known before the first backward pass (count, then run).
/// Returns the mean token loss of the whole batch.
pub fn accumulate(model: &mut Llama, micro: &[MicroBatch]) -> f32 {
    let n: usize = micro.iter().map(MicroBatch::real_tokens).sum();
    let scale = 1.0 / n.max(1) as f32;
    micro
        .iter()
        .map(|mb| backward_scaled(model, mb, scale))
        .sum::<f32>()
        * scale
}

/// The common mistake: each micro-batch's mean loss, averaged over the k micro-batches.
/// A token of micro-batch i weighs 1 / (k · n_i): tokens of short micro-batches count
/// more. Equal to `accumulate` only when every n_i is the same.
pub fn mean_of_means(model: &mut Llama, micro: &[MicroBatch]) -> f32 {
    let k = micro.len() as f32;
    micro
        .iter()
        .map(|mb| {
            let scale = 1.0 / (k * mb.real_tokens().max(1) as f32);
            backward_scaled(model, mb, scale) * scale
        })
        .sum()
}
// ANCHOR_END: accumulate

// ANCHOR: one_batch
/// The reference: all the micro-batches' rows as one batch, the logits of every row
/// stacked and reduced by one mean cross-entropy over all real tokens.
pub fn one_batch(model: &mut Llama, micro: &[MicroBatch]) -> f32 {
    let rows: Vec<(Vec<usize>, Vec<usize>)> = micro
        .iter()
        .flat_map(|mb| {
            (0..mb.ids.nrows()).map(|b| (mb.ids.row(b).to_vec(), mb.targets(b)))
        })
        .collect();
    let logits: Vec<Array2<f32>> =
        rows.iter().map(|(ids, _)| model.forward(ids)).collect();
    let views: Vec<_> = logits.iter().map(|l| l.view()).collect();
    let stacked = concatenate(Axis(0), &views).expect("rows of one vocabulary"); // [ΣT, V]
    let targets: Vec<usize> = rows.iter().flat_map(|(_, t)| t.clone()).collect();
    let ce = CrossEntropy {
        ignore_index: Some(IGNORE),
        ..CrossEntropy::default()
    };
    let out = ce
        .forward_backward(&stacked, &targets)
        .expect("in-vocabulary targets");
    let mut at = 0;
    for (ids, _) in &rows {
        // the model caches one forward pass: rerun the row before its backward
        model.forward(ids);
        model.backward(&out.dlogits.slice(s![at..at + ids.len(), ..]).to_owned());
        at += ids.len();
    }
    out.loss
}
// ANCHOR_END: one_batch

/// `k` micro-batches of `b` rows of `t` ids below `vocab`, each row 2..=t real tokens
/// long, drawn from `rng`.
pub fn random_micro_batches(
    k: usize,
    b: usize,
    t: usize,
    vocab: usize,
    rng: &mut impl Rng,
) -> Vec<MicroBatch> {
    (0..k)
        .map(|_| {
            let lengths: Vec<usize> = (0..b).map(|_| rng.random_range(2..=t)).collect();
            let ids = Array2::from_shape_fn((b, t), |(r, j)| match j < lengths[r] {
                true => rng.random_range(0..vocab),
                false => 0,
            });
            MicroBatch { ids, lengths }
        })
        .collect()
}

/// Every gradient of a model, flattened in visiting order.
pub fn flat_grads(model: &dyn Module) -> Vec<f32> {
    let mut g = Vec::new();
    model.visit_params(&mut |_, p| g.extend(p.grad.iter()));
    g
}

fn rel_l2(a: &[f32], b: &[f32]) -> f32 {
    let d: f64 = a.iter().zip(b).map(|(x, y)| f64::from(x - y).powi(2)).sum();
    let n: f64 = b.iter().map(|y| f64::from(*y).powi(2)).sum();
    (d.sqrt() / n.sqrt()) as f32
}

/// The numbers section "Clipping and accumulation" quotes (the `accumulation` example
/// writes them to `src/figures/ch11/accumulation.txt`): `k` micro-batches of `b` padded
/// rows of `t` tokens through a seeded tiny Llama, the gradient three ways.
pub fn report(k: usize, b: usize, t: usize, seed: u64) -> String {
    let cfg = LlamaTrainConfig::tiny();
    let micro = random_micro_batches(k, b, t, cfg.vocab_size, &mut seeded_rng(seed));
    let run = |f: fn(&mut Llama, &[MicroBatch]) -> f32| {
        let mut model = Llama::new(cfg.clone(), &mut seeded_rng(seed + 1))
            .expect("the tiny config is valid");
        model.zero_grad();
        let loss = f(&mut model, &micro);
        (loss, flat_grads(&model))
    };
    let (one, acc, naive) = (run(one_batch), run(accumulate), run(mean_of_means));
    let counts: Vec<usize> = micro.iter().map(MicroBatch::real_tokens).collect();
    let n: usize = counts.iter().sum();
    let (lo, hi) = (
        counts.iter().min().unwrap_or(&1),
        counts.iter().max().unwrap_or(&1),
    );
    format!(
        "tiny Llama (vocabulary 40, C = 16, 2 layers), seed {seed}; {k} micro-batches of {b} rows x {t} tokens, real lengths drawn from 2..={t}\n\
         predicted tokens per micro-batch: {counts:?}, N = {n}\n\
         one batch of {} rows: loss {:.6}\n\
         accumulated, sum / N: loss {:.6}, gradient relative L2 difference from one batch {:.1e}\n\
         mean of means: loss {:.6}, gradient relative L2 difference from one batch {:.3}\n\
         token weight: 1/N = {:.5}; mean of means 1/(k n_i) from {:.5} (n_i = {hi}) to {:.5} (n_i = {lo})\n",
        k * b,
        one.0,
        acc.0,
        rel_l2(&acc.1, &one.1),
        naive.0,
        rel_l2(&naive.1, &one.1),
        1.0 / n as f32,
        1.0 / (k * hi) as f32,
        1.0 / (k * lo) as f32,
    )
}
