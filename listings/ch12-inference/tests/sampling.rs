//! The sampler: every filter's distribution checked by counting seeded draws, the edge
//! cases, ties, errors, and the filtered distributions against Hugging Face's
//! processors.

use ch12_inference::sampling::{Sampler, SamplerConfig, SamplingError, top_k, top_p};
use golden::Fixture;
use ndarray::{Array1, array};

/// A hand-made distribution; its logits are ln p, so each filter's result can be
/// worked out on paper from p.
const P: [f64; 6] = [0.4, 0.25, 0.15, 0.1, 0.06, 0.04];

fn logits() -> Array1<f32> {
    P.iter().map(|p| p.ln() as f32).collect()
}

fn normalise(w: &[f64]) -> Vec<f64> {
    let z: f64 = w.iter().sum();
    w.iter().map(|x| x / z).collect()
}

/// 20,000 seeded draws. Each frequency has standard deviation at most
/// sqrt(0.25 / 20000) ≈ 0.0035, so a tolerance of 0.015 is over four of them: a wrong
/// distribution fails, sampling noise does not.
const DRAWS: usize = 20_000;
const TOL: f64 = 0.015;

fn check_frequencies(cfg: SamplerConfig, history: &[u32], want: &[f64]) {
    let mut s = Sampler::new(cfg.clone()).unwrap();
    let mut count = vec![0usize; want.len()];
    for _ in 0..DRAWS {
        count[s.sample(&logits(), history).unwrap() as usize] += 1;
    }
    for (i, (&c, &p)) in count.iter().zip(want).enumerate() {
        let f = c as f64 / DRAWS as f64;
        assert!(
            (f - p).abs() < TOL,
            "{cfg:?}: token {i} drawn {f}, want {p}"
        );
        if p == 0.0 {
            assert_eq!(c, 0, "{cfg:?}: token {i} was filtered out but drawn");
        }
    }
    // And the distribution before the draw, exactly (to rounding).
    let d = Sampler::new(cfg.clone())
        .unwrap()
        .distribution(&logits(), history)
        .unwrap();
    for (i, (&q, &p)) in d.iter().zip(want).enumerate() {
        assert!((q - p).abs() < 1e-6, "{cfg:?}: p[{i}] = {q}, want {p}");
    }
}

fn cfg() -> SamplerConfig {
    SamplerConfig {
        seed: 7,
        ..SamplerConfig::default()
    }
}

#[test]
fn plain_sampling_draws_the_softmax() {
    check_frequencies(cfg(), &[], &P);
}

#[test]
fn temperature_two_draws_the_square_root() {
    let want = normalise(&P.map(|p| p.sqrt()));
    check_frequencies(
        SamplerConfig {
            temperature: 2.0,
            ..cfg()
        },
        &[],
        &want,
    );
}

#[test]
fn top_k_three_keeps_three() {
    let want = normalise(&[0.4, 0.25, 0.15, 0.0, 0.0, 0.0]);
    check_frequencies(SamplerConfig { top_k: 3, ..cfg() }, &[], &want);
}

#[test]
fn top_p_keeps_the_head_that_reaches_p() {
    // Mass before each token: 0, 0.4, 0.65: at p = 0.6 the third starts past p.
    let want = normalise(&[0.4, 0.25, 0.0, 0.0, 0.0, 0.0]);
    check_frequencies(
        SamplerConfig {
            top_p: 0.6,
            ..cfg()
        },
        &[],
        &want,
    );
    // At p = 0.7 the third is needed to reach p.
    let want = normalise(&[0.4, 0.25, 0.15, 0.0, 0.0, 0.0]);
    check_frequencies(
        SamplerConfig {
            top_p: 0.7,
            ..cfg()
        },
        &[],
        &want,
    );
}

#[test]
fn min_p_cuts_at_a_fraction_of_the_top() {
    // 0.3 · 0.4 = 0.12: 0.15 stays, 0.1 goes.
    let want = normalise(&[0.4, 0.25, 0.15, 0.0, 0.0, 0.0]);
    check_frequencies(
        SamplerConfig {
            min_p: 0.3,
            ..cfg()
        },
        &[],
        &want,
    );
}

#[test]
fn repetition_penalty_multiplies_a_negative_logit() {
    // Every logit ln p is negative: token 0's becomes 2 ln 0.4, p ∝ 0.16, however
    // often it came.
    let want = normalise(&[0.16, 0.25, 0.15, 0.1, 0.06, 0.04]);
    let c = SamplerConfig {
        repetition_penalty: 2.0,
        ..cfg()
    };
    check_frequencies(c, &[0, 0, 0], &want);
}

#[test]
fn frequency_penalty_grows_with_the_count() {
    // Token 1 seen twice at penalty 0.5: its logit loses 1, p ∝ 0.25 / e.
    let mut w = P;
    w[1] *= (-1.0f64).exp();
    check_frequencies(
        SamplerConfig {
            frequency_penalty: 0.5,
            ..cfg()
        },
        &[1, 1],
        &normalise(&w),
    );
}

#[test]
fn the_chain_composes_in_order() {
    // Penalty first (token 0 falls to 0.16, below 0.25), then temperature 1 and top-k 2:
    // tokens 1 and 0 stay. Were top-k first, tokens 0 and 1 would be kept before the
    // penalty, the same set here; top-p 0.5 then keeps only token 1 (0.25 / 0.41).
    let c = SamplerConfig {
        repetition_penalty: 2.0,
        top_k: 2,
        top_p: 0.5,
        ..cfg()
    };
    check_frequencies(c, &[0], &[0.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
}

#[test]
fn temperature_zero_is_greedy_and_small_temperatures_approach_it() {
    let mut s = Sampler::new(SamplerConfig {
        temperature: 0.0,
        ..cfg()
    })
    .unwrap();
    for _ in 0..100 {
        assert_eq!(s.sample(&logits(), &[]).unwrap(), 0);
    }
    // At T = 0.01 the runner-up has weight (0.25 / 0.4)^100 ≈ 4e-21: never drawn.
    let mut s = Sampler::new(SamplerConfig {
        temperature: 0.01,
        ..cfg()
    })
    .unwrap();
    for _ in 0..1000 {
        assert_eq!(s.sample(&logits(), &[]).unwrap(), 0);
    }
}

#[test]
fn top_p_one_and_top_k_vocab_are_no_ops() {
    let l = logits();
    let plain = Sampler::new(cfg()).unwrap().processed(&l, &[]).unwrap();
    assert_eq!(plain, l);
    for c in [
        SamplerConfig {
            top_p: 1.0,
            ..cfg()
        },
        SamplerConfig { top_k: 6, ..cfg() },
        SamplerConfig {
            top_k: 600,
            ..cfg()
        },
        SamplerConfig { top_k: 0, ..cfg() },
        SamplerConfig {
            min_p: 0.0,
            ..cfg()
        },
    ] {
        assert_eq!(
            Sampler::new(c.clone()).unwrap().processed(&l, &[]).unwrap(),
            l,
            "{c:?}"
        );
    }
    // A tail far below 1e-16 survives top-p 1 too.
    let mut tiny = array![0.0f32, -60.0];
    top_p(&mut tiny, 1.0);
    assert!(tiny[1].is_finite());
}

#[test]
fn ties() {
    // Top-k keeps every token tied with the k-th: three survive k = 2.
    let mut l = array![1.0f32, 1.0, 1.0, 0.0];
    top_k(&mut l, 2);
    assert_eq!(l.iter().filter(|x| x.is_finite()).count(), 3);
    // Top-p orders a tie by id: at p = 0.2 of four equal tokens only id 0 stays.
    let mut l = array![0.5f32, 0.5, 0.5, 0.5];
    top_p(&mut l, 0.2);
    assert!(l[0].is_finite() && l.iter().skip(1).all(|x| x.is_infinite()));
    // Greedy takes the lowest id among equal maxima.
    let mut s = Sampler::new(SamplerConfig {
        temperature: 0.0,
        ..cfg()
    })
    .unwrap();
    assert_eq!(s.sample(&array![0.0f32, 2.0, 2.0], &[]).unwrap(), 1);
}

#[test]
fn same_seed_same_tokens() {
    let draw = |seed| {
        let mut s = Sampler::new(SamplerConfig {
            seed,
            top_k: 4,
            ..cfg()
        })
        .unwrap();
        (0..50)
            .map(|_| s.sample(&logits(), &[]).unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(draw(1), draw(1));
    assert_ne!(draw(1), draw(2));
}

#[test]
fn bad_settings_and_logits_are_errors() {
    for c in [
        SamplerConfig {
            temperature: -1.0,
            ..cfg()
        },
        SamplerConfig {
            temperature: f32::NAN,
            ..cfg()
        },
        SamplerConfig {
            top_p: 0.0,
            ..cfg()
        },
        SamplerConfig {
            top_p: 1.5,
            ..cfg()
        },
        SamplerConfig {
            min_p: 2.0,
            ..cfg()
        },
        SamplerConfig {
            repetition_penalty: 0.0,
            ..cfg()
        },
        SamplerConfig {
            frequency_penalty: f32::INFINITY,
            ..cfg()
        },
    ] {
        let e = Sampler::new(c.clone()).err();
        assert!(
            matches!(e, Some(SamplingError::OutOfRange { .. })),
            "{c:?}: {e:?}"
        );
    }
    let mut s = Sampler::new(cfg()).unwrap();
    assert_eq!(
        s.sample(&Array1::zeros(0), &[]),
        Err(SamplingError::EmptyLogits)
    );
    let e = s.sample(&array![0.0, f32::NAN], &[]).unwrap_err();
    assert_eq!(e.to_string(), "sampling: logit 1 is NaN, not finite");
}

/// Hugging Face's processors on 32 fixed logits and a history; our distribution before
/// the draw must match theirs to 1e-6 (f32 logits, f64 softmax on both sides).
#[test]
fn filtered_distributions_match_hugging_face() {
    let f = Fixture::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/sampling.json"
    ))
    .unwrap();
    let cases = f.cases().as_object().unwrap().clone();
    assert_eq!(cases.len(), 6);
    for (name, case) in cases {
        let c = &case["config"];
        let get = |k: &str, d: f64| c.get(k).and_then(|v| v.as_f64()).unwrap_or(d) as f32;
        let cfg = SamplerConfig {
            temperature: get("temperature", 1.0),
            top_k: get("top_k", 0.0) as usize,
            top_p: get("top_p", 1.0),
            min_p: get("min_p", 0.0),
            repetition_penalty: get("repetition_penalty", 1.0),
            ..SamplerConfig::default()
        };
        let logits: Array1<f32> = f.array(&name, "logits").unwrap();
        let history: Vec<u32> = f
            .indices(&name, "history")
            .unwrap()
            .iter()
            .map(|&i| i as u32)
            .collect();
        let want: Array1<f32> = f.array(&name, "probs").unwrap();
        let ours = Sampler::new(cfg)
            .unwrap()
            .distribution(&logits, &history)
            .unwrap();
        for (i, (&q, &p)) in ours.iter().zip(want.iter()).enumerate() {
            assert!((q - p as f64).abs() < 1e-6, "{name}: p[{i}] = {q}, HF {p}");
            assert_eq!(q == 0.0, p == 0.0, "{name}: token {i} kept differently");
        }
    }
}
