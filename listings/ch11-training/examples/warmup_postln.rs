//! Warm-up and Post-LN with Adam: Chapter 5's 6-block histogram tagger, Post-LN and
//! Pre-LN, trained with the chapter's AdamW with and without a linear warm-up, at
//! several peak learning rates. Writes `warmup.svg` (the curves at one learning rate)
//! and `warmup.txt` (the table the text quotes).
//!
//! ```sh
//! cargo run --release -p ch11-training --example warmup_postln  # src/figures/ch11
//! ```

use std::path::PathBuf;

use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch05_encoder::block::Wiring;
use ch05_encoder::depth::{SETUP, WIRINGS, mean};
use ch11_training::schedule::Schedule;
use ch11_training::stability::{train_tagger, warmup_then_constant};
use rayon::prelude::*;

const DEPTH: usize = 6;
const STEPS: usize = 400;
const WARMUP: usize = 50;
const LRS: [f32; 3] = [1e-3, 3e-3, 1e-2];
const FIGURE_LR: f32 = 3e-3;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or("src/figures/ch11".into()));
    let configs: Vec<(f32, &str, Wiring, usize)> = LRS
        .iter()
        .flat_map(|&lr| {
            WIRINGS
                .iter()
                .flat_map(move |&(name, w)| [0, WARMUP].map(|wu| (lr, name, w, wu)))
        })
        .collect();
    let runs: Vec<Vec<f32>> = configs
        .par_iter()
        .map(|&(lr, _, w, wu)| {
            let schedule = match wu {
                0 => Schedule::Constant,
                _ => warmup_then_constant(wu, STEPS),
            };
            train_tagger(&SETUP, DEPTH, w, STEPS, lr, schedule)
        })
        .collect();
    let mut report = format!(
        "{DEPTH}-block tagger (Chapter 5's histogram task), AdamW (0.9, 0.98), {STEPS} steps\n\
         {:>8} {:8} {:>7} {:>12} {:>14}\n",
        "peak lr", "wiring", "warm-up", "first 10", "steps 350-400"
    );
    let mut chart = LineChart::new(
        &format!("{DEPTH} blocks, AdamW at peak lr {FIGURE_LR}"),
        "step",
        "training loss (nats)",
    );
    for (&(lr, name, _, wu), losses) in configs.iter().zip(&runs) {
        report += &format!(
            "{lr:>8.0e} {name:8} {wu:>7} {:>12.4} {:>14.4}\n",
            mean(losses, 0, 10),
            mean(losses, 350, 400)
        );
        if lr == FIGURE_LR {
            // A 10-step running mean, so the four curves can be told apart.
            let smooth = (0..STEPS - 9)
                .map(|s| ((s + 9) as f64, f64::from(mean(losses, s, s + 10))))
                .collect();
            let label = match wu {
                0 => format!("{name}, no warm-up"),
                _ => format!("{name}, {wu} warm-up steps"),
            };
            chart.series.push(Series::new(label, smooth));
        }
    }
    print!("{report}");
    std::fs::create_dir_all(&out)?;
    std::fs::write(out.join("warmup.txt"), &report)?;
    write_line_chart(&out.join("warmup.svg"), &chart)?;
    Ok(())
}
