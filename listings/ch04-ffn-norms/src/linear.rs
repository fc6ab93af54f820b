//! The linear layer y = xW + b and the parallel matmul every layer of the chapter uses
//! (section "The linear layer").

use ch01_foundations::init::xavier_uniform;
use ch01_foundations::linalg::{linear, linear_backward_into};
use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ndarray::{Array1, Array2, ArrayView2, ArrayViewMut2, Ix1, Ix2};
use rand::Rng;

// ANCHOR: linear
/// y = xW + b over any number of rows: a batch of B sequences of T tokens is one
/// [B·T, d_in] matrix, so the whole batch is a single matmul.
#[derive(Clone, Debug)]
pub struct Linear {
    pub w: Param<Ix2>, // [d_in, d_out]: x @ w, no transpose in the forward pass
    pub b: Param<Ix1>, // [d_out]
    x: Option<Array2<f32>>, // forward's input, for backward's dW = xᵀ dy
}

impl Linear {
    /// Xavier-uniform weights, zero bias.
    pub fn new(d_in: usize, d_out: usize, rng: &mut impl Rng) -> Self {
        let w = xavier_uniform(d_in, d_out, rng);
        Linear::from_params(w, Array1::zeros(d_out))
    }

    // w: [d_in, d_out], b: [d_out]
    pub fn from_params(w: Array2<f32>, b: Array1<f32>) -> Self {
        assert_eq!(
            w.ncols(),
            b.len(),
            "Linear: w is {:?} but b is {:?}",
            w.shape(),
            b.shape()
        );
        Linear {
            w: Param::new(w),
            b: Param::new(b),
            x: None,
        }
    }

    pub fn d_in(&self) -> usize {
        self.w.value.nrows()
    }

    pub fn d_out(&self) -> usize {
        self.w.value.ncols()
    }
}
// ANCHOR_END: linear

// ANCHOR: linear_forward
impl Linear {
    /// y = xW + b, caching x for the backward pass.
    // x: [N, d_in] -> y: [N, d_out]
    pub fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let y = self.apply(x.view());
        self.x = Some(x.clone());
        y
    }

    /// y = xW + b without caching: inference, or a caller that keeps x itself.
    // x: [N, d_in] -> y: [N, d_out]
    pub fn apply(&self, x: ArrayView2<'_, f32>) -> Array2<f32> {
        self.check_input("x", x.shape());
        linear(&x, &self.w.value, &self.b.value)
    }

    fn check_input(&self, what: &str, shape: &[usize]) {
        assert!(
            shape[1] == self.d_in(),
            "Linear: {what} is {shape:?} but w is {:?} (expected [N, {}])",
            self.w.value.shape(),
            self.d_in()
        );
    }
}
// ANCHOR_END: linear_forward

// ANCHOR: linear_backward
impl Linear {
    /// dW += xᵀ dy, db += Σ_rows dy, and returns dx = dy Wᵀ.
    // dy: [N, d_out] -> dx: [N, d_in]
    pub fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        let x = self
            .x
            .take()
            .expect("Linear::backward called before forward");
        let dx = self.backward_with(x.view(), dy.view());
        self.x = Some(x);
        dx
    }

    /// The backward pass given forward's input explicitly, writing dx into a caller's
    /// buffer (which it overwrites): the FFN keeps x and reuses its buffers.
    // x: [N, d_in], dy: [N, d_out], dx: [N, d_in]
    pub fn backward_into(
        &mut self,
        x: ArrayView2<'_, f32>,
        dy: ArrayView2<'_, f32>,
        dx: ArrayViewMut2<'_, f32>,
    ) {
        assert!(
            dy.dim() == (x.nrows(), self.d_out()),
            "Linear: dy is {:?} but x is {:?} and w is {:?}",
            dy.shape(),
            x.shape(),
            self.w.value.shape()
        );
        linear_backward_into(x, dy, &mut self.w, &mut self.b, dx);
    }
}
// ANCHOR_END: linear_backward

impl Linear {
    /// The backward pass given forward's input explicitly, returning a new dx.
    // x: [N, d_in], dy: [N, d_out] -> dx: [N, d_in]
    pub fn backward_with(
        &mut self,
        x: ArrayView2<'_, f32>,
        dy: ArrayView2<'_, f32>,
    ) -> Array2<f32> {
        let mut dx = Array2::zeros((x.nrows(), self.d_in()));
        self.backward_into(x, dy, dx.view_mut());
        dx
    }
}

impl Module for Linear {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("w", self.w.view());
        f("b", self.b.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("w", self.w.view_mut());
        f("b", self.b.view_mut());
    }
}
