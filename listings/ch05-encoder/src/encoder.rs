//! The encoder (section "The encoder"): token embeddings scaled by √C, plus sinusoidal
//! positions, through the stack.

use ch01_foundations::module::{
    Mode, Module, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ch02_input::embedding::Embedding;
use ch02_input::positions::sinusoidal::sinusoidal;
use ch04_ffn_norms::dropout::Dropout;
use ndarray::{Array2, Array3, s};
use rand::Rng;

use crate::block::{DropoutConfig, Wiring};
use crate::stack::EncoderStack;
use ch01_foundations::linalg::{rows, unrows};

/// The encoder's sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EncoderConfig {
    pub vocab: usize,
    pub max_len: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub n_layers: usize,
    pub wiring: Wiring,
}

// ANCHOR: encoder
/// Embeddings + positions + N blocks (+ a final norm for Pre-LN).
pub struct Encoder {
    pub embed: Embedding,    // [vocab, C]
    pub pe: Array2<f32>,     // [max_len, C], fixed: not a parameter
    pub drop_embed: Dropout, // on E·√C + PE, in training; p = 0 unless set
    pub stack: EncoderStack,
}

impl Encoder {
    pub fn new(cfg: EncoderConfig, rng: &mut impl Rng) -> Self {
        let EncoderConfig {
            vocab,
            max_len,
            d_model,
            n_heads,
            d_ff,
            n_layers,
            wiring,
        } = cfg;
        // The 2017 paper's table scale: with the √C factor below, rows enter at ~unit size.
        let embed = Embedding::new(vocab, d_model, (d_model as f32).powf(-0.5), rng);
        let stack = EncoderStack::new(n_layers, d_model, n_heads, d_ff, wiring, rng);
        Encoder {
            embed,
            pe: sinusoidal(max_len, d_model),
            drop_embed: Dropout::new(0.0),
            stack,
        }
    }
}
// ANCHOR_END: encoder

// ANCHOR: encoder_forward
impl Encoder {
    // ids: [B, T], key_padding: [B, T] -> [B, T, C]
    pub fn forward(
        &mut self,
        ids: &Array2<usize>,
        key_padding: Option<&Array2<bool>>,
    ) -> Array3<f32> {
        let x = embed_with_positions(&mut self.embed, &self.pe, ids);
        self.stack.forward(&self.drop_embed.apply(x), key_padding)
    }

    /// Accumulates every gradient, down to the embedding table.
    // dy: [B, T, C] -> nothing: the input was integers
    pub fn backward(&mut self, dy: &Array3<f32>) {
        let dx = self.drop_embed.backward(&self.stack.backward(dy));
        embed_backward(&mut self.embed, &dx);
    }

    /// Embedding dropout here, the rest in every block.
    pub fn set_dropout(&mut self, d: DropoutConfig) {
        self.drop_embed.set_p(d.embedding);
        self.stack.set_dropout(d);
    }
}
// ANCHOR_END: encoder_forward

// ANCHOR: embed_with_positions
/// x[b, t] = E[ids[b, t]] · √C + PE[t]: the √C puts the embedding on the scale of the
/// positional code, whose entries lie in [-1, 1].
// ids: [B, T], pe: [max_len, C] -> [B, T, C]
pub fn embed_with_positions(
    embed: &mut Embedding,
    pe: &Array2<f32>,
    ids: &Array2<usize>,
) -> Array3<f32> {
    let ((b, t), c) = (ids.dim(), pe.ncols());
    assert!(
        t <= pe.nrows(),
        "embed_with_positions: ids are [B, T] = {:?} but positions stop at {}",
        [b, t],
        pe.nrows()
    );
    let flat: Vec<usize> = ids.iter().copied().collect(); // row-major: b, then t
    let scale = (c as f32).sqrt();
    let mut x = unrows(embed.forward(&flat), b, t, c) * scale;
    x += &pe.slice(s![..t, ..]); // broadcast over the batch axis
    x
}

/// The gradient of [`embed_with_positions`] reaches only the table (PE is fixed).
// dx: [B, T, C] -> nothing
pub fn embed_backward(embed: &mut Embedding, dx: &Array3<f32>) {
    let scale = (dx.dim().2 as f32).sqrt();
    embed.backward(&(rows(dx) * scale));
}
// ANCHOR_END: embed_with_positions

impl Module for Encoder {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("embed", &self.embed, f);
        self.stack.visit_params(f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("embed", &mut self.embed, f);
        self.stack.visit_params_mut(f);
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.drop_embed.set_mode(mode);
        self.stack.set_mode(mode);
    }
}
