//! Perplexity: how much a weight format's rounding costs a model's predictions, measured
//! on text the model has not seen.

use ch01_foundations::softmax::log_softmax;
use ch09_decoder_only::llama::{Llama, Weight};
use ndarray::Axis;
use thiserror::Error;

/// Text a perplexity cannot be measured on.
#[derive(Debug, Error, PartialEq)]
pub enum PerplexityError {
    #[error("perplexity: a window of {window} tokens predicts nothing; use at least 2")]
    Window { window: usize },
    #[error("perplexity: {tokens} tokens predict nothing; give at least 2")]
    TooShort { tokens: usize },
}

/// The mean negative log-likelihood (nats) of the predicted tokens, and their count.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Nll {
    pub nats: f64,
    pub predicted: usize,
}

impl Nll {
    /// exp of the mean negative log-likelihood: the number of equally likely tokens the
    /// model is as unsure as, on average.
    pub fn perplexity(&self) -> f64 {
        self.nats.exp()
    }
}

// ANCHOR: perplexity
/// −(1/N) Σ log p(x_{i+1} | x_≤i) over `ids`, read in windows of at most `window`
/// tokens from an empty cache each. A window starts on the last token of the one before,
/// so every token but the first is predicted exactly once: none is dropped.
// ids: [N] -> scalar
pub fn nll<W: Weight>(
    model: &Llama<W>,
    ids: &[u32],
    window: usize,
) -> Result<Nll, PerplexityError> {
    if window < 2 {
        return Err(PerplexityError::Window { window });
    }
    if ids.len() < 2 {
        return Err(PerplexityError::TooShort { tokens: ids.len() });
    }
    let mut sum = 0.0f64;
    for start in (0..ids.len() - 1).step_by(window - 1) {
        let w = &ids[start..(start + window).min(ids.len())];
        let logp = log_softmax(&model.forward(w), Axis(1)); // [w, vocab]
        for (i, &next) in w[1..].iter().enumerate() {
            sum -= f64::from(logp[[i, next as usize]]);
        }
    }
    let predicted = ids.len() - 1;
    Ok(Nll {
        nats: sum / predicted as f64,
        predicted,
    })
}
// ANCHOR_END: perplexity
