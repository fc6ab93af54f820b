//! A learning-rate sweep: Chapter 9's Llama on the book, a short run at each of several
//! peak learning rates spaced geometrically, the loss reached against the learning
//! rate, and where training diverges. Writes `lr-sweep.svg` and `lr-sweep.txt`.
//!
//! ```sh
//! cargo run --release -p ch11-training --example lr_sweep       # src/figures/ch11
//! cargo run --release -p ch11-training --example lr_sweep -- --steps 60 --out /tmp/sweep
//! ```

use std::path::PathBuf;

use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch09_decoder_only::train_run::{TrainConfig, book_tokens};
use ch11_training::stability::{SweepPoint, geometric, sweep_point, sweep_report};
use clap::Parser;
use rayon::prelude::*;

#[derive(Parser)]
#[command(about = "Final loss against peak learning rate, Chapter 9's Llama on the book")]
struct Cli {
    /// Updates per learning rate.
    #[arg(long, default_value_t = 120)]
    steps: usize,
    /// How many learning rates, from --lo to --hi.
    #[arg(long, default_value_t = 12)]
    n: usize,
    #[arg(long, default_value_t = 1e-4)]
    lo: f32,
    #[arg(long, default_value_t = 31.622776)]
    hi: f32,
    /// Folder for lr-sweep.svg and lr-sweep.txt.
    #[arg(long, default_value = "src/figures/ch11")]
    out: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cli = Cli::parse();
    let cfg = TrainConfig::full();
    let data = book_tokens(&cfg)?;
    // Each run is seeded and independent: the order they finish in changes nothing.
    let points: Vec<SweepPoint> = geometric(cli.lo, cli.hi, cli.n)
        .into_par_iter()
        .map(|lr| sweep_point(&data, &cfg, lr, cli.steps))
        .collect();
    let report = sweep_report(&points, cli.steps, data.vocab_size);
    print!("{report}");
    std::fs::create_dir_all(&cli.out)?;
    std::fs::write(cli.out.join("lr-sweep.txt"), &report)?;

    let x = |p: &SweepPoint| f64::from(p.lr).log10();
    let mut chart = LineChart::new(
        &format!("Llama on the book: loss after {} steps", cli.steps),
        "log10 peak learning rate",
        "training loss (nats)",
    );
    // A diverged run's loss (up to 10⁴ here) would flatten every other point: the
    // chart leaves it out, and the txt keeps it.
    let curve = |f: fn(&SweepPoint) -> f32| {
        let y = |p: &SweepPoint| match p.diverged() {
            true => f64::NAN,
            false => f64::from(f(p)),
        };
        points.iter().map(|p| (x(p), y(p))).collect()
    };
    chart
        .series
        .push(Series::new("mean of the last 10 steps", curve(|p| p.last)));
    chart
        .series
        .push(Series::new("lowest step", curve(|p| p.min)));
    let first = points.iter().map(|p| (x(p), f64::from(p.first))).collect();
    chart
        .series
        .push(Series::new("first step (before any update)", first));
    if let Some(p) = points.iter().find(|p| p.diverged()) {
        chart.markers.push((x(p), "diverged from here on".into()));
    }
    chart.points = true;
    write_line_chart(&cli.out.join("lr-sweep.svg"), &chart)?;
    Ok(())
}
