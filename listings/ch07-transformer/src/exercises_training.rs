//! Solutions to the training exercises of Chapter 7 (`tests/exercises_training.rs`).

use crate::data::Example;

// ANCHOR: inverse_sqrt
/// fairseq's `inverse_sqrt` schedule, written with the peak learning rate it reaches:
/// linear warmup to `peak` at step `warmup`, then peak · √(warmup / step).
pub fn inverse_sqrt_lr(step: usize, peak: f32, warmup: usize) -> f32 {
    let (s, w) = (step.max(1) as f32, warmup as f32);
    peak * (s / w).min((w / s).sqrt())
}

/// The Noam scale that gives the same schedule: Noam peaks at scale · (d · warmup)^-½.
pub fn noam_scale_for_peak(peak: f32, d_model: usize, warmup: usize) -> f32 {
    peak * ((d_model * warmup) as f32).sqrt()
}
// ANCHOR_END: inverse_sqrt

// ANCHOR: position_accuracy
/// For each target position, the fraction of predictions with the right token there. A
/// prediction too short is wrong at the positions it lacks; one too long is judged on
/// the target's positions only (exact match catches the extra tokens).
// predictions: N sequences, examples: N -> [target length]
pub fn position_accuracy(predictions: &[Vec<usize>], examples: &[Example]) -> Vec<f32> {
    assert_eq!(
        predictions.len(),
        examples.len(),
        "one prediction per example"
    );
    let len = examples.iter().map(|e| e.tgt.len()).max().unwrap_or(0);
    let mut right = vec![0usize; len];
    let mut total = vec![0usize; len];
    for (pred, ex) in predictions.iter().zip(examples) {
        for (t, &y) in ex.tgt.iter().enumerate() {
            total[t] += 1;
            right[t] += usize::from(pred.get(t) == Some(&y));
        }
    }
    right
        .iter()
        .zip(&total)
        .map(|(&r, &n)| r as f32 / n.max(1) as f32)
        .collect()
}
// ANCHOR_END: position_accuracy
