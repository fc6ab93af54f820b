//! T5's attention (section "Attention without the scale"): Chapter 3's multi-head
//! attention with no bias vectors, no 1/√d_k (T5 folds it into W_q's initialisation),
//! and the relative position bias added to the scores before the softmax.

use ch01_foundations::init::normal;
use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ch03_attention::mask::Mask;
use ch03_attention::sdpa::{masked_softmax_in_place, softmax_backward_in_place};
use ndarray::{Array2, Array3, Ix2, s};
use rand::Rng;

/// What backward needs: both inputs, q, k, v [T, H·d_kv], every head's weights
/// [H, Tq, Tk] and the heads' output [Tq, H·d_kv].
struct Cache {
    x_q: Array2<f32>,
    x_kv: Array2<f32>,
    q: Array2<f32>,
    k: Array2<f32>,
    v: Array2<f32>,
    p: Array3<f32>,
    o: Array2<f32>,
}

// ANCHOR: struct
/// W_q, W_k, W_v: [C, H·d_kv], W_o: [H·d_kv, C], no bias vectors. H·d_kv need not
/// equal C. `causal` masks later keys (the decoder's self-attention).
pub struct T5Attention {
    pub wq: Param<Ix2>,
    pub wk: Param<Ix2>,
    pub wv: Param<Ix2>,
    pub wo: Param<Ix2>,
    pub n_heads: usize,
    pub d_kv: usize,
    pub causal: bool,
    cache: Option<Cache>,
}

impl T5Attention {
    /// Hugging Face's initialisation: W_q from N(0, 1/(C·d_kv)), so q·k starts at the
    /// size that unscaled scores divided by √d_kv would have; W_k, W_v from N(0, 1/C),
    /// W_o from N(0, 1/(H·d_kv)).
    pub fn new(
        d_model: usize,
        (n_heads, d_kv): (usize, usize),
        causal: bool,
        rng: &mut impl Rng,
    ) -> Self {
        let inner = n_heads * d_kv;
        let std = |fan: usize| (fan as f32).powf(-0.5);
        T5Attention {
            wq: Param::new(normal((d_model, inner), std(d_model * d_kv), rng)),
            wk: Param::new(normal((d_model, inner), std(d_model), rng)),
            wv: Param::new(normal((d_model, inner), std(d_model), rng)),
            wo: Param::new(normal((inner, d_model), std(inner), rng)),
            n_heads,
            d_kv,
            causal,
            cache: None,
        }
    }
}
// ANCHOR_END: struct

// ANCHOR: forward
impl T5Attention {
    /// Queries from x_q, keys and values from x_kv (the same matrix in self-attention,
    /// the encoder's output in cross-attention). S = Q Kᵀ + bias, unscaled.
    // x_q: [Tq, C], x_kv: [Tk, C], bias: [H, Tq, Tk] -> y: [Tq, C]
    pub fn forward(
        &mut self,
        x_q: &Array2<f32>,
        x_kv: &Array2<f32>,
        bias: Option<&Array3<f32>>,
    ) -> Array2<f32> {
        let (tq, tk, d) = (x_q.nrows(), x_kv.nrows(), self.d_kv);
        if let Some(b) = bias {
            assert_eq!(
                b.dim(),
                (self.n_heads, tq, tk),
                "t5 attention: bias and [H, Tq, Tk]"
            );
        }
        let (q, k, v) = (
            x_q.dot(&self.wq.value),
            x_kv.dot(&self.wk.value),
            x_kv.dot(&self.wv.value),
        );
        let mask = Mask {
            causal: self.causal,
            ..Mask::default()
        };
        let mut p = Array3::zeros((self.n_heads, tq, tk));
        let mut o = Array2::zeros((tq, self.n_heads * d));
        for h in 0..self.n_heads {
            let cols = s![.., h * d..(h + 1) * d]; // head h's columns: a view, no copy
            let mut s_h = p.slice_mut(s![h, .., ..]);
            s_h.assign(&q.slice(cols).dot(&k.slice(cols).t())); // no 1/√d_kv
            if let Some(b) = bias {
                s_h += &b.slice(s![h, .., ..]);
            }
            masked_softmax_in_place(&mut s_h, &mask);
            o.slice_mut(cols).assign(&s_h.dot(&v.slice(cols)));
        }
        let y = o.dot(&self.wo.value);
        let (x_q, x_kv) = (x_q.clone(), x_kv.clone());
        self.cache = Some(Cache {
            x_q,
            x_kv,
            q,
            k,
            v,
            p,
            o,
        });
        y
    }
}
// ANCHOR_END: forward

// ANCHOR: backward
impl T5Attention {
    /// dS is also the gradient of the bias, which entered S by a plain addition.
    // dy: [Tq, C] -> dx_q: [Tq, C], dx_kv: [Tk, C], d_bias: [H, Tq, Tk]
    pub fn backward(
        &mut self,
        dy: &Array2<f32>,
    ) -> (Array2<f32>, Array2<f32>, Array3<f32>) {
        let Cache {
            x_q,
            x_kv,
            q,
            k,
            v,
            p,
            o,
        } = self
            .cache
            .as_ref()
            .expect("t5 attention backward before forward");
        assert_eq!(dy.dim(), x_q.dim(), "t5 attention backward: dy and x_q");
        self.wo.grad += &o.t().dot(dy);
        let d_o = dy.dot(&self.wo.value.t());
        let (mut dq, mut dk, mut dv) = (
            Array2::zeros(q.raw_dim()),
            Array2::zeros(k.raw_dim()),
            Array2::zeros(v.raw_dim()),
        );
        let mut d_bias = Array3::zeros(p.raw_dim());
        for h in 0..self.n_heads {
            let cols = s![.., h * self.d_kv..(h + 1) * self.d_kv];
            let p_h = p.slice(s![h, .., ..]);
            dv.slice_mut(cols).assign(&p_h.t().dot(&d_o.slice(cols)));
            let mut ds = d_o.slice(cols).dot(&v.slice(cols).t()); // dP
            softmax_backward_in_place(&mut ds, p_h); // dS
            dq.slice_mut(cols).assign(&ds.dot(&k.slice(cols)));
            dk.slice_mut(cols).assign(&ds.t().dot(&q.slice(cols)));
            d_bias.slice_mut(s![h, .., ..]).assign(&ds);
        }
        self.wq.grad += &x_q.t().dot(&dq);
        self.wk.grad += &x_kv.t().dot(&dk);
        self.wv.grad += &x_kv.t().dot(&dv);
        let dx_q = dq.dot(&self.wq.value.t());
        let dx_kv = dk.dot(&self.wk.value.t()) + dv.dot(&self.wv.value.t());
        (dx_q, dx_kv, d_bias)
    }
}
// ANCHOR_END: backward

impl Module for T5Attention {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("wq", self.wq.view());
        f("wk", self.wk.view());
        f("wv", self.wv.view());
        f("wo", self.wo.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("wq", self.wq.view_mut());
        f("wk", self.wk.view_mut());
        f("wv", self.wv.view_mut());
        f("wo", self.wo.view_mut());
    }
}
