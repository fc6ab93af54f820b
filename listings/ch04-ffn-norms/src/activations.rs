//! Element-wise activations and their derivatives: ReLU, GELU (exact and tanh), SiLU
//! (section "Activations"). Every derivative is computed from the cached pre-activation
//! x, so a layer stores one array for its backward pass.

use ch01_foundations::softmax::exp;
use ndarray::{Array2, Zip};

// ANCHOR: erf
/// erf(x) in f32 as a ratio of two polynomials (odd over even, in x²), the form Eigen and
/// XLA use. No branches, no exp and no `mul_add` (a library call unless the CPU target
/// has FMA): the compiler turns a loop over it into SIMD code.
/// Error below 1e-6 everywhere (tested against an f64 reference); erf(±4) is ±1 in f32,
/// so x is clamped there.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2 * -2.726_142_3e-10 + 2.770_681_4e-8;
    for c in [
        -2.101_024e-6,
        -5.692_506_4e-5,
        -7.349_906e-4,
        -2.954_6e-3,
        -1.609_603_3e-2,
    ] {
        p = x2 * p + c;
    }
    let mut q = x2 * -1.456_607_2e-5 + -2.133_740_6e-4;
    for c in [-1.682_827e-3, -7.373_329e-3, -1.426_474e-2] {
        q = x2 * q + c;
    }
    x * p / q
}
// ANCHOR_END: erf

// ANCHOR: gelu
const FRAC_1_SQRT_2: f32 = std::f32::consts::FRAC_1_SQRT_2;
const FRAC_1_SQRT_2PI: f32 = 0.398_942_3; // 1/√(2π)

/// GELU(x) = x·Φ(x), Φ the standard normal CDF = ½(1 + erf(x/√2)).
#[inline(always)]
pub fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * FRAC_1_SQRT_2))
}

/// GELU'(x) = Φ(x) + x·φ(x), φ(x) = e^{-x²/2}/√(2π) the normal density.
#[inline(always)]
pub fn gelu_grad(x: f32) -> f32 {
    let cdf = 0.5 * (1.0 + erf(x * FRAC_1_SQRT_2));
    cdf + x * FRAC_1_SQRT_2PI * exp(-0.5 * x * x)
}

const SQRT_2_OVER_PI: f32 = 0.797_884_6; // √(2/π)

/// The tanh approximation of GPT-2 and BERT's original code:
/// ½x(1 + tanh(√(2/π)(x + 0.044715x³))).
#[inline(always)]
pub fn gelu_tanh(x: f32) -> f32 {
    let u = SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x);
    0.5 * x * (1.0 + tanh(u))
}

/// Its derivative: ½(1 + t) + ½x(1 - t²)·√(2/π)(1 + 3·0.044715x²), t = tanh(u).
#[inline(always)]
pub fn gelu_tanh_grad(x: f32) -> f32 {
    let t = tanh(SQRT_2_OVER_PI * (x + 0.044_715 * x * x * x));
    0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * SQRT_2_OVER_PI * (1.0 + 0.134_145 * x * x)
}
// ANCHOR_END: gelu

/// tanh(u) = 1 - 2/(e^{2u} + 1), through the vectorisable `exp`; saturates cleanly at
/// ±1 in both tails.
#[inline(always)]
pub fn tanh(u: f32) -> f32 {
    1.0 - 2.0 / (exp(2.0 * u) + 1.0)
}

// ANCHOR: relu_silu
/// ReLU(x) = max(x, 0). Its derivative is the step 1[x > 0] (0 at x = 0, as PyTorch).
#[inline(always)]
pub fn relu(x: f32) -> f32 {
    x.max(0.0)
}

#[inline(always)]
pub fn relu_grad(x: f32) -> f32 {
    if x > 0.0 { 1.0 } else { 0.0 }
}

/// SiLU(x) = x·σ(x) (also called Swish), σ the logistic sigmoid.
#[inline(always)]
pub fn silu(x: f32) -> f32 {
    x * sigmoid(x)
}

/// SiLU'(x) = σ(x)(1 + x(1 - σ(x))).
#[inline(always)]
pub fn silu_grad(x: f32) -> f32 {
    let s = sigmoid(x);
    s * (1.0 + x * (1.0 - s))
}

/// σ(x) = 1/(1 + e^{-x}); e^{-x} overflows to ∞ for very negative x, giving 0: exact.
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    1.0 / (1.0 + exp(-x))
}
// ANCHOR_END: relu_silu

// ANCHOR: activation
/// An element-wise function f32 -> f32.
pub type Scalar = fn(f32) -> f32;

/// The activations an FFN can use, applied element-wise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Relu,
    Gelu,
    GeluTanh,
    Silu,
}

impl Activation {
    pub const ALL: [Activation; 4] = [
        Activation::Relu,
        Activation::Gelu,
        Activation::GeluTanh,
        Activation::Silu,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Activation::Relu => "ReLU",
            Activation::Gelu => "GELU",
            Activation::GeluTanh => "GELU (tanh)",
            Activation::Silu => "SiLU",
        }
    }

    /// The function and its derivative, as plain function pointers: the match runs
    /// once per array, not once per element.
    pub fn pair(self) -> (Scalar, Scalar) {
        match self {
            Activation::Relu => (relu, relu_grad),
            Activation::Gelu => (gelu, gelu_grad),
            Activation::GeluTanh => (gelu_tanh, gelu_tanh_grad),
            Activation::Silu => (silu, silu_grad),
        }
    }
}
// ANCHOR_END: activation

// ANCHOR: activation_apply
impl Activation {
    // x: [N, D] -> [N, D]
    pub fn forward(self, x: &Array2<f32>) -> Array2<f32> {
        let (f, _) = self.pair();
        x.mapv(f)
    }

    /// dx = dy ⊙ f'(x), from the pre-activation x the forward pass saw.
    // x: [N, D], dy: [N, D] -> dx: [N, D]
    pub fn backward(self, x: &Array2<f32>, dy: &Array2<f32>) -> Array2<f32> {
        assert_eq!(
            x.shape(),
            dy.shape(),
            "{}: x is {:?} but dy is {:?}",
            self.name(),
            x.shape(),
            dy.shape()
        );
        let (_, df) = self.pair();
        Zip::from(x).and(dy).map_collect(|&x, &dy| dy * df(x))
    }
}
// ANCHOR_END: activation_apply

// ANCHOR: kernels
/// h += b, a = f(h), over one row: the FFN's fused bias + activation pass.
// h: [D], a: [D], b: [D]
pub fn bias_act_row(act: Activation, h: &mut [f32], a: &mut [f32], b: &[f32]) {
    assert!(
        h.len() == a.len() && h.len() == b.len(),
        "bias_act_row: lengths differ"
    );
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has every feature the wide copy was compiled for.
        return unsafe { wide::bias_act(act, h, a, b) };
    }
    bias_act(act, h, a, b)
}

/// da *= f'(h), over one row: the FFN's activation backward pass, in place.
// da: [D], h: [D]
pub fn grad_act_row(act: Activation, da: &mut [f32], h: &[f32]) {
    assert_eq!(da.len(), h.len(), "grad_act_row: lengths differ");
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: as above.
        return unsafe { wide::grad_act(act, da, h) };
    }
    grad_act(act, da, h)
}
// ANCHOR_END: kernels

// ANCHOR: kernel_loops
// The match picks a loop with the function inlined: one SIMD loop per activation.
#[inline(always)]
fn bias_act(act: Activation, h: &mut [f32], a: &mut [f32], b: &[f32]) {
    #[inline(always)]
    fn run(h: &mut [f32], a: &mut [f32], b: &[f32], f: impl Fn(f32) -> f32) {
        for ((h, a), &b) in h.iter_mut().zip(a.iter_mut()).zip(b) {
            *h += b;
            *a = f(*h);
        }
    }
    match act {
        Activation::Relu => run(h, a, b, relu),
        Activation::Gelu => run(h, a, b, gelu),
        Activation::GeluTanh => run(h, a, b, gelu_tanh),
        Activation::Silu => run(h, a, b, silu),
    }
}

#[inline(always)]
fn grad_act(act: Activation, da: &mut [f32], h: &[f32]) {
    #[inline(always)]
    fn run(da: &mut [f32], h: &[f32], df: impl Fn(f32) -> f32) {
        for (da, &h) in da.iter_mut().zip(h) {
            *da *= df(h);
        }
    }
    match act {
        Activation::Relu => run(da, h, relu_grad),
        Activation::Gelu => run(da, h, gelu_grad),
        Activation::GeluTanh => run(da, h, gelu_tanh_grad),
        Activation::Silu => run(da, h, silu_grad),
    }
}
// ANCHOR_END: kernel_loops

// ANCHOR: wide_simd
/// The same two loops compiled for AVX-512, chosen at run time when the CPU has it.
/// Baseline x86-64 code uses 4-lane SSE2; 16 lanes are about 3 times faster. Only the
/// width changes: the operations (no fused multiply-add), and so the results, are the
/// same bit for bit.
#[cfg(target_arch = "x86_64")]
mod wide {
    use super::Activation;

    #[target_feature(enable = "avx512f")]
    pub(super) fn bias_act(act: Activation, h: &mut [f32], a: &mut [f32], b: &[f32]) {
        super::bias_act(act, h, a, b)
    }

    #[target_feature(enable = "avx512f")]
    pub(super) fn grad_act(act: Activation, da: &mut [f32], h: &[f32]) {
        super::grad_act(act, da, h)
    }
}
// ANCHOR_END: wide_simd
