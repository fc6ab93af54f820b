//! Decoding a transcript (section "Decoding"): the prompt Whisper expects, the tokens
//! it must never produce, greedy search with CTranslate2's rules, and ids back to text
//! through Chapter 2's byte-level BPE.

use std::path::Path;

use ch01_foundations::probability::argmax;
use ch02_input::bpe::Bpe;
use ch09_decoder_only::tokenizer::byte_alphabet;
use ndarray::{Array1, Array2};

use crate::whisper::{Whisper, WhisperError};

/// `<|startoftranscript|>`: the first token of every prompt.
pub const SOT: u32 = 50257;
/// `<|notimestamps|>`: text only, no time tokens.
pub const NO_TIMESTAMPS: u32 = 50362;
/// `<|endoftext|>`: the transcript is finished.
pub const EOT: u32 = 50256;

// ANCHOR: rules
/// The decoding rules CTranslate2 applies to Whisper, from the model's `config.json`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodingRules {
    /// Never produced: other special tokens, and symbols the authors found the model
    /// hallucinates (`suppress_ids`).
    pub suppress: Vec<u32>,
    /// Not allowed as the first token of the text: a blank (220, " ") and
    /// `<|endoftext|>`, so the transcript is never empty (`suppress_ids_begin`).
    pub suppress_at_begin: Vec<u32>,
    /// The most positions the prompt and transcript may use together.
    pub max_length: usize,
}
// ANCHOR_END: rules

impl DecodingRules {
    /// Reads `suppress_ids` and `suppress_ids_begin` from a CTranslate2 Whisper
    /// `config.json`; `max_length` is CTranslate2's default, 448.
    pub fn from_config(path: &Path) -> Result<Self, WhisperError> {
        let bad = |problem: String| WhisperError::Config {
            what: path.display().to_string(),
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let ids = |key: &str| -> Result<Vec<u32>, WhisperError> {
            json[key]
                .as_array()
                .ok_or_else(|| bad(format!("no array `{key}`")))?
                .iter()
                .map(|v| v.as_u64().and_then(|v| u32::try_from(v).ok()))
                .collect::<Option<Vec<u32>>>()
                .ok_or_else(|| {
                    bad(format!("`{key}` holds something other than token ids"))
                })
        };
        Ok(DecodingRules {
            suppress: ids("suppress_ids")?,
            suppress_at_begin: ids("suppress_ids_begin")?,
            max_length: 448,
        })
    }
}

// ANCHOR: suppress
impl DecodingRules {
    /// Sets the suppressed tokens' logits to -∞, so no choice can pick them; at the
    /// first free step (`first`) the begin rule's tokens too.
    // logits: [vocab] -> [vocab]
    pub fn suppress_in(&self, logits: &mut Array1<f32>, first: bool) {
        let begin = self.suppress_at_begin.iter().filter(|_| first);
        for &id in self.suppress.iter().chain(begin) {
            if let Some(l) = logits.get_mut(id as usize) {
                *l = f32::NEG_INFINITY;
            }
        }
    }
}
// ANCHOR_END: suppress

// ANCHOR: greedy
/// Greedy decoding as CTranslate2 does it for Whisper: `prompt` is the start sequence
/// (`SOT`, `NO_TIMESTAMPS`), then any text the transcript must begin with (forced).
/// Each step takes the most likely token (the lowest id on a tie) after suppressing
/// `suppress`, and `suppress_at_begin` too at the first step that is not forced;
/// decoding ends at `EOT` (not returned) or when the text reaches min(L / 2, L - s)
/// tokens, L = `max_length`, s = the start sequence's length less one. Returns the
/// text tokens, the forced ones included. The decoder runs through the KV cache.
// m: [n_audio_ctx, C], prompt: [P] -> ids: [<= max]
pub fn greedy(
    model: &mut Whisper,
    m: &Array2<f32>,
    prompt: &[u32],
    rules: &DecodingRules,
) -> Result<Vec<u32>, WhisperError> {
    let start = prompt
        .iter()
        .take_while(|&&id| (SOT..=NO_TIMESTAMPS).contains(&id))
        .count();
    if start == 0 || prompt[0] != SOT {
        return Err(WhisperError::Input(
            "the prompt must begin with <|startoftranscript|>".into(),
        ));
    }
    let max_text = (rules.max_length / 2).min(rules.max_length.saturating_sub(start - 1));
    let (mut ids, mut cache) = (prompt.to_vec(), model.new_cache(m)?);
    while ids.len() - start < max_text {
        // The prompt in one pass, then the one new token each step.
        let h = model.hidden_cached(&ids[cache.len()..], &mut cache)?;
        let mut logits = model.last_logits(&h);
        rules.suppress_in(&mut logits, ids.len() == prompt.len());
        let next = argmax(logits.iter().copied()) as u32;
        if next == EOT {
            break;
        }
        ids.push(next);
    }
    Ok(ids.split_off(start))
}
// ANCHOR_END: greedy

// ANCHOR: tokenizer
/// Whisper's tokenizer for decoding: GPT-2's byte-level BPE (ids below `EOT`) and the
/// special tokens from `<|endoftext|>` on. CTranslate2's `vocabulary.txt` lists one
/// token a line in id order, spelled in GPT-2's byte alphabet (Chapter 9).
pub fn read_vocabulary(path: &Path) -> Result<Bpe, WhisperError> {
    let bad = |problem: String| WhisperError::Config {
        what: path.display().to_string(),
        problem,
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(e.to_string()))?;
    let mut unspell = std::collections::HashMap::new();
    for (b, ch) in byte_alphabet().into_iter().enumerate() {
        unspell.insert(ch, b as u8);
    }
    let (mut ranks, mut specials) = (Vec::new(), Vec::new());
    for (id, token) in text.lines().enumerate() {
        if id >= EOT as usize {
            specials.push((token, id as u32));
            continue;
        }
        let bytes: Option<Vec<u8>> =
            token.chars().map(|ch| unspell.get(&ch).copied()).collect();
        let bytes = bytes.ok_or_else(|| {
            bad(format!("token {id} {token:?} is not in the byte alphabet"))
        })?;
        ranks.push((bytes, id as u32));
    }
    Bpe::new(ranks, &specials).map_err(|e| bad(e.to_string()))
}

/// The transcript's text: special tokens (`EOT` and above) are dropped, the rest
/// decoded with Chapter 2's `decode_lossy`.
pub fn text(bpe: &Bpe, ids: &[u32]) -> Result<String, WhisperError> {
    let words: Vec<u32> = ids.iter().copied().filter(|&id| id < EOT).collect();
    bpe.decode_lossy(&words)
        .map_err(|e| WhisperError::Input(e.to_string()))
}
// ANCHOR_END: tokenizer
