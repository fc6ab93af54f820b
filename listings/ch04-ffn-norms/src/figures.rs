//! The chapter's figures, generated from the chapter's own code (`cargo xtask figures`,
//! or `cargo run --release -p ch04-ffn-norms --example ch04_figures -- DIR`).

use std::error::Error;
use std::path::{Path, PathBuf};

use ch01_foundations::plot::{Draw, LineChart, Series, draw_all, write_line_chart};
use ndarray::Array2;

use crate::activations::Activation;
use crate::norms::{LayerNorm, RmsNorm};
use crate::residual::{Wiring, grad_norms};

/// x from -4 to 4 in steps of 0.02.
fn grid() -> Vec<f32> {
    (0..=400).map(|i| -4.0 + i as f32 * 0.02).collect()
}

fn activation_chart(path: &Path, derivative: bool) -> Result<(), Box<dyn Error>> {
    let (title, y_label) = if derivative {
        ("derivatives f'(x) of the activations", "f'(x)")
    } else {
        ("activations f(x)", "f(x)")
    };
    let mut chart = LineChart::new(title, "x", y_label);
    for act in Activation::ALL {
        let (f, df) = act.pair();
        let g = if derivative { df } else { f };
        let points = grid().iter().map(|&x| (x as f64, g(x) as f64)).collect();
        chart.series.push(Series::new(act.name(), points));
    }
    write_line_chart(path, &chart)
}

/// ReLU, GELU (exact and tanh, indistinguishable at this scale) and SiLU.
pub fn activations(path: &Path) -> Result<(), Box<dyn Error>> {
    activation_chart(path, false)
}

/// Their derivatives: ReLU's step, and the smooth bumps of GELU and SiLU that dip
/// below 0 for negative x.
pub fn activation_derivatives(path: &Path) -> Result<(), Box<dyn Error>> {
    activation_chart(path, true)
}

/// The skewed input of the normalisation figure: 16 features far from zero mean.
// -> x: [1, 16]
pub fn skewed_input() -> Array2<f32> {
    Array2::from_shape_fn((1, 16), |(_, i)| {
        4.0 + (i as f32 * 0.9).sin() + 0.1 * i as f32
    })
}

/// One token's features before and after LayerNorm and RMSNorm (γ = 1, β = 0).
pub fn norms_on_skewed_input(path: &Path) -> Result<(), Box<dyn Error>> {
    let x = skewed_input();
    let ln = LayerNorm::new(16, 1e-5).forward(&x);
    let rms = RmsNorm::new(16, 1e-6).forward(&x);
    let title = format!(
        "one token, 16 features with mean {:.2}",
        x.mean().unwrap_or(0.0)
    );
    let mut chart = LineChart::new(&title, "feature index", "value");
    chart.points = true;
    for (label, v) in [("input x", &x), ("LayerNorm(x)", &ln), ("RMSNorm(x)", &rms)] {
        let points = v
            .iter()
            .enumerate()
            .map(|(i, &y)| (i as f64, y as f64))
            .collect();
        chart.series.push(Series::new(label, points));
    }
    write_line_chart(path, &chart)
}

/// The shapes of the residual-stack experiment: d_model 64, 32 tokens, seed 0.
pub const STACK: (usize, usize, u64) = (64, 32, 0);

fn per_layer(path: &Path, weights: bool) -> Result<(), Box<dyn Error>> {
    let (d, t, seed) = STACK;
    let (title, y_label) = if weights {
        (
            "‖∂L/∂W‖ of each block's fc1.w, 24 blocks at init",
            "‖∂L/∂W‖",
        )
    } else {
        (
            "‖∂L/∂x‖ at each block's input, 24 blocks at init",
            "‖∂L/∂x‖",
        )
    };
    let mut chart = LineChart::new(title, "block l (0 = first)", y_label);
    chart.points = true;
    for (label, wiring) in [("Pre-LN", Wiring::PreLn), ("Post-LN", Wiring::PostLn)] {
        let (dx, dw) = grad_norms(24, d, t, wiring, seed);
        let v = if weights { dw } else { dx };
        let points = v
            .iter()
            .enumerate()
            .map(|(l, &n)| (l as f64, n as f64))
            .collect();
        chart.series.push(Series::new(label, points));
    }
    write_line_chart(path, &chart)
}

/// Per-layer parameter-gradient norms in a 24-block stack, Pre-LN against Post-LN.
pub fn residual_grad_w(path: &Path) -> Result<(), Box<dyn Error>> {
    per_layer(path, true)
}

/// Per-layer input-gradient norms in the same stacks.
pub fn residual_grad_x(path: &Path) -> Result<(), Box<dyn Error>> {
    per_layer(path, false)
}

/// The last block's ‖∂L/∂W‖ as the stack deepens, L = 2, 4, ..., 24.
pub fn residual_grad_depth(path: &Path) -> Result<(), Box<dyn Error>> {
    let (d, t, seed) = STACK;
    let mut chart = LineChart::new(
        "‖∂L/∂W‖ of the last block's fc1.w against depth",
        "number of blocks L",
        "‖∂L/∂W‖",
    );
    chart.points = true;
    for (label, wiring) in [("Pre-LN", Wiring::PreLn), ("Post-LN", Wiring::PostLn)] {
        let points = (1..=12)
            .map(|i| {
                let (_, dw) = grad_norms(2 * i, d, t, wiring, seed);
                ((2 * i) as f64, dw[2 * i - 1] as f64)
            })
            .collect();
        chart.series.push(Series::new(label, points));
    }
    write_line_chart(path, &chart)
}

/// Writes every figure of the chapter into `dir`, returning the paths written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    let figures: [(&str, Draw); 6] = [
        ("activations.svg", activations),
        ("activation-derivatives.svg", activation_derivatives),
        ("norms-skewed.svg", norms_on_skewed_input),
        ("residual-grad-w.svg", residual_grad_w),
        ("residual-grad-x.svg", residual_grad_x),
        ("residual-grad-depth.svg", residual_grad_depth),
    ];
    draw_all(dir, &figures)
}
