//! Speculative decoding on the real SmolLM2-135M: greedy speculative output equals
//! greedy target output token for token, for both drafts; the cache roll-back leaves
//! the same state as never having fed the rejected tokens; and the first token under
//! speculative sampling has the target's distribution.

use std::sync::OnceLock;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::probability::sample_categorical;
use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use ch12_inference::speculative::{
    Drafter, Sampling, SpecError, accept, softmax_t, speculative_generate,
};
use ndarray::{Array2, Axis, stack};

fn model() -> &'static (Llama, Llama, GgufTokenizer) {
    static M: OnceLock<(Llama, Llama, GgufTokenizer)> = OnceLock::new();
    M.get_or_init(|| {
        let path = models::SMOLLM2_135M_INSTRUCT
            .dir()
            .unwrap_or_else(|e| panic!("{e}"))
            .join(models::SMOLLM2_GGUF);
        let g = Gguf::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let target = Llama::from_gguf(&g).unwrap();
        let draft = target.first_layers(6);
        (target, draft, GgufTokenizer::from_gguf(&g).unwrap())
    })
}

const PROMPTS: [&str; 2] = [
    "The key-value cache stores the keys and values of every position, so that",
    "def fib(n):\n    if n < 2:\n        return n\n    return",
];

#[test]
fn greedy_speculative_output_equals_greedy_target_output() {
    let (target, small, tok) = model();
    for prompt in PROMPTS {
        let ids = tok.encode(prompt);
        let want = target.greedy(&ids, 48, None);
        let mut rng = seeded_rng(0);
        for (name, mut drafter) in [
            ("lookup", Drafter::PromptLookup { n: 2 }),
            ("6 layers", Drafter::model(small)),
        ] {
            let (got, stats) = speculative_generate(
                target,
                &mut drafter,
                &ids,
                (48, 4),
                Sampling::Greedy,
                None,
                &mut rng,
            )
            .unwrap();
            assert_eq!(got, want, "{name} draft on {prompt:?}");
            assert!(stats.steps <= 48, "{name}: {stats:?}");
        }
    }
}

#[test]
fn truncating_the_cache_forgets_the_rejected_positions() {
    let (target, _, tok) = model();
    let ids = tok.encode("Speculative decoding rolls back");
    let (head, tail) = ids.split_at(3);
    let mut cache = target.new_cache();
    target.hidden_cached(head, &mut cache);
    target.hidden_cached(&[1, 2, 3], &mut cache); // rejected draft tokens
    cache.truncate(head.len());
    assert_eq!(cache.len(), head.len());
    let rolled = target.hidden_cached(tail, &mut cache);
    let mut fresh = target.new_cache();
    target.hidden_cached(head, &mut fresh);
    let clean = target.hidden_cached(tail, &mut fresh);
    assert_eq!(rolled, clean, "the same cache rows give the same bits");
}

/// The first emitted token depends only on the target's p and the draft's q at the
/// prompt's end (later rows matter only once the first draft token is kept), so the
/// test computes them once from the real models (the 6-layer draft), at T = 1, and runs
/// the rule 100,000 times: a draft token from q_0, kept or replaced. The 8 most likely
/// target tokens get a cell each, the rest one pooled cell: 8 degrees of freedom,
/// P(χ²₈ > 26.12) = 0.001.
#[test]
fn speculative_sampling_gives_the_target_first_token_distribution() {
    let (target, small, tok) = model();
    let ids = tok.encode("Once upon a time, there was a");
    let mut rng = seeded_rng(3);
    // one draft, with its q rows, and the target's p rows after it
    let mut drafter = Drafter::model(small);
    let (draft, q) =
        drafter.propose(&ids, 1, Sampling::Temperature(1.0), 49152, &mut rng);
    let mut fed = ids.clone();
    fed.extend(&draft);
    let logits = target.forward(&fed);
    let rows = logits.slice(ndarray::s![ids.len() - 1.., ..]);
    let p_rows: Vec<_> = rows.axis_iter(Axis(0)).map(|r| softmax_t(r, 1.0)).collect();
    let p: Array2<f32> = stack(
        Axis(0),
        &p_rows.iter().map(|r| r.view()).collect::<Vec<_>>(),
    )
    .unwrap();
    let mut order: Vec<usize> = (0..p.ncols()).collect();
    order.sort_by(|&a, &b| p[[0, b]].total_cmp(&p[[0, a]]));
    let cell = |x: usize| order[..8].iter().position(|&y| y == x).unwrap_or(8);
    let mut counts = [0u64; 9];
    let n = 100_000;
    for _ in 0..n {
        let d = [sample_categorical(&q.row(0), &mut rng) as u32];
        let (p01, q0) = (p.slice(ndarray::s![..2, ..]), q.slice(ndarray::s![..1, ..]));
        let (a, next) = accept(p01, q0, &d, &mut rng);
        let first = if a > 0 { d[0] } else { next };
        counts[cell(first as usize)] += 1;
    }
    let mut want: Vec<f64> = order[..8].iter().map(|&x| f64::from(p[[0, x]])).collect();
    want.push(1.0 - want.iter().sum::<f64>());
    let chi2: f64 = counts
        .iter()
        .zip(&want)
        .map(|(&c, &w)| (c as f64 - w * n as f64).powi(2) / (w * n as f64))
        .sum();
    assert!(
        chi2 < 26.12,
        "counts {counts:?}, want {want:?}, chi² = {chi2}"
    );
}

#[test]
fn bad_requests_are_errors() {
    let (target, _, _) = model();
    let mut d = Drafter::PromptLookup { n: 2 };
    let mut rng = seeded_rng(0);
    let mut run = |prompt: &[u32], k, s| {
        speculative_generate(target, &mut d, prompt, (4, k), s, None, &mut rng)
            .map(|_| ())
    };
    assert_eq!(run(&[], 2, Sampling::Greedy), Err(SpecError::EmptyPrompt));
    assert_eq!(run(&[1], 0, Sampling::Greedy), Err(SpecError::NoDraft));
    assert_eq!(
        run(&[1], 2, Sampling::Temperature(0.0)),
        Err(SpecError::BadTemperature(0.0))
    );
}
