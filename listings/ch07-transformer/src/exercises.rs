//! Solutions to the chapter's exercises on the model and on decoding (page "Exercises"),
//! tested in tests/exercises.rs.

use ch01_foundations::probability::sample_categorical;
use ch01_foundations::softmax::{log_softmax, softmax};
use ndarray::{Array1, Array2, Axis, s};
use rand::Rng;

use crate::model::Transformer;

// ANCHOR: ex_sequence_log_prob
/// log p(y | x) of a given output in ONE teacher-forced pass: the decoder reads
/// (bos, y₁, …, y_n) and position t's distribution scores y_{t+1}, eos last.
// src: [S], y: [n] (no bos, no eos) -> log p(y, eos | src)
pub fn sequence_log_prob(
    model: &mut Transformer,
    src: &[usize],
    y: &[usize],
    bos: usize,
    eos: usize,
) -> f32 {
    let src = Array2::from_shape_vec((1, src.len()), src.to_vec()).expect("one row");
    let tgt_in: Vec<usize> = std::iter::once(bos).chain(y.iter().copied()).collect();
    let targets = y.iter().copied().chain(std::iter::once(eos));
    let n = tgt_in.len();
    let tgt_in = Array2::from_shape_vec((1, n), tgt_in).expect("one row");
    let logits = model.forward(&src, &tgt_in); // [1, n, V]
    let log_p = log_softmax(&logits.slice(s![0, .., ..]), Axis(1)); // [n, V]
    targets.enumerate().map(|(t, tok)| log_p[[t, tok]]).sum()
}
// ANCHOR_END: ex_sequence_log_prob

// ANCHOR: ex_min_length
/// Wraps a beam-search scorer so that eos is impossible until the output has at least
/// `min_len` tokens: a constraint is a change to the scores, not to the search.
pub fn with_min_length(
    mut step: impl FnMut(&[Vec<usize>]) -> Array2<f32>,
    eos: usize,
    min_len: usize,
) -> impl FnMut(&[Vec<usize>]) -> Array2<f32> {
    move |prefixes: &[Vec<usize>]| {
        let mut log_p = step(prefixes); // [k, V]
        if prefixes[0].len() <= min_len {
            // every prefix has the same length: bos + (len - 1) tokens
            log_p.column_mut(eos).fill(f32::NEG_INFINITY);
        }
        log_p
    }
}
// ANCHOR_END: ex_min_length

// ANCHOR: ex_sample
/// Ancestral sampling: draw each next token from softmax(logits / τ) instead of taking
/// the argmax. τ → 0 approaches greedy; τ = 1 samples the model's own distribution.
// src: [S] -> tokens (no bos, no eos), at most max_len
pub fn sample(
    model: &mut Transformer,
    src: &[usize],
    (bos, eos): (usize, usize),
    max_len: usize,
    temperature: f32,
    rng: &mut impl Rng,
) -> Vec<usize> {
    assert!(temperature > 0.0, "sample: temperature must be positive");
    let src = Array2::from_shape_vec((1, src.len()), src.to_vec()).expect("one row");
    let memory = model.encode(&src);
    let mut prefix = vec![bos];
    while prefix.len() <= max_len {
        let ids = Array2::from_shape_vec((1, prefix.len()), prefix.clone()).expect("row");
        let logits = model.decode(&memory, &ids); // [1, t, V]
        let last: Array1<f32> = logits.slice(s![0, -1, ..]).mapv(|z| z / temperature);
        let token = sample_categorical(&softmax(&last, Axis(0)), rng);
        if token == eos {
            break;
        }
        prefix.push(token);
    }
    prefix[1..].to_vec()
}
// ANCHOR_END: ex_sample
