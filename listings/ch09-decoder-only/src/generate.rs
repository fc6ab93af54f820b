//! The `generate` example's core: a prompt in, the continuation streamed out as text or
//! as ids, greedy or sampled at a temperature with a seeded generator.

use std::io::{self, Write};

use ch01_foundations::init::seeded_rng;
use ch01_foundations::probability::{argmax, sample_categorical};
use ndarray::Array1;

use crate::llama::Llama;
use crate::tokenizer::{GgufTokenizer, smollm2_chat_prompt};

/// What the command line chooses.
#[derive(Clone, Debug)]
pub struct Options {
    /// Encode the prompt as plain text; otherwise wrap it in the chat template as one
    /// user turn.
    pub raw: bool,
    /// Always take the most likely token (also what temperature 0 means).
    pub greedy: bool,
    pub max_new_tokens: usize,
    /// Print the generated ids, space-separated on one line, instead of text.
    pub ids: bool,
    pub temperature: f32,
    pub seed: u64,
}

/// The ids the model sees for a prompt under `opts`.
pub fn prompt_ids(tok: &GgufTokenizer, prompt: &str, raw: bool) -> Vec<u32> {
    if raw {
        tok.encode(prompt)
    } else {
        tok.encode(&smollm2_chat_prompt(prompt))
    }
}

/// The next token: the arg max, or a draw from softmax(logits / T).
// logits: [vocab] -> id
fn choose(logits: &Array1<f32>, opts: &Options, rng: &mut impl rand::Rng) -> u32 {
    if opts.greedy || opts.temperature <= 0.0 {
        return argmax(logits.iter().copied()) as u32;
    }
    let m = logits.fold(f32::NEG_INFINITY, |a, &b| a.max(b));
    let p = logits.mapv(|l| ((l - m) / opts.temperature).exp());
    sample_categorical(&p, rng) as u32
}

/// Generates up to `opts.max_new_tokens` after `prompt`, stopping after `eos`, and
/// writes each token to `out` as soon as it is chosen: its id, or its text once the
/// bytes so far form whole UTF-8 characters (the end-of-sequence token's text is not
/// written). Returns the new ids, `eos` included if it came.
// ANCHOR: generate
pub fn generate(
    model: &Llama,
    tok: &GgufTokenizer,
    prompt: &[u32],
    opts: &Options,
    eos: Option<u32>,
    out: &mut impl Write,
) -> io::Result<Vec<u32>> {
    let mut rng = seeded_rng(opts.seed);
    let mut cache = model.new_cache();
    let (mut new, mut pending) = (Vec::new(), Vec::new());
    let mut fresh = prompt.to_vec();
    while new.len() < opts.max_new_tokens && !fresh.is_empty() {
        let h = model.hidden_cached(&fresh, &mut cache);
        let next = choose(&model.next_logits(&h), opts, &mut rng);
        new.push(next);
        if opts.ids {
            write!(out, "{}{next}", if new.len() > 1 { " " } else { "" })?;
        } else if Some(next) != eos {
            pending.extend(tok.decode(&[next]).unwrap_or_default());
            let whole = match std::str::from_utf8(&pending) {
                Ok(s) => s.len(),
                Err(e) if e.error_len().is_none() => e.valid_up_to(), // wait for more
                Err(_) => pending.len(),                              // never valid
            };
            out.write_all(&pending[..whole])?;
            pending.drain(..whole);
        }
        out.flush()?;
        fresh = if Some(next) == eos {
            vec![]
        } else {
            vec![next]
        };
    }
    out.write_all(&pending)?;
    writeln!(out)?;
    Ok(new)
}
// ANCHOR_END: generate
