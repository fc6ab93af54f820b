//! The autoregressive generation loop (section "The generation loop").

use ch01_foundations::probability::argmax;
use thiserror::Error;

use crate::lm::DecoderLm;

/// Why a generation request was refused, before any computation.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum GenerateError {
    #[error(
        "generate: the prompt is empty; the model needs at least one token to condition on"
    )]
    EmptyPrompt,
    #[error(
        "generate: prompt token {position} is {id}, outside the vocabulary 0..{vocab}"
    )]
    OutOfVocab {
        position: usize,
        id: usize,
        vocab: usize,
    },
    #[error(
        "generate: {prompt} prompt tokens + {n_new} new tokens need {} positions, \
         but the model has {max_len}",
        prompt + n_new
    )]
    TooLong {
        prompt: usize,
        n_new: usize,
        max_len: usize,
    },
}

// ANCHOR: generate_greedy
/// Greedy decoding: append the most likely next token, n_new times. Returns the prompt
/// followed by the new tokens. A request that would run past the model's last position
/// is refused up front rather than cut short or slid along (see the text).
pub fn generate_greedy(
    model: &mut DecoderLm,
    prompt: &[usize],
    n_new: usize,
) -> Result<Vec<usize>, GenerateError> {
    let (vocab, max_len) = (model.cfg.vocab, model.cfg.max_len);
    if prompt.is_empty() {
        return Err(GenerateError::EmptyPrompt);
    }
    if let Some((position, &id)) = prompt.iter().enumerate().find(|(_, id)| **id >= vocab)
    {
        return Err(GenerateError::OutOfVocab {
            position,
            id,
            vocab,
        });
    }
    if prompt.len() + n_new > max_len {
        let (prompt, max_len) = (prompt.len(), max_len);
        return Err(GenerateError::TooLong {
            prompt,
            n_new,
            max_len,
        });
    }
    let mut ids = prompt.to_vec();
    for _ in 0..n_new {
        // The whole sequence again, every step: see "Where generation spends its time".
        let logits = model.next_token_logits(&ids);
        ids.push(argmax(logits.iter().copied()));
    }
    Ok(ids)
}
// ANCHOR_END: generate_greedy
