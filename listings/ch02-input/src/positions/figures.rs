//! The figures of the sections on positions, drawn from the code that the sections
//! show. Regenerate with
//! `cargo run --release -p ch02-input --example positions -- --figures src/figures/ch02`.

use std::error::Error;
use std::path::{Path, PathBuf};

use ndarray::{Array2, s};

use super::alibi::{alibi_bias, alibi_slopes};
use super::rope::{Rope, RopeStyle};
use super::sinusoidal::sinusoidal;
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::plot::{
    Draw, HeatMap, LineChart, Series, write_heatmap, write_line_chart,
};

/// PE for 40 positions × 64 dimensions: fast sin/cos waves on the left, slow ones on
/// the right, where neighbouring positions look almost alike.
pub fn sinusoidal_heatmap(path: &Path) -> Result<(), Box<dyn Error>> {
    let map = HeatMap {
        title: "sinusoidal PE[pos, j], d_model = 64".into(),
        x_label: "dimension j".into(),
        y_label: "position pos".into(),
        data: sinusoidal(40, 64),
        diverging: true,
    };
    write_heatmap(path, &map)
}

/// PE[p] · PE[p + k] against k for two starting positions p, read off the table: the
/// curves coincide (only k matters) and fall from d/2 as k grows.
pub fn sinusoidal_dot_product(path: &Path) -> Result<(), Box<dyn Error>> {
    let (d, k_max) = (128, 256);
    let pe = sinusoidal(300 + k_max + 1, d);
    let mut chart = LineChart::new(
        "sinusoidal encodings: PE[p] · PE[p + k], d_model = 128",
        "distance k",
        "dot product",
    );
    for p in [0, 300] {
        let points = (0..=k_max)
            .map(|k| (k as f64, pe.row(p).dot(&pe.row(p + k)) as f64))
            .collect();
        chart.series.push(Series::new(format!("p = {p}"), points));
    }
    write_line_chart(path, &chart)
}

/// RoPE: q_m · q_n for one random q, against m - n, starting from n = 0 and from
/// n = 200. The second curve lies exactly on the first (the score sees only the offset),
/// and it falls from |q|² as the offset grows, like the sinusoidal dot product.
pub fn rope_relative(path: &Path) -> Result<(), Box<dyn Error>> {
    let (d, span) = (64, 256);
    let q: Array2<f32> = normal((1, d), 1.0, &mut seeded_rng(7));
    let mut chart = LineChart::new(
        "RoPE: q at position m · q at position n, d_head = 64",
        "offset m - n",
        "score q_m · q_n",
    );
    for n in [0, 200] {
        let q_n = Rope::new(&[n], d, 10_000.0, RopeStyle::RotateHalf).forward(&q);
        let positions: Vec<usize> = (n..=n + span).collect();
        let q_m = Rope::new(&positions, d, 10_000.0, RopeStyle::RotateHalf)
            .forward(&q.broadcast((positions.len(), d)).expect("one row"));
        let points = q_m
            .dot(&q_n.row(0))
            .iter()
            .enumerate()
            .map(|(offset, &score)| (offset as f64, score as f64))
            .collect();
        let label = if n == 0 {
            "n = 0".into()
        } else {
            format!("n = {n} (on top of n = 0)")
        };
        chart.series.push(Series::new(label, points));
    }
    write_line_chart(path, &chart)
}

/// The ALiBi bias of the first of 8 heads (slope 1/2) on 16 positions; grey cells are
/// the future keys that a causal model never sees.
pub fn alibi_bias_heatmap(path: &Path) -> Result<(), Box<dyn Error>> {
    let bias = alibi_bias(&alibi_slopes(8), 16);
    let map = HeatMap {
        title: "ALiBi bias of head 1 of 8 (m = 1/2)".into(),
        x_label: "key position j".into(),
        y_label: "query position i".into(),
        data: bias.slice(s![0, .., ..]).to_owned(),
        diverging: false,
    };
    write_heatmap(path, &map)
}

/// The penalty -m_h · (i - j) against the distance i - j for six of 8 heads: steep heads
/// look only at the last few tokens, shallow ones almost everywhere.
pub fn alibi_penalties(path: &Path) -> Result<(), Box<dyn Error>> {
    let slopes = alibi_slopes(8);
    let mut chart = LineChart::new(
        "ALiBi: penalty by distance, 8 heads",
        "distance i - j",
        "bias",
    );
    for h in [0, 1, 2, 3, 5, 7] {
        let m = slopes[h] as f64;
        let points = (0..=64).map(|k| (k as f64, -m * k as f64)).collect();
        chart.series.push(Series::new(
            format!("head {} (m = 1/{})", h + 1, (1.0 / m).round()),
            points,
        ));
    }
    write_line_chart(path, &chart)
}

/// The figures, by file name.
pub const FIGURES: [(&str, Draw); 5] = [
    ("sinusoidal-heatmap.svg", sinusoidal_heatmap),
    ("sinusoidal-dot-product.svg", sinusoidal_dot_product),
    ("rope-relative.svg", rope_relative),
    ("alibi-bias.svg", alibi_bias_heatmap),
    ("alibi-penalties.svg", alibi_penalties),
];

/// Writes every figure of the sections on positions into `dir`, returning the paths.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    ch01_foundations::plot::draw_all(dir, &FIGURES)
}
