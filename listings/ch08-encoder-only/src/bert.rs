//! The BERT model (section "BERT is a Post-LN encoder"): the embeddings, Chapter 5's
//! encoder stack wired Post-LN with GELU, and the pooler.

use ch01_foundations::module::{
    Mode, Module, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ch04_ffn_norms::linear::Linear;
use ch05_encoder::{EncoderStack, Wiring};
use ndarray::{Array2, Array3, s};
use rand::Rng;

use crate::config::BertConfig;
use crate::embeddings::BertEmbeddings;

// ANCHOR: bert
/// BERT: embeddings, then N Post-LN encoder blocks (GELU FFN, LayerNorm ε from the
/// config), then a pooler over the first token, [CLS].
pub struct Bert {
    pub cfg: BertConfig,
    pub embeddings: BertEmbeddings,
    pub encoder: EncoderStack,
    pub pooler: Pooler,
}

impl Bert {
    pub fn new(cfg: BertConfig, rng: &mut impl Rng) -> Self {
        let embeddings = BertEmbeddings::new(&cfg, rng);
        let mut encoder = EncoderStack::new(
            cfg.num_hidden_layers,
            cfg.hidden_size,
            cfg.num_attention_heads,
            cfg.intermediate_size,
            Wiring::PostLn, // the 2017 wiring: BERT predates Pre-LN
            rng,
        );
        // Chapter 5's block is the 2017 one (ReLU, ε = 1e-5); BERT changes only these.
        for block in &mut encoder.blocks {
            block.ffn.act = cfg.hidden_act;
            block.norm1.eps = cfg.layer_norm_eps;
            block.norm2.eps = cfg.layer_norm_eps;
        }
        let pooler = Pooler {
            dense: Linear::new(cfg.hidden_size, cfg.hidden_size, rng),
            y: None,
        };
        Bert {
            cfg,
            embeddings,
            encoder,
            pooler,
        }
    }
}
// ANCHOR_END: bert

// ANCHOR: bert_forward
impl Bert {
    /// The last layer's token vectors.
    // ids: [B, T], segments: [B, T], key_padding: [B, T] -> [B, T, C]
    pub fn forward(
        &mut self,
        ids: &Array2<usize>,
        segments: &Array2<usize>,
        key_padding: Option<&Array2<bool>>,
    ) -> Array3<f32> {
        let x = self.embeddings.forward(ids, segments);
        self.encoder.forward(&x, key_padding)
    }
}
// ANCHOR_END: bert_forward

impl Bert {
    /// Accumulates every gradient of [`Bert::forward`], down to the embedding tables.
    // dy: [B, T, C] -> nothing: the inputs were integers
    pub fn backward(&mut self, dy: &Array3<f32>) {
        let dx = self.encoder.backward(dy);
        self.embeddings.backward(&dx);
    }

    // ANCHOR: hidden_states
    /// The embeddings' output and every block's output: N + 1 tensors, the same list
    /// as Hugging Face's `output_hidden_states`.
    // ids: [B, T], segments: [B, T], key_padding: [B, T] -> N + 1 × [B, T, C]
    pub fn hidden_states(
        &mut self,
        ids: &Array2<usize>,
        segments: &Array2<usize>,
        key_padding: Option<&Array2<bool>>,
    ) -> Vec<Array3<f32>> {
        let mut states = vec![self.embeddings.forward(ids, segments)];
        for block in &mut self.encoder.blocks {
            let h = block.forward(states.last().expect("one state"), key_padding);
            states.push(h);
        }
        states
    }
    // ANCHOR_END: hidden_states
}

// ANCHOR: pooler
/// BERT's pooler: tanh(h[CLS] W + b), the vector the next-sentence and sentence
/// classification heads read. (Sentence-transformers' models do not use it: they
/// mean-pool instead.)
pub struct Pooler {
    pub dense: Linear, // [C, C]
    y: Option<Array2<f32>>,
}

impl Pooler {
    // h: [B, T, C] -> [B, C]
    pub fn forward(&mut self, h: &Array3<f32>) -> Array2<f32> {
        let cls = h.slice(s![.., 0, ..]).to_owned(); // [B, C]
        let y = self.dense.forward(&cls).mapv(f32::tanh);
        self.y = Some(y.clone());
        y
    }

    /// tanh' = 1 - tanh², from the cached output; only position 0 gets a gradient.
    // dy: [B, C] -> dh: [B, T, C] with T from `t`
    pub fn backward(&mut self, dy: &Array2<f32>, t: usize) -> Array3<f32> {
        let y = self.y.as_ref().expect("Pooler: backward before forward");
        assert!(
            dy.dim() == y.dim(),
            "Pooler: dy is {:?} but the output was {:?}",
            dy.shape(),
            y.shape()
        );
        let dz = dy * &y.mapv(|y| 1.0 - y * y);
        let dcls = self.dense.backward(&dz);
        let (b, c) = dcls.dim();
        let mut dh = Array3::zeros((b, t, c));
        dh.slice_mut(s![.., 0, ..]).assign(&dcls);
        dh
    }
}
// ANCHOR_END: pooler

impl Module for Pooler {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("dense", &self.dense, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("dense", &mut self.dense, f);
    }
}

impl Module for Bert {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("embeddings", &self.embeddings, f);
        visit_child("encoder", &self.encoder, f);
        visit_child("pooler", &self.pooler, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("embeddings", &mut self.embeddings, f);
        visit_child_mut("encoder", &mut self.encoder, f);
        visit_child_mut("pooler", &mut self.pooler, f);
    }
    /// Only the encoder's blocks hold dropout layers.
    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.encoder.set_mode(mode);
    }
}
