//! T5's feed-forward network (section "The feed-forward network"): T5 1.0's
//! ReLU(x W_i) W_o and T5 v1.1's gated GELU, (gelu(x W_i0) ⊙ x W_i1) W_o, with the tanh
//! GELU (Hugging Face's `gelu_new`). No biases in either.

use ch01_foundations::init::normal;
use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ch04_ffn_norms::activations::Activation;
use ndarray::{Array2, Ix2, Zip};
use rand::Rng;

// ANCHOR: kind
/// Which FFN: Hugging Face's `feed_forward_proj` "relu" or "gated-gelu".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeedForward {
    Relu,
    GatedGelu,
}
// ANCHOR_END: kind

/// What backward needs: x, h = x W_i0, u = x W_i1 (gated), a = act(h) (⊙ u).
type FfnCache = (Array2<f32>, Array2<f32>, Option<Array2<f32>>, Array2<f32>);

// ANCHOR: struct
/// W_i0: [C, d_ff], W_i1: [C, d_ff] when gated, W_o: [d_ff, C].
pub struct T5Ffn {
    pub wi_0: Param<Ix2>,
    pub wi_1: Option<Param<Ix2>>,
    pub wo: Param<Ix2>,
    pub act: Activation,
    cache: Option<FfnCache>,
}

impl T5Ffn {
    /// Hugging Face's initialisation: W_i from N(0, 1/C), W_o from N(0, 1/d_ff).
    pub fn new(
        kind: FeedForward,
        d_model: usize,
        d_ff: usize,
        rng: &mut impl Rng,
    ) -> Self {
        let std = |fan: usize| (fan as f32).powf(-0.5);
        let wi_0 = Param::new(normal((d_model, d_ff), std(d_model), rng));
        let wi_1 = (kind == FeedForward::GatedGelu)
            .then(|| Param::new(normal((d_model, d_ff), std(d_model), rng)));
        let wo = Param::new(normal((d_ff, d_model), std(d_ff), rng));
        let act = match kind {
            FeedForward::Relu => Activation::Relu,
            FeedForward::GatedGelu => Activation::GeluTanh,
        };
        T5Ffn {
            wi_0,
            wi_1,
            wo,
            act,
            cache: None,
        }
    }
}
// ANCHOR_END: struct

// ANCHOR: forward
impl T5Ffn {
    // x: [N, C] -> y: [N, C]
    pub fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let h = x.dot(&self.wi_0.value); // [N, d_ff]
        let mut a = self.act.forward(&h);
        let u = self.wi_1.as_ref().map(|w| x.dot(&w.value)); // the gate's other half
        if let Some(u) = &u {
            a *= u;
        }
        let y = a.dot(&self.wo.value);
        self.cache = Some((x.clone(), h, u, a));
        y
    }
}
// ANCHOR_END: forward

// ANCHOR: backward
impl T5Ffn {
    // dy: [N, C] -> dx: [N, C]
    pub fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        let (x, h, u, a) = self.cache.as_ref().expect("t5 ffn backward before forward");
        assert_eq!(dy.dim(), x.dim(), "t5 ffn backward: dy and x");
        self.wo.grad += &a.t().dot(dy);
        let da = dy.dot(&self.wo.value.t());
        let (_, act_grad) = self.act.pair();
        // a = act(h) ⊙ u: the product rule gives one gradient per factor.
        let dh = match u {
            None => Zip::from(&da)
                .and(h)
                .map_collect(|&da, &h| da * act_grad(h)),
            Some(u) => Zip::from(&da)
                .and(h)
                .and(u)
                .map_collect(|&da, &h, &u| da * u * act_grad(h)),
        };
        self.wi_0.grad += &x.t().dot(&dh);
        let mut dx = dh.dot(&self.wi_0.value.t());
        if let (Some(w), Some(u)) = (self.wi_1.as_mut(), u) {
            let du = &da * &self.act.forward(h);
            debug_assert_eq!(du.dim(), u.dim());
            w.grad += &x.t().dot(&du);
            dx += &du.dot(&w.value.t());
        }
        dx
    }
}
// ANCHOR_END: backward

impl Module for T5Ffn {
    /// Hugging Face's names: `wi` alone, or `wi_0` and `wi_1` when gated.
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        match &self.wi_1 {
            None => f("wi", self.wi_0.view()),
            Some(w1) => {
                f("wi_0", self.wi_0.view());
                f("wi_1", w1.view());
            }
        }
        f("wo", self.wo.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        match &mut self.wi_1 {
            None => f("wi", self.wi_0.view_mut()),
            Some(w1) => {
                f("wi_0", self.wi_0.view_mut());
                f("wi_1", w1.view_mut());
            }
        }
        f("wo", self.wo.view_mut());
    }
}
