//! Pretraining BERT (section "Pretraining on the book"): the MLM + NSP loss, the MLM
//! head run only at the masked positions, batches of masked pairs, and one training
//! step with Chapter 7's Adam and clipping.

use ch01_foundations::linalg::{rows, unrows};
use ch01_foundations::module::Module;
use ch01_foundations::probability::argmax;
use ch05_encoder::block::padding_mask;
use ch07_transformer::loss::label_smoothed_cross_entropy;
use ch07_transformer::optim::{Adam, clip_grad_norm};
use std::collections::BTreeSet;

use ch02_input::wordpiece::SpecialIds;
use ndarray::{Array2, Axis};
use rand::{Rng, RngExt};

use crate::heads::BertForPreTraining;
use crate::pretrain_data::{Masked, NspLabel, PairExample, is_special, pack_pair};

/// The two parts of the pretraining loss, each a mean over its own predictions.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossParts {
    pub mlm: f32, // over the labelled positions
    pub nsp: f32, // over the pairs
}

impl LossParts {
    pub fn total(&self) -> f32 {
        self.mlm + self.nsp
    }
}

/// The label Chapter 7's loss skips: no id is this large.
const IGNORE: usize = usize::MAX;

// ANCHOR: loss
/// L = mean over labelled positions of −log p(original token) plus mean over pairs
/// of −log p(NSP label): Chapter 7's cross-entropy with ε = 0, an unlabelled row
/// (`None`) skipped as padding was there.
// mlm: [N, V], targets: [N], nsp: [B, 2], labels: [B] -> (parts, dmlm, dnsp)
pub fn pretraining_loss(
    mlm: &Array2<f32>,
    targets: &[Option<u32>],
    nsp: &Array2<f32>,
    labels: &[usize],
) -> (LossParts, Array2<f32>, Array2<f32>) {
    let targets: Vec<usize> = (targets.iter())
        .map(|y| y.map_or(IGNORE, |y| y as usize))
        .collect();
    let (mlm_loss, dmlm) = label_smoothed_cross_entropy(mlm, &targets, IGNORE, 0.0);
    let (nsp_loss, dnsp) = label_smoothed_cross_entropy(nsp, labels, IGNORE, 0.0);
    let parts = LossParts {
        mlm: mlm_loss,
        nsp: nsp_loss,
    };
    (parts, dmlm, dnsp) // the gradient of the sum is the two gradients
}
// ANCHOR_END: loss

// ANCHOR: forward_masked
impl BertForPreTraining {
    /// The MLM head at the masked positions only, as Devlin et al.'s code does
    /// (`gather_indexes`): the loss ignores every other row, and the head's
    /// [N, C] × [C, V] product is the largest matmul of the model.
    // ids, segments, key_padding: [B, T], positions: [N] flat (b·T + t)
    //   -> mlm: [N, V], nsp: [B, 2]
    pub fn forward_masked(
        &mut self,
        ids: &Array2<usize>,
        segments: &Array2<usize>,
        key_padding: Option<&Array2<bool>>,
        positions: &[usize],
    ) -> (Array2<f32>, Array2<f32>) {
        let h = self.bert.forward(ids, segments, key_padding); // [B, T, C]
        let picked = rows(&h).select(Axis(0), positions); // [N, C]
        let mlm = self.mlm.forward(&picked, &mut self.bert.embeddings.token);
        let nsp = self.nsp.forward(&self.bert.pooler.forward(&h));
        (mlm, nsp)
    }

    /// Each picked row's gradient goes back to the position it was picked from.
    // dmlm: [N, V], dnsp: [B, 2], positions: [N], (B, T) -> nothing
    pub fn backward_masked(
        &mut self,
        dmlm: &Array2<f32>,
        dnsp: &Array2<f32>,
        positions: &[usize],
        (b, t): (usize, usize),
    ) {
        let dpicked = self.mlm.backward(dmlm, &mut self.bert.embeddings.token);
        let c = dpicked.ncols();
        let mut dh = Array2::zeros((b * t, c));
        for (row, &p) in dpicked.outer_iter().zip(positions) {
            dh.row_mut(p).scaled_add(1.0, &row);
        }
        let dpooled = self.nsp.backward(dnsp); // [B, C]
        let dh = unrows(dh, b, t, c) + self.bert.pooler.backward(&dpooled, t);
        self.bert.backward(&dh);
    }
}
// ANCHOR_END: forward_masked

// ANCHOR: batch
/// Masked pairs padded to the longest, with the masked positions gathered.
pub struct PretrainBatch {
    pub ids: Array2<usize>,      // [B, T]
    pub segments: Array2<usize>, // [B, T]
    pub padding: Array2<bool>,   // [B, T]: true at [PAD]
    pub positions: Vec<usize>,   // [N]: b·T + t of every labelled position
    pub targets: Vec<u32>,       // [N]: the original ids there
    pub nsp: Vec<usize>,         // [B]: 0 IsNext, 1 NotNext
}

impl PretrainBatch {
    pub fn new(items: &[(PairExample, Masked)], pad: u32) -> Self {
        let t = items.iter().map(|(p, _)| p.ids.len()).max().unwrap_or(0);
        let lens: Vec<usize> = items.iter().map(|(p, _)| p.ids.len()).collect();
        let mut ids = Array2::from_elem((items.len(), t), pad as usize);
        let mut segments = Array2::zeros((items.len(), t));
        let (mut positions, mut targets) = (Vec::new(), Vec::new());
        for (b, (pair, masked)) in items.iter().enumerate() {
            for (j, (&id, &label)) in masked.ids.iter().zip(&masked.labels).enumerate() {
                ids[[b, j]] = id as usize;
                segments[[b, j]] = pair.segments[j] as usize;
                if let Some(y) = label {
                    positions.push(b * t + j);
                    targets.push(y);
                }
            }
        }
        PretrainBatch {
            ids,
            segments,
            padding: padding_mask(&lens, t),
            positions,
            targets,
            nsp: items.iter().map(|(p, _)| p.label.class()).collect(),
        }
    }
}
// ANCHOR_END: batch

impl PretrainBatch {
    pub fn dim(&self) -> (usize, usize) {
        self.ids.dim()
    }

    fn targets(&self) -> Vec<Option<u32>> {
        self.targets.iter().map(|&y| Some(y)).collect()
    }
}

// ANCHOR: step
/// One optimizer step on one batch; returns the loss before the update.
pub fn train_step(
    model: &mut BertForPreTraining,
    adam: &mut Adam,
    batch: &PretrainBatch,
    lr: f32,
    clip: f32,
) -> LossParts {
    let (mlm, nsp) = model.forward_masked(
        &batch.ids,
        &batch.segments,
        Some(&batch.padding),
        &batch.positions,
    );
    let (parts, dmlm, dnsp) = pretraining_loss(&mlm, &batch.targets(), &nsp, &batch.nsp);
    model.zero_grad();
    model.backward_masked(&dmlm, &dnsp, &batch.positions, batch.dim());
    clip_grad_norm(model, clip);
    adam.step(model, lr);
    parts
}
// ANCHOR_END: step

// ANCHOR: lr
/// BERT's schedule: linear warmup to `peak` over `warmup` steps, then linear decay to
/// 0 at step `total`. Steps count from 1.
pub fn warmup_linear_lr(step: usize, warmup: usize, total: usize, peak: f32) -> f32 {
    if step <= warmup {
        peak * step as f32 / warmup.max(1) as f32
    } else {
        peak * (total.saturating_sub(step)) as f32 / (total - warmup).max(1) as f32
    }
}
// ANCHOR_END: lr

/// What one evaluation pass counts.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct EvalCounts {
    pub mlm_loss_sum: f64, // summed over labelled positions
    pub nsp_loss_sum: f64, // summed over pairs
    pub masked: usize,
    pub mlm_correct: usize,
    pub unigram_correct: usize, // labels equal to the baseline's one guess
    pub pairs: usize,
    pub nsp_correct: usize,
}

impl EvalCounts {
    pub fn mlm_accuracy(&self) -> f64 {
        self.mlm_correct as f64 / self.masked.max(1) as f64
    }
    pub fn unigram_accuracy(&self) -> f64 {
        self.unigram_correct as f64 / self.masked.max(1) as f64
    }
    pub fn nsp_accuracy(&self) -> f64 {
        self.nsp_correct as f64 / self.pairs.max(1) as f64
    }
    pub fn losses(&self) -> LossParts {
        LossParts {
            mlm: (self.mlm_loss_sum / self.masked.max(1) as f64) as f32,
            nsp: (self.nsp_loss_sum / self.pairs.max(1) as f64) as f32,
        }
    }
}

/// Adds one batch's predictions (no gradient) to `counts`; `unigram` is the id the
/// frequency baseline always predicts.
pub fn evaluate_batch(
    model: &mut BertForPreTraining,
    batch: &PretrainBatch,
    unigram: u32,
    counts: &mut EvalCounts,
) {
    let (mlm, nsp) = model.forward_masked(
        &batch.ids,
        &batch.segments,
        Some(&batch.padding),
        &batch.positions,
    );
    let (parts, _, _) = pretraining_loss(&mlm, &batch.targets(), &nsp, &batch.nsp);
    counts.mlm_loss_sum += f64::from(parts.mlm) * batch.targets.len() as f64;
    counts.nsp_loss_sum += f64::from(parts.nsp) * batch.nsp.len() as f64;
    counts.masked += batch.targets.len();
    counts.pairs += batch.nsp.len();
    for (row, &y) in mlm.outer_iter().zip(&batch.targets) {
        counts.mlm_correct += usize::from(argmax(row.iter().copied()) == y as usize);
        counts.unigram_correct += usize::from(y == unigram);
    }
    for (row, &y) in nsp.outer_iter().zip(&batch.nsp) {
        counts.nsp_correct += usize::from(argmax(row.iter().copied()) == y);
    }
}

// ANCHOR: same_page_pairs
/// NSP pairs without a topic shift: as `nsp_pairs`, but a NotNext B is a random
/// sentence of A's own page (neither A nor its successor). Pages of fewer than 3
/// sentences have no such B and give no pairs.
// docs: pages of sentences of token ids -> pairs
pub fn same_page_pairs(
    docs: &[Vec<Vec<u32>>],
    max_len: usize,
    sp: &SpecialIds,
    rng: &mut impl Rng,
) -> Vec<PairExample> {
    let mut pairs = Vec::new();
    for doc in docs.iter().filter(|d| d.len() >= 3) {
        for (i, a) in doc.iter().enumerate().take(doc.len() - 1) {
            if rng.random::<f64>() < 0.5 {
                pairs.push(pack_pair(a, &doc[i + 1], NspLabel::IsNext, max_len, sp));
            } else {
                let mut j = rng.random_range(0..doc.len() - 2); // skip i and i + 1
                j += usize::from(j >= i) * 2;
                pairs.push(pack_pair(a, &doc[j], NspLabel::NotNext, max_len, sp));
            }
        }
    }
    pairs
}
// ANCHOR_END: same_page_pairs

// ANCHOR: overlap
/// A guess at NSP that learns nothing but a threshold: the Jaccard overlap of the
/// sets of ordinary token ids in A and B. Sentences on one topic share words.
pub fn word_overlap(pair: &PairExample, sp: &SpecialIds) -> f64 {
    let split = pair
        .segments
        .iter()
        .position(|&s| s == 1)
        .unwrap_or(pair.ids.len());
    let set = |ids: &[u32]| -> BTreeSet<u32> {
        ids.iter()
            .copied()
            .filter(|&id| !is_special(id, sp))
            .collect()
    };
    let (a, b) = (set(&pair.ids[..split]), set(&pair.ids[split..]));
    let union = a.union(&b).count();
    a.intersection(&b).count() as f64 / union.max(1) as f64
}
// ANCHOR_END: overlap

/// The threshold θ that maximises the accuracy of "IsNext iff overlap ≥ θ" on `pairs`
/// (fit on training pairs), and that accuracy.
pub fn fit_overlap_threshold(pairs: &[PairExample], sp: &SpecialIds) -> (f64, f64) {
    let mut scored: Vec<(f64, bool)> = (pairs.iter())
        .map(|p| (word_overlap(p, sp), p.label == NspLabel::IsNext))
        .collect();
    scored.sort_by(|x, y| x.0.total_cmp(&y.0));
    // θ just above scored[k - 1]: the k lowest say NotNext, the rest IsNext.
    let is_next_total = scored.iter().filter(|s| s.1).count();
    let (mut best, mut correct) = ((f64::NEG_INFINITY, is_next_total), is_next_total);
    for k in 1..=scored.len() {
        correct = if scored[k - 1].1 {
            correct - 1
        } else {
            correct + 1
        };
        let distinct = k == scored.len() || scored[k].0 > scored[k - 1].0;
        if distinct && correct > best.1 {
            let theta = scored.get(k).map_or(f64::INFINITY, |s| s.0);
            best = (theta, correct);
        }
    }
    (best.0, best.1 as f64 / pairs.len().max(1) as f64)
}

/// The accuracy of "IsNext iff overlap ≥ θ" on `pairs`.
pub fn overlap_accuracy(pairs: &[PairExample], theta: f64, sp: &SpecialIds) -> f64 {
    let right = (pairs.iter())
        .filter(|p| (word_overlap(p, sp) >= theta) == (p.label == NspLabel::IsNext))
        .count();
    right as f64 / pairs.len().max(1) as f64
}

// ANCHOR: spans
/// Regroups a page's sentences into spans of 1 to `max_sentences` consecutive
/// sentences, drawn anew each time: NSP's A and B are then stretches of text (Devlin
/// et al.'s "sentences" are spans too), and a pair's boundaries change every epoch,
/// so the model cannot learn a pair by heart.
// doc: sentences of token ids -> spans of token ids
pub fn random_spans(
    doc: &[Vec<u32>],
    max_sentences: usize,
    rng: &mut impl Rng,
) -> Vec<Vec<u32>> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < doc.len() {
        let k = rng.random_range(1..=max_sentences).min(doc.len() - i);
        spans.push(doc[i..i + k].concat());
        i += k;
    }
    spans
}
// ANCHOR_END: spans
