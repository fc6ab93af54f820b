//! The LoRA experiment: a small Llama pretrained to copy, fine-tuned to encipher by full
//! fine-tuning and by LoRA at ranks 1 to 16 on q,v and on q,k,v,o. Writes the table
//! `src/figures/ch13/lora.txt` and the figure `lora.svg`; with `--qlora`, the same runs on
//! a base whose projections are rounded to NF4 and frozen (QLoRA), into `qlora.txt`.
//!
//! cargo run --release -p ch13-optimizations --example lora_finetune

use std::path::PathBuf;

use ch01_foundations::plot::{LineChart, Series, write_line_chart};
use ch13_optimizations::lora::Targets;
use ch13_optimizations::lora_run::{BaseTransform, LoraReport, LoraSetup, Method, run};
use ch13_optimizations::nf4::nf4_roundtrip;
use clap::Parser;

#[derive(Parser)]
struct Args {
    /// The tiny setup the tests use, in seconds.
    #[arg(long)]
    tiny: bool,
    /// QLoRA: every projection of the base rounded to NF4 (blocks of 64, double-quantized
    /// scales) and frozen; writes qlora.txt instead of lora.{txt,svg}.
    #[arg(long)]
    qlora: bool,
    #[arg(long, default_value = "src/figures/ch13")]
    out: PathBuf,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let setup = if args.tiny {
        LoraSetup::tiny()
    } else {
        LoraSetup::full()
    };
    let load = ch01_foundations::linalg::load_average();
    let nf4: BaseTransform<'_> = &nf4_roundtrip;
    let report = run(&setup, args.qlora.then_some(nf4), |o| {
        eprintln!(
            "{:?}: acc {:.3} loss {:.3} {:.2} ms/step",
            o.method, o.accuracy, o.heldout_loss, o.ms_per_step
        )
    })?;
    std::fs::create_dir_all(&args.out)?;
    let table = format!(
        "1-minute load average when the run started: {load}\n{}",
        report.table()
    );
    if args.qlora {
        std::fs::write(args.out.join("qlora.txt"), &table)?;
    } else {
        std::fs::write(args.out.join("lora.txt"), &table)?;
        write_line_chart(&args.out.join("lora.svg"), &chart(&report))?;
    }
    print!("{table}");
    Ok(())
}

/// Exact match against rank, one line per target set, full fine-tuning as a flat line.
fn chart(report: &LoraReport) -> LineChart {
    let mut chart = LineChart::new(
        "Fine-tuning a copying Llama to encipher: LoRA rank against full fine-tuning",
        "rank r",
        "held-out exact match",
    );
    for targets in [Targets::QV, Targets::All] {
        let points = (report.outcomes.iter())
            .filter_map(|o| match o.method {
                Method::Lora(c) if c.targets == targets => {
                    Some((c.rank as f64, f64::from(o.accuracy)))
                }
                _ => None,
            })
            .collect();
        chart
            .series
            .push(Series::new(format!("LoRA on {}", targets.label()), points));
    }
    let full = f64::from(report.outcomes[0].accuracy);
    let ranks = &report.setup.ranks;
    let (lo, hi) = (ranks[0] as f64, ranks[ranks.len() - 1] as f64);
    chart.series.push(Series::new(
        "full fine-tuning",
        vec![(lo, full), (hi, full)],
    ));
    chart.points = true;
    chart
}
