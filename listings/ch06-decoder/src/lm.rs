//! A tiny decoder-only language model (section "The LM head and training"): embeddings
//! plus positions, N decoder blocks, a final LayerNorm, and the embedding table again as
//! the output layer.

use ch01_foundations::calculus::softmax_cross_entropy;
use ch01_foundations::linalg::{rows, unrows};
use ch01_foundations::module::{
    Mode, Module, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ch02_input::embedding::Embedding;
use ch02_input::positions::sinusoidal::sinusoidal;
use ch04_ffn_norms::activations::Activation;
use ch04_ffn_norms::dropout::Dropout;
use ch04_ffn_norms::norms::LayerNorm;
use ch05_encoder::encoder::{embed_backward, embed_with_positions};
use ch05_encoder::{DropoutConfig, Wiring};
use ndarray::{Array1, Array2, Array3, Axis};
use rand::Rng;

use crate::block::DecoderBlock;

/// The model's sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LmConfig {
    pub vocab: usize,
    /// The context length: positions 0..max_len have a positional code.
    pub max_len: usize,
    pub d_model: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub n_layers: usize,
    pub wiring: Wiring,
    pub act: Activation,
}

// ANCHOR: lm
/// GPT in miniature: logits = LN_f(blocks(E[ids]·√C + PE)) Eᵀ. One table E is both the
/// input embedding and the output layer (weight tying, Press & Wolf 2017).
pub struct DecoderLm {
    pub cfg: LmConfig,
    pub embed: Embedding,    // [vocab, C]
    pub pe: Array2<f32>,     // [max_len, C], fixed
    pub drop_embed: Dropout, // on E·√C + PE in training (GPT-2's embd_pdrop); p = 0 unless set
    pub blocks: Vec<DecoderBlock>,
    /// Pre-LN only: the residual stream is never normalised inside the blocks.
    pub final_norm: Option<LayerNorm>,
}

impl DecoderLm {
    pub fn new(cfg: LmConfig, rng: &mut impl Rng) -> Self {
        let c = cfg.d_model;
        let embed = Embedding::new(cfg.vocab, c, (c as f32).powf(-0.5), rng);
        let blocks = (0..cfg.n_layers)
            .map(|_| {
                let mut b = DecoderBlock::new(c, cfg.n_heads, cfg.d_ff, cfg.wiring, rng);
                b.block.ffn.act = cfg.act;
                b
            })
            .collect();
        let final_norm = (cfg.wiring == Wiring::PreLn).then(|| LayerNorm::new(c, 1e-5));
        DecoderLm {
            cfg,
            embed,
            pe: sinusoidal(cfg.max_len, c),
            drop_embed: Dropout::new(0.0),
            blocks,
            final_norm,
        }
    }
}
// ANCHOR_END: lm

// ANCHOR: lm_forward
impl DecoderLm {
    /// The last hidden states, before the output layer.
    // ids: [B, T], key_padding: [B, T] -> h: [B·T, C]
    pub fn hidden(
        &mut self,
        ids: &Array2<usize>,
        key_padding: Option<&Array2<bool>>,
    ) -> Array2<f32> {
        let x = embed_with_positions(&mut self.embed, &self.pe, ids);
        let mut x = self.drop_embed.apply(x);
        for block in &mut self.blocks {
            x = block.forward(&x, key_padding);
        }
        match &mut self.final_norm {
            Some(norm) => norm.forward(&rows(&x)),
            None => rows(&x),
        }
    }

    /// Logits for the next token at every position: row t scores token t + 1.
    // ids: [B, T], key_padding: [B, T] -> logits: [B, T, vocab]
    pub fn forward(
        &mut self,
        ids: &Array2<usize>,
        key_padding: Option<&Array2<bool>>,
    ) -> Array3<f32> {
        let (b, t) = ids.dim();
        let h = self.hidden(ids, key_padding);
        unrows(self.embed.unembed(&h), b, t, self.cfg.vocab)
    }
}
// ANCHOR_END: lm_forward

// ANCHOR: lm_backward
impl DecoderLm {
    /// Accumulates every parameter's gradient; E receives two: from the output layer
    /// and from the lookup.
    // dlogits: [B, T, vocab] -> nothing: the input was integers
    pub fn backward(&mut self, dlogits: &Array3<f32>) {
        let (b, t, _) = dlogits.dim();
        let c = self.cfg.d_model;
        let mut dh = self.embed.unembed_backward(&rows(dlogits));
        if let Some(norm) = &mut self.final_norm {
            dh = norm.backward(&dh);
        }
        let mut dx = unrows(dh, b, t, c);
        for block in self.blocks.iter_mut().rev() {
            dx = block.backward(&dx);
        }
        embed_backward(&mut self.embed, &self.drop_embed.backward(&dx));
    }
}
// ANCHOR_END: lm_backward

// ANCHOR: next_token_logits
impl DecoderLm {
    /// The scores of the token after `ids`: the whole forward pass over all T tokens, but
    /// only the last row goes through the output layer, the only one generation reads.
    // ids: [T] -> logits: [vocab]
    pub fn next_token_logits(&mut self, ids: &[usize]) -> Array1<f32> {
        let ids = Array2::from_shape_vec((1, ids.len()), ids.to_vec()).expect("[1, T]");
        let h = self.hidden(&ids, None); // [T, C]
        let last = h.row(h.nrows() - 1);
        self.embed.table.value.dot(&last)
    }
}
// ANCHOR_END: next_token_logits

// ANCHOR: lm_loss
/// Mean cross-entropy over the positions that have a target, and its gradient. A
/// position with `None` (padding, or a token no rule could predict) contributes nothing.
// logits: [B, T, vocab], targets: [B, T] -> (loss, dlogits: [B, T, vocab])
pub fn lm_loss(
    logits: &Array3<f32>,
    targets: &Array2<Option<usize>>,
) -> (f32, Array3<f32>) {
    let (b, t, v) = logits.dim();
    assert!(
        targets.dim() == (b, t),
        "lm_loss: logits are {:?} but targets are {:?}",
        logits.shape(),
        targets.shape()
    );
    let flat = rows(logits); // [B·T, vocab]
    let (kept, wanted): (Vec<usize>, Vec<usize>) = targets
        .iter()
        .enumerate()
        .filter_map(|(i, y)| y.map(|y| (i, y)))
        .unzip();
    assert!(!kept.is_empty(), "lm_loss: no position has a target");
    // Chapter 1's loss on the kept rows; its gradient goes back to their places.
    let (loss, d_kept) = softmax_cross_entropy(&flat.select(Axis(0), &kept), &wanted);
    let mut dlogits = Array2::<f32>::zeros((b * t, v));
    for (&i, row) in kept.iter().zip(d_kept.rows()) {
        dlogits.row_mut(i).assign(&row);
    }
    (loss, unrows(dlogits, b, t, v))
}
// ANCHOR_END: lm_loss

impl DecoderLm {
    /// Embedding dropout here; residual and attention-weight dropout in every block.
    pub fn set_dropout(&mut self, d: DropoutConfig) {
        self.drop_embed.set_p(d.embedding);
        for block in &mut self.blocks {
            block.block.set_dropout(d);
        }
    }
}

impl Module for DecoderLm {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("embed", &self.embed, f);
        visit_child("blocks", &self.blocks, f);
        if let Some(norm) = &self.final_norm {
            visit_child("final_norm", norm, f);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("embed", &mut self.embed, f);
        visit_child_mut("blocks", &mut self.blocks, f);
        if let Some(norm) = &mut self.final_norm {
            visit_child_mut("final_norm", norm, f);
        }
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.drop_embed.set_mode(mode);
        self.blocks.set_mode(mode);
    }
}
