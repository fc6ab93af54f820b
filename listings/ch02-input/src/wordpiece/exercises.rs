//! Solutions to the WordPiece section's exercises, tested in
//! tests/wordpiece_exercises.rs.

use rustc_hash::FxHashMap;

use super::{BasicTokenizer, CONTINUATION, WordPiece};

// ANCHOR: encode_pair
/// Exercise 1: BERT's input for a pair of sequences (question and passage, or the two
/// sentences of next-sentence prediction): `[CLS] a [SEP] b [SEP]`, with segment
/// (token type) ids 0 up to the first `[SEP]` and 1 after it.
pub fn encode_pair(wp: &WordPiece, a: &str, b: &str) -> (Vec<u32>, Vec<u32>) {
    let s = wp.vocab.special();
    let mut ids = vec![s.cls];
    ids.extend(wp.encode_words(a));
    ids.push(s.sep);
    let first = ids.len();
    ids.extend(wp.encode_words(b));
    ids.push(s.sep);
    let type_ids = (0..ids.len()).map(|i| u32::from(i >= first)).collect();
    (ids, type_ids)
}
// ANCHOR_END: encode_pair

/// Which pair a training step merges.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Rule {
    /// BPE's rule: the most frequent pair.
    Frequency,
    /// WordPiece's rule: the largest `count(ab) / (count(a) count(b))`.
    Score,
}

// ANCHOR: first_merges_by_rule
/// Exercise 2: the first `n` merges under either rule, recounting everything each
/// step (slow but short). Ties go to the more frequent pair, then the smaller strings.
pub fn first_merges_by_rule(corpus: &str, rule: Rule, n: usize) -> Vec<String> {
    let mut words = char_pieces(corpus);
    let mut merges = Vec::new();
    for _ in 0..n {
        let Some((a, b)) = best_pair(&words, rule) else {
            break;
        };
        let merged = format!("{a}{}", b.trim_start_matches(CONTINUATION));
        words = apply_merge(words, (&a, &b), &merged);
        merges.push(merged);
    }
    merges
}

/// Each word of `corpus` as single characters, `##`-marked after the first, with its
/// count.
fn char_pieces(corpus: &str) -> FxHashMap<Vec<String>, u64> {
    let mut words: FxHashMap<Vec<String>, u64> = FxHashMap::default();
    for w in BasicTokenizer::default().words(corpus) {
        let seq = w.chars().enumerate().map(|(i, c)| {
            if i == 0 {
                c.to_string()
            } else {
                format!("{CONTINUATION}{c}")
            }
        });
        *words.entry(seq.collect()).or_insert(0) += 1;
    }
    words
}
// ANCHOR_END: first_merges_by_rule

// ANCHOR: best_pair
/// The adjacent pair `rule` prefers, counted over the words with their frequencies.
fn best_pair(
    words: &FxHashMap<Vec<String>, u64>,
    rule: Rule,
) -> Option<(String, String)> {
    let (mut unit, mut pairs) = (FxHashMap::default(), FxHashMap::default());
    for (seq, &f) in words {
        seq.iter()
            .for_each(|t| *unit.entry(t.clone()).or_insert(0) += f);
        for p in seq.windows(2) {
            *pairs.entry((p[0].clone(), p[1].clone())).or_insert(0u64) += f;
        }
    }
    let value = |(a, b): &(String, String), ab: u64| match rule {
        Rule::Frequency => ab as f64,
        Rule::Score => ab as f64 / (unit[a] as f64 * unit[b] as f64),
    };
    let best = pairs.iter().max_by(|&(p, &x), &(q, &y)| {
        value(p, x)
            .total_cmp(&value(q, y))
            .then(x.cmp(&y))
            .then_with(|| q.cmp(p))
    });
    best.map(|(pair, _)| pair.clone())
}
// ANCHOR_END: best_pair

/// Every adjacent `a b` in the words replaced by `merged`.
fn apply_merge(
    words: FxHashMap<Vec<String>, u64>,
    (a, b): (&str, &str),
    merged: &str,
) -> FxHashMap<Vec<String>, u64> {
    words
        .into_iter()
        .fold(FxHashMap::default(), |mut acc, (seq, f)| {
            let mut out: Vec<String> = Vec::with_capacity(seq.len());
            for t in seq {
                if out.last().is_some_and(|l| l == a) && t == b {
                    *out.last_mut().expect("non-empty") = merged.to_owned();
                } else {
                    out.push(t);
                }
            }
            *acc.entry(out).or_insert(0) += f;
            acc
        })
}
