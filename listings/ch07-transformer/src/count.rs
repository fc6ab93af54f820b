//! Counting the model's parameters from its sizes alone (section "The full model"), so the
//! count of a model too large to build here, the 2017 base model, is one function call.
//! A test checks the formula against `Module::num_params` of real models.

use ch05_encoder::block::Wiring;

use crate::model::Config;

// ANCHOR: count
/// Parameters per component of a [`Config`]'s model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamCount {
    pub src_embed: usize,
    pub tgt_embed: usize,
    pub encoder: usize,
    pub decoder: usize,
    pub out: usize, // 0 when tied: the projection is tgt_embed's table
}

impl ParamCount {
    pub fn total(&self) -> usize {
        self.src_embed + self.tgt_embed + self.encoder + self.decoder + self.out
    }
}

/// attention 4C² + 4C (Q, K, V, O and their biases), FFN 2·C·d_ff + d_ff + C,
/// LayerNorm 2C. An encoder block has one attention, one FFN, two norms; a decoder
/// layer one attention more (cross) and one norm more. Pre-LN adds one final norm to
/// each stack.
pub fn param_count(cfg: &Config) -> ParamCount {
    let (c, d_ff) = (cfg.d_model, cfg.d_ff);
    let attn = 4 * c * c + 4 * c;
    let ffn = 2 * c * d_ff + d_ff + c;
    let norm = 2 * c;
    let final_norm = if cfg.wiring == Wiring::PreLn { norm } else { 0 };
    ParamCount {
        src_embed: cfg.src_vocab * c,
        tgt_embed: cfg.tgt_vocab * c,
        encoder: cfg.n_enc * (attn + ffn + 2 * norm) + final_norm,
        decoder: cfg.n_dec * (2 * attn + ffn + 3 * norm) + final_norm,
        out: if cfg.tie_output {
            0
        } else {
            c * cfg.tgt_vocab + cfg.tgt_vocab
        },
    }
}
// ANCHOR_END: count
