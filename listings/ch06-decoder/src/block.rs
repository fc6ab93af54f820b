//! The decoder block (section "The block and the causal mask"): Chapter 5's encoder
//! block with one flag switched on.

use ch01_foundations::module::{Mode, Module, ParamView, ParamViewMut};
use ch05_encoder::{EncoderBlock, Wiring};
use ndarray::{Array2, Array3};
use rand::Rng;

// ANCHOR: decoder_block
/// A decoder-only block (GPT's): masked self-attention and an FFN, each a residual
/// sub-layer with a LayerNorm. It is an [`EncoderBlock`] whose attention is causal, so
/// it wraps one instead of repeating its code.
pub struct DecoderBlock {
    pub block: EncoderBlock,
}

impl DecoderBlock {
    pub fn new(
        d_model: usize,
        n_heads: usize,
        d_ff: usize,
        wiring: Wiring,
        rng: &mut impl Rng,
    ) -> Self {
        let mut block = EncoderBlock::new(d_model, n_heads, d_ff, wiring, rng);
        block.attn.causal = true; // the only difference: query t sees keys ≤ t
        DecoderBlock { block }
    }

    // x: [B, T, C], key_padding: [B, T] -> [B, T, C]
    pub fn forward(
        &mut self,
        x: &Array3<f32>,
        key_padding: Option<&Array2<bool>>,
    ) -> Array3<f32> {
        self.block.forward(x, key_padding)
    }

    // dy: [B, T, C] -> dx: [B, T, C]
    pub fn backward(&mut self, dy: &Array3<f32>) -> Array3<f32> {
        self.block.backward(dy)
    }
}
// ANCHOR_END: decoder_block

/// The wrapper adds no name of its own: parameters read `attn.w_qkv`, `ffn.fc1.w`, as
/// in the encoder block and in PyTorch's `TransformerEncoderLayer`.
impl Module for DecoderBlock {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        self.block.visit_params(f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        self.block.visit_params_mut(f);
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.block.set_mode(mode);
    }
}
