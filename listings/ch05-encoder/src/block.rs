//! The encoder block (section "The encoder block"): self-attention and an FFN, each a
//! residual sub-layer with a LayerNorm, in either of the two wirings.

use ch01_foundations::linalg::{rows, unrows};
use ch01_foundations::module::{
    Mode, Module, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ch03_attention::mha::MultiHeadAttention;
use ch04_ffn_norms::activations::Activation;
use ch04_ffn_norms::dropout::Dropout;
use ch04_ffn_norms::ffn::Ffn;
use ch04_ffn_norms::norms::LayerNorm;
pub use ch04_ffn_norms::residual::Wiring;
use ndarray::{Array2, Array3};
use rand::Rng;

// ANCHOR: dropout_config
/// Where a transformer drops units, and how often. The 2017 recipe drops P_drop = 0.1 of
/// every sub-layer's output before its residual add and of the embeddings plus
/// positions; BERT and GPT-2 also drop attention weights. The default, 0 everywhere, is
/// what the book's models train with unless a section says otherwise.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct DropoutConfig {
    pub residual: f32,  // each sub-layer's output, before the add
    pub embedding: f32, // E·√C + PE, before the first block
    pub attention: f32, // the attention weights P, inside every attention layer
}

impl DropoutConfig {
    /// Vaswani et al.'s placement: `p` on sub-layers and embeddings, none on weights.
    pub fn vaswani(p: f32) -> Self {
        DropoutConfig {
            residual: p,
            embedding: p,
            attention: 0.0,
        }
    }
}
// ANCHOR_END: dropout_config

// ANCHOR: struct
/// One encoder block. Post-LN (Vaswani et al., 2017):
///   h = LN₁(x + MHA(x)),      y = LN₂(h + FFN(h)).
/// Pre-LN (Xiong et al., 2020; GPT-2 and every large model since):
///   h = x + MHA(LN₁(x)),      y = h + FFN(LN₂(h)).
/// In training, `drop1` and `drop2` drop units of MHA's and FFN's outputs before the add.
pub struct EncoderBlock {
    pub attn: MultiHeadAttention,
    pub norm1: LayerNorm,
    pub ffn: Ffn,
    pub norm2: LayerNorm,
    pub wiring: Wiring,
    pub drop1: Dropout, // p = 0 unless set_dropout says otherwise
    pub drop2: Dropout,
}

impl EncoderBlock {
    /// The 2017 block: ReLU FFN, LayerNorm ε = 1e-5 (PyTorch's default).
    pub fn new(
        d_model: usize,
        n_heads: usize,
        d_ff: usize,
        wiring: Wiring,
        rng: &mut impl Rng,
    ) -> Self {
        EncoderBlock {
            attn: MultiHeadAttention::new(d_model, n_heads, false, rng),
            norm1: LayerNorm::new(d_model, 1e-5),
            ffn: Ffn::new(d_model, d_ff, Activation::Relu, rng),
            norm2: LayerNorm::new(d_model, 1e-5),
            wiring,
            drop1: Dropout::new(0.0),
            drop2: Dropout::new(0.0),
        }
    }
}
// ANCHOR_END: struct

impl EncoderBlock {
    /// Sets the residual and attention-weight dropout; keeps the mode.
    pub fn set_dropout(&mut self, d: DropoutConfig) {
        self.drop1.set_p(d.residual);
        self.drop2.set_p(d.residual);
        self.attn.dropout.set_p(d.attention);
    }
}

// ANCHOR: forward
impl EncoderBlock {
    /// `key_padding[b][j]` = true: key j of item b is padding, hidden from every query.
    // x: [B, T, C], key_padding: [B, T] -> [B, T, C]
    pub fn forward(
        &mut self,
        x: &Array3<f32>,
        key_padding: Option<&Array2<bool>>,
    ) -> Array3<f32> {
        let (b, t, c) = x.dim();
        match self.wiring {
            Wiring::PostLn => {
                let a = self.drop1.apply(self.attn.forward(x, key_padding));
                let h = self.norm1.forward(&rows(&(x + &a))); // [B·T, C]
                let f = self.drop2.apply(self.ffn.forward(&h));
                unrows(self.norm2.forward(&(&h + &f)), b, t, c)
            }
            Wiring::PreLn => {
                let z = unrows(self.norm1.forward(&rows(x)), b, t, c);
                let a = self.drop1.apply(self.attn.forward(&z, key_padding));
                let h = rows(&(x + &a)); // [B·T, C]
                let f = self.drop2.apply(self.ffn.forward(&self.norm2.forward(&h)));
                unrows(&h + &f, b, t, c)
            }
        }
    }
}
// ANCHOR_END: forward

// ANCHOR: backward
impl EncoderBlock {
    /// Runs the forward pass backwards: each residual sends the gradient both through
    /// its sub-layer and, unchanged, around it; the two are summed.
    // dy: [B, T, C] -> dx: [B, T, C]
    pub fn backward(&mut self, dy: &Array3<f32>) -> Array3<f32> {
        let (b, t, c) = dy.dim();
        match self.wiring {
            Wiring::PostLn => {
                let dz = self.norm2.backward(&rows(dy)); // into h + FFN(h)
                let dh = &dz + &self.ffn.backward(&self.drop2.backward(&dz));
                let ds = unrows(self.norm1.backward(&dh), b, t, c); // into x + MHA(x)
                &ds + &self.attn.backward(&self.drop1.backward(&ds))
            }
            Wiring::PreLn => {
                let dy = rows(dy);
                let df = self.ffn.backward(&self.drop2.backward(&dy));
                let dh = unrows(&dy + &self.norm2.backward(&df), b, t, c);
                let dz = rows(&self.attn.backward(&self.drop1.backward(&dh)));
                &dh + &unrows(self.norm1.backward(&dz), b, t, c)
            }
        }
    }
}
// ANCHOR_END: backward

impl Module for EncoderBlock {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("attn", &self.attn, f);
        visit_child("norm1", &self.norm1, f);
        visit_child("ffn", &self.ffn, f);
        visit_child("norm2", &self.norm2, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("attn", &mut self.attn, f);
        visit_child_mut("norm1", &mut self.norm1, f);
        visit_child_mut("ffn", &mut self.ffn, f);
        visit_child_mut("norm2", &mut self.norm2, f);
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.attn.set_mode(mode);
        self.drop1.set_mode(mode);
        self.drop2.set_mode(mode);
    }
}

// ANCHOR: padding_mask
/// The key-padding mask of a batch of sequences of lengths `lens`, padded to `t`:
/// `mask[b][j]` = true for j ≥ lens[b].
// lens: [B] -> [B, T]
pub fn padding_mask(lens: &[usize], t: usize) -> Array2<bool> {
    assert!(
        lens.iter().all(|&n| n <= t),
        "padding_mask: lengths {lens:?} but T = {t}"
    );
    Array2::from_shape_fn((lens.len(), t), |(b, j)| j >= lens[b])
}
// ANCHOR_END: padding_mask
