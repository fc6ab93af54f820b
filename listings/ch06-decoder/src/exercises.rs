//! Solutions to the chapter's exercises (page "Exercises"), tested in tests/exercises.rs.

use ch01_foundations::probability::argmax;
use ch01_foundations::probability::sample_categorical;
use ch01_foundations::softmax::softmax;
use ndarray::{Array3, Axis, s};
use rand::Rng;

use crate::block::DecoderBlock;
use crate::cost::step_flops;
use crate::generate::GenerateError;
use crate::lm::{DecoderLm, LmConfig};

/// The prompt checks of `generate_greedy`, without the length check.
fn check_prompt(model: &DecoderLm, prompt: &[usize]) -> Result<(), GenerateError> {
    if prompt.is_empty() {
        return Err(GenerateError::EmptyPrompt);
    }
    let vocab = model.cfg.vocab;
    match prompt.iter().enumerate().find(|(_, id)| **id >= vocab) {
        Some((position, &id)) => Err(GenerateError::OutOfVocab {
            position,
            id,
            vocab,
        }),
        None => Ok(()),
    }
}

// ANCHOR: ex_sliding
/// Exercise 1: generation past the context, nanoGPT style: condition on the last max_len
/// tokens only. Every token then sits at a new position each step.
pub fn generate_sliding(
    model: &mut DecoderLm,
    prompt: &[usize],
    n_new: usize,
) -> Result<Vec<usize>, GenerateError> {
    check_prompt(model, prompt)?;
    let max_len = model.cfg.max_len;
    let mut ids = prompt.to_vec();
    for _ in 0..n_new {
        let window = &ids[ids.len().saturating_sub(max_len)..];
        let logits = model.next_token_logits(window);
        ids.push(argmax(logits.iter().copied()));
    }
    Ok(ids)
}
// ANCHOR_END: ex_sliding

// ANCHOR: ex_prefix
/// Exercise 2: a decoder's output at t is the output of the first t + 1 tokens alone.
/// Returns max |y_full[t] - y_prefix(t)[t]| over every t: 0 means a step never needs
/// to recompute the rows it already has (the promise a KV cache relies on).
// x: [1, T, C] -> scalar
pub fn prefix_consistency(block: &mut DecoderBlock, x: &Array3<f32>) -> f32 {
    let full = block.forward(x, None);
    let mut worst = 0.0f32;
    for t in 0..x.dim().1 {
        let prefix = block.forward(&x.slice(s![.., ..=t, ..]).to_owned(), None);
        let d = &prefix.slice(s![0, t, ..]) - &full.slice(s![0, t, ..]);
        worst = d.iter().fold(worst, |m, v| m.max(v.abs()));
    }
    worst
}
// ANCHOR_END: ex_prefix

// ANCHOR: ex_sample
/// Exercise 3: sampling from softmax(logits / temperature) instead of taking the argmax.
pub fn generate_sampled(
    model: &mut DecoderLm,
    prompt: &[usize],
    n_new: usize,
    temperature: f32,
    rng: &mut impl Rng,
) -> Result<Vec<usize>, GenerateError> {
    assert!(
        temperature > 0.0,
        "temperature {temperature} must be positive"
    );
    check_prompt(model, prompt)?;
    if prompt.len() + n_new > model.cfg.max_len {
        let (prompt, max_len) = (prompt.len(), model.cfg.max_len);
        return Err(GenerateError::TooLong {
            prompt,
            n_new,
            max_len,
        });
    }
    let mut ids = prompt.to_vec();
    for _ in 0..n_new {
        let logits = model.next_token_logits(&ids) / temperature;
        ids.push(sample_categorical(&softmax(&logits, Axis(0)), rng));
    }
    Ok(ids)
}
// ANCHOR_END: ex_sample

// ANCHOR: ex_total_flops
/// Exercise 4: FLOPs of generating n_new tokens after a prompt of p tokens, without and
/// with a KV cache (the cached run also needs one full pass over the prompt).
// -> (recompute, cached)
pub fn generation_flops(cfg: &LmConfig, p: usize, n_new: usize) -> (f64, f64) {
    let recompute = (p..p + n_new).map(|t| step_flops(cfg, t, false)).sum();
    let prompt_pass = if p > 1 {
        step_flops(cfg, p - 1, false)
    } else {
        0.0
    };
    let cached = prompt_pass
        + (p..p + n_new)
            .map(|t| step_flops(cfg, t, true))
            .sum::<f64>();
    (recompute, cached)
}
// ANCHOR_END: ex_total_flops
