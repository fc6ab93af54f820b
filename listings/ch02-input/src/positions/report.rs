//! What the sections on positions print. The example `positions` prints these, the
//! snapshot tests pin them, and the text includes the snapshots.

use std::fmt::Write;

use ndarray::{Array2, s};

use super::alibi::{alibi_bias, alibi_slopes};
use super::learned::LearnedPositions;
use super::rope::{Rope, RopeStyle, rope_angles};
use super::sinusoidal::{pe_dot_by_distance, sinusoidal};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::report::{round, round_all};

macro_rules! out {
    ($s:expr, $($arg:tt)*) => { writeln!($s, $($arg)*).expect("writing to a String") };
}

/// Section "Sinusoidal encodings": a few rows, and the dot product by distance.
pub fn sinusoidal_demo() -> String {
    let mut s = String::new();
    let pe = sinusoidal(1200, 8);
    out!(
        s,
        "PE with d_model = 8 (columns sin ω0, cos ω0, sin ω1, cos ω1, ...):"
    );
    for pos in [0, 1, 2, 50, 1000] {
        out!(s, "PE[{pos:>4}] = {}", round_all(pe.row(pos), 4));
    }
    let wavelengths: Vec<f32> = (0..4)
        .map(|i| (std::f64::consts::TAU * 10_000f64.powf(2.0 * i as f64 / 8.0)) as f32)
        .collect();
    out!(s, "wavelengths 2π/ω_i = {}", round_all(&wavelengths, 1));
    let d = 128;
    let pe = sinusoidal(1200, d);
    out!(s, "PE[p] · PE[p + k] with d_model = {d}:");
    out!(
        s,
        "{:>6} {:>10} {:>10} {:>10} {:>14}",
        "k",
        "p = 0",
        "p = 50",
        "p = 1000",
        "Σ cos(k ω_i)"
    );
    for k in [0, 1, 10, 100] {
        let dot = |p: usize| round(pe.row(p).dot(&pe.row(p + k)), 3);
        let closed = round(pe_dot_by_distance(k as f64, d) as f32, 3);
        out!(
            s,
            "{k:>6} {:>10} {:>10} {:>10} {:>14}",
            dot(0),
            dot(50),
            dot(1000),
            closed
        );
    }
    s
}

/// Section "Learned positions": shapes, where the gradient lands, and what happens past
/// max_len.
pub fn learned_demo() -> String {
    let mut s = String::new();
    let mut rng = seeded_rng(3);
    let mut positions = LearnedPositions::new(8, 4, 0.02, &mut rng);
    let x: Array2<f32> = normal((5, 4), 1.0, &mut rng);
    let y = positions.forward(&x).expect("5 <= 8 positions");
    out!(
        s,
        "table P: {:?}; x: {:?} -> x + P[0..5]: {:?}",
        positions.table.value.dim(),
        x.dim(),
        y.dim()
    );
    positions.backward(&Array2::ones((5, 4)));
    let touched: Vec<usize> = (0..8)
        .filter(|&p| positions.table.grad.row(p).iter().any(|&g| g != 0.0))
        .collect();
    out!(s, "rows of P.grad that received gradient: {touched:?}");
    let long: Array2<f32> = Array2::zeros((9, 4));
    match positions.forward(&long) {
        Ok(_) => out!(s, "9 tokens: accepted (unexpected)"),
        Err(e) => out!(s, "9 tokens: error: {e}"),
    }
    s
}

/// Section "Rotary embeddings": the relative-position property, measured, and the two
/// conventions side by side.
pub fn rope_demo() -> String {
    let mut s = String::new();
    let d = 64;
    let mut rng = seeded_rng(5);
    let q: Array2<f32> = normal((1, d), 1.0, &mut rng);
    let k: Array2<f32> = normal((1, d), 1.0, &mut rng);
    // Position 1 rotates pair i by exactly θ_i: read the frequencies off the angle table.
    let (cos, sin) = rope_angles(&[1], d, 10_000.0);
    let theta: Vec<f32> = cos.iter().zip(&sin).map(|(&c, &s)| s.atan2(c)).collect();
    out!(
        s,
        "d_head = {d}: θ_0 = {}, θ_1 = {}, θ_31 = {:.3e} rad per position",
        round(theta[0], 4),
        round(theta[1], 4),
        theta[31]
    );
    let score = |m: usize, n: usize, style| {
        let q_m = Rope::new(&[m], d, 10_000.0, style).forward(&q);
        let k_n = Rope::new(&[n], d, 10_000.0, style).forward(&k);
        q_m.row(0).dot(&k_n.row(0))
    };
    out!(
        s,
        "q_m · k_n (rotate-half) for pairs with the same offset m - n:"
    );
    for offset in [0usize, 3, 40] {
        let pairs = [
            (offset, 0),
            (offset + 7, 7),
            (offset + 500, 500),
            (offset + 4000, 4000),
        ];
        let scores: Vec<String> = pairs
            .iter()
            .map(|&(m, n)| {
                format!(
                    "({m}, {n}) {}",
                    round(score(m, n, RopeStyle::RotateHalf), 3)
                )
            })
            .collect();
        out!(s, "  m - n = {offset:>2}: {}", scores.join("  "));
    }
    out!(
        s,
        "q · k without rotation = {}",
        round(q.row(0).dot(&k.row(0)), 3)
    );

    // The same vector in the other layout: interleaved index 2i <-> rotate-half index i,
    // 2i + 1 <-> i + d/2.
    let x: Array2<f32> = normal((3, 8), 1.0, &mut rng);
    let rope_rh = Rope::new(&[0, 1, 2], 8, 10_000.0, RopeStyle::RotateHalf);
    let rope_il = Rope::new(&[0, 1, 2], 8, 10_000.0, RopeStyle::Interleaved);
    let mut x_rh = Array2::zeros((3, 8));
    x_rh.slice_mut(s![.., ..4]).assign(&x.slice(s![.., 0..;2]));
    x_rh.slice_mut(s![.., 4..]).assign(&x.slice(s![.., 1..;2]));
    out!(s, "position 2, d_head = 8, one vector x in both layouts:");
    out!(
        s,
        "  interleaved RoPE(x)          = {}",
        round_all(rope_il.forward(&x).row(2), 4)
    );
    out!(
        s,
        "  rotate-half RoPE(x permuted) = {}",
        round_all(rope_rh.forward(&x_rh).row(2), 4)
    );
    let norm = |a: &Array2<f32>| a.row(2).dot(&a.row(2)).sqrt();
    out!(
        s,
        "  |x| = {}, |RoPE(x)| = {} (a rotation keeps lengths)",
        round(norm(&x), 4),
        round(norm(&rope_il.forward(&x)), 4)
    );
    s
}

/// Section "ALiBi": the slopes for 8, 12 and 6 heads, and one head's bias.
pub fn alibi_demo() -> String {
    let mut s = String::new();
    for n in [8, 12, 6] {
        let slopes = alibi_slopes(n);
        let exponents: Vec<f32> = slopes.iter().map(|m| -m.log2()).collect();
        out!(
            s,
            "{n:>2} heads: m = 2^-e with e = {}",
            round_all(&exponents, 3)
        );
        out!(s, "          m = {}", round_all(&slopes, 5));
    }
    let bias = alibi_bias(&alibi_slopes(8), 5);
    out!(s, "bias of head 1 of 8 (m = 1/2), T = 5:");
    for row in bias.slice(s![0, .., ..]).rows() {
        out!(s, "  {}", round_all(row, 1));
    }
    s
}
