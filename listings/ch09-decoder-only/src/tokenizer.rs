//! The byte-level BPE tokenizer a GGUF file stores in its metadata: the vocabulary
//! (`tokenizer.ggml.tokens`, spelled in GPT-2's byte alphabet), the merges in priority
//! order (`tokenizer.ggml.merges`), and the control tokens (`tokenizer.ggml.token_type`
//! 3), which are matched whole in the text. Pre-tokenization is Chapter 2's GPT-2
//! scanner, as in the tokenizer Hugging Face builds from the same file.

use std::collections::HashMap;

use ch02_input::bpe::pretokenize;

use crate::gguf::{Gguf, GgufError};

/// The token type llama.cpp gives a control token such as `<|im_start|>`.
pub const CONTROL: i32 = 3;

/// GPT-2's byte alphabet: each byte as a printable character. The printable bytes of
/// Latin-1 stand for themselves; the other 68 become U+0100 onwards, in byte order.
// ANCHOR: byte_alphabet
pub fn byte_alphabet() -> [char; 256] {
    let printable = |b: u8| matches!(b, b'!'..=b'~' | 0xa1..=0xac | 0xae..=0xff);
    let mut out = ['\0'; 256];
    let mut next = 0x100;
    for b in 0..=255u8 {
        out[b as usize] = if printable(b) {
            char::from(b)
        } else {
            next += 1;
            char::from_u32(next - 1).unwrap_or('\0')
        };
    }
    out
}
// ANCHOR_END: byte_alphabet

/// A byte-level BPE read from a GGUF file.
pub struct GgufTokenizer {
    /// Each token's bytes, by id.
    tokens: Vec<Vec<u8>>,
    /// The id of each single byte the vocabulary has.
    byte_ids: [Option<u32>; 256],
    /// (left id, right id) -> (priority, merged id); a lower priority merges first.
    merges: HashMap<(u32, u32), (u32, u32)>,
    /// Control tokens, longest first, so the longest match wins.
    specials: Vec<(String, u32)>,
}

fn bad(key: &str, problem: String) -> GgufError {
    GgufError::Invalid {
        what: format!("key {key}"),
        problem,
    }
}

impl GgufTokenizer {
    /// Reads the vocabulary, merges and control tokens; every merge must join two
    /// tokens into a third that the vocabulary has.
    pub fn from_gguf(g: &Gguf) -> Result<Self, GgufError> {
        let model = g.str("tokenizer.ggml.model")?;
        if model != "gpt2" {
            let problem = format!("\"{model}\": only byte-level BPE (\"gpt2\") is read");
            return Err(bad("tokenizer.ggml.model", problem));
        }
        let mut unspell = HashMap::new();
        for (b, c) in byte_alphabet().into_iter().enumerate() {
            unspell.insert(c, b as u8);
        }
        // A token spelled outside the alphabet (none in SmolLM2) stands for its UTF-8.
        let bytes_of = |t: &str| -> Vec<u8> {
            match t.chars().map(|c| unspell.get(&c).copied()).collect() {
                Some(b) => b,
                None => t.as_bytes().to_vec(),
            }
        };
        let names = g.str_array("tokenizer.ggml.tokens")?;
        let tokens: Vec<Vec<u8>> = names.iter().map(|t| bytes_of(t)).collect();
        let id: HashMap<&str, u32> = names
            .iter()
            .enumerate()
            .map(|(i, t)| (*t, i as u32))
            .collect();
        let mut byte_ids = [None; 256];
        for (i, t) in tokens.iter().enumerate() {
            if let [b] = t[..] {
                byte_ids[b as usize].get_or_insert(i as u32);
            }
        }
        let mut merges = HashMap::new();
        for (rank, m) in g.str_array("tokenizer.ggml.merges")?.iter().enumerate() {
            let key = "tokenizer.ggml.merges";
            let (a, b) = m.split_once(' ').ok_or_else(|| {
                bad(key, format!("merge #{rank} {m:?} is not two tokens"))
            })?;
            let joined = format!("{a}{b}");
            let ids = (id.get(a), id.get(b), id.get(joined.as_str()));
            let (Some(&l), Some(&r), Some(&j)) = ids else {
                return Err(bad(
                    key,
                    format!("merge #{rank} {m:?} names a token not in the vocabulary"),
                ));
            };
            merges.entry((l, r)).or_insert((rank as u32, j));
        }
        let types = g.i32_array("tokenizer.ggml.token_type")?;
        let mut specials: Vec<(String, u32)> = types
            .iter()
            .zip(&names)
            .enumerate()
            .filter(|(_, (t, _))| **t == CONTROL)
            .map(|(i, (_, name))| (name.to_string(), i as u32))
            .collect();
        specials.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        Ok(GgufTokenizer {
            tokens,
            byte_ids,
            merges,
            specials,
        })
    }

    pub fn n_tokens(&self) -> usize {
        self.tokens.len()
    }

    /// The id of a control token, such as `<|im_end|>`.
    pub fn special(&self, text: &str) -> Option<u32> {
        self.specials
            .iter()
            .find(|(s, _)| s == text)
            .map(|(_, id)| *id)
    }

    /// One pre-token to ids: start from its bytes and apply the merge with the lowest
    /// priority among adjacent pairs (the leftmost on a tie) until none applies.
    /// A byte the vocabulary lacks is dropped, as Hugging Face's BPE does without an
    /// unknown token.
    // ANCHOR: merge
    fn encode_piece(&self, piece: &[u8], out: &mut Vec<u32>) {
        let mut ids: Vec<u32> = piece
            .iter()
            .filter_map(|&b| self.byte_ids[b as usize])
            .collect();
        loop {
            let best = ids
                .windows(2)
                .enumerate()
                .filter_map(|(i, w)| {
                    self.merges.get(&(w[0], w[1])).map(|&(r, j)| (r, i, j))
                })
                .min();
            let Some((_, i, joined)) = best else { break };
            ids[i] = joined;
            ids.remove(i + 1);
        }
        out.extend(ids);
    }
    // ANCHOR_END: merge

    /// Ordinary text to ids: GPT-2 pre-tokens, each merged on its own.
    pub fn encode_ordinary(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        for piece in pretokenize(text.as_bytes()) {
            self.encode_piece(piece, &mut out);
        }
        out
    }

    /// Text to ids, with control tokens in the text matched whole (the longest at the
    /// earliest position) and everything between them encoded as ordinary text. No BOS
    /// is added: SmolLM2's file says `tokenizer.ggml.add_bos_token = false`.
    // ANCHOR: encode
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut out = Vec::new();
        let mut rest = text;
        loop {
            let next = self
                .specials
                .iter()
                .filter_map(|(s, id)| rest.find(s.as_str()).map(|at| (at, s.len(), *id)))
                .min_by_key(|&(at, len, _)| (at, std::cmp::Reverse(len)));
            let Some((at, len, id)) = next else { break };
            out.extend(self.encode_ordinary(&rest[..at]));
            out.push(id);
            rest = &rest[at + len..];
        }
        out.extend(self.encode_ordinary(rest));
        out
    }
    // ANCHOR_END: encode

    /// A token as the vocabulary spells it, in the byte alphabet (`Ġworld`), or `None`
    /// for an id outside the vocabulary.
    pub fn spelled(&self, id: u32) -> Option<String> {
        let alphabet = byte_alphabet();
        let t = self.tokens.get(id as usize)?;
        Some(t.iter().map(|&b| alphabet[b as usize]).collect())
    }

    /// Ids back to bytes (an id outside the vocabulary is an error naming it).
    pub fn decode(&self, ids: &[u32]) -> Result<Vec<u8>, GgufError> {
        let mut out = Vec::new();
        for &id in ids {
            let t = self
                .tokens
                .get(id as usize)
                .ok_or_else(|| GgufError::Invalid {
                    what: format!("token id {id}"),
                    problem: format!("the vocabulary has {} tokens", self.tokens.len()),
                })?;
            out.extend(t);
        }
        Ok(out)
    }
}

/// The prompt SmolLM2-Instruct's chat template renders for one user turn with no
/// system message (the template then adds its default one) and a generation prompt.
// ANCHOR: chat
pub fn smollm2_chat_prompt(user: &str) -> String {
    let system = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";
    format!(
        "<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    )
}
// ANCHOR_END: chat
