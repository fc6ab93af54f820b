//! The encoder stack (section "The encoder stack"): N blocks, and for Pre-LN one final
//! LayerNorm.

use ch01_foundations::module::{
    Mode, Module, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ch04_ffn_norms::norms::LayerNorm;
use ndarray::{Array2, Array3};
use rand::Rng;

use crate::block::{DropoutConfig, EncoderBlock, Wiring};
use ch01_foundations::linalg::{rows, unrows};

// ANCHOR: stack
/// N encoder blocks. A Pre-LN stack never normalises its residual stream inside the
/// blocks, so it ends in one more LayerNorm; a Post-LN block's output is already
/// normalised and needs none.
pub struct EncoderStack {
    pub blocks: Vec<EncoderBlock>,
    pub final_norm: Option<LayerNorm>,
}

impl EncoderStack {
    pub fn new(
        n_layers: usize,
        d_model: usize,
        n_heads: usize,
        d_ff: usize,
        wiring: Wiring,
        rng: &mut impl Rng,
    ) -> Self {
        let blocks = (0..n_layers)
            .map(|_| EncoderBlock::new(d_model, n_heads, d_ff, wiring, rng))
            .collect();
        let final_norm = (wiring == Wiring::PreLn).then(|| LayerNorm::new(d_model, 1e-5));
        EncoderStack { blocks, final_norm }
    }
}
// ANCHOR_END: stack

// ANCHOR: stack_forward
impl EncoderStack {
    // x: [B, T, C], key_padding: [B, T] -> [B, T, C]
    pub fn forward(
        &mut self,
        x: &Array3<f32>,
        key_padding: Option<&Array2<bool>>,
    ) -> Array3<f32> {
        let mut h = x.clone();
        for block in &mut self.blocks {
            h = block.forward(&h, key_padding);
        }
        match &mut self.final_norm {
            Some(norm) => {
                let (b, t, c) = h.dim();
                unrows(norm.forward(&rows(&h)), b, t, c)
            }
            None => h,
        }
    }

    // dy: [B, T, C] -> dx: [B, T, C]
    pub fn backward(&mut self, dy: &Array3<f32>) -> Array3<f32> {
        let (b, t, c) = dy.dim();
        let mut dh = match &mut self.final_norm {
            Some(norm) => unrows(norm.backward(&rows(dy)), b, t, c),
            None => dy.clone(),
        };
        for block in self.blocks.iter_mut().rev() {
            dh = block.backward(&dh);
        }
        dh
    }
}
// ANCHOR_END: stack_forward

impl EncoderStack {
    /// The same dropout in every block.
    pub fn set_dropout(&mut self, d: DropoutConfig) {
        self.blocks
            .iter_mut()
            .for_each(|block| block.set_dropout(d));
    }
}

impl Module for EncoderStack {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("blocks", &self.blocks, f);
        if let Some(norm) = &self.final_norm {
            visit_child("final_norm", norm, f);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("blocks", &mut self.blocks, f);
        if let Some(norm) = &mut self.final_norm {
            visit_child_mut("final_norm", norm, f);
        }
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.blocks.set_mode(mode);
    }
}
