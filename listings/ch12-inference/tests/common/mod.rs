//! Shared by the tests: the real SmolLM2 from the models cache, and two stand-in
//! models that make the loop's behaviour exact without a forward pass.

#![allow(dead_code)]

use std::sync::OnceLock;

use ch09_decoder_only::gguf::Gguf;
use ch09_decoder_only::llama::Llama;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use ch12_inference::stopping::CachedModel;
use ndarray::Array1;

/// The real SmolLM2-135M-Instruct GGUF, parsed once. Without the cache this fails with
/// one line naming `cargo xtask models`.
pub fn smollm2() -> &'static Gguf {
    static FILE: OnceLock<Gguf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = models::SMOLLM2_135M_INSTRUCT
            .dir()
            .unwrap_or_else(|e| panic!("{e}"));
        Gguf::open(&dir.join(models::SMOLLM2_GGUF)).unwrap_or_else(|e| panic!("{e}"))
    })
}

pub fn tokenizer() -> &'static GgufTokenizer {
    static T: OnceLock<GgufTokenizer> = OnceLock::new();
    T.get_or_init(|| GgufTokenizer::from_gguf(smollm2()).unwrap())
}

pub fn model() -> &'static Llama {
    static M: OnceLock<Llama> = OnceLock::new();
    M.get_or_init(|| Llama::from_gguf(smollm2()).unwrap())
}

/// SmolLM2's vocabulary size, for the stand-ins' logits.
pub const VOCAB: usize = 49_152;

/// Logits with one clear winner.
pub fn one_hot(id: u32) -> Array1<f32> {
    let mut l = Array1::zeros(VOCAB);
    l[id as usize] = 10.0;
    l
}

/// A model that says `script` after a prompt of `prompt_len` ids, then `end` forever.
pub struct Script {
    pub prompt_len: usize,
    pub script: Vec<u32>,
    pub end: u32,
}

impl Script {
    fn next(&self, seen: &[u32]) -> u32 {
        let i = seen.len().saturating_sub(self.prompt_len); // inside the prompt: unread
        self.script.get(i).copied().unwrap_or(self.end)
    }
}

/// A model that answers every turn with `word` then `eos`: after `word` comes `eos`,
/// after anything else `word`.
pub struct Parrot {
    pub word: u32,
    pub eos: u32,
}

impl Parrot {
    fn next(&self, seen: &[u32]) -> u32 {
        if seen.last() == Some(&self.word) {
            self.eos
        } else {
            self.word
        }
    }
}

/// A stand-in's `CachedModel`: its cache is the ids it has seen, and its logits have one
/// clear winner, the id its `next` picks after them.
macro_rules! stand_in {
    ($model:ty) => {
        impl CachedModel for $model {
            type Cache = Vec<u32>;
            fn new_cache(&self) -> Vec<u32> {
                Vec::new()
            }
            fn cached(&self, cache: &Vec<u32>) -> usize {
                cache.len()
            }
            fn vocab(&self) -> usize {
                VOCAB
            }
            fn extend(&self, ids: &[u32], cache: &mut Vec<u32>) -> Array1<f32> {
                cache.extend(ids);
                one_hot(self.next(cache))
            }
        }
    };
}
stand_in!(Script);
stand_in!(Parrot);
