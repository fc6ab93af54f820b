//! Multi-head self-attention with a fused QKV projection (section "Multi-head
//! attention").

use ch01_foundations::init::xavier_uniform;
use ch01_foundations::linalg::{linear, linear_backward, reuse, rows};
use ch01_foundations::module::{Mode, Module, Param, ParamView, ParamViewMut};
use ndarray::{Array1, Array2, Array3, Array4, Ix1, Ix2, s};
use rand::Rng;

use crate::heads::{AttentionDropout, heads_backward, heads_forward};

// ANCHOR: struct
/// Multi-head self-attention: one fused projection x W_qkv + b_qkv gives Q, K and V for
/// every head at once, each head attends in its own d_k = C / h columns, and W_o mixes
/// the merged heads.
pub struct MultiHeadAttention {
    pub n_heads: usize,
    /// Causal (masked) self-attention: token t sees tokens ≤ t.
    pub causal: bool,
    pub w_qkv: Param<Ix2>, // [C, 3C]: columns [0, C) give Q, [C, 2C) K, [2C, 3C) V
    pub b_qkv: Param<Ix1>, // [3C]
    pub w_o: Param<Ix2>,   // [C, C]
    pub b_o: Param<Ix1>,   // [C]
    pub dropout: AttentionDropout, // on the weights P; p = 0 unless set
    cache: Option<Cache>,
}

/// What backward needs from forward.
struct Cache {
    x: Array2<f32>,            // [B·T, C]
    qkv: Array2<f32>,          // [B·T, 3C]
    merged: Array2<f32>,       // [B·T, C]
    p: Array4<f32>,            // [B, h, T, T]
    keep: Option<Array4<f32>>, // [B, h, T, T]: the dropout mask, in training
}
// ANCHOR_END: struct

impl MultiHeadAttention {
    /// Xavier-uniform weights and zero biases, as PyTorch's `nn.MultiheadAttention`
    /// initialises its in-projection.
    pub fn new(d_model: usize, n_heads: usize, causal: bool, rng: &mut impl Rng) -> Self {
        assert!(
            n_heads > 0 && d_model.is_multiple_of(n_heads),
            "MultiHeadAttention: d_model {d_model} is not divisible by n_heads {n_heads}"
        );
        MultiHeadAttention {
            n_heads,
            causal,
            w_qkv: Param::new(xavier_uniform(d_model, 3 * d_model, rng)),
            b_qkv: Param::new(Array1::zeros(3 * d_model)),
            w_o: Param::new(xavier_uniform(d_model, d_model, rng)),
            b_o: Param::new(Array1::zeros(d_model)),
            dropout: AttentionDropout::new(0.0),
            cache: None,
        }
    }

    /// The model width C.
    pub fn d_model(&self) -> usize {
        self.w_o.value.nrows()
    }

    /// The attention weights of the last forward pass.
    // -> [B, h, T, T]
    pub fn weights(&self) -> Option<&Array4<f32>> {
        self.cache.as_ref().map(|c| &c.p)
    }
}

// ANCHOR: forward
impl MultiHeadAttention {
    /// `key_padding[b][j]` = true hides key j of item b from every query of item b.
    // x: [B, T, C], key_padding: [B, T] -> [B, T, C]
    pub fn forward(
        &mut self,
        x: &Array3<f32>,
        key_padding: Option<&Array2<bool>>,
    ) -> Array3<f32> {
        let (b, t, c) = x.dim();
        check_input("MultiHeadAttention", "x", x.shape(), c, self.d_model());
        let pad = key_padding.map(|m| padding_rows("MultiHeadAttention", m, b, t));
        let x = rows(x);
        let qkv = linear(&x, &self.w_qkv.value, &self.b_qkv.value); // [B·T, 3C]
        let (q, k, v) = (
            qkv.slice(s![.., ..c]),
            qkv.slice(s![.., c..2 * c]),
            qkv.slice(s![.., 2 * c..]),
        );
        // The buffers of the previous call are reused when the shape matches.
        let (mut p, mut keep) = self.cache.take().map(Cache::buffers).unwrap_or_default();
        reuse(&mut p, (b, self.n_heads, t, t));
        let drop = self.dropout.pass(&mut keep, p.dim());
        let dropped = drop.is_some();
        let merged = heads_forward((q, k, v), self.causal, pad.as_deref(), &mut p, drop);
        let y = linear(&merged, &self.w_o.value, &self.b_o.value);
        let keep = dropped.then_some(keep);
        self.cache = Some(Cache {
            x,
            qkv,
            merged,
            p,
            keep,
        });
        y.into_shape_with_order((b, t, c)).expect("standard layout")
    }
}
// ANCHOR_END: forward

// ANCHOR: backward
impl MultiHeadAttention {
    /// Accumulates ∂L/∂θ into every parameter's `grad` and returns ∂L/∂x.
    // dy: [B, T, C] -> dx: [B, T, C]
    pub fn backward(&mut self, dy: &Array3<f32>) -> Array3<f32> {
        let cache = self
            .cache
            .as_ref()
            .expect("MultiHeadAttention: backward before forward");
        let (n, c) = cache.merged.dim();
        check_grad("MultiHeadAttention", dy.shape(), n, c);
        let dy = dy.as_standard_layout(); // a view, unless dy is not row-major
        let dy = dy
            .view()
            .into_shape_with_order((n, c))
            .expect("standard layout");
        let d_merged =
            linear_backward(cache.merged.view(), dy, &mut self.w_o, &mut self.b_o);
        let (q, k, v) = (
            cache.qkv.slice(s![.., ..c]),
            cache.qkv.slice(s![.., c..2 * c]),
            cache.qkv.slice(s![.., 2 * c..]),
        );
        let mut dqkv = Array2::zeros((n, 3 * c)); // [B·T, 3C], heads write in place
        let (dq, dk, dv) =
            dqkv.multi_slice_mut((s![.., ..c], s![.., c..2 * c], s![.., 2 * c..]));
        let keep = cache.keep.as_ref();
        heads_backward((q, k, v), &cache.p, keep, d_merged.view(), (dq, dk, dv));
        let dx = linear_backward(
            cache.x.view(),
            dqkv.view(),
            &mut self.w_qkv,
            &mut self.b_qkv,
        );
        let (b, t) = (cache.p.dim().0, cache.p.dim().2);
        dx.into_shape_with_order((b, t, c))
            .expect("standard layout")
    }
}
// ANCHOR_END: backward

impl Module for MultiHeadAttention {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("w_qkv", self.w_qkv.view());
        f("b_qkv", self.b_qkv.view());
        f("w_o", self.w_o.view());
        f("b_o", self.b_o.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("w_qkv", self.w_qkv.view_mut());
        f("b_qkv", self.b_qkv.view_mut());
        f("w_o", self.w_o.view_mut());
        f("b_o", self.b_o.view_mut());
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.dropout.set_mode(mode);
    }
}

impl Cache {
    /// The weights and mask buffers, for the next pass to reuse.
    fn buffers(self) -> (Array4<f32>, Array4<f32>) {
        (self.p, self.keep.unwrap_or_default())
    }
}

pub(crate) fn check_input(
    layer: &str,
    what: &str,
    shape: &[usize],
    c: usize,
    d_model: usize,
) {
    assert!(
        c == d_model,
        "{layer}: {what} is {shape:?} but the layer expects [B, T, {d_model}]"
    );
}

pub(crate) fn check_grad(layer: &str, shape: &[usize], n: usize, c: usize) {
    assert!(
        shape.len() == 3 && shape[0] * shape[1] == n && shape[2] == c,
        "{layer}: dy is {shape:?} but the last forward's output had {n} rows of width {c}"
    );
}

/// The key-padding mask as one flat row-major [B·T] slice, after checking its shape.
pub(crate) fn padding_rows(
    layer: &str,
    m: &Array2<bool>,
    b: usize,
    t: usize,
) -> Vec<bool> {
    assert!(
        m.dim() == (b, t),
        "{layer}: key_padding is {:?} but the keys are [B, T] = {:?}",
        m.shape(),
        [b, t]
    );
    m.iter().copied().collect()
}
