//! T5's attention (section "Attention without the scale"): Chapter 3's multi-head
//! attention with no bias vectors, no 1/√d_k (T5 folds it into W_q's initialisation),
//! and the relative position bias added to the scores before the softmax.

use ch01_foundations::init::normal;
use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ch03_attention::mask::Mask;
use ch03_attention::sdpa::{masked_softmax_in_place, softmax_backward_in_place};
use ndarray::{Array2, Array3, Ix2, s};
use rand::Rng;

/// What backward needs: x_q [Tq, C], x_kv [Tk, C], q [Tq, H·d_kv], k, v [Tk, H·d_kv],
/// every head's weights P [H, Tq, Tk] and the heads' output o [Tq, H·d_kv].
struct Cache(
    Array2<f32>,
    Array2<f32>,
    Array2<f32>,
    Array2<f32>,
    Array2<f32>,
    Array3<f32>,
    Array2<f32>,
);

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
    /// the encoder's output in cross-attention). `key_padding` (`true` = padding, as
    /// Chapter 3's mask has it) hides a padded source's extra keys.
    // x_q: [Tq, C], x_kv: [Tk, C], bias: [H, Tq, Tk], key_padding: [Tk] -> y: [Tq, C]
    pub fn forward_padded(
        &mut self,
        x_q: &Array2<f32>,
        x_kv: &Array2<f32>,
        bias: Option<&Array3<f32>>,
        key_padding: Option<&[bool]>,
    ) -> Array2<f32> {
        let shape = (self.n_heads, x_q.nrows(), x_kv.nrows());
        if let Some(b) = bias {
            assert_eq!(b.dim(), shape, "t5 attention: bias and [H, Tq, Tk]");
        }
        if let Some(pad) = key_padding {
            assert_eq!(pad.len(), x_kv.nrows(), "t5 attention: key_padding and Tk");
        }
        let q = x_q.dot(&self.wq.value);
        let k = x_kv.dot(&self.wk.value);
        let v = x_kv.dot(&self.wv.value);
        let (p, o) = self.heads(&q, &k, &v, bias, key_padding);
        let y = o.dot(&self.wo.value);
        self.cache = Some(Cache(x_q.clone(), x_kv.clone(), q, k, v, p, o));
        y
    }

    /// Every key visible but the causal mask's.
    // x_q: [Tq, C], x_kv: [Tk, C], bias: [H, Tq, Tk] -> y: [Tq, C]
    pub fn forward(
        &mut self,
        x_q: &Array2<f32>,
        x_kv: &Array2<f32>,
        bias: Option<&Array3<f32>>,
    ) -> Array2<f32> {
        self.forward_padded(x_q, x_kv, bias, None)
    }
}
// ANCHOR_END: forward

// ANCHOR: heads
impl T5Attention {
    /// Per head h: S = Q_h K_hᵀ + bias_h, with no 1/√d_kv; P = softmax(S), masked;
    /// O_h = P V_h. A head is a column slice of q, k, v: a view, no copy. A padded
    /// key's weight is exactly 0, so backward needs no mask of its own.
    // q: [Tq, H·d_kv], k, v: [Tk, H·d_kv], key_padding: [Tk] -> p: [H, Tq, Tk], o
    fn heads(
        &self,
        q: &Array2<f32>,
        k: &Array2<f32>,
        v: &Array2<f32>,
        bias: Option<&Array3<f32>>,
        key_padding: Option<&[bool]>,
    ) -> (Array3<f32>, Array2<f32>) {
        let (d, causal) = (self.d_kv, self.causal);
        let mask = Mask {
            causal,
            key_padding,
            ..Mask::default()
        };
        let mut p = Array3::zeros((self.n_heads, q.nrows(), k.nrows()));
        let mut o = Array2::zeros(q.raw_dim());
        for h in 0..self.n_heads {
            let cols = s![.., h * d..(h + 1) * d];
            let mut s_h = p.slice_mut(s![h, .., ..]);
            s_h.assign(&q.slice(cols).dot(&k.slice(cols).t()));
            if let Some(b) = bias {
                s_h += &b.slice(s![h, .., ..]);
            }
            masked_softmax_in_place(&mut s_h, &mask);
            o.slice_mut(cols).assign(&s_h.dot(&v.slice(cols)));
        }
        (p, o)
    }
}
// ANCHOR_END: heads

// ANCHOR: backward
impl T5Attention {
    // dy: [Tq, C] -> dx_q: [Tq, C], dx_kv: [Tk, C], d_bias: [H, Tq, Tk]
    pub fn backward(
        &mut self,
        dy: &Array2<f32>,
    ) -> (Array2<f32>, Array2<f32>, Array3<f32>) {
        let cache = self
            .cache
            .take()
            .expect("t5 attention backward before forward");
        let Cache(x_q, x_kv, q, k, v, p, o) = &cache;
        assert_eq!(dy.dim(), x_q.dim(), "t5 attention backward: dy and x_q");
        self.wo.grad += &o.t().dot(dy);
        let d_o = dy.dot(&self.wo.value.t());
        let (dq, dk, dv, d_bias) = self.heads_backward(q, k, v, p, &d_o);
        self.wq.grad += &x_q.t().dot(&dq);
        self.wk.grad += &x_kv.t().dot(&dk);
        self.wv.grad += &x_kv.t().dot(&dv);
        let dx_q = dq.dot(&self.wq.value.t());
        let dx_kv = dk.dot(&self.wk.value.t()) + dv.dot(&self.wv.value.t());
        self.cache = Some(cache);
        (dx_q, dx_kv, d_bias)
    }
}
// ANCHOR_END: backward

// ANCHOR: heads_backward
impl T5Attention {
    /// Chapter 3's backward of one head without the 1/√d_k: dV = Pᵀ dO, dP = dO Vᵀ,
    /// dS = P ⊙ (dP - rowsum(dP ⊙ P)), dQ = dS K, dK = dSᵀ Q. The bias entered S by a
    /// plain addition, so its gradient is dS itself.
    // q: [Tq, H·d], k, v: [Tk, H·d], p: [H, Tq, Tk], d_o: [Tq, H·d] -> dq, dk, dv, d_bias
    fn heads_backward(
        &self,
        q: &Array2<f32>,
        k: &Array2<f32>,
        v: &Array2<f32>,
        p: &Array3<f32>,
        d_o: &Array2<f32>,
    ) -> (Array2<f32>, Array2<f32>, Array2<f32>, Array3<f32>) {
        let (mut dq, mut dk) = (Array2::zeros(q.raw_dim()), Array2::zeros(k.raw_dim()));
        let mut dv = Array2::zeros(v.raw_dim());
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
        (dq, dk, dv, d_bias)
    }
}
// ANCHOR_END: heads_backward

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
