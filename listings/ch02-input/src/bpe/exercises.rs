//! Solutions to the section's exercises.

use rustc_hash::FxHashMap;

use super::pretokenize::pretokenize;
use super::{Bpe, Rank};

// ANCHOR: merge_trace
/// Exercise 1: the tokenization of one pre-token, step by step: the parts before any
/// merge (single bytes) and after each merge, each merge joining the adjacent pair whose
/// concatenation has the lowest rank.
pub fn merge_trace(bpe: &Bpe, piece: &[u8]) -> Vec<Vec<Vec<u8>>> {
    let mut parts: Vec<Vec<u8>> = piece.iter().map(|&b| vec![b]).collect();
    let mut trace = vec![parts.clone()];
    loop {
        let best = (0..parts.len().saturating_sub(1))
            .filter_map(|i| {
                bpe.rank(&[&parts[i][..], &parts[i + 1][..]].concat())
                    .map(|r| (r, i))
            })
            .min();
        let Some((_, i)) = best else { return trace };
        let right = parts.remove(i + 1);
        parts[i].extend(right);
        trace.push(parts.clone());
    }
}
// ANCHOR_END: merge_trace

// ANCHOR: cached_encoder
/// Exercise 2: an encoder that remembers the ids of every pre-token it has seen. Text
/// repeats its words, so most pre-tokens are encoded once and then looked up.
pub struct CachedEncoder<'a> {
    bpe: &'a Bpe,
    cache: FxHashMap<Vec<u8>, Vec<Rank>>,
}

impl<'a> CachedEncoder<'a> {
    pub fn new(bpe: &'a Bpe) -> Self {
        CachedEncoder {
            bpe,
            cache: FxHashMap::default(),
        }
    }

    /// The same ids as [`Bpe::encode_ordinary`].
    pub fn encode(&mut self, text: &[u8]) -> Vec<Rank> {
        let mut ids = Vec::new();
        for piece in pretokenize(text) {
            let cached = self
                .cache
                .entry(piece.to_vec())
                .or_insert_with(|| self.bpe.encode_ordinary(piece));
            ids.extend_from_slice(cached);
        }
        ids
    }

    /// How many distinct pre-tokens the cache holds.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }
}
// ANCHOR_END: cached_encoder
