//! Worked solutions to the chapter's exercises (page "Exercises"), each tested in
//! `tests/exercises.rs`.

use std::collections::HashMap;

use ch01_foundations::probability::argmax;
use ndarray::{Array1, Array2, Axis, s};

use crate::audio::N_SAMPLES;
#[cfg(doc)]
use crate::audio::mel::mel_filters;
use crate::audio::mel::{hz_to_mel, mel_to_hz};
use crate::text_to_text::rouge::{Score, tokenize};
#[cfg(doc)]
use crate::transcribe;
use crate::transcribe::{DecodingRules, EOT, NO_TIMESTAMPS, SOT};
use crate::whisper::{Whisper, WhisperError};

// ANCHOR: rouge_n
/// Exercise 1: ROUGE-N as `rouge-score` computes it. The overlap counts each n-gram as
/// often as the side that has it fewer times (clipping), so repeating a right word does
/// not raise precision; P and R divide by each side's n-gram count (at least 1).
pub fn rouge_n(reference: &str, prediction: &str, n: usize) -> Score {
    assert!(n >= 1, "rouge_n: n-grams of length {n}");
    let grams = |text: &str| -> HashMap<Vec<String>, usize> {
        let tokens = tokenize(text);
        let mut counts = HashMap::new();
        for g in tokens.windows(n) {
            *counts.entry(g.to_vec()).or_insert(0) += 1;
        }
        counts
    };
    let (r, p) = (grams(reference), grams(prediction));
    let overlap: usize = r
        .iter()
        .map(|(g, &c)| c.min(p.get(g).copied().unwrap_or(0)))
        .sum();
    let total = |m: &HashMap<Vec<String>, usize>| m.values().sum::<usize>().max(1) as f64;
    let (precision, recall) = (overlap as f64 / total(&p), overlap as f64 / total(&r));
    let fmeasure = if precision + recall > 0.0 {
        2.0 * precision * recall / (precision + recall)
    } else {
        0.0
    };
    Score {
        precision,
        recall,
        fmeasure,
    }
}
// ANCHOR_END: rouge_n

// ANCHOR: lcs
/// Exercise 2: the longest common subsequence itself, not just its length. Keep the
/// whole (|a| + 1) × (|b| + 1) table, then walk back from the corner: a match came
/// diagonally, otherwise from the larger neighbour (up on ties).
pub fn lcs<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    let mut table = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            table[i + 1][j + 1] = if x == y {
                table[i][j] + 1
            } else {
                table[i][j + 1].max(table[i + 1][j])
            };
        }
    }
    let (mut i, mut j, mut out) = (a.len(), b.len(), Vec::new());
    while i > 0 && j > 0 {
        if a[i - 1] == b[j - 1] {
            out.push(a[i - 1].clone());
            (i, j) = (i - 1, j - 1);
        } else if table[i - 1][j] >= table[i][j - 1] {
            i -= 1;
        } else {
            j -= 1;
        }
    }
    out.reverse();
    out
}
// ANCHOR_END: lcs

// ANCHOR: windows
/// Exercise 3: audio longer than Whisper's 30 s, as windows the model can read. Window i
/// starts at i · hop samples and holds at most `N_SAMPLES`; with hop < N_SAMPLES the
/// windows overlap by N_SAMPLES - hop, so any stretch of at most that length (a word cut
/// by one boundary) lies whole inside some window. The last window ends at the end.
// samples: [n] -> windows: each [<= N_SAMPLES], as slices of samples
pub fn windows(samples: &[f32], hop: usize) -> Vec<&[f32]> {
    assert!(
        (1..=N_SAMPLES).contains(&hop),
        "windows: hop {hop} must be in 1..={N_SAMPLES} samples"
    );
    let mut out = vec![];
    let mut start = 0;
    loop {
        let end = (start + N_SAMPLES).min(samples.len());
        out.push(&samples[start..end]);
        if end == samples.len() {
            return out;
        }
        start += hop;
    }
}
// ANCHOR_END: windows

// ANCHOR: mel_centres
/// Exercise 4: the centre frequencies, in Hz, of the `n_mels` triangles of
/// [`mel_filters`]: n_mels + 2 points evenly spaced in mels from 0 Hz to sr / 2, and
/// filter i peaks at point i + 1.
// -> [n_mels]
pub fn mel_centres(sample_rate: u32, n_mels: usize) -> Vec<f64> {
    let top = hz_to_mel(f64::from(sample_rate) / 2.0);
    let step = top / (n_mels + 1) as f64;
    (1..=n_mels).map(|i| mel_to_hz(i as f64 * step)).collect()
}
// ANCHOR_END: mel_centres

/// `<|0.00|>`, the first of tiny.en's 1,501 timestamp tokens, 20 ms apart, up to
/// `<|30.00|>`, the last id of the vocabulary.
pub const TIMESTAMP_BEGIN: u32 = NO_TIMESTAMPS + 1;

// ANCHOR: timestamp_rules
/// Exercise 5: CTranslate2's timestamp rules, applied to one step's logits after the
/// suppress rules. `text` is what has been generated after <|startoftranscript|>.
// logits: [vocab] -> [vocab], the forbidden tokens at -inf
pub fn timestamp_rules(logits: &mut Array1<f32>, text: &[u32], max_initial: usize) {
    let (v, tb) = (logits.len(), TIMESTAMP_BEGIN as usize);
    forbid(logits, NO_TIMESTAMPS as usize..tb);
    let is_time = |t: u32| t >= TIMESTAMP_BEGIN;
    match text {
        [] => {
            // The text opens with a timestamp, at most `max_initial` steps (20 ms) in.
            forbid(logits, 0..tb);
            return forbid(logits, (tb + max_initial + 1).min(v)..v);
        }
        // A pair just closed (a lone first timestamp counts as one): text comes next.
        [.., last]
            if is_time(*last) && text.iter().rev().nth(1).is_none_or(|&p| is_time(p)) =>
        {
            return forbid(logits, tb..v);
        }
        [.., last] if is_time(*last) => {
            forbid(logits, 0..EOT as usize); // an open pair: close it (or end)...
            forbid(logits, tb..*last as usize); // ...no earlier than it opened
        }
        // After text, a timestamp must come later than the last one.
        _ => {
            if let Some(&t) = text.iter().rev().find(|&&t| is_time(t)) {
                forbid(logits, tb..t as usize + 1);
            }
        }
    }
    // If the timestamps together are likelier than the likeliest text token, take one.
    let (words, times) = logits.view().split_at(Axis(0), tb);
    let max_word = words.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let m = times.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    if m > f32::NEG_INFINITY && m + times.mapv(|t| (t - m).exp()).sum().ln() > max_word {
        forbid(logits, 0..tb);
    }
}
// ANCHOR_END: timestamp_rules

/// Sets the logits of the tokens in `r` to -inf.
fn forbid(l: &mut Array1<f32>, r: std::ops::Range<usize>) {
    l.slice_mut(s![r]).fill(f32::NEG_INFINITY);
}

// ANCHOR: greedy_timestamps
/// Greedy decoding from <|startoftranscript|> alone, so that the model writes
/// timestamps: [`transcribe::greedy`]'s loop with [`timestamp_rules`] after the
/// suppress rules, 1 s (50 steps) the latest first timestamp, as CTranslate2's default.
// m: [1500, C] -> ids after the prompt, timestamps included
pub fn greedy_with_timestamps(
    model: &mut Whisper,
    m: &Array2<f32>,
    rules: &DecodingRules,
) -> Result<Vec<u32>, WhisperError> {
    let (mut ids, mut cache) = (vec![SOT], model.new_cache(m)?);
    while ids.len() - 1 < rules.max_length / 2 {
        let h = model.hidden_cached(&ids[cache.len()..], &mut cache)?;
        let mut logits = model.last_logits(&h);
        rules.suppress_in(&mut logits, ids.len() == 1);
        timestamp_rules(&mut logits, &ids[1..], 50);
        let next = argmax(logits.iter().copied()) as u32;
        if next == EOT {
            break;
        }
        ids.push(next);
    }
    Ok(ids.split_off(1))
}
// ANCHOR_END: greedy_timestamps
