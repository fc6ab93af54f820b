//! The training exercises of Chapter 7, checked.

use ch01_foundations::report::round;
use ch07_transformer::data::{Date, Style, Task};
use ch07_transformer::exercises_training::{
    inverse_sqrt_lr, noam_scale_for_peak, position_accuracy,
};
use ch07_transformer::optim::noam_lr;
use ch07_transformer::train::{TrainConfig, evaluate, model_config, train};

#[test]
fn inverse_sqrt_is_noam_with_another_scale() {
    for (d_model, warmup, peak) in [(64, 400, 5e-4), (512, 4000, 7e-4), (32, 1, 1e-3)] {
        let scale = noam_scale_for_peak(peak, d_model, warmup);
        for step in 1..5 * warmup + 10 {
            let (a, b) = (
                inverse_sqrt_lr(step, peak, warmup),
                noam_lr(step, d_model, warmup, scale),
            );
            assert!((a - b).abs() <= 1e-5 * b, "step {step}: {a} vs {b}");
        }
        assert!((inverse_sqrt_lr(warmup, peak, warmup) - peak).abs() < 1e-9);
    }
}

#[test]
fn position_accuracy_counts_each_character() {
    let task = Task::default();
    let date = |y, m, d| {
        task.example(
            Date {
                year: y,
                month: m,
                day: d,
            },
            Style::DayFirst,
        )
    };
    let examples = [date(2004, 3, 23), date(1990, 5, 1)];
    let mut wrong_day = examples[0].tgt.clone();
    wrong_day[9] = examples[1].tgt[9]; // 2004-03-21
    let short = examples[1].tgt[..4].to_vec(); // "1990" and nothing else
    let acc = position_accuracy(&[wrong_day, short], &examples);
    assert_eq!(acc, [1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.0]);
}

#[test]
fn a_small_model_errs_mostly_in_few_positions() {
    // The mean of the per-position accuracies is at least the exact-match accuracy: a
    // sentence counted right is right at every position.
    let task = Task::default();
    let cfg = TrainConfig {
        seed: 3,
        steps: 120,
        max_tokens: 800,
        warmup: 100,
        n_heldout: 200,
        ..TrainConfig::full()
    };
    let (mut model, log) = train(&task, model_config(&task, 32, 2), &cfg, |_, _| {});
    let eval = evaluate(&mut model, &log.heldout, 1, 0.0);
    let acc = position_accuracy(&eval.greedy, &log.heldout);
    // Pinned, so the solution's discussion quotes what this run printed.
    let mut text = String::from("position  target  accuracy\n");
    for (i, a) in acc.iter().enumerate() {
        let what = [
            "year", "year", "year", "year", "-", "month", "month", "-", "day", "day",
        ];
        text += &format!("{i:>8}  {:>6}  {}\n", what[i], round(*a, 3));
    }
    text += &format!("exact match: {}\n", round(eval.greedy_accuracy, 3));
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("position_accuracy", text);
    });
    assert!(acc.iter().all(|&a| a >= eval.greedy_accuracy));
    assert_eq!(acc[4], 1.0, "the first dash is the easiest token there is");
}
