//! T5's pretraining objective (section "Span corruption"): about 15 % of the tokens, in
//! spans of mean length 3, are cut from the input and each span replaced by one
//! sentinel token; the target lists the cut spans, each after its sentinel. This
//! follows `random_spans_noise_mask` and `noise_span_to_unique_sentinel` in the T5
//! code base (google-research/text-to-text-transfer-transformer, preprocessors.py).

use rand::Rng;
use rand::seq::SliceRandom;
use thiserror::Error;

/// Settings that cannot be met, or tokens that would be taken for sentinels.
#[derive(Debug, Error, PartialEq)]
pub enum SpanCorruptionError {
    #[error("span corruption: noise_density = {0} must lie strictly between 0 and 1")]
    Density(f64),
    #[error("span corruption: mean_noise_span_length = {0} must be at least 1")]
    SpanLength(f64),
    #[error(
        "span corruption: {spans} noise spans need {spans} non-noise spans, but a \
         sequence of {length} leaves only {kept} non-noise tokens"
    )]
    TooManySpans {
        length: usize,
        spans: usize,
        kept: usize,
    },
    #[error(
        "span corruption: token {id} at position {position} collides with the sentinels, \
         the ids from {first_sentinel} to the top of the vocabulary ({vocab} ids)"
    )]
    SentinelInText {
        id: usize,
        position: usize,
        first_sentinel: usize,
        vocab: usize,
    },
}

// ANCHOR: counts
/// How many tokens are noise and in how many spans: round(L · density), kept within
/// [1, L - 1], and round(noise / mean span length), at least 1. Rounding is half to
/// even, as TensorFlow's `round`. Sequences shorter than 2 are treated as 2.
pub fn noise_counts(
    length: usize,
    noise_density: f64,
    mean_noise_span_length: f64,
) -> Result<(usize, usize), SpanCorruptionError> {
    if !(noise_density > 0.0 && noise_density < 1.0) {
        return Err(SpanCorruptionError::Density(noise_density));
    }
    if mean_noise_span_length.is_nan() || mean_noise_span_length < 1.0 {
        return Err(SpanCorruptionError::SpanLength(mean_noise_span_length));
    }
    let length = length.max(2);
    let noise =
        ((length as f64 * noise_density).round_ties_even() as usize).clamp(1, length - 1);
    let spans =
        ((noise as f64 / mean_noise_span_length).round_ties_even() as usize).max(1);
    let kept = length - noise;
    if spans > kept {
        return Err(SpanCorruptionError::TooManySpans {
            length,
            spans,
            kept,
        });
    }
    Ok((noise, spans))
}
// ANCHOR_END: counts

// ANCHOR: segmentation
/// n items cut into k non-empty segments, uniformly among all such cuttings: k - 1
/// cut points chosen from the n - 1 gaps by a shuffle. Returns the k lengths.
pub fn random_segmentation(n: usize, k: usize, rng: &mut impl Rng) -> Vec<usize> {
    assert!(
        1 <= k && k <= n,
        "random_segmentation: {k} segments of {n} items"
    );
    let mut cut = vec![false; n - 1];
    cut[..k - 1].fill(true);
    cut.shuffle(rng);
    let mut lengths = vec![1];
    for c in cut {
        if c {
            lengths.push(1);
        } else {
            *lengths.last_mut().expect("one segment at least") += 1;
        }
    }
    lengths
}
// ANCHOR_END: segmentation

// ANCHOR: mask
/// The noise mask of a sequence of `length`: non-noise and noise spans alternate,
/// starting with non-noise and ending with noise, `true` = noise. The noise spans'
/// lengths are drawn first, then the non-noise spans', as the T5 code does.
pub fn random_spans_noise_mask(
    length: usize,
    noise_density: f64,
    mean_noise_span_length: f64,
    rng: &mut impl Rng,
) -> Result<Vec<bool>, SpanCorruptionError> {
    let (noise, spans) = noise_counts(length, noise_density, mean_noise_span_length)?;
    let padded = length.max(2);
    let noise_lengths = random_segmentation(noise, spans, rng);
    let kept_lengths = random_segmentation(padded - noise, spans, rng);
    let mut mask = Vec::with_capacity(padded);
    for (kept, noisy) in kept_lengths.into_iter().zip(noise_lengths) {
        mask.extend(std::iter::repeat_n(false, kept));
        mask.extend(std::iter::repeat_n(true, noisy));
    }
    mask.truncate(length);
    Ok(mask)
}
// ANCHOR_END: mask

// ANCHOR: sentinels
/// The i-th sentinel (`<extra_id_i>` in T5's vocabulary): counted down from the top.
pub fn sentinel(i: usize, vocab: usize) -> usize {
    vocab - 1 - i
}

/// Each run of masked tokens becomes one sentinel, numbered in order; the unmasked
/// tokens stay. The input is `replace_spans(tokens, noise)`, the target
/// `replace_spans(tokens, !noise)`: what one keeps, the other cuts.
// tokens: [L], masked: [L] -> [L']
pub fn replace_spans(tokens: &[usize], masked: &[bool], vocab: usize) -> Vec<usize> {
    assert_eq!(tokens.len(), masked.len(), "replace_spans: tokens and mask");
    let mut out = Vec::new();
    let mut next = 0; // the next sentinel's number
    for (t, (&token, &m)) in tokens.iter().zip(masked).enumerate() {
        if !m {
            out.push(token);
        } else if t == 0 || !masked[t - 1] {
            out.push(sentinel(next, vocab)); // the first token of a run
            next += 1;
        }
    }
    out
}
// ANCHOR_END: sentinels

// ANCHOR: corrupt
/// One pretraining example from a sequence of token ids: (input, target). No token may
/// be a sentinel id: the sentinels must mean "a span was here" and nothing else.
// tokens: [L] -> input: [L - noise + spans], target: [noise + spans]
pub fn span_corruption(
    tokens: &[usize],
    vocab: usize,
    noise_density: f64,
    mean_noise_span_length: f64,
    rng: &mut impl Rng,
) -> Result<(Vec<usize>, Vec<usize>), SpanCorruptionError> {
    let (_, spans) = noise_counts(tokens.len(), noise_density, mean_noise_span_length)?;
    let first_sentinel = sentinel(spans - 1, vocab);
    if let Some(position) = tokens.iter().position(|&id| id >= first_sentinel) {
        let id = tokens[position];
        return Err(SpanCorruptionError::SentinelInText {
            id,
            position,
            first_sentinel,
            vocab,
        });
    }
    let noise = random_spans_noise_mask(
        tokens.len(),
        noise_density,
        mean_noise_span_length,
        rng,
    )?;
    let kept: Vec<bool> = noise.iter().map(|&n| !n).collect();
    Ok((
        replace_spans(tokens, &noise, vocab),
        replace_spans(tokens, &kept, vocab),
    ))
}
// ANCHOR_END: corrupt

// ANCHOR: reconstruct
/// The original sequence back from an (input, target) pair: each sentinel in the input
/// is replaced by what follows the same sentinel in the target, up to the next one.
// input: [L'], target: [L''] -> [L]
pub fn reconstruct(
    input: &[usize],
    target: &[usize],
    vocab: usize,
    spans: usize,
) -> Vec<usize> {
    let is_sentinel = |id: usize| id + spans >= vocab;
    let mut out = Vec::new();
    for &id in input {
        if !is_sentinel(id) {
            out.push(id);
            continue;
        }
        let at = target
            .iter()
            .position(|&t| t == id)
            .expect("every sentinel in the target");
        out.extend(target[at + 1..].iter().take_while(|&&t| !is_sentinel(t)));
    }
    out
}
// ANCHOR_END: reconstruct

/// The words the section corrupts: its own opening, one token a word.
pub const DEMO_TEXT: &str = "T5 kept the shape of the model of Chapter 7: an encoder reads \
the source, a decoder writes the target one token at a time, and cross-attention connects \
the two. What it changed is a list of small decisions, each argued for in the ablations \
of the paper, and a new objective for pretraining on unlabeled text.";

/// What the section prints: the words above corrupted with seed `seed`, density 0.15,
/// mean span length 3; a word's id is its index in the text, sentinels are shown as
/// T5's vocabulary writes them.
pub fn demo(seed: u64) -> String {
    let words: Vec<&str> = DEMO_TEXT.split_whitespace().collect();
    let ids: Vec<usize> = (0..words.len()).collect();
    let vocab = words.len() + 100; // 100 sentinels on top, as T5's 32,000 + 100
    let mut rng = ch01_foundations::init::seeded_rng(seed);
    let (input, target) = span_corruption(&ids, vocab, 0.15, 3.0, &mut rng)
        .expect("the demo text has no sentinel ids");
    let show = |seq: &[usize]| -> String {
        let shown: Vec<String> = seq
            .iter()
            .map(|&id| match words.get(id) {
                Some(w) => (*w).to_owned(),
                None => format!("<extra_id_{}>", vocab - 1 - id),
            })
            .collect();
        shown.join(" ")
    };
    let (noise, spans) = noise_counts(ids.len(), 0.15, 3.0).expect("valid settings");
    format!(
        "{} tokens, {noise} of them noise in {spans} spans (seed {seed})\n\n\
         input:  {}\n\ntarget: {}\n",
        ids.len(),
        show(&input),
        show(&target)
    )
}
