//! The slow, obvious versions: the test oracles for the fast code, and the baseline
//! the chapter times it against.

use std::cmp::Reverse;

use rustc_hash::FxHashMap;

use super::pretokenize::pretokenize;
use super::train::{Trained, merged_id, words_as_bytes};
use super::{BpeError, Rank};

// ANCHOR: train_naive
/// BPE training as usually first written: after every merge, count every pair of every
/// word again. Same tie-breaking as [`super::train`]: highest count, then smallest pair.
pub fn train_naive(corpus: &[u8], vocab_size: usize) -> Result<Trained, BpeError> {
    let (mut words, freqs) = words_as_bytes(corpus, vocab_size)?;
    let mut t = Trained::start(&words, &freqs);
    let mut ids: FxHashMap<Vec<u8>, Rank> = t.ranks().into_iter().collect();
    while t.vocab.len() < vocab_size {
        let mut counts: FxHashMap<(Rank, Rank), i64> = FxHashMap::default();
        for (word, &f) in words.iter().zip(&freqs) {
            for p in word.windows(2) {
                *counts.entry((p[0], p[1])).or_default() += f;
            }
        }
        let best = counts
            .into_iter()
            .max_by_key(|&(pair, n)| (n, Reverse(pair)));
        let Some(((a, b), _)) = best else { break };
        let c = merged_id(&mut t.vocab, &mut ids, a, b);
        let mut removed = 0;
        for (word, &f) in words.iter_mut().zip(&freqs) {
            let merged = merge_pair(word, (a, b), c);
            removed += (word.len() - merged.len()) as i64 * f;
            *word = merged;
        }
        t.record((a, b), c, removed);
    }
    Ok(t)
}
// ANCHOR_END: train_naive

/// `word` with every `(a, b)`, left to right, replaced by `c`.
fn merge_pair(word: &[Rank], (a, b): (Rank, Rank), c: Rank) -> Vec<Rank> {
    let mut out = Vec::with_capacity(word.len());
    let mut i = 0;
    while i < word.len() {
        if i + 1 < word.len() && word[i] == a && word[i + 1] == b {
            out.push(c);
            i += 2;
        } else {
            out.push(word[i]);
            i += 1;
        }
    }
    out
}

// ANCHOR: encode_naive
/// Encoding by rank, written as plainly as possible: within each pre-token, start from
/// single bytes and repeatedly merge the adjacent pair whose concatenation has the
/// lowest rank (the leftmost of equals), until no adjacent pair is a token.
pub fn encode_naive(ranks: &FxHashMap<Vec<u8>, Rank>, text: &[u8]) -> Vec<Rank> {
    let mut ids = Vec::new();
    for piece in pretokenize(text) {
        let mut parts: Vec<Vec<u8>> = piece.iter().map(|&b| vec![b]).collect();
        loop {
            let best = (0..parts.len().saturating_sub(1))
                .filter_map(|i| {
                    ranks
                        .get(&[&parts[i][..], &parts[i + 1][..]].concat())
                        .map(|&r| (r, i))
                })
                .min();
            let Some((_, i)) = best else { break };
            let right = parts.remove(i + 1);
            parts[i].extend(right);
        }
        ids.extend(parts.iter().map(|p| ranks[p]));
    }
    ids
}
// ANCHOR_END: encode_naive

/// Classic BPE encoding with the merge list (apply the earliest learned merge present,
/// everywhere, then the next): what GPT-2's original `encoder.py` does.
pub fn encode_with_merges(trained: &Trained, text: &[u8]) -> Vec<Rank> {
    let order: FxHashMap<(Rank, Rank), (usize, Rank)> = trained
        .merges
        .iter()
        .enumerate()
        .map(|(k, &(a, b, c))| ((a, b), (k, c)))
        .collect();
    let mut ids = Vec::new();
    for piece in pretokenize(text) {
        let mut word: Vec<Rank> = piece.iter().map(|&b| b as Rank).collect();
        while let Some((_, pair, c)) = word
            .windows(2)
            .filter_map(|p| order.get(&(p[0], p[1])).map(|&(k, c)| (k, (p[0], p[1]), c)))
            .min()
        {
            word = merge_pair(&word, pair, c);
        }
        ids.extend(word);
    }
    ids
}
