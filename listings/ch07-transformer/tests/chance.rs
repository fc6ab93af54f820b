//! Why the run's first loss (3.087) sits above ln 14: the breakdown translate-run.txt
//! prints (and tests/figures.rs pins), and the explanation the text gives, asserted.

use ch07_transformer::data::Task;
use ch07_transformer::run::{D_MODEL, LAYERS, first_step_chance};
use ch07_transformer::train::{TrainConfig, model_config};

#[test]
fn the_first_loss_is_ln_k_plus_half_the_logit_variance() {
    let task = Task::default();
    let b = first_step_chance(
        &task,
        model_config(&task, D_MODEL, LAYERS),
        &TrainConfig::full(),
    );
    assert!((b.ln_k - (task.tgt_vocab.len() as f32).ln()).abs() < 1e-6);
    // The run's first loss, as translate-run.txt reports it.
    assert_eq!(format!("{:.3}", b.loss), "3.087");
    // "the spread is what σ²/2 predicts, within 5 %"
    let half_var = b.sigma * b.sigma / 2.0;
    assert!((b.spread / half_var - 1.0).abs() < 0.05, "{b:?}");
    // "the gap is small: most of the excess is spread"
    assert!(b.gap > 0.0 && b.gap < 0.25 * b.spread, "{b:?}");
}
