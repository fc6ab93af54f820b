//! Element-wise activations and their derivatives: ReLU, GELU (exact and tanh), SiLU
//! (section "Activations"). Every derivative is computed from the cached pre-activation
//! x, so a layer stores one array for its backward pass.

use ndarray::{Array2, Zip};

// ANCHOR: erf
/// erf(x) in f32 as a ratio of two polynomials (odd over even, in x²), the form Eigen and
/// XLA use. No branches and no exp: the compiler turns a loop over it into SIMD code.
/// Error below 1e-6 everywhere (tested against an f64 reference); erf(±4) is ±1 in f32,
/// so x is clamped there.
#[inline(always)]
pub fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2.mul_add(-2.726_142_3e-10, 2.770_681_4e-8);
    for c in [-2.101_024e-6, -5.692_506_4e-5, -7.349_906e-4, -2.954_600e-3, -1.609_603_3e-2]
    {
        p = x2.mul_add(p, c);
    }
    let mut q = x2.mul_add(-1.456_607_2e-5, -2.133_740_6e-4);
    for c in [-1.682_827e-3, -7.373_329e-3, -1.426_474e-2] {
        q = x2.mul_add(q, c);
    }
    x * p / q
}
// ANCHOR_END: erf

/// e^x in f32 without a library call, so that loops over it vectorise: x = n·ln2 + r
/// with |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^n written into the exponent bits.
/// Relative error ≈ 2e-7 for x in [-87, 88]; below -87 it returns 0.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E).round();
    let r = n.mul_add(-0.693_145_75, x); // ln 2 split in two for an exact reduction
    let r = n.mul_add(-1.428_606_8e-6, r);
    let mut p = r.mul_add(1.0 / 720.0, 1.0 / 120.0);
    for c in [1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
        p = r.mul_add(p, c);
    }
    p * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

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
/// The activations an FFN can use, applied element-wise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Activation {
    Relu,
    Gelu,
    GeluTanh,
    Silu,
}

impl Activation {
    pub const ALL: [Activation; 4] =
        [Activation::Relu, Activation::Gelu, Activation::GeluTanh, Activation::Silu];

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
    pub fn pair(self) -> (fn(f32) -> f32, fn(f32) -> f32) {
        match self {
            Activation::Relu => (relu, relu_grad),
            Activation::Gelu => (gelu, gelu_grad),
            Activation::GeluTanh => (gelu_tanh, gelu_tanh_grad),
            Activation::Silu => (silu, silu_grad),
        }
    }

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
// ANCHOR_END: activation
