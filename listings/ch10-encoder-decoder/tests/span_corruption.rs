//! Span corruption: the noise fraction, the span-length distribution, the sentinel
//! order, and that input and target give back the original, over many seeds; errors
//! for settings that cannot be met.

use std::collections::HashMap;

use ch01_foundations::init::seeded_rng;
use ch10_encoder_decoder::t5::span_corruption::{
    SpanCorruptionError, demo, noise_counts, random_spans_noise_mask, reconstruct,
    sentinel, span_corruption,
};

const VOCAB: usize = 1000;

#[test]
fn noise_fraction_is_round_l_times_density_at_every_length() {
    for length in 2..=600usize {
        let want =
            ((length as f64 * 0.15).round_ties_even() as usize).clamp(1, length - 1);
        let mask =
            random_spans_noise_mask(length, 0.15, 3.0, &mut seeded_rng(length as u64))
                .unwrap();
        assert_eq!(mask.len(), length);
        assert_eq!(mask.iter().filter(|&&m| m).count(), want, "length {length}");
        assert!(!mask[0], "a sequence starts with kept tokens");
        assert!(mask[length - 1], "and ends with noise");
    }
    let (noise, spans) = noise_counts(512, 0.15, 3.0).unwrap();
    assert_eq!((noise, spans), (77, 26)); // 76.8 rounds to 77; 77 / 3 = 25.67 to 26
    // "the noise plus one sentinel per span, about a fifth of the original (103 tokens)"
    let tokens: Vec<usize> = (0..512).collect();
    let (_, target) =
        span_corruption(&tokens, VOCAB, 0.15, 3.0, &mut seeded_rng(1)).unwrap();
    assert_eq!(target.len(), 103);
    assert!((target.len() as f64 / 512.0 - 0.2).abs() < 0.01);
}

/// Runs of `true` in a mask, in order.
fn noise_spans(mask: &[bool]) -> Vec<usize> {
    let mut spans = Vec::new();
    for (t, &m) in mask.iter().enumerate() {
        match (m, t > 0 && mask[t - 1]) {
            (true, true) => *spans.last_mut().unwrap() += 1,
            (true, false) => spans.push(1),
            _ => {}
        }
    }
    spans
}

/// C(a, b) in f64 (exact enough for a < 100).
fn choose(a: usize, b: usize) -> f64 {
    if b > a {
        return 0.0;
    }
    (0..b).fold(1.0, |c, i| c * (a - i) as f64 / (i + 1) as f64)
}

#[test]
fn span_lengths_follow_a_uniform_random_segmentation() {
    // L = 512: 77 noise tokens in 26 spans, mean 77/26 ≈ 2.96. Every cutting of 77 into
    // 26 non-empty spans is equally likely, so a span has length l with probability
    // C(77 - 1 - l, 24) / C(76, 25).
    let (n, k, samples) = (77, 26, 2000);
    let mut counts: HashMap<usize, usize> = HashMap::new();
    for seed in 0..samples {
        let mask =
            random_spans_noise_mask(512, 0.15, 3.0, &mut seeded_rng(seed)).unwrap();
        let spans = noise_spans(&mask);
        assert_eq!(spans.len(), k, "seed {seed}");
        assert_eq!(spans.iter().sum::<usize>(), n);
        for l in spans {
            *counts.entry(l).or_default() += 1;
        }
    }
    let total = (samples as usize * k) as f64;
    // "about a third for l = 1"
    let p1 = choose(n - 2, k - 2) / choose(n - 1, k - 1);
    assert!((0.3..0.36).contains(&p1), "P(length 1) = {p1}");
    for l in 1..=8 {
        let exact = choose(n - 1 - l, k - 2) / choose(n - 1, k - 1);
        let seen = *counts.get(&l).unwrap_or(&0) as f64 / total;
        eprintln!("span length {l}: seen {seen:.4}, exact {exact:.4}");
        assert!(
            (seen - exact).abs() < 0.01,
            "length {l}: seen {seen:.4}, exact {exact:.4}"
        );
    }
    let mean = counts.iter().map(|(&l, &c)| (l * c) as f64).sum::<f64>() / total;
    assert!((mean - 77.0 / 26.0).abs() < 1e-9, "mean span length {mean}");
}

#[test]
fn sentinels_count_down_from_the_top_in_order() {
    let tokens: Vec<usize> = (0..200).map(|i| (i * 7) % 500).collect();
    let (input, target) =
        span_corruption(&tokens, VOCAB, 0.15, 3.0, &mut seeded_rng(3)).unwrap();
    let (noise, spans) = noise_counts(200, 0.15, 3.0).unwrap();
    let in_input: Vec<usize> = input.iter().copied().filter(|&t| t >= 500).collect();
    let in_target: Vec<usize> = target.iter().copied().filter(|&t| t >= 500).collect();
    let want: Vec<usize> = (0..spans).map(|i| sentinel(i, VOCAB)).collect();
    assert_eq!(want[0], VOCAB - 1, "<extra_id_0> is the last id");
    assert_eq!(in_input, want);
    assert_eq!(in_target, want);
    assert_eq!(
        target[0],
        VOCAB - 1,
        "the target opens with the first sentinel"
    );
    assert_eq!(input.len(), 200 - noise + spans);
    assert_eq!(target.len(), noise + spans);
}

#[test]
fn input_and_target_give_back_the_original() {
    for seed in 0..300u64 {
        let length = 2 + (seed as usize * 37) % 400;
        let tokens: Vec<usize> = (0..length)
            .map(|i| (i * 13 + seed as usize) % 700)
            .collect();
        let (input, target) =
            span_corruption(&tokens, VOCAB, 0.15, 3.0, &mut seeded_rng(seed)).unwrap();
        let (_, spans) = noise_counts(length, 0.15, 3.0).unwrap();
        assert_eq!(
            reconstruct(&input, &target, VOCAB, spans),
            tokens,
            "seed {seed}"
        );
    }
}

#[test]
fn seeded_and_deterministic() {
    let tokens: Vec<usize> = (0..100).collect();
    let a = span_corruption(&tokens, VOCAB, 0.15, 3.0, &mut seeded_rng(9)).unwrap();
    let b = span_corruption(&tokens, VOCAB, 0.15, 3.0, &mut seeded_rng(9)).unwrap();
    let c = span_corruption(&tokens, VOCAB, 0.15, 3.0, &mut seeded_rng(10)).unwrap();
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn errors_name_the_problem() {
    let rng = &mut seeded_rng(0);
    assert_eq!(
        noise_counts(10, 0.0, 3.0),
        Err(SpanCorruptionError::Density(0.0))
    );
    assert_eq!(
        noise_counts(10, 0.15, 0.5),
        Err(SpanCorruptionError::SpanLength(0.5))
    );
    let e = noise_counts(10, 0.9, 1.0).unwrap_err();
    assert_eq!(
        e,
        SpanCorruptionError::TooManySpans {
            length: 10,
            spans: 9,
            kept: 1
        }
    );
    let tokens = [
        5, 999, 7, 1, 2, 3, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
    ];
    let e = span_corruption(&tokens, VOCAB, 0.15, 3.0, rng).unwrap_err();
    assert_eq!(
        e.to_string(),
        "span corruption: token 999 at position 1 collides with the sentinels, the ids from 999 to the top of the vocabulary (1000 ids)"
    );
}

#[test]
fn the_committed_demo_is_what_the_code_prints() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../src/figures/ch10/span-corruption.txt");
    let committed = std::fs::read_to_string(&path).unwrap();
    assert_eq!(
        committed,
        demo(0),
        "rerun: cargo xtask figures (or the span_corruption example)"
    );
}
