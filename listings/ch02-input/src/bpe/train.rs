//! Training: from a corpus to a vocabulary of `vocab_size` tokens.
//!
//! Tie-breaking rule (the naive trainer in [`super::reference`] uses the same): merge the
//! pair with the highest count; among equal counts, the pair `(a, b)` with the smallest
//! ids, compared as `(a, b)` tuples; ids 0..=255 are the bytes, so older tokens win. If a
//! merge makes a byte string that is already a token, the merge reuses that token's id
//! (as Hugging Face's trainer does) and the vocabulary does not grow that step.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

use super::encode::Bpe;
use super::pretokenize::pretokenize;
use super::{BpeError, Rank};

/// A trained vocabulary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trained {
    /// `vocab[id]` is the byte string of token `id`; ids 0..=255 are the single bytes.
    pub vocab: Vec<Vec<u8>>,
    /// The merges in the order they were learned: `(left, right, merged)`.
    pub merges: Vec<(Rank, Rank, Rank)>,
    /// The corpus's length in tokens before any merge and after each one.
    pub corpus_tokens: Vec<u64>,
}

impl Trained {
    /// `(token bytes, rank)` pairs, rank = id, the content of a `.tiktoken` file.
    pub fn ranks(&self) -> Vec<(Vec<u8>, Rank)> {
        (0..)
            .zip(&self.vocab)
            .map(|(r, t)| (t.clone(), r))
            .collect()
    }

    /// The tokenizer, with `<|endoftext|>` as the id after the last token.
    pub fn bpe(&self) -> Bpe {
        let eot = self.vocab.len() as Rank;
        Bpe::new(self.ranks(), &[(super::ENDOFTEXT, eot)])
            .expect("a trained vocabulary has every byte and no repeats")
    }
}

// ANCHOR: count_words
/// Each distinct pre-token of the corpus with its count, sorted by bytes. Training works
/// on these, not on the corpus: "the" is counted once with its frequency, not merged
/// again at each of its thousands of occurrences.
pub fn count_words(corpus: &[u8]) -> Vec<(&[u8], u64)> {
    let mut counts: FxHashMap<&[u8], u64> = FxHashMap::default();
    for piece in pretokenize(corpus) {
        *counts.entry(piece).or_default() += 1;
    }
    let mut words: Vec<(&[u8], u64)> = counts.into_iter().collect();
    words.sort_unstable();
    words
}
// ANCHOR_END: count_words

/// The id a merge of `a` and `b` produces: a new one, or the existing token's.
pub(crate) fn merged_id(
    vocab: &mut Vec<Vec<u8>>,
    ids: &mut FxHashMap<Vec<u8>, Rank>,
    a: Rank,
    b: Rank,
) -> Rank {
    let bytes = [&vocab[a as usize][..], &vocab[b as usize][..]].concat();
    *ids.entry(bytes.clone()).or_insert_with(|| {
        vocab.push(bytes);
        (vocab.len() - 1) as Rank
    })
}

type Pair = (Rank, Rank);

// ANCHOR: merge_word
/// Replaces every `(a, b)` in `word` by `c`, left to right, and updates the pair counts
/// by the word's count `f`: the merged pair and its neighbours lose `f`, the pairs that
/// now hold `c` gain `f` and are reported in `new_pairs`. Returns how many it replaced.
fn merge_word(
    word: &mut Vec<Rank>,
    (a, b): Pair,
    c: Rank,
    f: i64,
    counts: &mut FxHashMap<Pair, i64>,
    new_pairs: &mut Vec<Pair>,
) -> i64 {
    let mut add = |pair: Pair, delta: i64| *counts.entry(pair).or_default() += delta;
    let (mut i, mut replaced) = (0, 0);
    while i + 1 < word.len() {
        if word[i] == a && word[i + 1] == b {
            if i > 0 {
                let x = word[i - 1]; // x a b -> x c
                add((x, a), -f);
                add((x, c), f);
                new_pairs.push((x, c));
            }
            if i + 2 < word.len() {
                let y = word[i + 2]; // a b y -> c y
                add((b, y), -f);
                add((c, y), f);
                new_pairs.push((c, y));
            }
            add((a, b), -f);
            word[i] = c;
            word.remove(i + 1);
            replaced += 1;
        }
        i += 1;
    }
    replaced
}
// ANCHOR_END: merge_word

// ANCHOR: words_as_bytes
/// Where both trainers start: check the target size, then every distinct pre-token as
/// a sequence of byte ids (ids 0..256 are the bytes) with its count.
// corpus -> (words: [W][len], freqs: [W])
pub fn words_as_bytes(
    corpus: &[u8],
    vocab_size: usize,
) -> Result<(Vec<Vec<Rank>>, Vec<i64>), BpeError> {
    if vocab_size < 256 {
        return Err(BpeError::VocabTooSmall(vocab_size));
    }
    Ok(count_words(corpus)
        .into_iter()
        .map(|(w, n)| (w.iter().map(|&b| b as Rank).collect(), n as i64))
        .unzip())
}
// ANCHOR_END: words_as_bytes

// ANCHOR: train
/// Learns merges until the vocabulary has `vocab_size` tokens (or no pair is left).
/// Pair counts are kept up to date merge by merge; a max-heap finds the best pair, and
/// entries whose count went stale are fixed when they surface (lazy deletion).
pub fn train(corpus: &[u8], vocab_size: usize) -> Result<Trained, BpeError> {
    let (mut words, freqs) = words_as_bytes(corpus, vocab_size)?;
    let (mut counts, mut where_) = initial_pairs(&words, &freqs);
    let mut heap: BinaryHeap<(i64, Reverse<Pair>)> =
        counts.iter().map(|(&p, &n)| (n, Reverse(p))).collect();
    let mut t = Trained::start(&words, &freqs);
    let mut ids: FxHashMap<Vec<u8>, Rank> = t.ranks().into_iter().collect();
    while t.vocab.len() < vocab_size {
        let Some((n, Reverse(pair))) = heap.pop() else {
            break;
        };
        let now = counts[&pair];
        if n != now || now == 0 {
            if now > 0 {
                heap.push((now, Reverse(pair))); // stale: put back with its true count
            }
            continue;
        }
        let c = merged_id(&mut t.vocab, &mut ids, pair.0, pair.1);
        let (new_pairs, removed) =
            merge_everywhere((pair, c), &mut words, &freqs, &mut counts, &mut where_);
        let fresh = new_pairs.into_iter().map(|p| (counts[&p], Reverse(p)));
        heap.extend(fresh.filter(|&(n, _)| n > 0));
        t.record(pair, c, removed);
    }
    Ok(t)
}
// ANCHOR_END: train

// ANCHOR: merge_everywhere
/// Merges `pair` into `c` in every word it occurs in (`where_` knows which), keeping
/// `counts` and `where_` up to date. Returns the pairs the merge created, each once, and
/// the number of tokens it removed from the corpus (occurrences times word counts).
fn merge_everywhere(
    (pair, c): (Pair, Rank),
    words: &mut [Vec<Rank>],
    freqs: &[i64],
    counts: &mut FxHashMap<Pair, i64>,
    where_: &mut FxHashMap<Pair, Vec<u32>>,
) -> (Vec<Pair>, i64) {
    let mut todo = where_.remove(&pair).unwrap_or_default();
    todo.sort_unstable();
    todo.dedup();
    let (mut new_pairs, mut removed) = (Vec::new(), 0);
    for w in todo {
        let before = new_pairs.len();
        let (word, f) = (&mut words[w as usize], freqs[w as usize]);
        removed += f * merge_word(word, pair, c, f, counts, &mut new_pairs);
        for &p in &new_pairs[before..] {
            where_.entry(p).or_default().push(w);
        }
    }
    new_pairs.sort_unstable();
    new_pairs.dedup();
    (new_pairs, removed)
}
// ANCHOR_END: merge_everywhere

/// Every adjacent pair's count (weighted by word count) and the words it occurs in.
#[allow(clippy::type_complexity)]
fn initial_pairs(
    words: &[Vec<Rank>],
    freqs: &[i64],
) -> (FxHashMap<Pair, i64>, FxHashMap<Pair, Vec<u32>>) {
    let mut counts: FxHashMap<Pair, i64> = FxHashMap::default();
    let mut where_: FxHashMap<Pair, Vec<u32>> = FxHashMap::default();
    for (w, (word, &f)) in words.iter().zip(freqs).enumerate() {
        for p in word.windows(2) {
            *counts.entry((p[0], p[1])).or_default() += f;
            where_.entry((p[0], p[1])).or_default().push(w as u32);
        }
    }
    (counts, where_)
}

impl Trained {
    /// The 256 byte tokens and the corpus length in bytes, before any merge.
    pub(crate) fn start(words: &[Vec<Rank>], freqs: &[i64]) -> Trained {
        let bytes: i64 = words
            .iter()
            .zip(freqs)
            .map(|(w, f)| w.len() as i64 * f)
            .sum();
        Trained {
            vocab: (0..=255u8).map(|b| vec![b]).collect(),
            merges: Vec::new(),
            corpus_tokens: vec![bytes as u64],
        }
    }

    /// Notes a merge of `pair` into `c` that removed `n` tokens from the corpus (fewer
    /// than the pair's count when occurrences overlap: "aaa" holds two "aa" pairs, and
    /// one merge).
    pub(crate) fn record(&mut self, pair: Pair, c: Rank, n: i64) {
        self.merges.push((pair.0, pair.1, c));
        let last = *self.corpus_tokens.last().expect("starts non-empty");
        self.corpus_tokens.push(last - n as u64);
    }
}
