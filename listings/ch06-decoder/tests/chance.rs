//! Why the chapter's first loss sits above ln 12: the breakdown the text quotes, pinned,
//! and the explanation the text gives, asserted.

use ch06_decoder::chance::{chance_breakdown, chance_report, first_step, own_token};
use ch06_decoder::train::TRAIN;

#[test]
fn chance_report_is_pinned() {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!("chance", chance_report(&TRAIN));
    });
}

#[test]
fn the_first_loss_is_ln_k_plus_spread_plus_gap() {
    let (logits, targets, loss) = first_step(&TRAIN);
    let b = chance_breakdown(&logits, &targets, 0.0);
    // The split is exact: the three terms add up to the loss train() records.
    assert!((b.loss - loss).abs() < 1e-4, "{b:?} vs {loss}");
    assert!((b.ln_k - 12f32.ln()).abs() < 1e-6);
    // And it is the loss of step 0 of the run the text shows (tests/training.rs pins it).
    let snap = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/snapshots/train.snap"),
    )
    .expect("train.snap");
    let step0 = snap
        .lines()
        .find_map(|l| l.trim().strip_prefix("step    0: "))
        .expect("a step 0 line");
    assert_eq!(step0, format!("{loss:.4}"));
}

/// The text's explanation: the excess over ln 12 is mostly spread, more than the
/// small-σ estimate σ²/2 gives, because one logit per row, the input token's own
/// (tied table), stands far above the rest; the target, never the input token here, sits
/// below its row's mean.
#[test]
fn the_excess_is_mostly_the_own_tokens_outlying_logit() {
    let (logits, targets, _) = first_step(&TRAIN);
    let b = chance_breakdown(&logits, &targets, 0.0);
    // "most of the excess is spread"
    assert!(b.spread > 3.0 * b.gap, "{b:?}");
    // "σ²/2 covers only part of it"
    let half_var = b.sigma * b.sigma / 2.0;
    assert!(half_var < 0.9 * b.spread, "{b:?}");
    // "the input token's own logit is the row's largest in nearly every row"
    let own = own_token(&TRAIN);
    assert!(own.largest as f32 > 0.9 * own.rows as f32, "{own:?}");
    assert!(own.above_mean > 2.0 * b.sigma, "{own:?}, {b:?}");
    // "the target's logit sits below its row's mean"
    assert!(b.gap > 0.0, "{b:?}");
    // the targets are never the input token
    let inputs = ch06_decoder::chance::first_step_inputs(&TRAIN);
    assert!(inputs.iter().zip(&targets).all(|(x, y)| *y != Some(*x)));
}
