//! The sampling section's figure: a distribution over 30 tokens whose logits fall by 0.25
//! a rank, after temperature 0.5, top-k 5, top-p 0.8 and min-p 0.1, each alone.
//! Writes src/figures/ch12/sampling.svg and sampling.txt (deterministic, instant).
//!
//!   cargo run --release -p ch12-inference --example sampling_figure

use std::fmt::Write as _;
use std::path::Path;

use anyhow::Result;
use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch12_inference::sampling::filter_effects;
use ndarray::Array1;

fn main() -> Result<()> {
    let logits = Array1::from_shape_fn(30, |i| -0.25 * i as f32);
    let effects = filter_effects(&logits)?;
    let mut chart = LineChart::new(
        "One distribution, five settings",
        "rank of the token",
        "probability",
    );
    chart.points = true;
    let mut txt = String::from(
        "30 tokens, logit of rank r = -0.25 (r - 1); each setting alone\n\
         setting            | tokens kept | p(rank 1)\n",
    );
    for (label, p) in &effects {
        let kept = p.iter().filter(|&&q| q > 0.0).count();
        writeln!(txt, "{label:<18} | {kept:>11} | {:.4}", p[0])?;
        let points = (p.iter().enumerate())
            .filter(|(_, q)| **q > 0.0)
            .map(|(i, &q)| ((i + 1) as f64, q))
            .collect();
        chart.series.push(Series::new(*label, points));
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch12");
    write_line_chart(&dir.join("sampling.svg"), &chart)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    std::fs::write(dir.join("sampling.txt"), &txt)?;
    print!("{txt}");
    Ok(())
}
