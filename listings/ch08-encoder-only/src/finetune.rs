//! Fine-tuning (section "Fine-tuning"): a classifier on top of BERT, for a whole
//! sentence (from the pooler's [CLS] vector) or for every token, trained end to end
//! with Chapter 7's cross-entropy, Adam and clipping.

use ch01_foundations::init::normal;
use ch01_foundations::linalg::{rows, unrows};
use ch01_foundations::module::{
    Mode, Module, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ch04_ffn_norms::linear::Linear;
use ch05_encoder::block::padding_mask;
use ch07_transformer::loss::label_smoothed_cross_entropy;
use ch07_transformer::optim::{Adam, clip_grad_norm};
use ndarray::{Array1, Array2, Axis};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use crate::bert::Bert;
use crate::tasks::IGNORE;

/// One training or test item: BERT's input ids and its targets, one per sentence
/// (sequence classification) or one per piece with `IGNORE` where none (tokens).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    pub ids: Vec<u32>,
    pub targets: Vec<usize>,
}

/// A padded batch: ids (padding = `pad`), segment A throughout, and the padding mask.
pub struct Batch {
    pub ids: Array2<usize>,      // [B, T]
    pub segments: Array2<usize>, // [B, T]
    pub mask: Array2<bool>,      // [B, T], true at padding
}

impl Batch {
    // items: [B] sequences of up to T ids -> ids, segments, mask: [B, T]
    pub fn new(items: &[&Example], pad: u32) -> Self {
        let lens: Vec<usize> = items.iter().map(|e| e.ids.len()).collect();
        let t = lens.iter().copied().max().unwrap_or(0);
        let ids = Array2::from_shape_fn((items.len(), t), |(b, i)| {
            items[b].ids.get(i).map_or(pad, |&id| id) as usize
        });
        Batch {
            segments: Array2::zeros(ids.dim()),
            mask: padding_mask(&lens, t),
            ids,
        }
    }
}

/// What the training loop needs of a model with a task head.
pub trait Head: Module {
    // batch: [B, T] -> logits: [N, K], N = B (sentences) or B·T (tokens)
    fn forward(&mut self, batch: &Batch) -> Array2<f32>;
    // dlogits: [N, K] -> nothing: gradients accumulate down to the embeddings
    fn backward(&mut self, dlogits: &Array2<f32>);
    /// One target per logits row, `IGNORE` where there is none: [N].
    fn targets(&self, items: &[&Example], t: usize) -> Vec<usize>;
}

/// A task head's weights as BERT initialises them: N(0, 0.02²), zero bias.
// -> W: [C, K], b: [K]
fn head(c: usize, classes: usize, rng: &mut impl Rng) -> Linear {
    Linear::from_params(normal((c, classes), 0.02, rng), Array1::zeros(classes))
}

// ANCHOR: sequence_classifier
/// BERT for a label per sentence: logits = pooler(h[CLS]) W + b, the recipe of the
/// BERT paper (its dropout before W is left out here).
pub struct SequenceClassifier {
    pub bert: Bert,
    pub classifier: Linear, // [C, K]
    t: usize,               // the last batch's T, for the pooler's backward
}

impl SequenceClassifier {
    pub fn new(bert: Bert, classes: usize, rng: &mut impl Rng) -> Self {
        let classifier = head(bert.cfg.hidden_size, classes, rng);
        SequenceClassifier {
            bert,
            classifier,
            t: 0,
        }
    }
}
// ANCHOR_END: sequence_classifier

// ANCHOR: sequence_classifier_head
impl Head for SequenceClassifier {
    // batch: [B, T] -> logits: [B, K]
    fn forward(&mut self, batch: &Batch) -> Array2<f32> {
        let h = self
            .bert
            .forward(&batch.ids, &batch.segments, Some(&batch.mask));
        self.t = h.dim().1;
        let pooled = self.bert.pooler.forward(&h); // [B, C]: tanh(h[CLS] W_p + b_p)
        self.classifier.forward(&pooled)
    }

    // dlogits: [B, K] -> nothing
    fn backward(&mut self, dlogits: &Array2<f32>) {
        let dpooled = self.classifier.backward(dlogits);
        let dh = self.bert.pooler.backward(&dpooled, self.t); // [B, T, C], 0 but at [CLS]
        self.bert.backward(&dh);
    }

    fn targets(&self, items: &[&Example], _t: usize) -> Vec<usize> {
        items.iter().map(|e| e.targets[0]).collect()
    }
}
// ANCHOR_END: sequence_classifier_head

// ANCHOR: token_classifier
/// BERT for a label per token: logits[b, t] = h[b, t] W + b, every position at once.
pub struct TokenClassifier {
    pub bert: Bert,
    pub classifier: Linear, // [C, K]
    bt: (usize, usize),     // the last batch's (B, T)
}

impl TokenClassifier {
    pub fn new(bert: Bert, tags: usize, rng: &mut impl Rng) -> Self {
        let classifier = head(bert.cfg.hidden_size, tags, rng);
        TokenClassifier {
            bert,
            classifier,
            bt: (0, 0),
        }
    }
}
// ANCHOR_END: token_classifier

// ANCHOR: token_classifier_head
impl Head for TokenClassifier {
    // batch: [B, T] -> logits: [B·T, K], row b·T + t for token t of item b
    fn forward(&mut self, batch: &Batch) -> Array2<f32> {
        let h = self
            .bert
            .forward(&batch.ids, &batch.segments, Some(&batch.mask));
        self.bt = (h.dim().0, h.dim().1);
        self.classifier.forward(&rows(&h))
    }

    // dlogits: [B·T, K] -> nothing
    fn backward(&mut self, dlogits: &Array2<f32>) {
        let dh = self.classifier.backward(dlogits); // [B·T, C]
        let (b, t) = self.bt;
        self.bert
            .backward(&unrows(dh, b, t, self.bert.cfg.hidden_size));
    }

    /// Padding positions get `IGNORE`, like [CLS], [SEP] and later pieces.
    fn targets(&self, items: &[&Example], t: usize) -> Vec<usize> {
        let at = |e: &Example, i: usize| e.targets.get(i).copied().unwrap_or(IGNORE);
        items
            .iter()
            .flat_map(|e| (0..t).map(move |i| at(e, i)))
            .collect()
    }
}
// ANCHOR_END: token_classifier_head

macro_rules! head_module {
    ($t:ty) => {
        impl Module for $t {
            fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
                visit_child("bert", &self.bert, f);
                visit_child("classifier", &self.classifier, f);
            }

            fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
                visit_child_mut("bert", &mut self.bert, f);
                visit_child_mut("classifier", &mut self.classifier, f);
            }

            fn set_mode(&mut self, mode: &mut Mode<'_>) {
                self.bert.set_mode(mode);
            }
        }
    };
}
head_module!(SequenceClassifier);
head_module!(TokenClassifier);

/// The optimiser settings of one fine-tuning run.
#[derive(Clone, Copy, Debug)]
pub struct Recipe {
    pub steps: usize,
    pub batch: usize,
    pub lr: f32,
    pub warmup: usize,
    pub clip: f32,
}

// ANCHOR: schedule
/// BERT's schedule: linear warmup to `lr` over `warmup` steps, then linear decay to 0
/// at the last step. Steps count from 1.
pub fn linear_schedule(step: usize, r: &Recipe) -> f32 {
    let s = step as f32;
    if step <= r.warmup {
        r.lr * s / r.warmup.max(1) as f32
    } else {
        r.lr * (r.steps as f32 - s).max(0.0) / (r.steps - r.warmup).max(1) as f32
    }
}
// ANCHOR_END: schedule

// ANCHOR: train_step
/// One step: forward in training mode, plain cross-entropy (ε = 0) over the targets
/// that are not `IGNORE`, backward, clip, Adam. Returns the loss.
pub fn train_step<H: Head>(
    model: &mut H,
    adam: &mut Adam,
    items: &[&Example],
    pad: u32,
    lr: f32,
    clip: f32,
    rng: &mut ChaCha8Rng,
) -> f32 {
    let batch = Batch::new(items, pad);
    model.zero_grad();
    model.set_mode(&mut Mode::Train(rng));
    let logits = model.forward(&batch);
    let targets = model.targets(items, batch.ids.ncols());
    let (loss, dlogits) = label_smoothed_cross_entropy(&logits, &targets, IGNORE, 0.0);
    model.backward(&dlogits);
    clip_grad_norm(model, clip);
    adam.step(model, lr);
    loss
}
// ANCHOR_END: train_step

/// The argmax class of every logits row, in evaluation mode, `chunk` items at a time:
/// one `Vec` per item (its one label, or one tag per position).
// items: [N] -> [N] × (1 label, or T tags with T that item's chunk's length)
pub fn predict<H: Head>(
    model: &mut H,
    items: &[Example],
    pad: u32,
    chunk: usize,
) -> Vec<Vec<usize>> {
    model.set_mode(&mut Mode::Eval);
    let mut out = Vec::with_capacity(items.len());
    for group in items.chunks(chunk.max(1)) {
        let refs: Vec<&Example> = group.iter().collect();
        let batch = Batch::new(&refs, pad);
        let logits = model.forward(&batch);
        let per_item = logits.nrows() / group.len();
        let argmax: Vec<usize> =
            logits
                .axis_iter(Axis(0))
                .map(|row| {
                    let best = row.iter().enumerate().fold(
                        (0, f32::NEG_INFINITY),
                        |a, (i, &v)| {
                            if v > a.1 { (i, v) } else { a }
                        },
                    );
                    best.0
                })
                .collect();
        out.extend(argmax.chunks(per_item).map(<[usize]>::to_vec));
    }
    out
}
