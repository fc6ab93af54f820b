//! Solutions to the chapter's exercises (page "Exercises"), tested in tests/exercises.rs.

use ch01_foundations::init::seeded_rng;
use ndarray::{Array1, Array2, ArrayView1, Zip};
use rand::Rng;

use crate::activations::{gelu, gelu_grad};
use crate::dropout::Dropout;
use crate::ffn::Ffn;
use crate::norms::LayerNorm;
use crate::swiglu::{GluCache, SwiGlu};

// ANCHOR: ex_layernorm_jacobian
/// The full Jacobian ∂y/∂x of one row of LayerNorm with γ = 1, β = 0:
/// ∂x̂_i/∂x_j = rstd · (δ_ij - 1/n - x̂_i x̂_j / n).
// x: [n] -> J: [n, n], J[i, j] = ∂x̂_i/∂x_j
pub fn layernorm_jacobian(x: ArrayView1<'_, f32>, eps: f32) -> Array2<f32> {
    let n = x.len() as f32;
    let mean = x.sum() / n;
    let var = x.iter().map(|v| (v - mean) * (v - mean)).sum::<f32>() / n;
    let rstd = 1.0 / (var + eps).sqrt();
    let x_hat = x.mapv(|v| (v - mean) * rstd);
    Array2::from_shape_fn((x.len(), x.len()), |(i, j)| {
        let delta = if i == j { 1.0 } else { 0.0 };
        rstd * (delta - 1.0 / n - x_hat[i] * x_hat[j] / n)
    })
}

/// dx = Jᵀ dy: the O(n²) route the layer's O(n) backward must agree with.
// x: [n], dy: [n] -> dx: [n]
pub fn layernorm_backward_via_jacobian(
    x: ArrayView1<'_, f32>,
    dy: ArrayView1<'_, f32>,
    eps: f32,
) -> Array1<f32> {
    layernorm_jacobian(x, eps).t().dot(&dy)
}
// ANCHOR_END: ex_layernorm_jacobian

// ANCHOR: ex_geglu
/// GeGLU (Shazeer 2020): SwiGLU with GELU as the gate, (gelu(x W1) ⊙ x W3) W2. Only the
/// gate's function and derivative change, so we reuse SwiGlu's weights and matmuls.
pub struct GeGlu {
    pub inner: SwiGlu,
    cache: Option<GluCache>, // x, g, u, a
}

impl GeGlu {
    pub fn new(d_model: usize, d_ff: usize, rng: &mut impl Rng) -> Self {
        GeGlu {
            inner: SwiGlu::new(d_model, d_ff, rng),
            cache: None,
        }
    }

    // x: [N, C] -> y: [N, C]
    pub fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let g = x.dot(&self.inner.w1.value);
        let u = x.dot(&self.inner.w3.value);
        let a = Zip::from(&g).and(&u).map_collect(|&g, &u| gelu(g) * u);
        let y = a.dot(&self.inner.w2.value);
        self.cache = Some((x.clone(), g, u, a));
        y
    }

    // dy: [N, C] -> dx: [N, C]
    pub fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        let (x, g, u, a) = self.cache.as_ref().expect("GeGlu::backward before forward");
        self.inner.w2.grad += &a.t().dot(dy);
        let da = dy.dot(&self.inner.w2.value.t());
        let dg = Zip::from(&da)
            .and(g)
            .and(u)
            .map_collect(|&d, &g, &u| d * u * gelu_grad(g));
        let du = Zip::from(&da).and(g).map_collect(|&d, &g| d * gelu(g));
        self.inner.w1.grad += &x.t().dot(&dg);
        self.inner.w3.grad += &x.t().dot(&du);
        dg.dot(&self.inner.w1.value.t()) + du.dot(&self.inner.w3.value.t())
    }
}
// ANCHOR_END: ex_geglu

// ANCHOR: ex_deepnorm
/// DeepNorm (Wang et al. 2022): Post-LN with the residual up-weighted,
/// y = LN(α·x + F(x)), α = (2N)^{1/4} for an N-layer encoder. The sub-layer's weights
/// are scaled down by β = (8N)^{-1/4} at init, so updates to F stay small.
pub struct DeepNormBlock {
    pub norm: LayerNorm,
    pub ffn: Ffn,
    pub alpha: f32,
}

impl DeepNormBlock {
    pub fn new(mut ffn: Ffn, n_layers: usize) -> Self {
        let beta = (8.0 * n_layers as f32).powf(-0.25);
        ffn.fc1.w.value *= beta;
        ffn.fc2.w.value *= beta;
        let alpha = (2.0 * n_layers as f32).powf(0.25);
        DeepNormBlock {
            norm: LayerNorm::new(ffn.fc1.d_in(), 1e-5),
            ffn,
            alpha,
        }
    }

    // x: [N, C] -> [N, C]
    pub fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        self.norm.forward(&(x * self.alpha + &self.ffn.forward(x)))
    }

    // dy: [N, C] -> dx: [N, C]
    pub fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        let dz = self.norm.backward(dy);
        &dz * self.alpha + &self.ffn.backward(&dz)
    }
}
// ANCHOR_END: ex_deepnorm

// ANCHOR: ex_dropout_mean
/// Measures E[dropout(x)] over `n` ones: returns (mean, its standard error). Each
/// output is 1/(1-p) with probability 1-p and 0 otherwise: mean 1, variance p/(1-p).
pub fn dropout_mean(p: f32, n: usize, seed: u64) -> (f64, f64) {
    let y = Dropout::new(p).forward(&Array2::ones((1, n)), &mut seeded_rng(seed));
    let mean = y.iter().map(|&v| v as f64).sum::<f64>() / n as f64;
    let var = y.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, (var / n as f64).sqrt())
}
// ANCHOR_END: ex_dropout_mean
