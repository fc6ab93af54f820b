//! Cross-attention: queries from one sequence, keys and values from another (section
//! "Cross-attention").

use ch01_foundations::init::xavier_uniform;
use ch01_foundations::module::{Mode, Module, Param, ParamView, ParamViewMut};
use ndarray::{Array1, Array2, Array3, Array4, Ix1, Ix2, s};
use rand::Rng;

use crate::heads::{AttentionDropout, heads_backward, heads_forward};
use ch01_foundations::linalg::{linear, linear_backward, reuse, rows};

use crate::mha::{check_grad, check_input, padding_rows};

// ANCHOR: struct
/// Multi-head cross-attention: Q = x W_q + b_q from the sequence being built (a
/// decoder's), K and V = m W_kv + b_kv from another sequence m (an encoder's output),
/// which may have a different length. No causal mask: every query may see all of m.
pub struct CrossAttention {
    pub n_heads: usize,
    pub w_q: Param<Ix2>,           // [C, C]
    pub b_q: Param<Ix1>,           // [C]
    pub w_kv: Param<Ix2>,          // [C, 2C]: columns [0, C) give K, [C, 2C) V
    pub b_kv: Param<Ix1>,          // [2C]
    pub w_o: Param<Ix2>,           // [C, C]
    pub b_o: Param<Ix1>,           // [C]
    pub dropout: AttentionDropout, // on the weights P; p = 0 unless set
    cache: Option<Cache>,
}

struct Cache {
    x: Array2<f32>,            // [B·Tq, C]
    m: Array2<f32>,            // [B·Tk, C]
    q: Array2<f32>,            // [B·Tq, C]
    kv: Array2<f32>,           // [B·Tk, 2C]
    merged: Array2<f32>,       // [B·Tq, C]
    p: Array4<f32>,            // [B, h, Tq, Tk]
    keep: Option<Array4<f32>>, // [B, h, Tq, Tk]: the dropout mask, in training
}
// ANCHOR_END: struct

impl CrossAttention {
    pub fn new(d_model: usize, n_heads: usize, rng: &mut impl Rng) -> Self {
        assert!(
            n_heads > 0 && d_model.is_multiple_of(n_heads),
            "CrossAttention: d_model {d_model} is not divisible by n_heads {n_heads}"
        );
        CrossAttention {
            n_heads,
            w_q: Param::new(xavier_uniform(d_model, d_model, rng)),
            b_q: Param::new(Array1::zeros(d_model)),
            w_kv: Param::new(xavier_uniform(d_model, 2 * d_model, rng)),
            b_kv: Param::new(Array1::zeros(2 * d_model)),
            w_o: Param::new(xavier_uniform(d_model, d_model, rng)),
            b_o: Param::new(Array1::zeros(d_model)),
            dropout: AttentionDropout::new(0.0),
            cache: None,
        }
    }

    /// The attention weights of the last forward pass.
    // -> [B, h, Tq, Tk]
    pub fn weights(&self) -> Option<&Array4<f32>> {
        self.cache.as_ref().map(|c| &c.p)
    }
}

// ANCHOR: forward
impl CrossAttention {
    // x: [B, Tq, C], m: [B, Tk, C], key_padding: [B, Tk] -> [B, Tq, C]
    pub fn forward(
        &mut self,
        x: &Array3<f32>,
        m: &Array3<f32>,
        key_padding: Option<&Array2<bool>>,
    ) -> Array3<f32> {
        let ((b, tq, c), (_, tk, _)) = (x.dim(), m.dim());
        self.check_inputs(x, m);
        let pad = key_padding.map(|mask| padding_rows("CrossAttention", mask, b, tk));
        let (x, m) = (rows(x), rows(m));
        let q = linear(&x, &self.w_q.value, &self.b_q.value); // [B·Tq, C]
        let kv = linear(&m, &self.w_kv.value, &self.b_kv.value); // [B·Tk, 2C]
        let (k, v) = (kv.slice(s![.., ..c]), kv.slice(s![.., c..]));
        let (mut p, mut keep) = self.cache.take().map(Cache::buffers).unwrap_or_default();
        reuse(&mut p, (b, self.n_heads, tq, tk));
        let drop = self.dropout.pass(&mut keep, p.dim());
        let dropped = drop.is_some();
        let merged = heads_forward((q.view(), k, v), false, pad.as_deref(), &mut p, drop);
        let y = linear(&merged, &self.w_o.value, &self.b_o.value);
        let keep = dropped.then_some(keep);
        self.cache = Some(Cache {
            x,
            m,
            q,
            kv,
            merged,
            p,
            keep,
        });
        y.into_shape_with_order((b, tq, c))
            .expect("standard layout")
    }
}
// ANCHOR_END: forward

// ANCHOR: backward
impl CrossAttention {
    /// Accumulates parameter gradients; returns (∂L/∂x, ∂L/∂m).
    // dy: [B, Tq, C] -> (dx: [B, Tq, C], dm: [B, Tk, C])
    pub fn backward(&mut self, dy: &Array3<f32>) -> (Array3<f32>, Array3<f32>) {
        let cache = self
            .cache
            .as_ref()
            .expect("CrossAttention: backward before forward");
        let (n, c) = cache.merged.dim();
        check_grad("CrossAttention", dy.shape(), n, c);
        let d_merged = linear_backward(
            cache.merged.view(),
            rows(dy).view(),
            &mut self.w_o,
            &mut self.b_o,
        );
        let (k, v) = (cache.kv.slice(s![.., ..c]), cache.kv.slice(s![.., c..]));
        let mut dq = Array2::zeros((n, c));
        let mut dkv = Array2::zeros((cache.kv.nrows(), 2 * c)); // [B·Tk, 2C]
        let (dk, dv) = dkv.multi_slice_mut((s![.., ..c], s![.., c..]));
        let d_heads = (dq.view_mut(), dk, dv);
        let (q, keep) = (cache.q.view(), cache.keep.as_ref());
        heads_backward((q, k, v), &cache.p, keep, d_merged.view(), d_heads);
        let dx = linear_backward(cache.x.view(), dq.view(), &mut self.w_q, &mut self.b_q);
        let dm =
            linear_backward(cache.m.view(), dkv.view(), &mut self.w_kv, &mut self.b_kv);
        let (b, _, tq, tk) = cache.p.dim();
        (
            dx.into_shape_with_order((b, tq, c))
                .expect("standard layout"),
            dm.into_shape_with_order((b, tk, c))
                .expect("standard layout"),
        )
    }
}
// ANCHOR_END: backward

impl Module for CrossAttention {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("w_q", self.w_q.view());
        f("b_q", self.b_q.view());
        f("w_kv", self.w_kv.view());
        f("b_kv", self.b_kv.view());
        f("w_o", self.w_o.view());
        f("b_o", self.b_o.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("w_q", self.w_q.view_mut());
        f("b_q", self.b_q.view_mut());
        f("w_kv", self.w_kv.view_mut());
        f("b_kv", self.b_kv.view_mut());
        f("w_o", self.w_o.view_mut());
        f("b_o", self.b_o.view_mut());
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.dropout.set_mode(mode);
    }
}

impl CrossAttention {
    // x: [B, Tq, C], m: [B, Tk, C]
    fn check_inputs(&self, x: &Array3<f32>, m: &Array3<f32>) {
        let d_model = self.w_o.value.nrows();
        check_input("CrossAttention", "x", x.shape(), x.dim().2, d_model);
        check_input("CrossAttention", "memory", m.shape(), m.dim().2, d_model);
        assert!(
            x.dim().0 == m.dim().0,
            "CrossAttention: x is {:?} but memory is {:?}: batch sizes differ",
            x.shape(),
            m.shape()
        );
    }
}

impl Cache {
    /// The weights and mask buffers, for the next pass to reuse.
    fn buffers(self) -> (Array4<f32>, Array4<f32>) {
        (self.p, self.keep.unwrap_or_default())
    }
}
