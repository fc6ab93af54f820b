//! Solutions to the chapter's exercises on the model and on decoding (page "Exercises"),
//! tested in tests/exercises.rs.

use ch01_foundations::probability::sample_categorical;
use ch01_foundations::softmax::{log_softmax, softmax};
use ndarray::{Array1, Array2, Array4, Axis, s};
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

// ANCHOR: ex_cross_attention_map
/// Where each target position of decoder layer `layer` looks in the source: the
/// cross-attention probabilities of the last forward pass.
// src: [B, S], tgt_in: [B, T] -> [B, heads, T, S]
pub fn cross_attention_map(
    model: &mut Transformer,
    src: &Array2<usize>,
    tgt_in: &Array2<usize>,
    layer: usize,
) -> Array4<f32> {
    model.forward(src, tgt_in);
    model.decoder.layers[layer]
        .cross_attn
        .weights()
        .expect("forward caches the weights")
        .clone()
}
// ANCHOR_END: ex_cross_attention_map

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

// ANCHOR: ex_smoothing_floor
/// The lowest loss label smoothing allows: the entropy of the smoothed target
/// q = (1 - ε)·onehot + ε/V, reached when softmax(logits) = q exactly.
pub fn smoothed_loss_floor(vocab: usize, eps: f32) -> f32 {
    let v = vocab as f64;
    let (eps, q_true) = (f64::from(eps), 1.0 - f64::from(eps) + f64::from(eps) / v);
    let q_other = eps / v;
    let h = |q: f64| if q > 0.0 { -q * q.ln() } else { 0.0 };
    (h(q_true) + (v - 1.0) * h(q_other)) as f32
}
// ANCHOR_END: ex_smoothing_floor
