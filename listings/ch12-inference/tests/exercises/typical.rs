//! The exercise's solution: typical sampling, worked on paper and against Hugging
//! Face's `TypicalLogitsWarper`.

use ch12_inference::exercises::typical::typical;
use ch12_inference::sampling::probabilities;
use golden::Fixture;
use ndarray::Array1;

#[test]
fn typical_can_drop_the_most_likely_token() {
    // p = [0.4, 0.25, 0.15, 0.1, 0.06, 0.04]: H ≈ 1.526 nats; the surprises −ln p are
    // 0.92, 1.39, 1.90, 2.30, 2.81, 3.22, so the ranking is token 1, 2, 0, ... At mass
    // 0.3, token 1 (0.25) is not enough, token 2 brings 0.40 > 0.3: {1, 2} stay and the
    // most likely token is gone. The surprise of token 0 is too far below H.
    let p = [0.4f64, 0.25, 0.15, 0.1, 0.06, 0.04];
    let mut l: Array1<f32> = p.iter().map(|q| q.ln() as f32).collect();
    typical(&mut l, 0.3);
    let q = probabilities(&l);
    let want = [0.0, 0.25 / 0.4, 0.15 / 0.4, 0.0, 0.0, 0.0];
    for (i, (a, b)) in q.iter().zip(want).enumerate() {
        assert!((a - b).abs() < 1e-6, "p[{i}] = {a}, want {b}");
    }
    // Mass 1 keeps everything.
    let mut all: Array1<f32> = p.iter().map(|q| q.ln() as f32).collect();
    typical(&mut all, 1.0);
    assert!(all.iter().all(|x| x.is_finite()));
}

/// Against Hugging Face on 32 fixed logits, to 1e-6.
#[test]
fn typical_matches_hugging_face() {
    let f = Fixture::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/typical.json"
    ))
    .unwrap();
    let names: Vec<String> = f.cases().as_object().unwrap().keys().cloned().collect();
    assert_eq!(names.len(), 2);
    for name in names {
        let mut l: Array1<f32> = f.array(&name, "logits").unwrap();
        let want: Array1<f32> = f.array(&name, "probs").unwrap();
        typical(&mut l, f.scalar(&name, "mass").unwrap());
        for (i, (&q, &p)) in probabilities(&l).iter().zip(want.iter()).enumerate() {
            assert!((q - p as f64).abs() < 1e-6, "{name}: p[{i}] = {q}, HF {p}");
            assert_eq!(q == 0.0, p == 0.0, "{name}: token {i} kept differently");
        }
    }
}
