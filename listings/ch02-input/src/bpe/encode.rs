//! Encoding by rank (tiktoken's algorithm), decoding, and special tokens by request only.

use std::path::Path;

use rustc_hash::FxHashMap;

use super::pretokenize::pretokenize;
use super::ranks::{read_tiktoken, show};
use super::{BpeError, Rank};

/// A byte-level BPE tokenizer: ranks for byte strings, plus special tokens.
#[derive(Clone, Debug)]
pub struct Bpe {
    encoder: FxHashMap<Vec<u8>, Rank>,
    decoder: FxHashMap<Rank, Vec<u8>>,
    specials: FxHashMap<String, Rank>,
    special_decoder: FxHashMap<Rank, String>,
}

impl Bpe {
    /// A tokenizer from `(token bytes, rank)` pairs and `(text, id)` special tokens.
    /// Every one of the 256 bytes must be a token (so that any input encodes), and no
    /// rank, token or special id may appear twice.
    pub fn new(
        ranks: Vec<(Vec<u8>, Rank)>,
        specials: &[(&str, Rank)],
    ) -> Result<Bpe, BpeError> {
        let mut encoder = FxHashMap::default();
        let mut decoder = FxHashMap::default();
        for (token, rank) in ranks {
            if let Some(old) = decoder.insert(rank, token.clone()) {
                let msg = format!(
                    "rank {rank} is given to {:?} and {:?}",
                    show(&old),
                    show(&token)
                );
                return Err(BpeError::Table(msg));
            }
            if encoder.insert(token.clone(), rank).is_some() {
                return Err(BpeError::Table(format!(
                    "token {:?} appears twice",
                    show(&token)
                )));
            }
        }
        if let Some(b) = (0..=255u8).find(|b| !encoder.contains_key(&[*b][..])) {
            let msg =
                format!("no token for byte 0x{b:02x}: byte-level BPE needs all 256");
            return Err(BpeError::Table(msg));
        }
        let mut bpe = Bpe {
            encoder,
            decoder,
            specials: Default::default(),
            special_decoder: Default::default(),
        };
        for &(text, id) in specials {
            if bpe.decoder.contains_key(&id) || bpe.special_decoder.contains_key(&id) {
                return Err(BpeError::Table(format!(
                    "special token {text:?}: id {id} is taken"
                )));
            }
            if text.is_empty() || bpe.specials.insert(text.to_owned(), id).is_some() {
                return Err(BpeError::Table(format!(
                    "special token {text:?} is empty or repeated"
                )));
            }
            bpe.special_decoder.insert(id, text.to_owned());
        }
        Ok(bpe)
    }

    /// Reads a `.tiktoken` rank file; the specials are given separately, as in tiktoken.
    pub fn from_file(path: &Path, specials: &[(&str, Rank)]) -> Result<Bpe, BpeError> {
        Bpe::new(read_tiktoken(path)?, specials)
    }

    /// The `(token bytes, rank)` pairs, in rank order.
    pub fn ranks(&self) -> Vec<(Vec<u8>, Rank)> {
        let mut r: Vec<(Vec<u8>, Rank)> =
            self.encoder.iter().map(|(t, &r)| (t.clone(), r)).collect();
        r.sort_by_key(|(_, r)| *r);
        r
    }

    /// The number of ordinary tokens (not counting specials).
    pub fn n_tokens(&self) -> usize {
        self.encoder.len()
    }

    /// The rank of a byte string, if it is a token.
    pub fn rank(&self, token: &[u8]) -> Option<Rank> {
        self.encoder.get(token).copied()
    }

    /// The id of a special token, if it is one.
    pub fn special(&self, text: &str) -> Option<Rank> {
        self.specials.get(text).copied()
    }

    // ANCHOR: byte_pair_merge
    /// The tokens of one pre-token, as the start offsets of its parts: tiktoken's
    /// algorithm. Start from single bytes; repeatedly merge the adjacent pair whose
    /// concatenation has the lowest rank (the leftmost on a tie) until none is a token.
    fn byte_pair_merge(&self, piece: &[u8]) -> Vec<(usize, Rank)> {
        // parts[i] = (start of part i, rank of part i joined with part i + 1).
        let rank_of =
            |a: usize, b: usize| *self.encoder.get(&piece[a..b]).unwrap_or(&Rank::MAX);
        let mut parts: Vec<(usize, Rank)> = (0..piece.len() - 1)
            .map(|i| (i, rank_of(i, i + 2)))
            .collect();
        parts.push((piece.len() - 1, Rank::MAX));
        parts.push((piece.len(), Rank::MAX)); // a sentinel: the end of the last part
        loop {
            // The lowest-ranked pair (min_by_key keeps the first, the leftmost, on ties).
            let (i, &(_, r)) = parts[..parts.len() - 1]
                .iter()
                .enumerate()
                .min_by_key(|(_, p)| p.1)
                .expect("at least one part");
            if r == Rank::MAX {
                return parts;
            }
            // Merge parts i and i + 1, then re-rank the pairs the new part is in.
            parts.remove(i + 1);
            let rank_at = |parts: &[(usize, Rank)], j: usize| match parts.get(j + 2) {
                Some(&(end, _)) => rank_of(parts[j].0, end),
                None => Rank::MAX,
            };
            parts[i].1 = rank_at(&parts, i);
            if i > 0 {
                parts[i - 1].1 = rank_at(&parts, i - 1);
            }
        }
    }
    // ANCHOR_END: byte_pair_merge

    // ANCHOR: encode_ordinary
    /// Token ids for any bytes, special-token text included as ordinary bytes.
    pub fn encode_ordinary(&self, text: impl AsRef<[u8]>) -> Vec<Rank> {
        let mut ids = Vec::new();
        for piece in pretokenize(text.as_ref()) {
            self.encode_piece(piece, &mut ids);
        }
        ids
    }

    fn encode_piece(&self, piece: &[u8], ids: &mut Vec<Rank>) {
        // The fast path: most pre-tokens of ordinary text are tokens themselves.
        if let Some(&rank) = self.encoder.get(piece) {
            ids.push(rank);
            return;
        }
        let parts = self.byte_pair_merge(piece);
        for w in parts.windows(2) {
            ids.push(self.encoder[&piece[w[0].0..w[1].0]]);
        }
    }
    // ANCHOR_END: encode_ordinary

    // ANCHOR: encode_special
    /// Token ids of `text`, where the special tokens named in `allowed` become their ids
    /// and all other text, other specials included, is ordinary. Naming a special the
    /// tokenizer does not have is an error.
    pub fn encode(&self, text: &str, allowed: &[&str]) -> Result<Vec<Rank>, BpeError> {
        let mut specials = Vec::new();
        for &s in allowed {
            let id = self.special(s).ok_or_else(|| {
                BpeError::Table(format!("{s:?} is not a special token of this tokenizer"))
            })?;
            specials.push((s, id));
        }
        let (mut ids, mut rest) = (Vec::new(), text);
        loop {
            // The earliest allowed special in the rest (the longest if two start there).
            let next = specials
                .iter()
                .filter_map(|&(s, id)| {
                    rest.find(s).map(|at| (at, usize::MAX - s.len(), s, id))
                })
                .min();
            let Some((at, _, s, id)) = next else { break };
            // Pre-tokenization never crosses a special token: each side is separate text.
            ids.extend(self.encode_ordinary(&rest[..at]));
            ids.push(id);
            rest = &rest[at + s.len()..];
        }
        ids.extend(self.encode_ordinary(rest));
        Ok(ids)
    }
    // ANCHOR_END: encode_special

    // ANCHOR: decode
    /// The bytes of a list of ids: concatenate each token's bytes. Any id list decodes
    /// to bytes, but not every one to valid UTF-8 (a token can hold half a character).
    pub fn decode(&self, ids: &[Rank]) -> Result<Vec<u8>, BpeError> {
        let mut bytes = Vec::new();
        for &id in ids {
            if let Some(token) = self.decoder.get(&id) {
                bytes.extend_from_slice(token);
            } else if let Some(s) = self.special_decoder.get(&id) {
                bytes.extend_from_slice(s.as_bytes());
            } else {
                return Err(BpeError::UnknownId(id));
            }
        }
        Ok(bytes)
    }

    /// The text of a list of ids, with U+FFFD for bytes that are not valid UTF-8.
    pub fn decode_lossy(&self, ids: &[Rank]) -> Result<String, BpeError> {
        Ok(String::from_utf8_lossy(&self.decode(ids)?).into_owned())
    }
    // ANCHOR_END: decode
}
