//! The acceptance rule on hand-made distributions: the first emitted token has exactly
//! the target's distribution p, whatever the draft's q, checked statistically; prompt
//! lookup; and the errors.

use ch01_foundations::init::seeded_rng;
use ch01_foundations::probability::sample_categorical;
use ch12_inference::speculative::{SpecError, accept, accept_greedy, prompt_lookup};
use ndarray::{Array2, array};

/// Pearson's chi-square of `counts` against probabilities `p` (cells with p = 0 must
/// be empty, else infinity).
fn chi_square(counts: &[u64], p: &[f64]) -> f64 {
    let n: u64 = counts.iter().sum();
    counts
        .iter()
        .zip(p)
        .map(|(&c, &p)| {
            let e = p * n as f64;
            if e == 0.0 {
                if c == 0 { 0.0 } else { f64::INFINITY }
            } else {
                (c as f64 - e).powi(2) / e
            }
        })
        .sum()
}

/// 100,000 seeded trials: the draft samples k tokens from q (the same q each position,
/// for simplicity; p varies by row), the rule keeps a prefix, and we count the first
/// emitted token. Its distribution must be p's first row.
fn first_token_counts(p: &Array2<f32>, q: &Array2<f32>, k: usize, seed: u64) -> Vec<u64> {
    let mut rng = seeded_rng(seed);
    let mut counts = vec![0u64; p.ncols()];
    for _ in 0..100_000 {
        let draft: Vec<u32> = (0..k)
            .map(|i| sample_categorical(&q.row(i), &mut rng) as u32)
            .collect();
        let (a, next) = accept(p.view(), q.view(), &draft, &mut rng);
        let first = if a > 0 { draft[0] } else { next };
        counts[first as usize] += 1;
    }
    counts
}

/// Chi-square with 4 cells has 3 degrees of freedom; P(χ²₃ > 16.27) = 0.001. The
/// trials are seeded, so the test is deterministic; the threshold says how unlikely a
/// failure would be for a correct rule with another seed.
const CHI2_3DF_P001: f64 = 16.27;

#[test]
fn first_token_has_the_target_distribution() {
    let p = array![
        [0.5f32, 0.2, 0.2, 0.1],
        [0.1, 0.6, 0.2, 0.1],
        [0.25, 0.25, 0.25, 0.25],
        [0.7, 0.1, 0.1, 0.1]
    ];
    // a draft that over-weights some tokens and misses one entirely
    let q = array![
        [0.1f32, 0.6, 0.3, 0.0],
        [0.1, 0.6, 0.3, 0.0],
        [0.1, 0.6, 0.3, 0.0]
    ];
    let want: Vec<f64> = p.row(0).iter().map(|&x| f64::from(x)).collect();
    for k in 1..=3 {
        let pk = p.slice(ndarray::s![..k + 1, ..]).to_owned();
        let qk = q.slice(ndarray::s![..k, ..]).to_owned();
        let counts = first_token_counts(&pk, &qk, k, 7 + k as u64);
        let chi2 = chi_square(&counts, &want);
        assert!(
            chi2 < CHI2_3DF_P001,
            "k = {k}: counts {counts:?}, chi² = {chi2}"
        );
        // and no frequency more than 0.005 from p (≈ 3 standard errors at n = 1e5)
        for (c, w) in counts.iter().zip(&want) {
            assert!((*c as f64 / 1e5 - w).abs() < 0.005, "k = {k}: {counts:?}");
        }
    }
}

#[test]
fn a_draft_equal_to_the_target_is_always_accepted() {
    let p = array![[0.3f32, 0.7], [0.4, 0.6], [0.5, 0.5]];
    let q = p.slice(ndarray::s![..2, ..]).to_owned();
    let mut rng = seeded_rng(1);
    for _ in 0..1000 {
        let draft: Vec<u32> = (0..2)
            .map(|i| sample_categorical(&q.row(i), &mut rng) as u32)
            .collect();
        assert_eq!(accept(p.view(), q.view(), &draft, &mut rng).0, 2);
    }
}

#[test]
fn a_point_mass_draft_is_kept_with_probability_p_and_never_resampled() {
    // q puts all mass on token 1: accepted with p(1) = 0.3; a rejection draws from p
    // without token 1.
    let p = array![[0.5f32, 0.3, 0.2], [1.0, 0.0, 0.0]];
    let q = array![[0.0f32, 1.0, 0.0]];
    let mut rng = seeded_rng(2);
    let mut counts = [0u64; 3];
    for _ in 0..100_000 {
        let (a, next) = accept(p.view(), q.view(), &[1], &mut rng);
        counts[if a == 1 { 1 } else { next as usize }] += 1;
    }
    // two degrees of freedom: P(χ²₂ > 13.82) = 0.001
    let chi2 = chi_square(&counts, &[0.5, 0.3, 0.2]);
    assert!(chi2 < 13.82, "{counts:?} chi² = {chi2}");
}

#[test]
fn greedy_acceptance_keeps_the_agreeing_prefix() {
    let logits = array![[0.0f32, 2.0, 1.0], [3.0, 0.0, 1.0], [0.0, 0.0, 5.0]];
    assert_eq!(accept_greedy(logits.view(), &[1, 0]), (2, 2));
    assert_eq!(accept_greedy(logits.view(), &[1, 2]), (1, 0));
    assert_eq!(accept_greedy(logits.view(), &[0, 0]), (0, 1));
    assert_eq!(
        accept_greedy(logits.slice(ndarray::s![..1, ..]), &[]),
        (0, 1)
    );
}

#[test]
fn prompt_lookup_copies_what_followed_the_last_match() {
    let ids = [5, 6, 7, 8, 9, 5, 6, 1, 2, 5, 6];
    assert_eq!(prompt_lookup(&ids, 2, 3), vec![1, 2, 5]); // latest earlier "5 6"
    assert_eq!(prompt_lookup(&ids, 2, 10), vec![1, 2, 5, 6]);
    assert_eq!(prompt_lookup(&ids, 3, 3), Vec::<u32>::new()); // "6 5 6" never seen
    assert_eq!(prompt_lookup(&[4], 1, 3), Vec::<u32>::new());
}

#[test]
fn errors_name_the_problem() {
    assert_eq!(
        SpecError::NoDraft.to_string(),
        "draft length k = 0: speculation needs at least one draft token"
    );
    assert!(SpecError::BadTemperature(-1.0).to_string().contains("-1"));
}
