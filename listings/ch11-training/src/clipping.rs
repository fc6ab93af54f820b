//! Clipping against a loss spike (section "Clipping and accumulation"): the chapter's
//! trainer on Chapter 9's Llama, the same batches twice, one of them corrupted, once
//! without clipping and once with it; the loss and the gradient norm of every step.

use ch01_foundations::init::seeded_rng;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};

use crate::optim::{Optimizer, Sgd};
use crate::schedule::Schedule;
use crate::trainer::{Batches, StepLog, Trainer};

// ANCHOR: spike_config
/// One run of the experiment; only `clip` differs between the two runs compared.
#[derive(Clone, Debug, PartialEq)]
pub struct SpikeConfig {
    pub model: LlamaTrainConfig,
    pub batch: usize,
    pub context: usize,
    pub steps: usize,
    pub warmup: usize,
    pub peak_lr: f32,
    pub spike_at: usize, // the step whose batch is corrupted (0-based)
    pub seed: u64,
}
// ANCHOR_END: spike_config

// ANCHOR: corrupt
/// A corrupted copy of the training stream: every token replaced by `id`. A document of
/// one repeated token (a run of blank lines, a file of padding, a stuck data loader) is
/// a classic cause of spikes: every position pushes the weights the same way.
// stream: [N] -> [N]
pub fn corrupt(stream: &[usize], id: usize) -> Vec<usize> {
    vec![id; stream.len()]
}
// ANCHOR_END: corrupt

// ANCHOR: sgd
/// Plain SGD, θ ← θ - lr·g: the section on optimizers' `Sgd` without momentum or decay.
/// Its step is as long as the gradient, so nothing but clipping stands between a 25×
/// gradient and a 25× step. (Adam divides by √v.)
pub fn plain_sgd() -> Sgd {
    Sgd::new(0.0, 0.0, false, 0.0).expect("momentum 0 and no decay are in range")
}
// ANCHOR_END: sgd

// ANCHOR: spike_run
/// Trains a fresh Llama (seeded) with `opt` and warm-up + cosine, feeding the corrupted
/// stream at step `spike_at` and the real one otherwise; clips at `clip` if given.
// stream, bad: [N] -> one log per step
pub fn spike_run<O: Optimizer>(
    cfg: &SpikeConfig,
    opt: O,
    stream: &[usize],
    bad: &[usize],
    clip: Option<f32>,
) -> Vec<StepLog> {
    assert_eq!(stream.len(), bad.len(), "the corrupted stream must align");
    let model = Llama::new(cfg.model.clone(), &mut seeded_rng(cfg.seed))
        .expect("a valid Llama config");
    let mut trainer = Trainer {
        model,
        opt,
        schedule: Schedule::WarmupCosine {
            warmup: cfg.warmup,
            total: cfg.steps,
            floor: 0.1,
        },
        peak_lr: cfg.peak_lr,
        clip,
        step: 0,
        batches: Batches::new(stream.len(), cfg.context, cfg.seed),
    };
    (0..cfg.steps)
        .map(|s| {
            let data = if s == cfg.spike_at { bad } else { stream };
            trainer.train_step(data, cfg.batch)
        })
        .collect()
}
// ANCHOR_END: spike_run

// ANCHOR: summary
/// What the text says about a run's spike, measured from its losses.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpikeSummary {
    pub before: f32,     // mean loss of the 20 steps before the corrupted one
    pub peak_after: f32, // highest loss of the 10 clean steps after it
    pub recovery: usize, // clean steps until a 5-step mean is within 0.1 of `before`
}

// losses: [steps] -> summary
pub fn spike_summary(losses: &[f32], spike_at: usize) -> SpikeSummary {
    assert!(
        spike_at >= 20 && losses.len() >= spike_at + 16,
        "spike_summary: {} steps leave no room around step {spike_at}",
        losses.len()
    );
    let mean = |w: &[f32]| w.iter().sum::<f32>() / w.len() as f32;
    let before = mean(&losses[spike_at - 20..spike_at]);
    let after = &losses[spike_at + 1..];
    let peak_after = after[..10].iter().fold(f32::MIN, |m, &l| m.max(l));
    let recovery = (0..=after.len() - 5)
        .find(|&k| mean(&after[k..k + 5]) <= before + 0.1)
        .unwrap_or(after.len());
    SpikeSummary {
        before,
        peak_after,
        recovery,
    }
}
// ANCHOR_END: summary
