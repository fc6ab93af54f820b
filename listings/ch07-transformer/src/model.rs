//! The full encoder-decoder transformer (section "The full model"): two embeddings, the
//! encoder stack of Chapter 5, the decoder stack with cross-attention, and an output
//! projection, optionally tied to the target embedding.

use ch01_foundations::linalg::{rows, unrows};
use ch01_foundations::module::{
    Mode, Module, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ch02_input::embedding::Embedding;
use ch02_input::positions::sinusoidal::sinusoidal;
use ch04_ffn_norms::dropout::Dropout;
use ch04_ffn_norms::linear::Linear;
use ch05_encoder::block::{DropoutConfig, Wiring};
use ch05_encoder::encoder::{embed_backward, embed_with_positions};
use ch05_encoder::stack::EncoderStack;
use ndarray::{Array2, Array3};
use rand::Rng;

use crate::decoder::{DecoderStack, Padding};

// ANCHOR: config
/// The model's sizes. The 2017 base model is d_model 512, 8 heads, d_ff 2048, 6 + 6
/// layers; the toy task of this chapter needs far less.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Config {
    pub src_vocab: usize,
    pub tgt_vocab: usize,
    pub max_len: usize, // longest source or target sequence, in tokens
    pub d_model: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub n_enc: usize,
    pub n_dec: usize,
    pub wiring: Wiring,
    pub tie_output: bool, // logits = h Eᵀ with the target embedding E
    pub pad: usize,       // the padding id, the same in both vocabularies
}
// ANCHOR_END: config

// ANCHOR: model
pub struct Transformer {
    pub cfg: Config,
    pub src_embed: Embedding, // [src_vocab, C]
    pub tgt_embed: Embedding, // [tgt_vocab, C]
    pub pe: Array2<f32>,      // [max_len, C], sinusoidal, shared by both sides
    pub encoder: EncoderStack,
    pub decoder: DecoderStack,
    pub out: Option<Linear>, // [C, tgt_vocab]; None when tied to tgt_embed
    pub dropout: DropoutConfig, // 0 everywhere unless set_dropout says otherwise
    pub drop_src: Dropout,   // on each side's E·√C + PE, in training
    pub drop_tgt: Dropout,
}

impl Transformer {
    pub fn new(cfg: Config, rng: &mut impl Rng) -> Self {
        let Config {
            d_model: c,
            n_heads: h,
            d_ff,
            wiring,
            ..
        } = cfg;
        let std = (c as f32).powf(-0.5); // rows enter at ~unit size after the √C scale
        Transformer {
            src_embed: Embedding::new(cfg.src_vocab, c, std, rng),
            tgt_embed: Embedding::new(cfg.tgt_vocab, c, std, rng),
            pe: sinusoidal(cfg.max_len, c),
            encoder: EncoderStack::new(cfg.n_enc, c, h, d_ff, wiring, rng),
            decoder: DecoderStack::new(cfg.n_dec, c, h, d_ff, wiring, rng),
            out: (!cfg.tie_output).then(|| Linear::new(c, cfg.tgt_vocab, rng)),
            cfg,
            dropout: DropoutConfig::default(),
            drop_src: Dropout::new(0.0),
            drop_tgt: Dropout::new(0.0),
        }
    }
}
// ANCHOR_END: model

// ANCHOR: set_dropout
impl Transformer {
    /// Where and how much to drop (the 2017 recipe: `DropoutConfig::vaswani(0.1)`). It
    /// acts only in training mode: `set_mode(&mut Mode::Train(&mut rng))`.
    pub fn set_dropout(&mut self, d: DropoutConfig) {
        self.dropout = d;
        self.drop_src.set_p(d.embedding);
        self.drop_tgt.set_p(d.embedding);
        self.encoder.set_dropout(d);
        self.decoder.set_dropout(d);
    }
}
// ANCHOR_END: set_dropout

// ANCHOR: forward
/// What the decoder reads from the encoder: its output and the source padding.
pub struct Memory {
    pub m: Array3<f32>,        // [B, S, C]
    pub src_pad: Array2<bool>, // [B, S], true = padding
}

impl Transformer {
    /// Teacher forcing: the decoder reads the whole shifted-right target at once and
    /// predicts every next token in one pass.
    // src: [B, S], tgt_in: [B, T] -> logits: [B, T, tgt_vocab]
    pub fn forward(
        &mut self,
        src: &Array2<usize>,
        tgt_in: &Array2<usize>,
    ) -> Array3<f32> {
        let memory = self.encode(src);
        self.decode(&memory, tgt_in)
    }

    // src: [B, S] -> memory: [B, S, C]
    pub fn encode(&mut self, src: &Array2<usize>) -> Memory {
        let src_pad = src.mapv(|id| id == self.cfg.pad);
        let x = embed_with_positions(&mut self.src_embed, &self.pe, src);
        let x = self.drop_src.apply(x); // [B, S, C]
        let m = self.encoder.forward(&x, Some(&src_pad));
        Memory { m, src_pad }
    }
}
// ANCHOR_END: forward

// ANCHOR: decode
impl Transformer {
    // memory: [B, S, C], tgt_in: [B, T] -> logits: [B, T, tgt_vocab]
    pub fn decode(&mut self, memory: &Memory, tgt_in: &Array2<usize>) -> Array3<f32> {
        let tgt_pad = tgt_in.mapv(|id| id == self.cfg.pad);
        let y = embed_with_positions(&mut self.tgt_embed, &self.pe, tgt_in);
        let y = self.drop_tgt.apply(y); // [B, T, C]
        let pad = Padding {
            src: Some(&memory.src_pad),
            tgt: Some(&tgt_pad),
        };
        let h = self.decoder.forward(&y, &memory.m, pad);
        let (b, t, _) = h.dim();
        let logits = match &mut self.out {
            Some(out) => out.forward(&rows(&h)),
            None => self.tgt_embed.unembed(&rows(&h)),
        };
        unrows(logits, b, t, self.cfg.tgt_vocab)
    }
}
// ANCHOR_END: decode

// ANCHOR: backward
impl Transformer {
    /// Accumulates every parameter's gradient. The encoder's gradient arrives through
    /// cross-attention only: ∂L/∂m from every decoder layer.
    // dlogits: [B, T, tgt_vocab] -> nothing: the inputs were integers
    pub fn backward(&mut self, dlogits: &Array3<f32>) {
        let (b, t, _) = dlogits.dim();
        let c = self.cfg.d_model;
        let dh = match &mut self.out {
            Some(out) => out.backward(&rows(dlogits)),
            None => self.tgt_embed.unembed_backward(&rows(dlogits)),
        };
        let (dy, dm) = self.decoder.backward(&unrows(dh, b, t, c));
        embed_backward(&mut self.tgt_embed, &self.drop_tgt.backward(&dy));
        let dx = self.encoder.backward(&dm);
        embed_backward(&mut self.src_embed, &self.drop_src.backward(&dx));
    }
}
// ANCHOR_END: backward

impl Module for Transformer {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("src_embed", &self.src_embed, f);
        visit_child("tgt_embed", &self.tgt_embed, f);
        visit_child("encoder", &self.encoder, f);
        visit_child("decoder", &self.decoder, f);
        if let Some(out) = &self.out {
            visit_child("out", out, f);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("src_embed", &mut self.src_embed, f);
        visit_child_mut("tgt_embed", &mut self.tgt_embed, f);
        visit_child_mut("encoder", &mut self.encoder, f);
        visit_child_mut("decoder", &mut self.decoder, f);
        if let Some(out) = &mut self.out {
            visit_child_mut("out", out, f);
        }
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.drop_src.set_mode(mode);
        self.drop_tgt.set_mode(mode);
        self.encoder.set_mode(mode);
        self.decoder.set_mode(mode);
    }
}

// ANCHOR: shift_right
/// Teacher forcing's decoder input: the target shifted one place right, `bos` first. At
/// position t the decoder reads y₀ … y_{t-1} and is trained to predict y_t = tgt[t].
// tgt: [B, T] (ends with eos, then padding) -> tgt_in: [B, T]
pub fn shift_right(tgt: &Array2<usize>, bos: usize) -> Array2<usize> {
    let (b, t) = tgt.dim();
    Array2::from_shape_fn((b, t), |(i, j)| if j == 0 { bos } else { tgt[[i, j - 1]] })
}
// ANCHOR_END: shift_right

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shift_right_puts_bos_first_and_drops_the_last_column() {
        let tgt = Array2::from_shape_vec((2, 4), vec![5, 6, 7, 2, 8, 2, 0, 0]).unwrap();
        let tgt_in = shift_right(&tgt, 1);
        assert_eq!(tgt_in.row(0).to_vec(), vec![1, 5, 6, 7]);
        assert_eq!(tgt_in.row(1).to_vec(), vec![1, 8, 2, 0]);
    }
}
