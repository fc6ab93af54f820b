//! Initialisation and stability at a size that runs in seconds: the initial-loss check,
//! one short run each side of divergence, the warm-up schedule and the tagger's loop.

use ch01_foundations::init::seeded_rng;
use ch05_encoder::block::Wiring;
use ch05_encoder::depth::{SETUP, mean};
use ch09_decoder_only::llama_model::Llama;
use ch09_decoder_only::train_run::{TrainConfig, book_tokens};
use ch11_training::schedule::Schedule;
use ch11_training::stability::{
    SweepPoint, geometric, init_loss, init_table, sweep_point, train_tagger,
    warmup_then_constant,
};

#[test]
fn zero_logits_give_exactly_ln_v_and_small_ones_about_ln_v_plus_half_sigma_squared() {
    let cfg = TrainConfig::tiny();
    let mut model = Llama::new(cfg.llama(50), &mut seeded_rng(0)).expect("valid");
    let ids: Vec<usize> = (0..256).map(|i| (i * 7 + i / 5) % 50).collect();
    let windows: Vec<&[usize]> = ids.chunks(64).collect();
    let (loss, std) = init_loss(&mut model, &windows);
    let ln_v = 50f32.ln();
    // ln V + σ²/2 is the expectation; the mean over n = 252 targets of the target's own
    // logit has a standard deviation of about σ/√n, so allow three of those.
    let tolerance = 3.0 * std / 252f32.sqrt();
    let expected = ln_v + std * std / 2.0;
    assert!(
        (loss - expected).abs() < tolerance,
        "{loss} vs {expected} ± {tolerance}"
    );
    model.embed.table.value.fill(0.0); // tied head: every logit is now 0
    let (loss, std) = init_loss(&mut model, &windows);
    assert_eq!(std, 0.0);
    assert!((loss - ln_v).abs() < 1e-5, "{loss} vs {ln_v}");
}

#[test]
fn the_initial_loss_table_tells_a_good_initialisation_from_a_bad_one() {
    let cfg = TrainConfig::tiny();
    let data = book_tokens(&cfg).expect("the book's tokens");
    let ln_v = (data.vocab_size as f32).ln();
    let rows = init_table(&data, &cfg, 4);
    assert_eq!(rows.len(), 7);
    for r in &rows {
        if r.label.contains("N(0, 1)") {
            assert!(r.loss > 2.0 * ln_v, "{r:?}");
        } else {
            assert!((r.loss - ln_v).abs() < 0.05, "{r:?}");
        }
    }
}

#[test]
fn a_small_learning_rate_trains_and_a_huge_one_diverges() {
    let cfg = TrainConfig::tiny();
    let data = book_tokens(&cfg).expect("the book's tokens");
    let good = sweep_point(&data, &cfg, 3e-3, 30);
    assert!(!good.diverged() && good.last < good.first - 0.3, "{good:?}");
    let bad = sweep_point(&data, &cfg, 30.0, 30);
    assert!(bad.diverged(), "{bad:?}");
}

#[test]
fn divergence_means_non_finite_or_above_the_start() {
    let p = |last| SweepPoint {
        lr: 1.0,
        first: 5.0,
        last,
        min: 4.0,
    };
    assert!(!p(4.5).diverged());
    assert!(p(5.5).diverged());
    assert!(p(f32::NAN).diverged());
    assert!(p(f32::INFINITY).diverged());
}

#[test]
fn the_sweep_is_geometric() {
    let lrs = geometric(1e-4, 1e-1, 4);
    for (lr, want) in lrs.iter().zip([1e-4f32, 1e-3, 1e-2, 1e-1]) {
        assert!((lr / want - 1.0).abs() < 1e-6, "{lr} vs {want}");
    }
}

#[test]
fn warm_up_ramps_then_holds_the_peak() {
    let s = warmup_then_constant(4, 20);
    let f: Vec<f32> = (0..8).map(|step| s.factor(step)).collect();
    assert_eq!(f, [0.2, 0.4, 0.6, 0.8, 1.0, 1.0, 1.0, 1.0]); // PyTorch's LinearLR: (step + 1)/(w + 1)
    assert_eq!(s.factor(19), 1.0);
}

#[test]
fn adamw_trains_chapter_5s_tagger() {
    let losses = train_tagger(&SETUP, 2, Wiring::PreLn, 150, 3e-3, Schedule::Constant);
    assert!(
        mean(&losses, 140, 150) < 0.7 * mean(&losses, 0, 10),
        "{losses:?}"
    );
}
