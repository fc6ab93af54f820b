//! Stopping and streaming (section "Beams, stopping and streaming"): ids turned into
//! text as they come without ever printing half a character, stop strings that may
//! straddle tokens (Chapter 9's exercise `StopScanner`), the end-of-sequence token and
//! a token limit, and the sampling loop that puts them together on any model with a
//! cache.

use ch09_decoder_only::exercises::StopScanner;
use ch09_decoder_only::gguf::GgufError;
use ch09_decoder_only::llama::{KvCache, Llama};
use ch09_decoder_only::tokenizer::GgufTokenizer;
use ndarray::Array1;

use crate::sampling::{Sampler, SamplingError};

// ANCHOR: stream_decoder
/// Bytes in, whole characters out. A byte-level BPE token can end inside a UTF-8
/// character (an emoji is four bytes, often two or three tokens), so the decoder holds
/// back an incomplete tail until the bytes that finish it arrive. A sequence that can
/// never become valid is shown as U+FFFD, as `String::from_utf8_lossy` would.
#[derive(Default)]
pub struct StreamDecoder {
    pending: Vec<u8>,
}

impl StreamDecoder {
    /// The text that `bytes` completes; what may still become a character stays held.
    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.pending.extend_from_slice(bytes);
        let mut out = String::new();
        loop {
            match std::str::from_utf8(&self.pending) {
                Ok(s) => {
                    out += s;
                    self.pending.clear();
                    return out;
                }
                Err(e) => {
                    let ok = e.valid_up_to();
                    out +=
                        std::str::from_utf8(&self.pending[..ok]).expect("valid prefix");
                    match e.error_len() {
                        None => {
                            self.pending.drain(..ok); // an unfinished character: wait
                            return out;
                        }
                        Some(bad) => {
                            out.push(char::REPLACEMENT_CHARACTER); // never valid
                            self.pending.drain(..ok + bad);
                        }
                    }
                }
            }
        }
    }
}
// ANCHOR_END: stream_decoder

impl StreamDecoder {
    /// Whatever is still held when the stream ends, lossily.
    pub fn finish(self) -> String {
        String::from_utf8_lossy(&self.pending).into_owned()
    }
}

// ANCHOR: text_stream
/// Token bytes in, text safe to show out: whole characters (the stream decoder), and
/// nothing from a stop string on (Chapter 9's `StopScanner`).
pub struct TextStream {
    utf8: StreamDecoder,
    scanner: StopScanner,
}

impl TextStream {
    pub fn new(stop_strings: &[String]) -> Self {
        let stops: Vec<&str> = stop_strings.iter().map(String::as_str).collect();
        let scanner = StopScanner::new(&stops);
        TextStream {
            utf8: StreamDecoder::default(),
            scanner,
        }
    }

    pub fn push(&mut self, bytes: &[u8]) -> String {
        self.scanner.push(&self.utf8.push(bytes))
    }

    pub fn stopped(&self) -> bool {
        self.scanner.stopped()
    }

    /// The rest when the generation ends; a stop string can still end in it.
    pub fn finish(mut self) -> String {
        let tail = self.scanner.push(&self.utf8.finish());
        tail + &self.scanner.finish()
    }
}
// ANCHOR_END: text_stream

/// Why a generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The model chose the end-of-sequence token.
    Eos,
    /// A stop string appeared in the text.
    StopString,
    /// `max_tokens` new tokens were generated.
    MaxTokens,
}

/// When to stop: the end-of-sequence id, stop strings, and a token limit.
#[derive(Clone, Debug, Default)]
pub struct StopConditions {
    pub eos: Option<u32>,
    pub stop_strings: Vec<String>,
    pub max_tokens: usize,
}

/// A model that continues a sequence from a cache: Chapter 9's SmolLM2 here, and
/// small stand-ins in the tests.
pub trait CachedModel {
    type Cache: Clone;
    fn new_cache(&self) -> Self::Cache;
    /// How many positions the cache holds.
    fn cached(&self, cache: &Self::Cache) -> usize;
    /// How many logits `extend` returns.
    fn vocab(&self) -> usize;
    /// Runs `ids` after the cached positions (the cache then holds them too) and
    /// returns the logits of the token that follows.
    // ids: [T] -> [V]
    fn extend(&self, ids: &[u32], cache: &mut Self::Cache) -> Array1<f32>;
}

impl CachedModel for Llama {
    type Cache = KvCache;
    fn new_cache(&self) -> KvCache {
        Llama::new_cache(self)
    }
    fn cached(&self, cache: &KvCache) -> usize {
        cache.len()
    }
    fn vocab(&self) -> usize {
        self.cfg.vocab
    }
    fn extend(&self, ids: &[u32], cache: &mut KvCache) -> Array1<f32> {
        self.next_logits(&self.hidden_cached(ids, cache))
    }
}

/// What a generation produced: the new ids (the end-of-sequence id included if it
/// came), the text shown (stop string and end-of-sequence excluded), and why it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Generated {
    pub ids: Vec<u32>,
    pub text: String,
    pub reason: StopReason,
}

/// A generation that could not go on.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    #[error(transparent)]
    Sampling(#[from] SamplingError),
    #[error(
        "generate: the model chose token {0}, which the tokenizer cannot decode: {1}"
    )]
    Decode(u32, GgufError),
    #[error(
        "generate: the cache holds {cached} positions, more than the {context} in the context"
    )]
    CacheAhead { cached: usize, context: usize },
}

/// The ids of `context` that `cache` does not hold yet.
fn unseen<'c, M: CachedModel>(
    model: &M,
    cache: &M::Cache,
    context: &'c [u32],
) -> Result<&'c [u32], GenerateError> {
    let cached = model.cached(cache);
    let n = context.len();
    (context.get(cached..)).ok_or(GenerateError::CacheAhead { cached, context: n })
}

// ANCHOR: generate
/// Samples a continuation of `context`, of which `cache` already holds a prefix (only
/// the rest is run), streaming text to `emit` as it becomes safe to show. The
/// penalties see the context and the new ids. The cache is left holding a prefix of
/// context + new ids (all but the last new id).
pub fn generate<M: CachedModel>(
    model: &M,
    tok: &GgufTokenizer,
    (cache, context): (&mut M::Cache, &[u32]),
    sampler: &mut Sampler,
    stop: &StopConditions,
    mut emit: impl FnMut(&str),
) -> Result<Generated, GenerateError> {
    let mut feed = unseen(model, cache, context)?.to_vec();
    let mut stream = TextStream::new(&stop.stop_strings);
    let (mut all, mut text) = (context.to_vec(), String::new()); // the penalties see all
    let reason = loop {
        if all.len() - context.len() == stop.max_tokens {
            break StopReason::MaxTokens;
        }
        let next = sampler.sample(&model.extend(&feed, cache), &all)?;
        all.push(next);
        if Some(next) == stop.eos {
            break StopReason::Eos;
        }
        let bytes = tok.decode(&[next]);
        let piece = stream.push(&bytes.map_err(|e| GenerateError::Decode(next, e))?);
        emit(&piece);
        text += &piece;
        if stream.stopped() {
            break StopReason::StopString;
        }
        feed = vec![next];
    };
    let tail = stream.finish(); // empty after a stop string
    emit(&tail);
    text += &tail;
    let ids = all.split_off(context.len());
    Ok(Generated { ids, text, reason })
}
// ANCHOR_END: generate
