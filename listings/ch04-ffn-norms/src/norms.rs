//! LayerNorm and RMSNorm, forward and backward (section "Normalization").

use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ndarray::{Array1, Array2, Axis, Ix1, Zip};

// ANCHOR: layernorm
/// LayerNorm over the last axis: each row (one token's C features) is shifted to mean 0
/// and scaled to variance 1, then given a learned scale γ and shift β.
#[derive(Clone, Debug)]
pub struct LayerNorm {
    pub gamma: Param<Ix1>, // [C], starts at 1
    pub beta: Param<Ix1>,  // [C], starts at 0
    pub eps: f32,
    x_hat: Array2<f32>, // cached normalised input [N, C]
    rstd: Array1<f32>,  // cached 1/sqrt(var + eps) [N]
}

impl LayerNorm {
    pub fn new(d_model: usize, eps: f32) -> Self {
        LayerNorm {
            gamma: Param::new(Array1::ones(d_model)),
            beta: Param::new(Array1::zeros(d_model)),
            eps,
            x_hat: Array2::zeros((0, d_model)),
            rstd: Array1::zeros(0),
        }
    }

    // x: [N, C] -> y: [N, C]
    pub fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let c = self.gamma.value.len();
        assert!(
            x.ncols() == c,
            "LayerNorm: x is {:?} but gamma is [{c}]",
            x.shape()
        );
        let mean = x.mean_axis(Axis(1)).expect("C > 0").insert_axis(Axis(1));
        let centered = x - &mean;
        // Biased variance: divide by C, not C - 1 (see the text). Two passes (centre,
        // then square) stay accurate when the mean is large next to the spread.
        let var = centered.map_axis(Axis(1), |row| row.dot(&row) / c as f32);
        self.rstd = var.mapv(|v| 1.0 / (v + self.eps).sqrt());
        self.x_hat = centered * self.rstd.view().insert_axis(Axis(1));
        &self.x_hat * &self.gamma.value + &self.beta.value
    }
}
// ANCHOR_END: layernorm

// ANCHOR: layernorm_backward
impl LayerNorm {
    /// dx = rstd · (g - mean(g) - x̂ · mean(g ⊙ x̂)) with g = dy ⊙ γ, row by row;
    /// dγ += Σ_rows dy ⊙ x̂, dβ += Σ_rows dy.
    // dy: [N, C] -> dx: [N, C]
    pub fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        assert!(
            dy.dim() == self.x_hat.dim(),
            "LayerNorm: dy is {:?} but the forward input was {:?}",
            dy.shape(),
            self.x_hat.shape()
        );
        self.gamma.grad += &(dy * &self.x_hat).sum_axis(Axis(0));
        self.beta.grad += &dy.sum_axis(Axis(0));
        let g = dy * &self.gamma.value;
        let mut dx = Array2::zeros(dy.raw_dim());
        Zip::from(dx.rows_mut())
            .and(g.rows())
            .and(self.x_hat.rows())
            .and(&self.rstd)
            .for_each(|mut dx, g, x_hat, &rstd| {
                let mean_g = g.mean().expect("C > 0");
                let mean_gx = g.dot(&x_hat) / g.len() as f32;
                Zip::from(&mut dx)
                    .and(g)
                    .and(x_hat)
                    .for_each(|dx, &g, &xh| {
                        *dx = rstd * (g - mean_g - xh * mean_gx);
                    });
            });
        dx
    }
}
// ANCHOR_END: layernorm_backward

// ANCHOR: rmsnorm
/// RMSNorm (Llama, T5): no mean subtraction and no shift, only a scale by the root mean
/// square: y = x / sqrt(mean(x²) + eps) ⊙ w.
#[derive(Clone, Debug)]
pub struct RmsNorm {
    pub weight: Param<Ix1>, // [C], starts at 1
    pub eps: f32,
    x_hat: Array2<f32>, // cached x / rms [N, C]
    rrms: Array1<f32>,  // cached 1/sqrt(mean(x²) + eps) [N]
}

impl RmsNorm {
    pub fn new(d_model: usize, eps: f32) -> Self {
        RmsNorm {
            weight: Param::new(Array1::ones(d_model)),
            eps,
            x_hat: Array2::zeros((0, d_model)),
            rrms: Array1::zeros(0),
        }
    }

    // x: [N, C] -> y: [N, C]
    pub fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let c = self.weight.value.len();
        assert!(
            x.ncols() == c,
            "RmsNorm: x is {:?} but weight is [{c}]",
            x.shape()
        );
        let ms = x.map_axis(Axis(1), |row| {
            row.iter().map(|v| v * v).sum::<f32>() / c as f32
        });
        self.rrms = ms.mapv(|m| 1.0 / (m + self.eps).sqrt()); // eps inside the sqrt
        self.x_hat = x * &self.rrms.view().insert_axis(Axis(1));
        &self.x_hat * &self.weight.value
    }
}
// ANCHOR_END: rmsnorm

// ANCHOR: rmsnorm_backward
impl RmsNorm {
    /// dx = rrms · (g - x̂ · mean(g ⊙ x̂)) with g = dy ⊙ w; dw += Σ_rows dy ⊙ x̂.
    // dy: [N, C] -> dx: [N, C]
    pub fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        assert!(
            dy.dim() == self.x_hat.dim(),
            "RmsNorm: dy is {:?} but the forward input was {:?}",
            dy.shape(),
            self.x_hat.shape()
        );
        self.weight.grad += &(dy * &self.x_hat).sum_axis(Axis(0));
        let g = dy * &self.weight.value;
        let mut dx = Array2::zeros(dy.raw_dim());
        Zip::from(dx.rows_mut())
            .and(g.rows())
            .and(self.x_hat.rows())
            .and(&self.rrms)
            .for_each(|mut dx, g, x_hat, &rrms| {
                let mean_gx = g.dot(&x_hat) / g.len() as f32;
                Zip::from(&mut dx)
                    .and(g)
                    .and(x_hat)
                    .for_each(|dx, &g, &xh| {
                        *dx = rrms * (g - xh * mean_gx);
                    });
            });
        dx
    }
}
// ANCHOR_END: rmsnorm_backward

impl Module for LayerNorm {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("gamma", self.gamma.view());
        f("beta", self.beta.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("gamma", self.gamma.view_mut());
        f("beta", self.beta.view_mut());
    }
}

impl Module for RmsNorm {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("weight", self.weight.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("weight", self.weight.view_mut());
    }
}
