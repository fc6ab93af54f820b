//! The gated FFN of Llama: SwiGLU(x) = (silu(x W1) ⊙ x W3) W2 (section "The feed-forward
//! network").

use ch01_foundations::init::xavier_uniform;
use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ndarray::{Array2, Ix2, Zip};
use rand::Rng;

use crate::activations::{silu, silu_grad};
use ch01_foundations::linalg::par_matmul_into;

// ANCHOR: swiglu_hidden
/// Llama's hidden width: 2/3 of 4C keeps 3 matrices at the parameter count of 2 (3 · C ·
/// 8C/3 = 8C²), rounded up to a multiple of `multiple_of` for efficient kernels.
pub fn swiglu_hidden(d_model: usize, multiple_of: usize) -> usize {
    let d_ff = 2 * 4 * d_model / 3;
    d_ff.div_ceil(multiple_of) * multiple_of
}
// ANCHOR_END: swiglu_hidden

/// What a gated FFN's backward pass needs: x, g = x W1, u = x W3, a = act(g) ⊙ u.
pub type GluCache = (Array2<f32>, Array2<f32>, Array2<f32>, Array2<f32>);

// ANCHOR: swiglu
/// Three bias-free matrices: a gate W1, a value W3, and the output projection W2.
#[derive(Clone, Debug)]
pub struct SwiGlu {
    pub w1: Param<Ix2>, // [C, d_ff] gate
    pub w2: Param<Ix2>, // [d_ff, C] down
    pub w3: Param<Ix2>, // [C, d_ff] up
    cache: Option<GluCache>,
}

impl SwiGlu {
    pub fn new(d_model: usize, d_ff: usize, rng: &mut impl Rng) -> Self {
        let w1 = xavier_uniform(d_model, d_ff, rng);
        let w2 = xavier_uniform(d_ff, d_model, rng);
        let w3 = xavier_uniform(d_model, d_ff, rng);
        SwiGlu::from_params(w1, w2, w3)
    }

    pub fn from_params(w1: Array2<f32>, w2: Array2<f32>, w3: Array2<f32>) -> Self {
        assert!(
            w1.dim() == w3.dim() && w2.dim() == (w1.ncols(), w1.nrows()),
            "SwiGlu: w1 is {:?}, w2 is {:?}, w3 is {:?}",
            w1.shape(),
            w2.shape(),
            w3.shape()
        );
        let (w1, w2, w3) = (Param::new(w1), Param::new(w2), Param::new(w3));
        SwiGlu {
            w1,
            w2,
            w3,
            cache: None,
        }
    }
}
// ANCHOR_END: swiglu

// ANCHOR: swiglu_forward
impl SwiGlu {
    // x: [N, C] -> y: [N, C]
    pub fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        assert!(
            x.ncols() == self.w1.value.nrows(),
            "SwiGlu: x is {:?} but w1 is {:?}",
            x.shape(),
            self.w1.value.shape()
        );
        let g = mm(x, &self.w1.value); // gate pre-activation [N, d_ff]
        let u = mm(x, &self.w3.value); // value [N, d_ff]
        let a = Zip::from(&g).and(&u).map_collect(|&g, &u| silu(g) * u);
        let y = mm(&a, &self.w2.value);
        self.cache = Some((x.clone(), g, u, a));
        y
    }
}
// ANCHOR_END: swiglu_forward

// ANCHOR: swiglu_backward
impl SwiGlu {
    // dy: [N, C] -> dx: [N, C]
    pub fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        let (x, g, u, a) = self
            .cache
            .as_ref()
            .expect("SwiGlu::backward before forward");
        assert!(
            dy.dim() == x.dim(),
            "SwiGlu: dy is {:?} but x was {:?}",
            dy.shape(),
            x.shape()
        );
        par_matmul_into(1.0, a.t(), dy.view(), 1.0, self.w2.grad.view_mut());
        let da = mm(dy, &self.w2.value.t().to_owned());
        // a = silu(g) ⊙ u: the product rule gives one gradient per factor.
        let dg = Zip::from(&da)
            .and(g)
            .and(u)
            .map_collect(|&da, &g, &u| da * u * silu_grad(g));
        let du = Zip::from(&da).and(g).map_collect(|&da, &g| da * silu(g));
        par_matmul_into(1.0, x.t(), dg.view(), 1.0, self.w1.grad.view_mut());
        par_matmul_into(1.0, x.t(), du.view(), 1.0, self.w3.grad.view_mut());
        let mut dx = mm(&dg, &self.w1.value.t().to_owned());
        par_matmul_into(1.0, du.view(), self.w3.value.t(), 1.0, dx.view_mut());
        dx
    }
}
// ANCHOR_END: swiglu_backward

// a: [m, k], b: [k, n] -> [m, n]
fn mm(a: &Array2<f32>, b: &Array2<f32>) -> Array2<f32> {
    let mut c = Array2::zeros((a.nrows(), b.ncols()));
    par_matmul_into(1.0, a.view(), b.view(), 0.0, c.view_mut());
    c
}

impl Module for SwiGlu {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("w1", self.w1.view());
        f("w2", self.w2.view());
        f("w3", self.w3.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("w1", self.w1.view_mut());
        f("w2", self.w2.view_mut());
        f("w3", self.w3.view_mut());
    }
}
