//! The decoder layer of the full transformer (section "The decoder layer"): masked
//! self-attention, cross-attention to the encoder's output, and an FFN, each a residual
//! sub-layer with its LayerNorm.

use ch01_foundations::linalg::{rows, unrows};
use ch01_foundations::module::{
    Mode, Module, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ch03_attention::cross::CrossAttention;
use ch03_attention::mha::MultiHeadAttention;
use ch04_ffn_norms::activations::Activation;
use ch04_ffn_norms::dropout::Dropout;
use ch04_ffn_norms::ffn::Ffn;
use ch04_ffn_norms::norms::LayerNorm;
use ch05_encoder::block::{DropoutConfig, Wiring};
use ndarray::{Array2, Array3};
use rand::Rng;

// ANCHOR: layer
/// One decoder layer. Post-LN (2017), with m the encoder's output ("memory"):
///   h₁ = LN₁(x + SelfAttn(x)),  h₂ = LN₂(h₁ + CrossAttn(h₁, m)),  y = LN₃(h₂ + FFN(h₂)).
/// Pre-LN moves each LN onto its sub-layer's input: h₁ = x + SelfAttn(LN₁(x)), and so on.
/// In training, drop1..drop3 drop units of each sub-layer's output before its add.
pub struct DecoderLayer {
    pub self_attn: MultiHeadAttention, // causal: position t sees targets ≤ t
    pub norm1: LayerNorm,
    pub cross_attn: CrossAttention, // queries from the decoder, keys/values from m
    pub norm2: LayerNorm,
    pub ffn: Ffn,
    pub norm3: LayerNorm,
    pub wiring: Wiring,
    pub drop: [Dropout; 3], // p = 0 unless set_dropout says otherwise
}

impl DecoderLayer {
    pub fn new(
        d_model: usize,
        n_heads: usize,
        d_ff: usize,
        wiring: Wiring,
        rng: &mut impl Rng,
    ) -> Self {
        DecoderLayer {
            self_attn: MultiHeadAttention::new(d_model, n_heads, true, rng),
            norm1: LayerNorm::new(d_model, 1e-5),
            cross_attn: CrossAttention::new(d_model, n_heads, rng),
            norm2: LayerNorm::new(d_model, 1e-5),
            ffn: Ffn::new(d_model, d_ff, Activation::Relu, rng),
            norm3: LayerNorm::new(d_model, 1e-5),
            wiring,
            drop: std::array::from_fn(|_| Dropout::new(0.0)),
        }
    }
}
// ANCHOR_END: layer

impl DecoderLayer {
    /// Residual dropout on all three sub-layers, weight dropout in both attentions.
    pub fn set_dropout(&mut self, d: DropoutConfig) {
        self.drop.iter_mut().for_each(|drop| drop.set_p(d.residual));
        self.self_attn.dropout.set_p(d.attention);
        self.cross_attn.dropout.set_p(d.attention);
    }
}

/// The padding masks of one batch, `true` = padding.
#[derive(Clone, Copy, Debug)]
pub struct Padding<'a> {
    pub src: Option<&'a Array2<bool>>, // [B, S]: hides padded source keys from cross-attention
    pub tgt: Option<&'a Array2<bool>>, // [B, T]: hides padded target keys from self-attention
}

// ANCHOR: forward
impl DecoderLayer {
    // x: [B, T, C], m: [B, S, C] -> [B, T, C]
    pub fn forward(
        &mut self,
        x: &Array3<f32>,
        m: &Array3<f32>,
        pad: Padding<'_>,
    ) -> Array3<f32> {
        let (b, t, c) = x.dim();
        let norm =
            |ln: &mut LayerNorm, z: &Array3<f32>| unrows(ln.forward(&rows(z)), b, t, c);
        let [d1, d2, d3] = &mut self.drop;
        match self.wiring {
            Wiring::PostLn => {
                let a1 = d1.apply(self.self_attn.forward(x, pad.tgt));
                let h1 = norm(&mut self.norm1, &(x + &a1));
                let a2 = d2.apply(self.cross_attn.forward(&h1, m, pad.src));
                let h2 = rows(&norm(&mut self.norm2, &(&h1 + &a2))); // [B·T, C]
                let f = d3.apply(self.ffn.forward(&h2));
                unrows(self.norm3.forward(&(&h2 + &f)), b, t, c)
            }
            Wiring::PreLn => {
                let z1 = norm(&mut self.norm1, x);
                let h1 = x + &d1.apply(self.self_attn.forward(&z1, pad.tgt));
                let z2 = norm(&mut self.norm2, &h1);
                let a2 = d2.apply(self.cross_attn.forward(&z2, m, pad.src));
                let h2 = rows(&(&h1 + &a2)); // [B·T, C]
                let f = d3.apply(self.ffn.forward(&self.norm3.forward(&h2)));
                unrows(&h2 + &f, b, t, c)
            }
        }
    }
}
// ANCHOR_END: forward

// ANCHOR: backward
impl DecoderLayer {
    /// Returns (∂L/∂x, ∂L/∂m): the memory's gradient flows back into the encoder.
    // dy: [B, T, C] -> (dx: [B, T, C], dm: [B, S, C])
    pub fn backward(&mut self, dy: &Array3<f32>) -> (Array3<f32>, Array3<f32>) {
        let (b, t, c) = dy.dim();
        let norm_back =
            |ln: &mut LayerNorm, d: &Array3<f32>| unrows(ln.backward(&rows(d)), b, t, c);
        let [d1, d2, d3] = &self.drop;
        match self.wiring {
            Wiring::PostLn => {
                let dz3 = self.norm3.backward(&rows(dy)); // into h₂ + FFN(h₂)
                let dh2 = unrows(&dz3 + &self.ffn.backward(&d3.backward(&dz3)), b, t, c);
                let dz2 = norm_back(&mut self.norm2, &dh2); // into h₁ + CrossAttn(h₁, m)
                let (dh1_cross, dm) = self.cross_attn.backward(&d2.backward(&dz2));
                let dh1 = &dz2 + &dh1_cross;
                let dz1 = norm_back(&mut self.norm1, &dh1); // into x + SelfAttn(x)
                (&dz1 + &self.self_attn.backward(&d1.backward(&dz1)), dm)
            }
            Wiring::PreLn => {
                let dy2 = rows(dy);
                let df = self.ffn.backward(&d3.backward(&dy2));
                let dh2 = unrows(&dy2 + &self.norm3.backward(&df), b, t, c);
                let (dz2, dm) = self.cross_attn.backward(&d2.backward(&dh2));
                let dh1 = &dh2 + &norm_back(&mut self.norm2, &dz2);
                let dz1 = self.self_attn.backward(&d1.backward(&dh1));
                (&dh1 + &norm_back(&mut self.norm1, &dz1), dm)
            }
        }
    }
}
// ANCHOR_END: backward

impl Module for DecoderLayer {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("self_attn", &self.self_attn, f);
        visit_child("norm1", &self.norm1, f);
        visit_child("cross_attn", &self.cross_attn, f);
        visit_child("norm2", &self.norm2, f);
        visit_child("ffn", &self.ffn, f);
        visit_child("norm3", &self.norm3, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("self_attn", &mut self.self_attn, f);
        visit_child_mut("norm1", &mut self.norm1, f);
        visit_child_mut("cross_attn", &mut self.cross_attn, f);
        visit_child_mut("norm2", &mut self.norm2, f);
        visit_child_mut("ffn", &mut self.ffn, f);
        visit_child_mut("norm3", &mut self.norm3, f);
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.self_attn.set_mode(mode);
        self.cross_attn.set_mode(mode);
        self.drop.iter_mut().for_each(|drop| drop.set_mode(mode));
    }
}

// ANCHOR: stack
/// N decoder layers, and for Pre-LN one final LayerNorm. Every layer reads the same
/// memory m, so m's gradient is the sum of every layer's contribution.
pub struct DecoderStack {
    pub layers: Vec<DecoderLayer>,
    pub final_norm: Option<LayerNorm>,
}

impl DecoderStack {
    pub fn new(
        n_layers: usize,
        d_model: usize,
        n_heads: usize,
        d_ff: usize,
        wiring: Wiring,
        rng: &mut impl Rng,
    ) -> Self {
        let layers = (0..n_layers)
            .map(|_| DecoderLayer::new(d_model, n_heads, d_ff, wiring, rng))
            .collect();
        let final_norm = (wiring == Wiring::PreLn).then(|| LayerNorm::new(d_model, 1e-5));
        DecoderStack { layers, final_norm }
    }
}
// ANCHOR_END: stack

// ANCHOR: stack_forward
impl DecoderStack {
    // x: [B, T, C], m: [B, S, C] -> [B, T, C]
    pub fn forward(
        &mut self,
        x: &Array3<f32>,
        m: &Array3<f32>,
        pad: Padding<'_>,
    ) -> Array3<f32> {
        let mut h = x.clone();
        for layer in &mut self.layers {
            h = layer.forward(&h, m, pad);
        }
        let (b, t, c) = h.dim();
        match &mut self.final_norm {
            Some(norm) => unrows(norm.forward(&rows(&h)), b, t, c),
            None => h,
        }
    }

    // dy: [B, T, C] -> (dx: [B, T, C], dm: [B, S, C])
    pub fn backward(&mut self, dy: &Array3<f32>) -> (Array3<f32>, Array3<f32>) {
        let (b, t, c) = dy.dim();
        let mut dh = match &mut self.final_norm {
            Some(norm) => unrows(norm.backward(&rows(dy)), b, t, c),
            None => dy.clone(),
        };
        let mut dm: Option<Array3<f32>> = None;
        for layer in self.layers.iter_mut().rev() {
            let (dx, dm_layer) = layer.backward(&dh);
            dh = dx;
            dm = Some(match dm {
                Some(sum) => sum + &dm_layer,
                None => dm_layer,
            });
        }
        (dh, dm.expect("a decoder stack has at least one layer"))
    }
}
// ANCHOR_END: stack_forward

impl DecoderStack {
    /// The same dropout in every layer.
    pub fn set_dropout(&mut self, d: DropoutConfig) {
        self.layers
            .iter_mut()
            .for_each(|layer| layer.set_dropout(d));
    }
}

impl Module for DecoderStack {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("layers", &self.layers, f);
        if let Some(norm) = &self.final_norm {
            visit_child("final_norm", norm, f);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("layers", &mut self.layers, f);
        if let Some(norm) = &mut self.final_norm {
            visit_child_mut("final_norm", norm, f);
        }
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.layers.set_mode(mode);
    }
}
