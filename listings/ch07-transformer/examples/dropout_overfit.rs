//! Dropout against overfitting: the date task on a small fixed training set, trained
//! with P_drop = 0, 0.1 and 0.3, measured on held-out sentences as training goes; then
//! P_drop = 0 against 0.1 on two more seeds.
//!
//! ```sh
//! cargo run --release -p ch07-transformer --example dropout_overfit            # -> src/figures/ch07
//! cargo run --release -p ch07-transformer --example dropout_overfit -- DIR
//! ```
//!
//! Writes into DIR `dropout-overfit-loss.svg` (training and held-out loss against step),
//! `dropout-overfit-exact.svg` (held-out exact match against step) and
//! `dropout-overfit.txt` (the numbers the text quotes, also printed). The runs are
//! independent and run in parallel; each is the same on any number of threads.

use std::error::Error;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch07_transformer::data::Task;
use ch07_transformer::overfit::{
    OverfitConfig, Point, overfit_report, overfit_run, seeds_report,
};
use rayon::prelude::*;

const PS: [f32; 3] = [0.0, 0.1, 0.3];
const MORE_SEEDS: [u64; 2] = [12, 13];

fn main() -> Result<(), Box<dyn Error>> {
    let out = std::env::args().nth(1).map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch07"),
        PathBuf::from,
    );
    let (task, cfg) = (Task::default(), OverfitConfig::full());
    let start = Instant::now();
    // Every (seed, p) pair of the experiment, as independent runs.
    let mut jobs: Vec<(u64, f32)> = PS.iter().map(|&p| (cfg.seed, p)).collect();
    jobs.extend(MORE_SEEDS.iter().flat_map(|&s| [(s, 0.0), (s, 0.1)]));
    let results: Vec<Vec<Point>> = jobs
        .par_iter()
        .map(|&(seed, p)| overfit_run(&task, &OverfitConfig { seed, ..cfg }, p))
        .collect();
    eprintln!(
        "{} runs in {:.1} s",
        jobs.len(),
        start.elapsed().as_secs_f64()
    );
    let main: Vec<(f32, Vec<Point>)> = PS.iter().copied().zip(results.clone()).collect();
    let mut seeds: Vec<(u64, Vec<(f32, Point)>)> = Vec::new();
    for (&(seed, p), points) in jobs.iter().zip(&results).filter(|(j, _)| j.1 < 0.2) {
        let last = *points.last().expect("at least one measurement");
        match seeds.iter_mut().find(|(s, _)| *s == seed) {
            Some((_, finals)) => finals.push((p, last)),
            None => seeds.push((seed, vec![(p, last)])),
        }
    }
    let text = format!("{}\n{}", overfit_report(&cfg, &main), seeds_report(&seeds));
    print!("{text}");
    std::fs::write(out.join("dropout-overfit.txt"), &text)?;
    write_charts(&out, &main)
}

fn write_charts(out: &Path, runs: &[(f32, Vec<Point>)]) -> Result<(), Box<dyn Error>> {
    let curve = |points: &[Point], f: fn(&Point) -> f32| -> Vec<(f64, f64)> {
        let xy = points.iter().skip(1); // step 0: every model is at ln(vocab) alike
        xy.map(|q| (q.step as f64, f64::from(f(q)))).collect()
    };
    let mut loss = LineChart::new(
        "Dates on 80 fixed training sentences: the loss",
        "step",
        "cross-entropy (nats per token)",
    );
    for (p, points) in runs.iter().filter(|(p, _)| *p < 0.2) {
        let held = curve(points, |q| q.heldout_loss);
        loss.series
            .push(Series::new(format!("held-out, P_drop = {p}"), held));
        let train = curve(points, |q| q.train_loss);
        loss.series
            .push(Series::new(format!("training, P_drop = {p}"), train));
    }
    write_line_chart(&out.join("dropout-overfit-loss.svg"), &loss)?;
    let mut exact = LineChart::new(
        "Dates on 80 fixed training sentences: held-out exact match",
        "step",
        "held-out exact match (greedy)",
    );
    exact.points = true;
    for (p, points) in runs {
        let xy = curve(points, |q| q.heldout_exact);
        exact.series.push(Series::new(format!("P_drop = {p}"), xy));
    }
    write_line_chart(&out.join("dropout-overfit-exact.svg"), &exact)
}
