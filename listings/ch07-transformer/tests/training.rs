//! Tier 4: a small seeded run learns the date task in seconds, and the same seed gives
//! the same losses on 1 and 2 threads.

use ch01_foundations::linalg::in_pool;
use ch01_foundations::report::round;
use ch07_transformer::data::Task;
use ch07_transformer::train::{TrainConfig, evaluate, model_config, train};

/// A quarter of the example's run: d_model 32, 2 + 2 layers, 300 steps.
fn small() -> TrainConfig {
    TrainConfig {
        seed: 3,
        steps: 300,
        max_tokens: 800,
        warmup: 100,
        n_heldout: 200,
        ..TrainConfig::full()
    }
}

#[test]
fn a_small_model_learns_to_translate_dates() {
    let task = Task::default();
    let cfg = small();
    let (mut model, log) = train(&task, model_config(&task, 32, 2), &cfg, |_, _| {});
    let eval = evaluate(&mut model, &log.heldout, 3, 0.6);
    let first = log.losses[0];
    let last: f32 = log.losses[cfg.steps - 20..].iter().sum::<f32>() / 20.0;
    // Pinned, and included in the text: what the small run reaches.
    let text = format!(
        "d_model 32, 2 + 2 layers, {} steps, seed {}\n\
         loss: first step {}, mean of the last 20 steps {}\n\
         held-out exact match ({} sentences): greedy {}, beam 3 {}\n",
        cfg.steps,
        cfg.seed,
        round(first, 2),
        round(last, 2),
        log.heldout.len(),
        round(eval.greedy_accuracy, 3),
        round(eval.beam_accuracy, 3)
    );
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("small_run", text);
    });
    assert!(last < 0.7, "final loss {last}");
    assert!(
        eval.greedy_accuracy > 0.85,
        "greedy {}",
        eval.greedy_accuracy
    );
    assert!(eval.beam_accuracy > 0.85, "beam {}", eval.beam_accuracy);
}

#[test]
fn same_seed_same_losses_on_any_thread_count() {
    let task = Task::default();
    let cfg = TrainConfig {
        steps: 5,
        n_heldout: 10,
        ..small()
    };
    let run = |threads: usize| {
        in_pool(threads, || {
            let (_, log) = train(&task, model_config(&task, 32, 1), &cfg, |_, _| {});
            log.losses.iter().map(|l| l.to_bits()).collect::<Vec<_>>()
        })
    };
    assert_eq!(run(1), run(2));
}
