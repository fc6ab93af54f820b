//! Training the tiny model with plain SGD (section "The LM head and training").

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ch01_foundations::regression::sgd_step;
use ch04_ffn_norms::activations::Activation;
use ch05_encoder::Wiring;

use crate::data::Pattern;
use crate::lm::{DecoderLm, LmConfig, lm_loss};

/// Everything a training run is decided by.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct TrainConfig {
    pub model: LmConfig,
    pub pattern: Pattern,
    pub seed: u64,
    pub steps: usize,
    pub batch: usize,
    pub lr: f32,
}

/// The chapter's run: 2 Pre-LN layers, d_model 32, sequences of 16 letters.
pub const TRAIN: TrainConfig = TrainConfig {
    model: LmConfig {
        vocab: 12,
        max_len: 16,
        d_model: 32,
        n_heads: 2,
        d_ff: 64,
        n_layers: 2,
        wiring: Wiring::PreLn,
        act: Activation::Gelu,
    },
    pattern: Pattern {
        vocab: 12,
        period: 4,
        len: 16,
    },
    seed: 0,
    steps: 1000,
    batch: 32,
    lr: 0.2,
};

/// A trained model and its loss before each step.
pub struct TrainRun {
    pub model: DecoderLm,
    pub losses: Vec<f32>,
}

// ANCHOR: train
/// Minibatch SGD on fresh batches of the pattern: forward, loss, backward, step.
pub fn train(cfg: &TrainConfig) -> TrainRun {
    let mut rng = seeded_rng(cfg.seed);
    let mut model = DecoderLm::new(cfg.model, &mut rng);
    let mut losses = Vec::with_capacity(cfg.steps);
    for _ in 0..cfg.steps {
        let (ids, targets) = cfg.pattern.batch(cfg.batch, &mut rng);
        model.zero_grad();
        let logits = model.forward(&ids, None);
        let (loss, dlogits) = lm_loss(&logits, &targets);
        model.backward(&dlogits);
        sgd_step(&mut model, cfg.lr);
        losses.push(loss);
    }
    TrainRun { model, losses }
}
// ANCHOR_END: train

/// How well a model continues held-out keys.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Eval {
    /// Prompts whose greedy continuation to the full length was exactly right.
    pub exact: usize,
    pub prompts: usize,
    /// Fraction of generated tokens that were right.
    pub token_accuracy: f32,
}

// ANCHOR: evaluate
/// Prompts the model with `prompts` held-out keys (never seen in training) and compares
/// its greedy continuation with the pattern.
pub fn evaluate(
    model: &mut DecoderLm,
    pattern: &Pattern,
    prompts: usize,
    seed: u64,
) -> Eval {
    let mut rng = seeded_rng(seed);
    let (mut exact, mut right) = (0, 0);
    let n_new = pattern.len - pattern.period;
    for _ in 0..prompts {
        let key = pattern.key(true, &mut rng);
        let out = crate::generate_greedy(model, &key, n_new).expect("key fits the model");
        let want = pattern.continue_key(&key);
        exact += usize::from(out == want);
        right += (pattern.period..pattern.len)
            .filter(|&t| out[t] == want[t])
            .count();
    }
    Eval {
        exact,
        prompts,
        token_accuracy: right as f32 / (prompts * n_new) as f32,
    }
}
// ANCHOR_END: evaluate
