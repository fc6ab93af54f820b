//! Solutions to the chapter's exercises (tested in tests/exercises.rs).

use std::collections::HashMap;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::Module;
use ndarray::{Array2, ArrayD, ArrayView2, Ix2, s};

use crate::config::LlamaConfig;
use crate::llama_model::{Llama, LlamaConfigError, LlamaTrainConfig};

// ANCHOR: count
/// Exercise 1: a Llama's parameters from its sizes alone. Per block: the norms' two
/// gains (2C), W_q and W_o (2·C·H·d), W_k and W_v (2·C·H_kv·d), and SwiGLU's three
/// matrices (3·C·d_ff); no biases anywhere.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LlamaParamCount {
    pub embedding: usize,
    pub attention: usize, // all blocks
    pub ffn: usize,       // all blocks
    pub norms: usize,     // all blocks and the final norm
    pub head: usize,      // 0 when tied to the embedding
}

impl LlamaParamCount {
    pub fn new(cfg: &LlamaConfig, tied: bool) -> Self {
        let (c, n, d) = (cfg.d_model, cfg.n_layers, cfg.d_head());
        LlamaParamCount {
            embedding: cfg.vocab * c,
            attention: n * (2 * c * cfg.n_heads * d + 2 * c * cfg.n_kv_heads * d),
            ffn: n * 3 * c * cfg.d_ff,
            norms: n * 2 * c + c,
            head: if tied { 0 } else { c * cfg.vocab },
        }
    }

    pub fn total(&self) -> usize {
        self.embedding + self.attention + self.ffn + self.norms + self.head
    }
}
// ANCHOR_END: count

// ANCHOR: pool_heads
/// Mean-pools the heads of W_k or W_v in groups of `group` neighbours.
// w: [C, H_kv·d] -> [C, (H_kv / group)·d]
pub fn pool_heads(w: ArrayView2<f32>, group: usize, d: usize) -> Array2<f32> {
    let n_new = w.ncols() / (group * d);
    let mut pooled = Array2::<f32>::zeros((w.nrows(), n_new * d));
    for h in 0..n_new * group {
        // old head h joins new head h / group
        let j = h / group;
        let mut dst = pooled.slice_mut(s![.., j * d..(j + 1) * d]);
        dst += &w.slice(s![.., h * d..(h + 1) * d]);
    }
    pooled / group as f32
}
// ANCHOR_END: pool_heads

// ANCHOR: mha_to_gqa
/// Exercise 2: turn a multi-head Llama into a grouped-query one, as Ainslie et al.
/// (2023) initialise GQA before uptraining: each new K/V head is the mean of the
/// `n_heads / n_kv_heads` old heads of its group; every other weight is copied.
pub fn mha_to_gqa(model: &Llama, n_kv_heads: usize) -> Result<Llama, LlamaConfigError> {
    let cfg = LlamaTrainConfig {
        n_kv_heads,
        ..model.cfg.clone()
    };
    cfg.validate()?;
    let (d, group) = (cfg.head_dim(), model.cfg.n_kv_heads / n_kv_heads);
    if model.cfg.n_kv_heads != n_kv_heads * group {
        return Err(LlamaConfigError::KvHeads {
            n_heads: model.cfg.n_kv_heads,
            n_kv_heads,
        });
    }
    let mut old: HashMap<String, ArrayD<f32>> = HashMap::new();
    model.visit_params(&mut |name, p| {
        old.insert(name.to_owned(), p.value.to_owned());
    });
    // Llama::new draws weights only to be overwritten: any generator will do.
    let mut gqa = Llama::new(cfg, &mut seeded_rng(0))?;
    gqa.visit_params_mut(&mut |name, mut p| {
        let w = &old[name];
        if name.ends_with(".wk") || name.ends_with(".wv") {
            let w = w.view().into_dimensionality::<Ix2>().expect("W_k is 2-D");
            p.value.assign(&pool_heads(w, group, d).into_dyn());
        } else {
            p.value.assign(w);
        }
    });
    Ok(gqa)
}
// ANCHOR_END: mha_to_gqa

// ANCHOR: chat
/// Who speaks a chat turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    System,
    User,
    Assistant,
}

/// Exercise 3: SmolLM2-Instruct's chat template for a whole conversation. Each turn is
/// `<|im_start|>role\ncontent<|im_end|>\n`; a conversation that does not open with a
/// system turn gets the default one; `add_generation_prompt` opens the assistant's turn.
pub fn chat_prompt(turns: &[(Role, &str)], add_generation_prompt: bool) -> String {
    let default = "You are a helpful AI assistant named SmolLM, trained by Hugging Face";
    let mut out = String::new();
    if turns.first().is_none_or(|(role, _)| *role != Role::System) {
        out += &format!("<|im_start|>system\n{default}<|im_end|>\n");
    }
    for (role, content) in turns {
        let role = match role {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
        };
        out += &format!("<|im_start|>{role}\n{content}<|im_end|>\n");
    }
    if add_generation_prompt {
        out += "<|im_start|>assistant\n";
    }
    out
}
// ANCHOR_END: chat

// ANCHOR: stop
/// Exercise 4: stop strings for a streamed generation. Text arrives a token at a time
/// and a stop string can straddle tokens, so the scanner holds back the longest tail
/// that could still begin a stop string and releases it once it cannot.
pub struct StopScanner {
    stops: Vec<String>,
    held: String,
    stopped: bool,
}

impl StopScanner {
    /// Empty stop strings are dropped: they would stop before the first character.
    pub fn new(stops: &[&str]) -> Self {
        let stops = stops.iter().filter(|s| !s.is_empty());
        StopScanner {
            stops: stops.map(|s| s.to_string()).collect(),
            held: String::new(),
            stopped: false,
        }
    }
}
// ANCHOR_END: stop

// ANCHOR: stop_push
impl StopScanner {
    /// Takes the next piece of text; returns what is safe to show. Once a stop string
    /// is complete it returns the text before it, and nothing ever after.
    pub fn push(&mut self, piece: &str) -> String {
        if self.stopped {
            return String::new();
        }
        self.held += piece;
        // The occurrence that ends first (the longest, if several end together): the
        // one a reader would have seen complete first.
        let first = (self.stops.iter())
            .filter_map(|s| self.held.find(s.as_str()).map(|at| (at + s.len(), at)))
            .min();
        if let Some((_, at)) = first {
            self.stopped = true;
            let out = self.held[..at].to_owned();
            self.held.clear();
            return out;
        }
        // The longest suffix of `held` that is a proper prefix of some stop string.
        let keep = (1..=self.held.len())
            .rev()
            .filter(|&n| self.held.is_char_boundary(self.held.len() - n))
            .find(|&n| {
                let tail = &self.held[self.held.len() - n..];
                self.stops.iter().any(|s| s.starts_with(tail))
            })
            .unwrap_or(0);
        let tail = self.held.split_off(self.held.len() - keep);
        std::mem::replace(&mut self.held, tail)
    }
}
// ANCHOR_END: stop_push

// ANCHOR: stop_finish
impl StopScanner {
    pub fn stopped(&self) -> bool {
        self.stopped
    }

    /// The text still held back when the generation ends without a stop string.
    pub fn finish(self) -> String {
        if self.stopped {
            String::new()
        } else {
            self.held
        }
    }
}
// ANCHOR_END: stop_finish
