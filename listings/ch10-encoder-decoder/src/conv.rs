//! Whisper's convolutional stem (section "The conv stem"): two 1-D convolutions over
//! time, kernel 3 and padding 1, each followed by GELU; the second has stride 2, so
//! 3000 mel frames (10 ms apart) become 1500 encoder positions (20 ms apart).
//!
//! A convolution is a linear layer applied to every window of K consecutive frames.
//! Written that way (im2col: one row per output position holding its window), the
//! forward pass is one matmul (Chapter 1's `linear`, on every thread) and the backward
//! pass is Chapter 4's linear backward plus a scatter of the window gradients back onto
//! the frames they came from.

use ch01_foundations::init::uniform;
use ch01_foundations::linalg::linear;
use ch01_foundations::module::{
    Module, Param, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ch04_ffn_norms::activations::Activation;
use ndarray::{Array1, Array2, ArrayView2, Axis, Ix1, Ix3};
use rand::Rng;

// ANCHOR: conv1d
/// y[t, o] = b[o] + Σᵢ Σₖ w[o, i, k] · x[s·t + k - p, i], with x = 0 outside [0, T).
/// Time-major like every other layer of the book: x is [T, C_in], y is [T_out, C_out],
/// T_out = (T + 2p - K) / s + 1. The weight keeps PyTorch's [C_out, C_in, K] layout.
pub struct Conv1d {
    pub w: Param<Ix3>, // [C_out, C_in, K]
    pub b: Param<Ix1>, // [C_out]
    pub stride: usize,
    pub padding: usize,
    cols: Option<Array2<f32>>, // forward's windows [T_out, C_in·K], for dW
    t_in: usize,               // forward's T, for dx
}
// ANCHOR_END: conv1d

impl Conv1d {
    /// PyTorch's default: weights uniform in ±1/√(C_in·K) (the fan-in), zero bias.
    pub fn new(
        c_in: usize,
        c_out: usize,
        k: usize,
        stride: usize,
        padding: usize,
        rng: &mut impl Rng,
    ) -> Self {
        let w = uniform((c_out, c_in, k), 1.0 / ((c_in * k) as f32).sqrt(), rng);
        Conv1d::from_params(w, Array1::zeros(c_out), stride, padding)
    }

    // w: [C_out, C_in, K], b: [C_out]
    pub fn from_params(
        w: ndarray::Array3<f32>,
        b: Array1<f32>,
        stride: usize,
        padding: usize,
    ) -> Self {
        assert!(stride > 0, "Conv1d: stride 0");
        assert_eq!(
            w.dim().0,
            b.len(),
            "Conv1d: w is {:?} but b is {:?}",
            w.shape(),
            b.shape()
        );
        Conv1d {
            w: Param::new(w),
            b: Param::new(b),
            stride,
            padding,
            cols: None,
            t_in: 0,
        }
    }

    pub fn kernel(&self) -> usize {
        self.w.value.dim().2
    }

    /// The output length for an input of `t` frames.
    pub fn out_len(&self, t: usize) -> usize {
        let k = self.kernel();
        assert!(
            t + 2 * self.padding >= k,
            "Conv1d: {t} frames are shorter than the kernel {k}"
        );
        (t + 2 * self.padding - k) / self.stride + 1
    }

    /// The weight as the matrix the matmul uses, one row per output channel.
    // -> [C_out, C_in·K]
    fn w2(&self) -> ArrayView2<'_, f32> {
        let (c_out, c_in, k) = self.w.value.dim();
        self.w
            .value
            .view()
            .into_shape_with_order((c_out, c_in * k))
            .expect("standard layout")
    }
}

// ANCHOR: im2col
/// Row t holds the window that output position t reads: cols[t, i·K + k] =
/// x[s·t + k - p, i], zero where that frame is padding.
// x: [T, C_in] -> [T_out, C_in·K]
fn im2col(
    x: ArrayView2<f32>,
    k: usize,
    stride: usize,
    padding: usize,
    t_out: usize,
) -> Array2<f32> {
    let (t, c_in) = x.dim();
    let mut cols = Array2::zeros((t_out, c_in * k));
    for (to, mut row) in cols.outer_iter_mut().enumerate() {
        for j in 0..k {
            // The input frame this tap reads, if it is inside [0, T).
            let Some(ti) = (stride * to + j).checked_sub(padding).filter(|&ti| ti < t)
            else {
                continue;
            };
            for (i, &v) in x.row(ti).iter().enumerate() {
                row[i * k + j] = v;
            }
        }
    }
    cols
}
// ANCHOR_END: im2col

// ANCHOR: forward
impl Conv1d {
    // x: [T, C_in] -> [T_out, C_out]
    pub fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let (_, c_in, k) = self.w.value.dim();
        assert_eq!(
            x.ncols(),
            c_in,
            "Conv1d: x is {:?} but w is {:?}",
            x.shape(),
            self.w.value.shape()
        );
        let t_out = self.out_len(x.nrows());
        let cols = im2col(x.view(), k, self.stride, self.padding, t_out);
        let y = linear(&cols, &self.w2().t(), &self.b.value); // [T_out, C_out]
        self.cols = Some(cols);
        self.t_in = x.nrows();
        y
    }
}
// ANCHOR_END: forward

// ANCHOR: backward
impl Conv1d {
    /// A linear layer's backward on the windows, then each window's gradient added back
    /// onto the frames it was copied from (a frame sits in up to K windows).
    // dy: [T_out, C_out] -> dx: [T, C_in]
    pub fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        let cols = self.cols.as_ref().expect("Conv1d: backward before forward");
        let (c_out, c_in, k) = self.w.value.dim();
        assert_eq!(
            dy.dim(),
            (cols.nrows(), c_out),
            "Conv1d: dy is {:?}",
            dy.shape()
        );
        let dw = dy.t().dot(cols); // [C_out, C_in·K]
        self.w.grad += &dw
            .into_shape_with_order((c_out, c_in, k))
            .expect("standard layout");
        self.b.grad += &dy.sum_axis(Axis(0));
        let dcols = dy.dot(&self.w2()); // [T_out, C_in·K]
        let mut dx = Array2::zeros((self.t_in, c_in));
        for (to, row) in dcols.outer_iter().enumerate() {
            for j in 0..k {
                let Some(ti) = (self.stride * to + j)
                    .checked_sub(self.padding)
                    .filter(|&ti| ti < self.t_in)
                else {
                    continue;
                };
                let mut dx_row = dx.row_mut(ti);
                for i in 0..c_in {
                    dx_row[i] += row[i * k + j];
                }
            }
        }
        dx
    }
}
// ANCHOR_END: backward

impl Module for Conv1d {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("w", self.w.view());
        f("b", self.b.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("w", self.w.view_mut());
        f("b", self.b.view_mut());
    }
}

// ANCHOR: stem
/// Whisper's stem: GELU(conv2(GELU(conv1(mel)))), conv1 [C, n_mels, 3] stride 1,
/// conv2 [C, C, 3] stride 2, both padding 1. GELU is the exact (erf) one.
pub struct ConvStem {
    pub conv1: Conv1d,
    pub conv2: Conv1d,
    h1: Array2<f32>, // conv1's output before GELU [T, C], for backward
    h2: Array2<f32>, // conv2's output before GELU [T / 2, C]
}
// ANCHOR_END: stem

impl ConvStem {
    pub fn new(conv1: Conv1d, conv2: Conv1d) -> Self {
        let empty = Array2::zeros((0, 0));
        ConvStem {
            conv1,
            conv2,
            h1: empty.clone(),
            h2: empty,
        }
    }
}

// ANCHOR: stem_forward
impl ConvStem {
    /// The mel spectrogram is channel-major, as audio code computes it; the stem turns
    /// it time-major, [positions, C], for the encoder.
    // mel: [n_mels, T] -> [T_out, C]
    pub fn forward(&mut self, mel: &Array2<f32>) -> Array2<f32> {
        let x = mel.t().as_standard_layout().into_owned(); // [T, n_mels]
        self.h1 = self.conv1.forward(&x);
        let a1 = Activation::Gelu.forward(&self.h1);
        self.h2 = self.conv2.forward(&a1);
        Activation::Gelu.forward(&self.h2)
    }

    // dy: [T_out, C] -> dmel: [n_mels, T]
    pub fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        let dh2 = Activation::Gelu.backward(&self.h2, dy);
        let da1 = self.conv2.backward(&dh2);
        let dh1 = Activation::Gelu.backward(&self.h1, &da1);
        self.conv1
            .backward(&dh1)
            .t()
            .as_standard_layout()
            .into_owned()
    }
}
// ANCHOR_END: stem_forward

impl Module for ConvStem {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("conv1", &self.conv1, f);
        visit_child("conv2", &self.conv2, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("conv1", &mut self.conv1, f);
        visit_child_mut("conv2", &mut self.conv2, f);
    }
}
