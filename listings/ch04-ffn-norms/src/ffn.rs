//! The position-wise feed-forward network: Linear(C → 4C), activation, Linear(4C → C)
//! (section "The feed-forward network"). This is the chapter's fast path: buffers are
//! reused across calls, bias and activation are fused into one pass, and every matmul
//! is split over row blocks for rayon.

use ch01_foundations::module::{
    Module, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ndarray::{Array2, ArrayViewMut2, Axis};
use rand::Rng;
use rayon::prelude::*;

use crate::activations::{Activation, bias_act_row, grad_act_row};
use ch01_foundations::linalg::{block_len, par_matmul_into, reuse};

use crate::linear::Linear;

// ANCHOR: ffn
/// FFN(x) = f(x W1 + b1) W2 + b2, applied to every token independently.
#[derive(Clone, Debug)]
pub struct Ffn {
    pub fc1: Linear, // [C, d_ff]
    pub fc2: Linear, // [d_ff, C]
    pub act: Activation,
    x: Array2<f32>,  // cached input            [N, C]
    h: Array2<f32>,  // cached pre-activation   [N, d_ff]
    a: Array2<f32>,  // cached f(h), fc2's input [N, d_ff]
    da: Array2<f32>, // backward's scratch      [N, d_ff]
}

impl Ffn {
    /// The transformer default: d_ff = 4·d_model.
    pub fn new(d_model: usize, d_ff: usize, act: Activation, rng: &mut impl Rng) -> Self {
        let fc1 = Linear::new(d_model, d_ff, rng);
        let fc2 = Linear::new(d_ff, d_model, rng);
        Ffn::from_layers(fc1, fc2, act)
    }

    /// 2·C·d_ff weights + d_ff + C biases; 8C² + 5C at d_ff = 4C.
    pub fn param_count(d_model: usize, d_ff: usize) -> usize {
        2 * d_model * d_ff + d_ff + d_model
    }
}
// ANCHOR_END: ffn

impl Ffn {
    /// An FFN from two given layers (the golden tests load PyTorch's weights).
    pub fn from_layers(fc1: Linear, fc2: Linear, act: Activation) -> Self {
        assert!(
            fc1.d_out() == fc2.d_in() && fc2.d_out() == fc1.d_in(),
            "Ffn: fc1.w is {:?} but fc2.w is {:?}",
            fc1.w.value.shape(),
            fc2.w.value.shape()
        );
        let empty = Array2::zeros((0, 0));
        Ffn {
            fc1,
            fc2,
            act,
            x: empty.clone(),
            h: empty.clone(),
            a: empty.clone(),
            da: empty,
        }
    }
}

// ANCHOR: ffn_forward
impl Ffn {
    // x: [N, C] -> y: [N, C]
    pub fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let (n, d_ff) = (x.nrows(), self.fc1.d_out());
        assert!(
            x.ncols() == self.fc1.d_in(),
            "Ffn: x is {:?} but fc1.w is {:?}",
            x.shape(),
            self.fc1.w.value.shape()
        );
        reuse(&mut self.x, x.dim()).assign(x);
        reuse(&mut self.h, (n, d_ff));
        reuse(&mut self.a, (n, d_ff));
        par_matmul_into(
            1.0,
            x.view(),
            self.fc1.w.value.view(),
            0.0,
            self.h.view_mut(),
        );
        // One pass: h += b1 (kept for backward), a = f(h).
        let (act, b1) = (self.act, self.fc1.b.value.as_slice().expect("contiguous"));
        par_rows2(self.h.view_mut(), self.a.view_mut(), |h, a| {
            bias_act_row(act, h, a, b1);
        });
        self.fc2.apply(self.a.view())
    }
}
// ANCHOR_END: ffn_forward

// ANCHOR: ffn_backward
impl Ffn {
    // dy: [N, C] -> dx: [N, C]
    pub fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        assert!(
            dy.dim() == self.x.dim() && !self.x.is_empty(),
            "Ffn: dy is {:?} but the forward input was {:?}",
            dy.shape(),
            self.x.shape()
        );
        // fc2: dW2 += aᵀ dy, db2 += Σ dy, da = dy W2ᵀ.
        reuse(&mut self.da, self.h.dim());
        self.fc2
            .backward_into(self.a.view(), dy.view(), self.da.view_mut());
        // dh = da ⊙ f'(h), in place, straight from the cached pre-activation.
        let act = self.act;
        par_rows2(self.da.view_mut(), self.h.view_mut(), |da, h| {
            grad_act_row(act, da, h)
        });
        let mut dx = Array2::zeros(self.x.dim());
        self.fc1
            .backward_into(self.x.view(), self.da.view(), dx.view_mut());
        dx
    }
}
// ANCHOR_END: ffn_backward

/// Runs `f` on matching row blocks of two same-shape arrays in parallel, one row at a
/// time; the blocks are fixed by the shape, so the result is thread-count independent.
fn par_rows2(
    mut p: ArrayViewMut2<'_, f32>,
    mut q: ArrayViewMut2<'_, f32>,
    f: impl Fn(&mut [f32], &mut [f32]) + Sync,
) {
    let rows = block_len(p.nrows());
    let tasks: Vec<_> = p
        .axis_chunks_iter_mut(Axis(0), rows)
        .zip(q.axis_chunks_iter_mut(Axis(0), rows))
        .collect();
    tasks.into_par_iter().for_each(|(mut p, mut q)| {
        for (mut p, mut q) in p.rows_mut().into_iter().zip(q.rows_mut()) {
            f(
                p.as_slice_mut().expect("row-major"),
                q.as_slice_mut().expect("row-major"),
            );
        }
    });
}

impl Module for Ffn {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("fc1", &self.fc1, f);
        visit_child("fc2", &self.fc2, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("fc1", &mut self.fc1, f);
        visit_child_mut("fc2", &mut self.fc2, f);
    }
}
