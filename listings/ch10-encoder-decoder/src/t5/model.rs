//! The whole T5 (section "The model"): config, blocks, the encoder and decoder stacks,
//! and the head tied to the shared embedding and scaled by d_model^-1/2. Chapter 4's
//! RMSNorm is T5's layer norm (weight only, no mean, no shift).

use ch01_foundations::init::normal;
use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ch01_foundations::module::{visit_child, visit_child_mut};
use ch02_input::embedding::Embedding;
use ch04_ffn_norms::norms::RmsNorm;
use ndarray::{Array2, Array3, ArrayD, Axis, Ix2, concatenate};
use rand::Rng;
use thiserror::Error;

use super::attention::T5Attention;
use super::ffn::{FeedForward, T5Ffn};
use super::position_bias::RelativePositionBias;

// ANCHOR: config
/// A T5's hyperparameters, named as in Hugging Face's `T5Config`.
#[derive(Clone, Debug, PartialEq)]
pub struct T5Config {
    pub vocab_size: usize,
    pub d_model: usize,
    pub d_kv: usize,
    pub n_heads: usize,
    pub d_ff: usize,
    pub n_layers: usize,
    pub n_decoder_layers: usize,
    pub num_buckets: usize,
    pub max_distance: usize,
    pub eps: f32,
    pub feed_forward: FeedForward,
    /// T5 1.0: the head is the shared table, and its input is scaled by d_model^-1/2.
    /// T5 v1.1: a head of its own, unscaled.
    pub tie_word_embeddings: bool,
}
// ANCHOR_END: config

/// A config that cannot describe a model, or inputs it cannot read.
#[derive(Debug, Error, PartialEq)]
pub enum T5Error {
    #[error("t5 config: {field} must be at least 1")]
    Zero { field: &'static str },
    #[error("t5 config: num_buckets = {0} must be at least 4 (2 per direction, 1 exact)")]
    FewBuckets(usize),
    #[error(
        "t5 config: max_distance = {max_distance} must exceed num_buckets / 2 = {half}"
    )]
    MaxDistance { max_distance: usize, half: usize },
    #[error("t5 input: src_len = {src_len} exceeds the padded source's {s} tokens")]
    SourceLength { src_len: usize, s: usize },
    #[error("t5 input: the {which} sequence is empty")]
    Empty { which: &'static str },
    #[error(
        "t5 input: token id {id} at position {position} of the {which} is out of range for vocab_size {vocab}"
    )]
    TokenOutOfRange {
        which: &'static str,
        position: usize,
        id: usize,
        vocab: usize,
    },
}

impl T5Config {
    /// The tiny config the Hugging Face check uses (tools/golden/ch10_t5.py).
    pub fn tiny(feed_forward: FeedForward) -> Self {
        T5Config {
            vocab_size: 40,
            d_model: 16,
            d_kv: 8,
            n_heads: 4,
            d_ff: 32,
            n_layers: 2,
            n_decoder_layers: 2,
            num_buckets: 8,
            max_distance: 20,
            eps: 1e-6,
            feed_forward,
            tie_word_embeddings: feed_forward == FeedForward::Relu,
        }
    }

    /// Every field checked, the first problem named.
    pub fn validate(&self) -> Result<(), T5Error> {
        for (field, v) in [
            ("vocab_size", self.vocab_size),
            ("d_model", self.d_model),
            ("d_kv", self.d_kv),
            ("n_heads", self.n_heads),
            ("d_ff", self.d_ff),
            ("n_layers", self.n_layers),
            ("n_decoder_layers", self.n_decoder_layers),
        ] {
            if v == 0 {
                return Err(T5Error::Zero { field });
            }
        }
        if self.num_buckets < 4 {
            return Err(T5Error::FewBuckets(self.num_buckets));
        }
        let half = self.num_buckets / 2;
        if self.max_distance <= half {
            return Err(T5Error::MaxDistance {
                max_distance: self.max_distance,
                half,
            });
        }
        Ok(())
    }
}

// ANCHOR: block
/// Pre-norm residual sublayers: self-attention, then (decoder only) cross-attention
/// over the encoder's output, then the FFN. Cross-attention gets no position bias.
pub struct T5Block {
    pub attn_norm: RmsNorm,
    pub attn: T5Attention,
    pub cross: Option<(RmsNorm, T5Attention)>,
    pub ffn_norm: RmsNorm,
    pub ffn: T5Ffn,
}
// ANCHOR_END: block

// ANCHOR: block_passes
impl T5Block {
    /// `src_pad` (`true` = padding) is the source's key padding: an encoder block's
    /// self-attention and a decoder block's cross-attention skip those keys.
    // x: [T, C], enc: [S, C] (decoder), bias: [H, T, T], src_pad: [S] -> y: [T, C]
    pub fn forward_padded(
        &mut self,
        x: &Array2<f32>,
        enc: Option<&Array2<f32>>,
        bias: &Array3<f32>,
        src_pad: Option<&[bool]>,
    ) -> Array2<f32> {
        assert_eq!(
            self.cross.is_some(),
            enc.is_some(),
            "t5 block: a decoder block needs the encoder's output, an encoder block none"
        );
        let self_pad = if enc.is_some() { None } else { src_pad };
        let n = self.attn_norm.forward(x);
        let mut h = x + &self.attn.forward_padded(&n, &n, Some(bias), self_pad);
        if let (Some((norm, cross)), Some(enc)) = (&mut self.cross, enc) {
            h = &h + &cross.forward_padded(&norm.forward(&h), enc, None, src_pad);
        }
        &h + &self.ffn.forward(&self.ffn_norm.forward(&h))
    }
}
// ANCHOR_END: block_passes

// ANCHOR: block_backward
impl T5Block {
    /// Each residual passes dy straight through and adds its branch's gradient.
    // dy: [T, C] -> dx: [T, C], d_enc: [S, C] (decoder), d_bias: [H, T, T]
    pub fn backward(
        &mut self,
        dy: &Array2<f32>,
    ) -> (Array2<f32>, Option<Array2<f32>>, Array3<f32>) {
        let mut dh = dy + &self.ffn_norm.backward(&self.ffn.backward(dy));
        let d_enc = self.cross.as_mut().map(|(norm, cross)| {
            let (dn, d_enc, _) = cross.backward(&dh);
            dh += &norm.backward(&dn);
            d_enc
        });
        let (dn_q, dn_kv, d_bias) = self.attn.backward(&dh);
        let dx = &dh + &self.attn_norm.backward(&(dn_q + dn_kv));
        (dx, d_enc, d_bias)
    }
}
// ANCHOR_END: block_backward

impl T5Block {
    /// An unpadded source.
    // x: [T, C], enc: [S, C] (decoder), bias: [H, T, T] -> y: [T, C]
    pub fn forward(
        &mut self,
        x: &Array2<f32>,
        enc: Option<&Array2<f32>>,
        bias: &Array3<f32>,
    ) -> Array2<f32> {
        self.forward_padded(x, enc, bias, None)
    }

    pub fn new(cfg: &T5Config, decoder: bool, rng: &mut impl Rng) -> Self {
        let (c, heads) = (cfg.d_model, (cfg.n_heads, cfg.d_kv));
        T5Block {
            attn_norm: RmsNorm::new(c, cfg.eps),
            attn: T5Attention::new(c, heads, decoder, rng),
            cross: decoder.then(|| {
                (
                    RmsNorm::new(c, cfg.eps),
                    T5Attention::new(c, heads, false, rng),
                )
            }),
            ffn_norm: RmsNorm::new(c, cfg.eps),
            ffn: T5Ffn::new(cfg.feed_forward, c, cfg.d_ff, rng),
        }
    }
}

impl Module for T5Block {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("attn_norm", &self.attn_norm, f);
        visit_child("attn", &self.attn, f);
        if let Some((norm, cross)) = &self.cross {
            visit_child("cross_norm", norm, f);
            visit_child("cross", cross, f);
        }
        visit_child("ffn_norm", &self.ffn_norm, f);
        visit_child("ffn", &self.ffn, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("attn_norm", &mut self.attn_norm, f);
        visit_child_mut("attn", &mut self.attn, f);
        if let Some((norm, cross)) = &mut self.cross {
            visit_child_mut("cross_norm", norm, f);
            visit_child_mut("cross", cross, f);
        }
        visit_child_mut("ffn_norm", &mut self.ffn_norm, f);
        visit_child_mut("ffn", &mut self.ffn, f);
    }
}

// ANCHOR: stack
/// A stack computes its position bias once and hands the same [H, T, T] to every
/// layer (Hugging Face keeps the table in layer 0 and passes the bias on), so the
/// table's gradient is the sum of every layer's.
pub struct T5Stack {
    pub position_bias: RelativePositionBias,
    pub blocks: Vec<T5Block>,
    pub final_norm: RmsNorm,
}

impl T5Stack {
    // x: [T, C], enc: [S, C] (decoder), src_pad: [S] -> [T, C]
    pub fn forward_padded(
        &mut self,
        x: &Array2<f32>,
        enc: Option<&Array2<f32>>,
        src_pad: Option<&[bool]>,
    ) -> Array2<f32> {
        let t = x.nrows();
        let bias = self.position_bias.forward(t, t);
        let mut x = x.clone();
        for block in &mut self.blocks {
            x = block.forward_padded(&x, enc, &bias, src_pad);
        }
        self.final_norm.forward(&x)
    }
}
// ANCHOR_END: stack

// ANCHOR: stack_backward
impl T5Stack {
    // dy: [T, C] -> dx: [T, C], d_enc: [S, C] summed over the layers (decoder)
    pub fn backward(&mut self, dy: &Array2<f32>) -> (Array2<f32>, Option<Array2<f32>>) {
        let mut dx = self.final_norm.backward(dy);
        let (mut d_bias, mut d_enc_sum): (Option<Array3<f32>>, Option<Array2<f32>>) =
            (None, None);
        for block in self.blocks.iter_mut().rev() {
            let (d, d_enc, db) = block.backward(&dx);
            dx = d;
            d_bias = Some(d_bias.map_or(db.clone(), |acc| acc + &db));
            if let Some(de) = d_enc {
                d_enc_sum = Some(d_enc_sum.map_or(de.clone(), |acc| acc + &de));
            }
        }
        self.position_bias
            .backward(&d_bias.expect("a stack has at least one block"));
        (dx, d_enc_sum)
    }
}
// ANCHOR_END: stack_backward

impl T5Stack {
    /// An unpadded source.
    // x: [T, C], enc: [S, C] (decoder) -> [T, C]
    pub fn forward(&mut self, x: &Array2<f32>, enc: Option<&Array2<f32>>) -> Array2<f32> {
        self.forward_padded(x, enc, None)
    }

    pub fn new(cfg: &T5Config, decoder: bool, rng: &mut impl Rng) -> Self {
        let n = if decoder {
            cfg.n_decoder_layers
        } else {
            cfg.n_layers
        };
        let table = (cfg.num_buckets, cfg.n_heads);
        T5Stack {
            position_bias: RelativePositionBias::new(
                table,
                !decoder,
                cfg.max_distance,
                cfg.d_model,
                rng,
            ),
            blocks: (0..n).map(|_| T5Block::new(cfg, decoder, rng)).collect(),
            final_norm: RmsNorm::new(cfg.d_model, cfg.eps),
        }
    }
}

impl Module for T5Stack {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("position_bias", &self.position_bias, f);
        visit_child("blocks", &self.blocks, f);
        visit_child("final_norm", &self.final_norm, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("position_bias", &mut self.position_bias, f);
        visit_child_mut("blocks", &mut self.blocks, f);
        visit_child_mut("final_norm", &mut self.final_norm, f);
    }
}

/// The model: one embedding table shared by the encoder, the decoder and (tied) the head.
pub struct T5 {
    pub cfg: T5Config,
    pub shared: Embedding,
    pub encoder: T5Stack,
    pub decoder: T5Stack,
    /// [C, vocab]; `None` when tied to the shared table.
    pub lm_head: Option<Param<Ix2>>,
    cache: Option<(usize, Array2<f32>)>, // source length, the head's input [T, C]
}

impl T5 {
    /// Hugging Face's initialisation: the shared table (and an untied head) from
    /// N(0, 1), the layers as their `new` says, norms at 1.
    pub fn new(cfg: T5Config, rng: &mut impl Rng) -> Result<Self, T5Error> {
        cfg.validate()?;
        let shared = Embedding::new(cfg.vocab_size, cfg.d_model, 1.0, rng);
        let encoder = T5Stack::new(&cfg, false, rng);
        let decoder = T5Stack::new(&cfg, true, rng);
        let lm_head = (!cfg.tie_word_embeddings)
            .then(|| Param::new(normal((cfg.d_model, cfg.vocab_size), 1.0, rng)));
        Ok(T5 {
            cfg,
            shared,
            encoder,
            decoder,
            lm_head,
            cache: None,
        })
    }

    fn check_ids(&self, which: &'static str, ids: &[usize]) -> Result<(), T5Error> {
        if ids.is_empty() {
            return Err(T5Error::Empty { which });
        }
        let vocab = self.cfg.vocab_size;
        match ids.iter().position(|&id| id >= vocab) {
            Some(position) => Err(T5Error::TokenOutOfRange {
                which,
                position,
                id: ids[position],
                vocab,
            }),
            None => Ok(()),
        }
    }
}

// ANCHOR: model
impl T5 {
    /// Teacher forcing: the decoder reads `tgt` (the answer shifted right, starting
    /// with the pad id 0) and predicts each next token. `src` may be a padded row of a
    /// batch whose first `src_len` tokens are real: the rest are masked as keys.
    // src: [S], tgt: [T] -> logits: [T, vocab]
    pub fn forward_padded(
        &mut self,
        src: &[usize],
        src_len: usize,
        tgt: &[usize],
    ) -> Result<Array2<f32>, T5Error> {
        if src_len > src.len() {
            return Err(T5Error::SourceLength {
                src_len,
                s: src.len(),
            });
        }
        self.check_ids("source", &src[..src_len])?;
        self.check_ids("source", src)?; // the padding too
        self.check_ids("target", tgt)?;
        let pad: Vec<bool> = (0..src.len()).map(|j| j >= src_len).collect();
        let pad = (src_len < src.len()).then_some(pad.as_slice());
        // One lookup for both sides, so the table's backward sees every id once.
        let x = self.shared.forward(&[src, tgt].concat());
        let (x_src, x_tgt) = x.view().split_at(Axis(0), src.len());
        let enc = self.encoder.forward_padded(&x_src.to_owned(), None, pad);
        let h = self
            .decoder
            .forward_padded(&x_tgt.to_owned(), Some(&enc), pad);
        let logits = match &self.lm_head {
            Some(w) => h.dot(&w.value),
            None => {
                let scaled = &h * (self.cfg.d_model as f32).powf(-0.5);
                self.shared.unembed(&scaled)
            }
        };
        self.cache = Some((src.len(), h));
        Ok(logits)
    }
}
// ANCHOR_END: model

impl T5 {
    /// An unpadded source.
    // src: [S], tgt: [T] -> logits: [T, vocab]
    pub fn forward(
        &mut self,
        src: &[usize],
        tgt: &[usize],
    ) -> Result<Array2<f32>, T5Error> {
        self.forward_padded(src, src.len(), tgt)
    }
}

// ANCHOR: model_backward
impl T5 {
    /// Adds ∂L/∂θ into every parameter's gradient, given ∂L/∂logits.
    // dlogits: [T, vocab] -> nothing (the inputs are token ids)
    pub fn backward(&mut self, dlogits: &Array2<f32>) {
        let (s, h) = self.cache.as_ref().expect("t5 backward before forward");
        let dh = match &mut self.lm_head {
            Some(w) => {
                w.grad += &h.t().dot(dlogits);
                dlogits.dot(&w.value.t())
            }
            None => {
                self.shared.unembed_backward(dlogits)
                    * (self.cfg.d_model as f32).powf(-0.5)
            }
        };
        let (d_tgt, d_enc) = self.decoder.backward(&dh);
        let (d_src, _) = self
            .encoder
            .backward(&d_enc.expect("the decoder cross-attends"));
        debug_assert_eq!(d_src.nrows(), *s);
        self.shared.backward(&concatenate![Axis(0), d_src, d_tgt]);
    }
}
// ANCHOR_END: model_backward

impl Module for T5 {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("shared", &self.shared, f);
        visit_child("encoder", &self.encoder, f);
        visit_child("decoder", &self.decoder, f);
        if let Some(w) = &self.lm_head {
            f("lm_head", w.view());
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("shared", &mut self.shared, f);
        visit_child_mut("encoder", &mut self.encoder, f);
        visit_child_mut("decoder", &mut self.decoder, f);
        if let Some(w) = &mut self.lm_head {
            f("lm_head", w.view_mut());
        }
    }
}

// ANCHOR: hf_name
/// The Hugging Face name of a book parameter, and whether the book stores it
/// transposed (a Hugging Face linear weight is [out, in], the book's W is [in, out]).
pub fn hf_name(name: &str) -> (String, bool) {
    match name {
        "shared.table" => return ("shared.weight".into(), false),
        "lm_head" => return ("lm_head.weight".into(), true),
        _ => {}
    }
    let (stack, rest) = name.split_once('.').expect("stack.part");
    let decoder = stack == "decoder";
    match rest {
        "position_bias.table" => {
            let hf = "block.0.layer.0.SelfAttention.relative_attention_bias.weight";
            return (format!("{stack}.{hf}"), false);
        }
        "final_norm.weight" => {
            return (format!("{stack}.final_layer_norm.weight"), false);
        }
        _ => {}
    }
    let rest = rest.strip_prefix("blocks.").expect("a block parameter");
    let (layer, part) = rest.split_once('.').expect("blocks.N.part");
    let ffn = if decoder { 2 } else { 1 }; // the FFN's sublayer index
    let (sub, module) = part.split_once('.').expect("sublayer.param");
    let (index, hf_module) = match sub {
        "attn_norm" | "attn" => (0, "SelfAttention"),
        "cross_norm" | "cross" => (1, "EncDecAttention"),
        "ffn_norm" | "ffn" => (ffn, "DenseReluDense"),
        other => panic!("no Hugging Face name for {other}"),
    };
    let prefix = format!("{stack}.block.{layer}.layer.{index}");
    if sub.ends_with("norm") {
        return (format!("{prefix}.layer_norm.weight"), false);
    }
    // The FFN's names are already Hugging Face's (wi, wi_0, wi_1, wo); wq -> q.
    let hf = if sub == "ffn" { module } else { &module[1..] };
    (format!("{prefix}.{hf_module}.{hf}.weight"), true)
}
// ANCHOR_END: hf_name

/// A book parameter's value from a source that holds it under its Hugging Face name
/// and layout (a fixture, a checkpoint), transposed where [`hf_name`] says so.
pub fn book_layout(name: &str, get: impl FnOnce(&str) -> ArrayD<f32>) -> ArrayD<f32> {
    let (hf, transposed) = hf_name(name);
    let t = get(&hf);
    if !transposed {
        return t;
    }
    let w = t
        .into_dimensionality::<Ix2>()
        .expect("a linear weight is 2-D");
    w.t().as_standard_layout().into_owned().into_dyn()
}
