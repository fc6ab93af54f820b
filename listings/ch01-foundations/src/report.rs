//! What the chapter prints. Each example program prints one of these, the snapshot tests
//! pin them, and the book includes the snapshots, so the text shows exactly what the code
//! printed. Floats are rounded so that FMA and CPU differences cannot change the text.

use std::fmt::Write;

use ndarray::{Array2, Axis, array};

use crate::calculus::{central_difference, matmul_backward, softmax_cross_entropy};
use crate::gradcheck::{GradCheck, random_upstream};
use crate::init::{kaiming_normal, normal, seeded_rng, xavier_normal};
use crate::linalg::matmul_flops;
use crate::probability::{
    cross_entropy, entropy, expectation, kl_divergence, sample_categorical,
};
use crate::softmax::{log_softmax, logsumexp, naive_softmax, softmax};

/// `x` with `decimals` places; never prints "-0.000".
pub fn round(x: f32, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    if s.trim_start_matches('-')
        .chars()
        .all(|c| c == '0' || c == '.')
    {
        s.trim_start_matches('-').to_owned()
    } else {
        s
    }
}

/// `[a, b, c]` with each entry rounded.
pub fn round_all<'a>(xs: impl IntoIterator<Item = &'a f32>, decimals: usize) -> String {
    let parts: Vec<String> = xs.into_iter().map(|&x| round(x, decimals)).collect();
    format!("[{}]", parts.join(", "))
}

// Writing into a String cannot fail, so `writeln!(...).unwrap()` below never panics.
macro_rules! out {
    ($s:expr, $($arg:tt)*) => { writeln!($s, $($arg)*).expect("writing to a String") };
}

/// Section "Linear algebra": shapes, broadcasting, matmul, transposes.
pub fn shapes() -> String {
    let mut s = String::new();
    let x = array![[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]];
    let b = array![10.0f32, 20.0, 30.0];
    let w = Array2::<f32>::ones((3, 4));
    out!(
        s,
        "x: {:?}   b: {:?}   w: {:?}",
        x.shape(),
        b.shape(),
        w.shape()
    );
    out!(
        s,
        "x + b: {:?} (b is broadcast over the rows of x)",
        (&x + &b).shape()
    );
    for row in (&x + &b).rows() {
        out!(s, "  {}", round_all(row, 0));
    }
    let col = array![[100.0f32], [200.0]];
    out!(
        s,
        "x + col: {:?} (col [2, 1] is broadcast over the columns)",
        (&x + &col).shape()
    );
    out!(
        s,
        "x.dot(w): {:?} x {:?} -> {:?}",
        x.shape(),
        w.shape(),
        x.dot(&w).shape()
    );
    let xt = x.t();
    out!(
        s,
        "x.t(): {:?}, strides {:?} (x's strides are {:?}: a view, no copy)",
        xt.shape(),
        xt.strides(),
        x.strides()
    );
    out!(
        s,
        "FLOPs of [T, C] x [C, 4C] at T = 1024, C = 768: {:.3e}",
        matmul_flops(1024, 768, 3072)
    );
    s
}

/// Section "Stable softmax".
pub fn softmax_demo() -> String {
    let mut s = String::new();
    let z = array![1.0f32, 2.0, 3.0];
    let p = softmax(&z, Axis(0));
    out!(s, "z                   = {}", round_all(&z, 1));
    out!(
        s,
        "softmax(z)          = {}  sum = {}",
        round_all(&p, 4),
        round(p.sum(), 4)
    );
    let shifted = &z + 1000.0;
    out!(
        s,
        "softmax(z + 1000)   = {}",
        round_all(&softmax(&shifted, Axis(0)), 4)
    );
    out!(
        s,
        "naive(z + 1000)     = {}",
        round_all(&naive_softmax(shifted.as_slice().expect("contiguous")), 4)
    );
    let extreme = array![1e4f32, 0.0, -1e4];
    out!(s, "z                   = {}", round_all(&extreme, 1));
    out!(
        s,
        "softmax(z)          = {}",
        round_all(&softmax(&extreme, Axis(0)), 4)
    );
    out!(
        s,
        "log_softmax(z)      = {}",
        round_all(&log_softmax(&extreme, Axis(0)), 1)
    );
    out!(
        s,
        "logsumexp(z)        = {}",
        round(logsumexp(&extreme, Axis(0)).into_scalar(), 1)
    );
    let masked = array![f32::NEG_INFINITY, f32::NEG_INFINITY];
    out!(
        s,
        "softmax([-inf, -inf]) = {}  (a fully masked row: zeros, not NaN)",
        round_all(&softmax(&masked, Axis(0)), 1)
    );
    s
}

/// Section "Probability".
pub fn probability_demo() -> String {
    let mut s = String::new();
    let p = array![0.5f32, 0.3, 0.2];
    let mut rng = seeded_rng(42);
    let mut counts = [0usize; 3];
    let draws = 10_000;
    for _ in 0..draws {
        counts[sample_categorical(&p, &mut rng)] += 1;
    }
    let freq: Vec<f32> = counts.iter().map(|&c| c as f32 / draws as f32).collect();
    out!(
        s,
        "p = {}; {draws} draws with seed 42 -> frequencies {}",
        round_all(&p, 2),
        round_all(&freq, 4)
    );
    out!(s, "E_p[i] = {}", round(expectation(&p, |i| i as f32), 4));
    let h = entropy(&p);
    out!(
        s,
        "H(p) = {} nats = {} bits (uniform over 3: {} nats)",
        round(h, 4),
        round(h / 2f32.ln(), 4),
        round(3f32.ln(), 4)
    );
    let q = array![0.4f32, 0.4, 0.2];
    let (ce, kl) = (cross_entropy(&p, &q), kl_divergence(&p, &q));
    out!(
        s,
        "q = {}: H(p, q) = {}, KL(p || q) = {}, H(p) + KL = {}",
        round_all(&q, 2),
        round(ce, 4),
        round(kl, 4),
        round(h + kl, 4)
    );
    out!(
        s,
        "KL(q || p) = {} (KL is not symmetric)",
        round(kl_divergence(&q, &p), 4)
    );
    s
}

/// Section "Calculus": a derivative by central differences, and the gradient checks of
/// matmul and softmax + cross-entropy.
pub fn gradients_demo() -> String {
    let mut s = String::new();
    let exact = 2.0 * 1.0f64.cos();
    out!(s, "d/dx sin(x^2) at x = 1: exact 2cos(1) = {exact:.6}");
    for h in [1e-1, 1e-3, 1e-5] {
        let d = central_difference(|x| (x * x).sin(), 1.0, h);
        out!(s, "  h = {h:.0e}: {d:.6} (error {:.0e})", (d - exact).abs());
    }
    let mut rng = seeded_rng(7);
    let x: Array2<f32> = normal((4, 3), 1.0, &mut rng);
    let w: Array2<f32> = normal((3, 5), 1.0, &mut rng);
    let r = random_upstream(&[4, 5], 8)
        .into_dimensionality()
        .expect("2-D");
    let (dx, dw) = matmul_backward(&x, &w, &r);
    let check = GradCheck::default();
    let loss = |x: &Array2<f32>, w: &Array2<f32>| (x.dot(w) * &r).sum();
    out!(
        s,
        "matmul dL/dX: {}",
        summary(&check.check(&x, &dx, |x| loss(x, &w)))
    );
    out!(
        s,
        "matmul dL/dW: {}",
        summary(&check.check(&w, &dw, |w| loss(&x, w)))
    );
    let logits: Array2<f32> = normal((4, 6), 2.0, &mut rng);
    let targets = [0, 5, 2, 2];
    let (l, dlogits) = softmax_cross_entropy(&logits, &targets);
    let report = check.check(&logits, &dlogits, |z| softmax_cross_entropy(z, &targets).0);
    out!(
        s,
        "softmax + cross-entropy (loss {}): {}",
        round(l, 4),
        summary(&report)
    );
    s
}

fn summary(r: &crate::gradcheck::GradCheckReport) -> String {
    let verdict = if r.max_rel_error < 1e-2 {
        "ok"
    } else {
        "FAILED"
    };
    format!(
        "{} elements, max relative error < 1e-2: {verdict}",
        r.checked
    )
}

/// Section "Initialisation": the spread of activations through 10 layers of width 256.
pub fn init_demo() -> String {
    let mut s = String::new();
    let (width, depth) = (256, 10);
    let x0: Array2<f32> = normal((64, width), 1.0, &mut seeded_rng(1));
    out!(
        s,
        "std of activations through {depth} layers of width {width} (input std 1.0)"
    );
    out!(
        s,
        "{:<22}{:>9}{:>9}{:>10}{:>24}",
        "init / nonlinearity",
        "layer 1",
        "layer 5",
        "layer 10",
        "saturated (|h| > 0.99)"
    );
    type Init = fn(usize, usize, &mut rand_chacha::ChaCha8Rng) -> Array2<f32>;
    type Row = (&'static str, Init, fn(f32) -> f32);
    let inits: [Row; 4] = [
        (
            "N(0, 1) / tanh",
            |i, o, r| normal((i, o), 1.0, r),
            f32::tanh,
        ),
        (
            "N(0, 0.01) / tanh",
            |i, o, r| normal((i, o), 0.01, r),
            f32::tanh,
        ),
        ("Xavier / tanh", xavier_normal, f32::tanh),
        ("Kaiming / ReLU", kaiming_normal, |v| v.max(0.0)),
    ];
    for (name, init, act) in inits {
        let mut rng = seeded_rng(2);
        let mut h = x0.clone();
        let mut stds = Vec::new();
        for _ in 0..depth {
            h = h.dot(&init(width, width, &mut rng)).mapv(act);
            stds.push(h.std(0.0));
        }
        let saturated = if name.ends_with("tanh") {
            format!(
                "{}%",
                round(
                    100.0 * h.iter().filter(|v| v.abs() > 0.99).count() as f32
                        / h.len() as f32,
                    0
                )
            )
        } else {
            "-".into()
        };
        out!(
            s,
            "{name:<22}{:>9}{:>9}{:>10}{saturated:>24}",
            round(stds[0], 3),
            round(stds[4], 3),
            round(stds[9], 3)
        );
    }
    s
}

/// Section "Softmax regression": a whole training run of the chapter's one-layer model.
pub fn regression_demo() -> String {
    let mut s = String::new();
    let log = crate::regression::train(0, 200, 0.5);
    out!(
        s,
        "parameters: {:?} ({} scalars)",
        log.param_names,
        log.num_params
    );
    for step in [0, 10, 50, 100, 199] {
        out!(s, "step {step:>3}: loss {}", round(log.losses[step], 3));
    }
    out!(
        s,
        "train accuracy {}, test accuracy {}",
        round(log.train_accuracy, 2),
        round(log.test_accuracy, 2)
    );
    s
}

/// Section "Linear algebra": the measured matmul table. Timing varies from run to run, so
/// this is printed by `cargo run --release -p ch01-foundations --example matmul_gflops`
/// and written into the book by `cargo xtask figures`, never snapshotted.
pub fn matmul_table(sizes: &[usize]) -> String {
    let mut s = String::new();
    let peak = crate::linalg::fma_peak_gflops();
    match peak {
        Some((g, kind)) => out!(s, "FMA peak, one core, {kind}: {g:.0} GFLOP/s"),
        None => out!(s, "FMA peak: no AVX2/AVX-512 kernel for this CPU"),
    }
    out!(
        s,
        "{:>6}{:>16}{:>12}{:>18}",
        "n",
        "dot GFLOP/s",
        "% of peak",
        "naive GFLOP/s"
    );
    for t in crate::linalg::time_matmuls(sizes) {
        let pct = peak.map_or("-".into(), |(p, _)| {
            format!("{:.0}%", 100.0 * t.dot_gflops / p)
        });
        let naive = t.naive_gflops.map_or("-".into(), |g| format!("{g:.1}"));
        out!(
            s,
            "{:>6}{:>16.1}{:>12}{:>18}",
            t.n,
            t.dot_gflops,
            pct,
            naive
        );
    }
    s
}
