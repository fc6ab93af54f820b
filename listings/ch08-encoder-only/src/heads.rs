//! BERT's pretraining heads (section "Pretraining objectives"): the masked-language-model
//! head, whose decoder is the token embedding table itself, and the next-sentence
//! classifier on the pooler's output.

use ch01_foundations::linalg::{rows, unrows};
use ch01_foundations::module::{
    Mode, Module, Param, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ch02_input::embedding::Embedding;
use ch04_ffn_norms::activations::Activation;
use ch04_ffn_norms::linear::Linear;
use ch04_ffn_norms::norms::LayerNorm;
use ndarray::{Array1, Array2, Array3, Axis, Ix1};
use rand::Rng;

use crate::bert::Bert;
use crate::config::BertConfig;

// ANCHOR: mlm_head
/// logits = LN(GELU(h W + b)) Eᵀ + b_out: a transform, then the token embedding E
/// read backwards (Chapter 2's weight tying), plus one bias per vocabulary entry.
pub struct MlmHead {
    pub dense: Linear, // [C, C]
    pub act: Activation,
    pub norm: LayerNorm,
    pub bias: Param<Ix1>,   // [V], b_out
    z: Option<Array2<f32>>, // [N, C]: the activation's input, for its derivative
}

impl MlmHead {
    pub fn new(cfg: &BertConfig, rng: &mut impl Rng) -> Self {
        MlmHead {
            dense: Linear::new(cfg.hidden_size, cfg.hidden_size, rng),
            act: cfg.hidden_act,
            norm: LayerNorm::new(cfg.hidden_size, cfg.layer_norm_eps),
            bias: Param::new(Array1::zeros(cfg.vocab_size)),
            z: None,
        }
    }
}
// ANCHOR_END: mlm_head

// ANCHOR: mlm_head_forward
impl MlmHead {
    // h: [N, C], token: E [V, C] -> logits: [N, V]
    pub fn forward(&mut self, h: &Array2<f32>, token: &mut Embedding) -> Array2<f32> {
        let z = self.dense.forward(h);
        let u = self.norm.forward(&self.act.forward(&z));
        self.z = Some(z);
        token.unembed(&u) + &self.bias.value
    }

    /// Adds uᵀ dlogits into E's gradient: the same E.grad the input lookup adds to.
    // dlogits: [N, V] -> dh: [N, C]
    pub fn backward(
        &mut self,
        dlogits: &Array2<f32>,
        token: &mut Embedding,
    ) -> Array2<f32> {
        let z = self.z.as_ref().expect("MlmHead: backward before forward");
        assert!(
            dlogits.dim() == (z.nrows(), self.bias.value.len()),
            "MlmHead: dlogits is {:?} but the logits were {:?}",
            dlogits.shape(),
            [z.nrows(), self.bias.value.len()]
        );
        self.bias.grad += &dlogits.sum_axis(Axis(0));
        let du = token.unembed_backward(dlogits);
        let dz = self.act.backward(z, &self.norm.backward(&du));
        self.dense.backward(&dz)
    }
}
// ANCHOR_END: mlm_head_forward

impl Module for MlmHead {
    /// E is not visited here: it belongs to the embeddings, and a parameter is
    /// visited once, wherever its gradients come from.
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("dense", &self.dense, f);
        visit_child("norm", &self.norm, f);
        f("bias", self.bias.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("dense", &mut self.dense, f);
        visit_child_mut("norm", &mut self.norm, f);
        f("bias", self.bias.view_mut());
    }
}

// ANCHOR: pretraining
/// BERT with both pretraining heads: MLM logits at every position, NSP logits from
/// the pooled [CLS] vector (class 0 = IsNext, 1 = NotNext).
pub struct BertForPreTraining {
    pub bert: Bert,
    pub mlm: MlmHead,
    pub nsp: Linear, // [C, 2], on the pooler's output
}

impl BertForPreTraining {
    pub fn new(cfg: BertConfig, rng: &mut impl Rng) -> Self {
        // BERT first: the same seed gives the same encoder as `Bert::new`.
        let bert = Bert::new(cfg, rng);
        let mlm = MlmHead::new(&bert.cfg, rng);
        let nsp = Linear::new(bert.cfg.hidden_size, 2, rng);
        BertForPreTraining { bert, mlm, nsp }
    }
}
// ANCHOR_END: pretraining

// ANCHOR: pretraining_forward
impl BertForPreTraining {
    // ids, segments, key_padding: [B, T] -> mlm: [B, T, V], nsp: [B, 2]
    pub fn forward(
        &mut self,
        ids: &Array2<usize>,
        segments: &Array2<usize>,
        key_padding: Option<&Array2<bool>>,
    ) -> (Array3<f32>, Array2<f32>) {
        let h = self.bert.forward(ids, segments, key_padding); // [B, T, C]
        let (b, t, _) = h.dim();
        let token = &mut self.bert.embeddings.token;
        let mlm = self.mlm.forward(&rows(&h), token); // [B·T, V]
        let v = mlm.ncols();
        let nsp = self.nsp.forward(&self.bert.pooler.forward(&h));
        (unrows(mlm, b, t, v), nsp)
    }

    /// Both heads send gradients into h; E gets the decoder's share here and the
    /// lookup's share in `bert.backward`.
    // dmlm: [B, T, V], dnsp: [B, 2] -> nothing: the inputs were integers
    pub fn backward(&mut self, dmlm: &Array3<f32>, dnsp: &Array2<f32>) {
        let (b, t, _) = dmlm.dim();
        let token = &mut self.bert.embeddings.token;
        let dh = self.mlm.backward(&rows(dmlm), token); // [B·T, C]
        let c = dh.ncols();
        let dpooled = self.nsp.backward(dnsp); // [B, C]
        let dh = unrows(dh, b, t, c) + self.bert.pooler.backward(&dpooled, t);
        self.bert.backward(&dh);
    }
}
// ANCHOR_END: pretraining_forward

impl Module for BertForPreTraining {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("bert", &self.bert, f);
        visit_child("mlm", &self.mlm, f);
        visit_child("nsp", &self.nsp, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("bert", &mut self.bert, f);
        visit_child_mut("mlm", &mut self.mlm, f);
        visit_child_mut("nsp", &mut self.nsp, f);
    }
    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.bert.set_mode(mode);
    }
}
