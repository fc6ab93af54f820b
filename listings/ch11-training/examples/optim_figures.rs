//! The optimizer and schedule sections' outputs, deterministic:
//!
//!   cargo run --release -p ch11-training --example optim_figures -- src/figures/ch11
//!
//! writes coupled-vs-decoupled.txt (Adam's L2 against AdamW's decay on two weights) and
//! schedules.svg (every schedule of the chapter over one run of 1,000 steps).

use std::path::PathBuf;

use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch11_training::schedule::Schedule;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or("src/figures/ch11".into()));
    std::fs::create_dir_all(&dir)?;
    let table = ch11_training::coupling::decay_table();
    std::fs::write(dir.join("coupled-vs-decoupled.txt"), &table)?;
    print!("{table}");

    let (warmup, total) = (100, 1000);
    let schedules = [
        (
            "warm-up + cosine to 0.1",
            Schedule::WarmupCosine {
                warmup,
                total,
                floor: 0.1,
            },
        ),
        (
            "warm-up + linear to 0",
            Schedule::WarmupLinear { warmup, total },
        ),
        (
            "inverse square root (Noam)",
            Schedule::InverseSqrt { warmup },
        ),
        (
            "warmup-stable-decay, last 200 to 0.1",
            Schedule::WarmupStableDecay {
                warmup,
                decay: 200,
                total,
                floor: 0.1,
            },
        ),
    ];
    let mut chart = LineChart::new(
        "Learning-rate schedules (warm-up 100 steps, 1,000 steps)",
        "step (updates taken)",
        "learning rate / peak",
    );
    for (label, s) in schedules {
        s.validate()?;
        let points = (0..total)
            .map(|t| (t as f64, f64::from(s.factor(t))))
            .collect();
        chart.series.push(Series::new(label, points));
    }
    write_line_chart(&dir.join("schedules.svg"), &chart)?;
    Ok(())
}
