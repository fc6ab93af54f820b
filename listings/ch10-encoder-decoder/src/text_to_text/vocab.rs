//! The vocabulary (section "Pretraining on the book"): Chapter 2's byte-level BPE,
//! trained on the book's pages, shifted up by two to make room for T5's pad (0, also
//! the decoder's start) and end-of-sequence (1), with the sentinels on top.

use ch02_input::bpe::{Bpe, BpeError, train};

/// Padding, and the first input of the decoder.
pub const PAD: usize = 0;
/// The end of every target: decoding stops here.
pub const EOS: usize = 1;
/// BPE id b is model id b + OFFSET.
const OFFSET: usize = 2;

// ANCHOR: vocab
/// Ids: PAD, EOS, then the BPE's tokens, then `sentinels` ids counted down from the top
/// (`span_corruption::sentinel(i, size)` is `<extra_id_i>`).
pub struct TextVocab {
    pub bpe: Bpe,
    pub n_bpe: usize,
    pub sentinels: usize,
}

impl TextVocab {
    /// A BPE of `bpe_size` tokens learned from `corpus`.
    pub fn train(
        corpus: &str,
        bpe_size: usize,
        sentinels: usize,
    ) -> Result<Self, BpeError> {
        let trained = train(corpus.as_bytes(), bpe_size)?;
        Ok(TextVocab {
            bpe: trained.bpe(),
            n_bpe: trained.vocab.len(),
            sentinels,
        })
    }

    pub fn size(&self) -> usize {
        OFFSET + self.n_bpe + self.sentinels
    }

    // text -> [L], no EOS
    pub fn encode(&self, text: &str) -> Vec<usize> {
        let ids = self.bpe.encode_ordinary(text).into_iter();
        ids.map(|id| id as usize + OFFSET).collect()
    }
}
// ANCHOR_END: vocab

impl TextVocab {
    /// Text back from ids: PAD and EOS dropped, sentinels written as T5 writes them,
    /// bytes that are not UTF-8 replaced (a model may cut a character in two).
    // ids: [L] -> text
    pub fn decode(&self, ids: &[usize]) -> String {
        let mut out = String::new();
        let mut bytes: Vec<u8> = Vec::new();
        for &id in ids {
            if id < OFFSET {
                continue;
            }
            if id >= OFFSET + self.n_bpe {
                out.push_str(&String::from_utf8_lossy(&std::mem::take(&mut bytes)));
                out.push_str(&format!("<extra_id_{}>", self.size() - 1 - id));
                continue;
            }
            let token = self.bpe.decode(&[(id - OFFSET) as u32]);
            bytes.extend(token.expect("every id below n_bpe is a BPE token"));
        }
        out.push_str(&String::from_utf8_lossy(&bytes));
        out
    }
}
