//! The depth experiment (section "Post-LN against Pre-LN in depth"): per-layer gradient
//! norms at initialisation, and early training loss with plain SGD, for both wirings at
//! several depths, on a small task that needs the whole sequence.

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::{
    Module, ParamView, ParamViewMut, grad_norm, visit_child, visit_child_mut,
};
use ch01_foundations::regression::sgd_step;
use ch01_foundations::softmax::log_softmax;
use ch04_ffn_norms::linear::Linear;
use ndarray::{Array2, Axis};
use rand::{Rng, RngExt};
use rayon::prelude::*;

use crate::block::Wiring;
use crate::encoder::{Encoder, EncoderConfig};
use ch01_foundations::linalg::rows;

// ANCHOR: task
/// The histogram task (Weiss et al., 2021): every position predicts how many times its
/// own token occurs in the whole sequence. Position 0 must look right and the last
/// position left, so only a model that sees both directions can solve it.
// -> (ids: [B, T], targets: [B, T], class k means "k + 1 occurrences")
pub fn histogram_batch(
    batch: usize,
    t: usize,
    vocab: usize,
    rng: &mut impl Rng,
) -> (Array2<usize>, Array2<usize>) {
    let ids = Array2::from_shape_simple_fn((batch, t), || rng.random_range(0..vocab));
    let targets = Array2::from_shape_fn((batch, t), |(b, i)| {
        ids.row(b).iter().filter(|&&id| id == ids[[b, i]]).count() - 1
    });
    (ids, targets)
}
// ANCHOR_END: task

/// The experiment's sizes: small enough that every depth trains in seconds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Setup {
    pub vocab: usize,
    pub t: usize,
    pub batch: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub lr: f32,
    pub seed: u64,
}

/// The sizes every figure and table of the section uses.
pub const SETUP: Setup = Setup {
    vocab: 6,
    t: 8,
    batch: 16,
    d_model: 32,
    n_heads: 4,
    d_ff: 128,
    lr: 0.1,
    seed: 0,
};

// ANCHOR: tagger
/// An encoder with a linear classifier on every position: logits = Encoder(ids) W + b.
pub struct Tagger {
    pub encoder: Encoder,
    pub head: Linear, // [C, n_classes]
}

impl Tagger {
    pub fn new(setup: &Setup, n_layers: usize, wiring: Wiring) -> Self {
        let cfg = EncoderConfig {
            vocab: setup.vocab,
            max_len: setup.t,
            d_model: setup.d_model,
            n_heads: setup.n_heads,
            d_ff: setup.d_ff,
            n_layers,
            wiring,
        };
        let mut rng = seeded_rng(setup.seed);
        let encoder = Encoder::new(cfg, &mut rng);
        let head = Linear::new(setup.d_model, setup.t, &mut rng);
        Tagger { encoder, head }
    }
}
// ANCHOR_END: tagger

// ANCHOR: tagger_loss
impl Tagger {
    /// Mean cross-entropy over all B·T positions; fills every gradient.
    // ids: [B, T], targets: [B, T] -> loss
    pub fn loss_and_backward(
        &mut self,
        ids: &Array2<usize>,
        targets: &Array2<usize>,
    ) -> f32 {
        let (b, t) = ids.dim();
        let h = self.encoder.forward(ids, None); // [B, T, C]
        let logits = self.head.forward(&rows(&h)); // [B·T, K]
        let logp = log_softmax(&logits, Axis(1));
        let n = (b * t) as f32;
        let mut loss = 0.0;
        // ∂L/∂logits = (softmax - onehot) / N, row by row.
        let mut dlogits = logp.mapv(f32::exp) / n;
        for (row, &k) in targets.iter().enumerate() {
            loss -= logp[[row, k]] / n;
            dlogits[[row, k]] -= 1.0 / n;
        }
        let dh = self.head.backward(&dlogits);
        let c = dh.ncols();
        self.encoder.backward(
            &dh.into_shape_with_order((b, t, c))
                .expect("standard layout"),
        );
        loss
    }
}
// ANCHOR_END: tagger_loss

impl Module for Tagger {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("encoder", &self.encoder, f);
        visit_child("head", &self.head, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("encoder", &mut self.encoder, f);
        visit_child_mut("head", &mut self.head, f);
    }
}

// ANCHOR: layer_grad_norms
/// ‖∂L/∂θ_l‖ for each block, bottom first, of a freshly initialised tagger, on one
/// seeded batch of the histogram task (θ_l: all twelve parameter tensors of block l).
pub fn layer_grad_norms(setup: &Setup, n_layers: usize, wiring: Wiring) -> Vec<f32> {
    let mut model = Tagger::new(setup, n_layers, wiring);
    let mut rng = seeded_rng(setup.seed + 1);
    let (ids, targets) = histogram_batch(4 * setup.batch, setup.t, setup.vocab, &mut rng);
    model.loss_and_backward(&ids, &targets);
    let blocks = &model.encoder.stack.blocks;
    blocks.iter().map(|block| grad_norm(block)).collect()
}
// ANCHOR_END: layer_grad_norms

// ANCHOR: train
/// Plain SGD at one learning rate, a fresh seeded batch every step (the same batches for
/// every model). Returns the loss at each step, measured before the step's update.
pub fn train(setup: &Setup, n_layers: usize, wiring: Wiring, steps: usize) -> Vec<f32> {
    let mut model = Tagger::new(setup, n_layers, wiring);
    let mut rng = seeded_rng(setup.seed + 2);
    (0..steps)
        .map(|_| {
            let (ids, targets) =
                histogram_batch(setup.batch, setup.t, setup.vocab, &mut rng);
            model.zero_grad();
            let loss = model.loss_and_backward(&ids, &targets);
            sgd_step(&mut model, setup.lr);
            loss
        })
        .collect()
}
// ANCHOR_END: train

/// The depths of the gradient-norm measurement.
pub const GRAD_DEPTHS: [usize; 4] = [2, 6, 12, 24];
/// The depths trained at `SETUP.lr`, and for how many steps.
pub const TRAIN_DEPTHS: [usize; 2] = [2, 6];
pub const STEPS: usize = 400;
/// Other (depth, learning rate) pairs: a larger step for the shallow stack, a smaller
/// one for the deep stack.
pub const OTHER_RUNS: [(usize, f32); 2] = [(2, 0.3), (6, 0.03)];
pub const WIRINGS: [(&str, Wiring); 2] =
    [("Post-LN", Wiring::PostLn), ("Pre-LN", Wiring::PreLn)];

/// Everything the section reports, computed once per process (the figures and the
/// printed tables share it): about 6 s of training on one core in release.
pub struct Results {
    /// (wiring, depth, ‖∂L/∂θ_l‖ for each block).
    pub grads: Vec<(Wiring, usize, Vec<f32>)>,
    /// (wiring, depth, lr, loss at each step).
    pub runs: Vec<(Wiring, usize, f32, Vec<f32>)>,
}

impl Results {
    pub fn run(&self, wiring: Wiring, depth: usize, lr: f32) -> &[f32] {
        self.runs
            .iter()
            .find(|r| r.0 == wiring && r.1 == depth && r.2 == lr)
            .map(|r| r.3.as_slice())
            .expect("a configuration the experiment ran")
    }
}

/// The mean of `losses[from..to]`.
pub fn mean(losses: &[f32], from: usize, to: usize) -> f32 {
    losses[from..to].iter().sum::<f32>() / (to - from) as f32
}

/// The whole experiment, run once per process. The runs are independent and each is
/// seeded, so they run in parallel and the results do not depend on the thread count.
pub fn results() -> &'static Results {
    static RESULTS: std::sync::OnceLock<Results> = std::sync::OnceLock::new();
    RESULTS.get_or_init(|| {
        let grads = WIRINGS
            .iter()
            .flat_map(|&(_, w)| GRAD_DEPTHS.map(|d| (w, d)))
            .collect::<Vec<_>>()
            .into_par_iter()
            .map(|(w, d)| (w, d, layer_grad_norms(&SETUP, d, w)))
            .collect();
        let at_setup_lr = TRAIN_DEPTHS.map(|d| (d, SETUP.lr));
        // Deepest first, so the longest runs start first.
        let mut configs: Vec<(Wiring, usize, f32)> = WIRINGS
            .iter()
            .flat_map(|&(_, w)| {
                at_setup_lr
                    .iter()
                    .chain(&OTHER_RUNS)
                    .map(move |&(d, lr)| (w, d, lr))
            })
            .collect();
        configs.sort_by_key(|c| std::cmp::Reverse(c.1));
        let runs = configs
            .into_par_iter()
            .map(|(w, d, lr)| (w, d, lr, train(&Setup { lr, ..SETUP }, d, w, STEPS)))
            .collect();
        Results { grads, runs }
    })
}
