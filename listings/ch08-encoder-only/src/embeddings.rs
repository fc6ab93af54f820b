//! BERT's input layer (section "BERT's inputs"): a token's vector is the sum of three
//! learned rows, one for the token, one for its segment (sentence A or B) and one for
//! its position, normalised by a LayerNorm.

use ch01_foundations::linalg::{rows, unrows};
use ch01_foundations::module::{
    Mode, Module, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ch02_input::embedding::Embedding;
use ch04_ffn_norms::dropout::Dropout;
use ch04_ffn_norms::norms::LayerNorm;
use ndarray::{Array2, Array3};
use rand::Rng;

use crate::config::BertConfig;

// ANCHOR: embeddings
/// x[b, t] = Dropout(LN(E_tok[ids[b, t]] + E_seg[segments[b, t]] + E_pos[t])).
/// The dropout is BERT's `hidden_dropout_prob` (0.1 in pretraining), set by
/// [`Bert::set_dropout`](crate::Bert::set_dropout); evaluation mode skips it.
pub struct BertEmbeddings {
    pub token: Embedding,    // [vocab, C]
    pub segment: Embedding,  // [type_vocab, C]
    pub position: Embedding, // [max_positions, C]: learned, one row a position
    pub norm: LayerNorm,
    pub drop: Dropout, // p = 0 unless set
}

impl BertEmbeddings {
    /// N(0, 0.02²) tables, BERT's `initializer_range`.
    pub fn new(cfg: &BertConfig, rng: &mut impl Rng) -> Self {
        let c = cfg.hidden_size;
        BertEmbeddings {
            token: Embedding::new(cfg.vocab_size, c, 0.02, rng),
            segment: Embedding::new(cfg.type_vocab_size, c, 0.02, rng),
            position: Embedding::new(cfg.max_position_embeddings, c, 0.02, rng),
            norm: LayerNorm::new(c, cfg.layer_norm_eps),
            drop: Dropout::new(0.0),
        }
    }
}
// ANCHOR_END: embeddings

// ANCHOR: embeddings_forward
impl BertEmbeddings {
    // ids: [B, T], segments: [B, T] -> [B, T, C]
    pub fn forward(
        &mut self,
        ids: &Array2<usize>,
        segments: &Array2<usize>,
    ) -> Array3<f32> {
        let (b, t) = ids.dim();
        assert!(
            segments.dim() == (b, t),
            "BertEmbeddings: ids are {:?} but segments are {:?}",
            ids.shape(),
            segments.shape()
        );
        assert!(
            t <= self.position.vocab(),
            "BertEmbeddings: ids are [B, T] = {:?} but positions stop at {}",
            [b, t],
            self.position.vocab()
        );
        let positions: Vec<usize> = (0..b).flat_map(|_| 0..t).collect(); // row-major
        let flat = |a: &Array2<usize>| a.iter().copied().collect::<Vec<_>>();
        let x = self.token.forward(&flat(ids))
            + self.segment.forward(&flat(segments))
            + self.position.forward(&positions); // [B·T, C]
        let x = unrows(self.norm.forward(&x), b, t, self.norm.gamma.value.len());
        self.drop.apply(x)
    }

    /// The sum sends the same gradient to all three tables.
    // dy: [B, T, C] -> nothing: the inputs were integers
    pub fn backward(&mut self, dy: &Array3<f32>) {
        let dx = self.norm.backward(&rows(&self.drop.backward(dy)));
        self.token.backward(&dx);
        self.segment.backward(&dx);
        self.position.backward(&dx);
    }
}
// ANCHOR_END: embeddings_forward

impl Module for BertEmbeddings {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("token", &self.token, f);
        visit_child("segment", &self.segment, f);
        visit_child("position", &self.position, f);
        visit_child("norm", &self.norm, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("token", &mut self.token, f);
        visit_child_mut("segment", &mut self.segment, f);
        visit_child_mut("position", &mut self.position, f);
        visit_child_mut("norm", &mut self.norm, f);
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.drop.set_mode(mode);
    }
}
