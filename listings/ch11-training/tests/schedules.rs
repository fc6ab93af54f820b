//! The schedules against PyTorch (tools/golden/ch11_schedules.py): LambdaLR with each
//! formula, and SequentialLR of PyTorch's own LinearLR, CosineAnnealingLR and ConstantLR,
//! step by step; Noam against Chapter 7's `noam_lr`; and the errors.

use ch07_transformer::optim::noam_lr;
use ch11_training::schedule::{Schedule, ScheduleError};
use serde_json::Value;

const WARMUP: usize = 10;
const TOTAL: usize = 100;
const DECAY: usize = 20;
const FLOOR: f32 = 0.1;

fn torch_factors(case: &str) -> Vec<f64> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/schedules.json");
    let doc: Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let setup = &doc["cases"]["setup"];
    assert_eq!(
        (
            setup["warmup"].as_u64(),
            setup["total"].as_u64(),
            setup["decay"].as_u64()
        ),
        (Some(WARMUP as u64), Some(TOTAL as u64), Some(DECAY as u64))
    );
    doc["cases"][case]["factors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

/// Ours against PyTorch's lr after each of its steps: the factor is computed in f64 and
/// rounded to f32 once, so it is within half an f32 unit of 1 (3e-8) of PyTorch's f64.
fn assert_matches(s: Schedule, case: &str) {
    let want = torch_factors(case);
    assert_eq!(want.len(), TOTAL + 1);
    for (step, w) in want.iter().enumerate() {
        let ours = f64::from(s.factor(step));
        assert!(
            (ours - w).abs() <= 3e-8,
            "{case} step {step}: ours {ours}, torch {w}"
        );
    }
}

fn cosine() -> Schedule {
    Schedule::WarmupCosine {
        warmup: WARMUP,
        total: TOTAL,
        floor: FLOOR,
    }
}
fn linear() -> Schedule {
    Schedule::WarmupLinear {
        warmup: WARMUP,
        total: TOTAL,
    }
}
fn wsd() -> Schedule {
    Schedule::WarmupStableDecay {
        warmup: WARMUP,
        decay: DECAY,
        total: TOTAL,
        floor: FLOOR,
    }
}

#[test]
fn every_schedule_matches_lambda_lr() {
    assert_matches(Schedule::Constant, "lambda_constant");
    assert_matches(cosine(), "lambda_cosine");
    assert_matches(linear(), "lambda_linear");
    assert_matches(
        Schedule::InverseSqrt { warmup: WARMUP },
        "lambda_inverse_sqrt",
    );
    assert_matches(wsd(), "lambda_wsd");
}

#[test]
fn pytorchs_lambda_lr_and_sequential_lr_agree_to_3e_16() {
    for kind in ["cosine", "linear", "wsd"] {
        let (a, b) = (
            torch_factors(&format!("lambda_{kind}")),
            torch_factors(&format!("builtin_{kind}")),
        );
        let diff = a
            .iter()
            .zip(&b)
            .map(|(x, y)| (x - y).abs())
            .fold(0.0, f64::max);
        assert!(diff <= 3.5e-16, "{kind}: {diff:e}");
    }
}

#[test]
fn warmups_and_decays_match_pytorchs_own_schedulers() {
    assert_matches(cosine(), "builtin_cosine");
    assert_matches(linear(), "builtin_linear");
    assert_matches(wsd(), "builtin_wsd");
}

#[test]
fn inverse_sqrt_is_chapter_7s_noam_normalised_to_its_peak() {
    let (d_model, scale) = (512, 2.0);
    let peak = scale * (d_model as f32 * WARMUP as f32).powf(-0.5);
    for step in 0..200 {
        let ours = peak * Schedule::InverseSqrt { warmup: WARMUP }.factor(step);
        let ch07 = noam_lr(step + 1, d_model, WARMUP, scale); // Chapter 7 counts from 1
        assert!(
            (ours - ch07).abs() <= 1e-6 * ch07,
            "step {step}: {ours} vs {ch07}"
        );
    }
}

#[test]
fn the_warmup_reaches_the_peak_where_the_decay_starts() {
    for s in [cosine(), linear(), wsd()] {
        assert!(s.factor(WARMUP - 1) < 1.0);
        assert_eq!(s.factor(WARMUP), 1.0, "{s:?}");
        assert!(s.factor(0) > 0.0, "the first update is not wasted");
    }
    assert_eq!(cosine().factor(TOTAL), FLOOR);
    assert_eq!(linear().factor(TOTAL + 5), 0.0);
}

#[test]
fn phases_that_do_not_fit_are_errors() {
    let bad = Schedule::WarmupStableDecay {
        warmup: 60,
        decay: 50,
        total: 100,
        floor: 0.0,
    };
    assert_eq!(
        bad.validate(),
        Err(ScheduleError::Phases {
            warmup: 60,
            decay: 50,
            total: 100
        })
    );
    assert_eq!(
        bad.validate().unwrap_err().to_string(),
        "warm-up (60 steps) and decay (50 steps) do not fit in 100 steps"
    );
    let floor = Schedule::WarmupCosine {
        warmup: 1,
        total: 10,
        floor: 1.5,
    };
    assert_eq!(floor.validate(), Err(ScheduleError::Floor(1.5)));
    for s in [cosine(), linear(), wsd(), Schedule::Constant] {
        assert_eq!(s.validate(), Ok(()));
    }
}
