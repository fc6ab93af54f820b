//! The encoder block (section "The encoder block"): self-attention and an FFN, each a
//! residual sub-layer with a LayerNorm, in either of the two wirings.

use ch01_foundations::linalg::{rows, unrows};
use ch01_foundations::module::{
    Module, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ch03_attention::mha::MultiHeadAttention;
use ch04_ffn_norms::activations::Activation;
use ch04_ffn_norms::ffn::Ffn;
use ch04_ffn_norms::norms::LayerNorm;
pub use ch04_ffn_norms::residual::Wiring;
use ndarray::{Array2, Array3};
use rand::Rng;

// ANCHOR: struct
/// One encoder block. Post-LN (Vaswani et al., 2017):
///   h = LN₁(x + MHA(x)),      y = LN₂(h + FFN(h)).
/// Pre-LN (Xiong et al., 2020; GPT-2 and every large model since):
///   h = x + MHA(LN₁(x)),      y = h + FFN(LN₂(h)).
pub struct EncoderBlock {
    pub attn: MultiHeadAttention,
    pub norm1: LayerNorm,
    pub ffn: Ffn,
    pub norm2: LayerNorm,
    pub wiring: Wiring,
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
        }
    }
}
// ANCHOR_END: struct

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
                let a = self.attn.forward(x, key_padding);
                let h = self.norm1.forward(&rows(&(x + &a))); // [B·T, C]
                let y = self.norm2.forward(&(&h + &self.ffn.forward(&h)));
                unrows(y, b, t, c)
            }
            Wiring::PreLn => {
                let z = unrows(self.norm1.forward(&rows(x)), b, t, c);
                let h = rows(&(x + &self.attn.forward(&z, key_padding))); // [B·T, C]
                let y = &h + &self.ffn.forward(&self.norm2.forward(&h));
                unrows(y, b, t, c)
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
                let dh = &dz + &self.ffn.backward(&dz);
                let ds = unrows(self.norm1.backward(&dh), b, t, c); // into x + MHA(x)
                &ds + &self.attn.backward(&ds)
            }
            Wiring::PreLn => {
                let dy = rows(dy);
                let dh = &dy + &self.norm2.backward(&self.ffn.backward(&dy));
                let dh = unrows(dh, b, t, c);
                let dz = rows(&self.attn.backward(&dh));
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
