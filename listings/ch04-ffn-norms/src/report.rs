//! What the chapter prints. Each example program prints one of these, the snapshot tests
//! pin them, and the book includes the snapshots, so the text shows exactly what the code
//! printed. Floats are rounded so that FMA and CPU differences cannot change the text.

use std::fmt::Write;

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch01_foundations::report::{round, round_all};
use ndarray::{Array2, Axis};

use crate::activations::Activation;
use crate::dropout::Dropout;
use crate::ffn::Ffn;
use crate::figures::{STACK, skewed_input};
use crate::linear::Linear;
use crate::norms::{LayerNorm, RmsNorm};
use crate::residual::{Wiring, grad_norms};
use crate::swiglu::{SwiGlu, swiglu_hidden};

// Writing into a String cannot fail, so `writeln!(...).expect(...)` never panics.
macro_rules! out {
    ($s:expr, $($arg:tt)*) => { writeln!($s, $($arg)*).expect("writing to a String") };
}

/// Section "The linear layer": a batch of sequences through one Linear.
pub fn linear_demo() -> String {
    let mut s = String::new();
    let (b, t, c, d_out) = (2, 5, 4, 3);
    let mut rng = seeded_rng(0);
    let mut lin = Linear::new(c, d_out, &mut rng);
    let x: Array2<f32> = normal((b * t, c), 1.0, &mut rng); // B·T rows
    let y = lin.forward(&x);
    out!(
        s,
        "x: [B·T, C] = {:?}  w: {:?}  b: {:?}",
        x.shape(),
        lin.w.value.shape(),
        lin.b.value.shape()
    );
    out!(s, "y = x w + b: {:?}", y.shape());
    let dx = lin.backward(&Array2::ones(y.raw_dim()));
    out!(
        s,
        "backward with dy = 1: dx {:?}, dw {:?}, db {}",
        dx.shape(),
        lin.w.grad.shape(),
        round_all(&lin.b.grad, 1)
    );
    out!(
        s,
        "parameters: {:?}, {} numbers",
        lin.param_names(),
        lin.num_params()
    );
    s
}

/// Section "Activations": a small table of values and the GELU approximation's error.
pub fn activations_demo() -> String {
    let mut s = String::new();
    out!(
        s,
        "{:>5} {:>8} {:>8} {:>12} {:>8}",
        "x",
        "ReLU",
        "GELU",
        "GELU (tanh)",
        "SiLU"
    );
    for x in [-3.0f32, -2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0, 3.0] {
        let row: Vec<String> = Activation::ALL
            .iter()
            .map(|a| round((a.pair().0)(x), 4))
            .collect();
        out!(
            s,
            "{:>5} {:>8} {:>8} {:>12} {:>8}",
            round(x, 1),
            row[0],
            row[1],
            row[2],
            row[3]
        );
    }
    let grid = (0..=12_000).map(|i| -6.0 + i as f32 * 1e-3);
    let (worst, at) = grid
        .map(|x| {
            (
                (Activation::Gelu.pair().0)(x) - (Activation::GeluTanh.pair().0)(x),
                x,
            )
        })
        .fold((0.0f32, 0.0f32), |m, (d, x)| {
            if d.abs() > m.0.abs() { (d, x) } else { m }
        });
    out!(
        s,
        "max |GELU - GELU(tanh)| on [-6, 6]: {:.1e} at x = {}",
        worst.abs(),
        round(at, 2)
    );
    let min = (0..=4000).map(|i| -4.0 + i as f32 * 1e-3);
    let (gmin, xmin) = min
        .map(|x| ((Activation::Gelu.pair().0)(x), x))
        .fold((0.0f32, 0.0f32), |m, p| if p.0 < m.0 { p } else { m });
    out!(
        s,
        "GELU's minimum: {} at x = {}",
        round(gmin, 4),
        round(xmin, 2)
    );
    s
}

/// Section "The feed-forward network": parameter counts, standard and SwiGLU.
pub fn ffn_demo() -> String {
    let mut s = String::new();
    let ffn = Ffn::new(8, 32, Activation::Gelu, &mut seeded_rng(0));
    out!(
        s,
        "FFN(C = 8, d_ff = 32) parameters: {:?}",
        ffn.param_names()
    );
    let swiglu = SwiGlu::new(8, 24, &mut seeded_rng(0));
    out!(
        s,
        "SwiGLU(C = 8, d_ff = 24) parameters: {:?}",
        swiglu.param_names()
    );
    out!(s, "");
    out!(
        s,
        "{:>6} | {:>10} {:>12} | {:>8} {:>13} | {:>6}",
        "C",
        "d_ff = 4C",
        "FFN params",
        "d_ff",
        "SwiGLU params",
        "ratio"
    );
    for c in [256usize, 768, 1024, 4096] {
        let d_ff = swiglu_hidden(c, 256);
        let (plain, gated) = (Ffn::param_count(c, 4 * c), 3 * c * d_ff);
        out!(
            s,
            "{c:>6} | {:>10} {plain:>12} | {d_ff:>8} {gated:>13} | {:>6}",
            4 * c,
            round(gated as f32 / plain as f32, 3)
        );
    }
    s
}

/// Section "Normalization": biased vs unbiased variance, and the skewed input.
pub fn norms_demo() -> String {
    let mut s = String::new();
    let x = skewed_input();
    let stats = |v: &Array2<f32>| {
        let mean = v.mean().unwrap_or(0.0);
        let rms = v.mapv(|a| a * a).mean().unwrap_or(0.0).sqrt();
        format!(
            "mean {:>7}  std {:>6}  rms {:>6}",
            round(mean, 3),
            round(v.std(0.0), 3),
            round(rms, 3)
        )
    };
    let ln = LayerNorm::new(16, 1e-5).forward(&x);
    let rms = RmsNorm::new(16, 1e-6).forward(&x);
    out!(s, "input x:     {}", stats(&x));
    out!(s, "LayerNorm:   {}", stats(&ln));
    out!(s, "RMSNorm:     {}", stats(&rms));
    out!(s, "");
    let v =
        Array2::from_shape_vec((1, 4), vec![1.0f32, 2.0, 3.0, 6.0]).expect("4 values");
    out!(
        s,
        "x = {}: biased var {} (÷n), unbiased {} (÷(n-1))",
        round_all(&v, 0),
        round(v.var(0.0), 3),
        round(v.var(1.0), 3)
    );
    let one = Array2::from_elem((1, 1), 5.0f32);
    out!(
        s,
        "x = [5]: biased var {}, LayerNorm(x) = {}",
        round(one.var(0.0), 1),
        round_all(&LayerNorm::new(1, 1e-5).forward(&one), 1)
    );
    out!(
        s,
        "scaling x by 10: LayerNorm changes by {:.1e}, RMSNorm by {:.1e}",
        (LayerNorm::new(16, 1e-5).forward(&(&x * 10.0)) - &ln)
            .mapv(f32::abs)
            .fold(0.0f32, |a, &b| a.max(b)),
        (RmsNorm::new(16, 1e-6).forward(&(&x * 10.0)) - &rms)
            .mapv(f32::abs)
            .fold(0.0f32, |a, &b| a.max(b))
    );
    s
}

/// Section "Residual connections": gradient norms through stacks at init.
pub fn residual_demo() -> String {
    let mut s = String::new();
    let (d, t, seed) = STACK;
    out!(
        s,
        "stacks of LayerNorm + FFN blocks at init, d_model {d}, {t} tokens, seed {seed}"
    );
    out!(s, "{:>3} | {:>22} | {:>22}", "", "Pre-LN", "Post-LN");
    out!(
        s,
        "{:>3} | {:>10} {:>11} | {:>10} {:>11}",
        "L",
        "‖∂L/∂x_0‖",
        "‖∂L/∂W_L‖",
        "‖∂L/∂x_0‖",
        "‖∂L/∂W_L‖"
    );
    for depth in [2usize, 6, 12, 24] {
        let (pre_x, pre_w) = grad_norms(depth, d, t, Wiring::PreLn, seed);
        let (post_x, post_w) = grad_norms(depth, d, t, Wiring::PostLn, seed);
        out!(
            s,
            "{depth:>3} | {:>10} {:>11} | {:>10} {:>11}",
            round(pre_x[0], 1),
            round(pre_w[depth - 1], 1),
            round(post_x[0], 1),
            round(post_w[depth - 1], 1)
        );
    }
    out!(
        s,
        "(x_0: the first block's input; W_L: the last block's fc1.w)"
    );
    s
}

/// Section "Dropout": the mean is preserved, eval is the identity.
pub fn dropout_demo() -> String {
    let mut s = String::new();
    let mut d = Dropout::new(0.5);
    let row = Array2::ones((1, 10));
    out!(
        s,
        "p = 0.5 on ten ones:  {}",
        round_all(&d.forward(&row, &mut seeded_rng(1)), 1)
    );
    out!(
        s,
        "same seed again:      {}",
        round_all(&d.forward(&row, &mut seeded_rng(1)), 1)
    );
    out!(
        s,
        "another seed:         {}",
        round_all(&d.forward(&row, &mut seeded_rng(2)), 1)
    );
    d.training = false;
    out!(
        s,
        "at evaluation:        {}",
        round_all(&d.forward(&row, &mut seeded_rng(1)), 1)
    );
    let x = Array2::ones((1000, 1000));
    for p in [0.1f32, 0.5, 0.9] {
        let y = Dropout::new(p).forward(&x, &mut seeded_rng(3));
        let kept = y.iter().filter(|&&v| v != 0.0).count() as f32 / x.len() as f32;
        let col_means = y.mean_axis(Axis(0)).expect("rows");
        out!(
            s,
            "p = {p}: 10⁶ ones -> mean {}, kept {}, per-column means from {} to {}",
            round(y.mean().unwrap_or(0.0), 3),
            round(kept, 3),
            round(col_means.fold(f32::INFINITY, |a, &b| a.min(b)), 2),
            round(col_means.fold(f32::NEG_INFINITY, |a, &b| a.max(b)), 2)
        );
    }
    s
}
