//! Trains the encoder-decoder to translate dates written in words into ISO 8601, then
//! translates from the command line with the saved checkpoint.
//!
//! ```sh
//! cargo run --release -p ch07-transformer --example translate            # = train
//! cargo run --release -p ch07-transformer --example translate -- train --out DIR
//! cargo run --release -p ch07-transformer --example translate -- translate \
//!     --checkpoint model.safetensors "the first of may nineteen ninety"
//! ```
//!
//! `train` writes the checkpoint, and into `--out` (default `src/figures/ch07`) the loss
//! curve `loss.svg`, the cross-attention map `alignment.svg` and `translate-run.txt` with
//! every number the text quotes.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use ch01_foundations::module::Module;
use ch01_foundations::plot::{
    HeatMap, LineChart, Series, write_labelled_heatmap, write_line_chart,
};
use ch01_foundations::report::round;
use ch05_encoder::block::Wiring;
use ch07_transformer::checkpoint;
use ch07_transformer::data::{Date, Style, Task};
use ch07_transformer::train::{
    TrainConfig, cross_attention_map, evaluate, model_config, smoothed_loss_floor, train,
    translate,
};
use clap::{Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

/// The workspace root, so the defaults work from any directory.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Parser)]
#[command(about = "Dates in words -> ISO 8601 with the 2017 encoder-decoder transformer")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Train, evaluate on held-out sentences, save the checkpoint and the figures.
    Train {
        /// Folder for loss.svg, alignment.svg and translate-run.txt
        /// [default: src/figures/ch07]
        #[arg(long)]
        out: Option<PathBuf>,
        /// Where to save the model [default: target/ch07/model.safetensors]
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        #[arg(long, default_value_t = TrainConfig::full().steps)]
        steps: usize,
        #[arg(long, default_value_t = TrainConfig::full().seed)]
        seed: u64,
    },
    /// Translate sentences with a saved checkpoint.
    Translate {
        /// A checkpoint written by `train` [default: target/ch07/model.safetensors]
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Beam width; 1 is greedy decoding.
        #[arg(long, default_value_t = 4)]
        beam: usize,
        /// Dates in words, e.g. "the first of may nineteen ninety".
        #[arg(required = true)]
        sentences: Vec<String>,
    },
}

fn default_checkpoint() -> PathBuf {
    root().join("target/ch07/model.safetensors")
}

const D_MODEL: usize = 64;
const LAYERS: usize = 3;
const BEAM: usize = 4;
const ALPHA: f32 = 0.6;
const ALIGNED: &str = "march the twenty third two thousand and four";

fn train_and_report(
    out: &Path,
    checkpoint_path: &Path,
    steps: usize,
    seed: u64,
) -> Result<(), Box<dyn Error>> {
    let task = Task::default();
    let cfg = TrainConfig {
        steps,
        seed,
        ..TrainConfig::full()
    };
    let model_cfg = model_config(&task, D_MODEL, LAYERS);
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(ProgressStyle::with_template(
        "{elapsed_precise} [{bar:30}] {pos}/{len} {msg}",
    )?);
    let start = Instant::now();
    let mut tokens = 0;
    let (mut model, log) = train(&task, model_cfg, &cfg, |_, stats| {
        tokens += stats.tokens;
        let per_s = tokens as f64 / start.elapsed().as_secs_f64();
        bar.set_message(format!("loss {:.3}  {per_s:.0} tok/s", stats.loss));
        bar.inc(1);
    });
    let seconds = start.elapsed().as_secs_f64();
    bar.finish();
    checkpoint::save(checkpoint_path, &model, &task)?;
    eprintln!("saved {}", checkpoint_path.display());

    let eval = evaluate(&mut model, &log.heldout, BEAM, ALPHA);
    std::fs::create_dir_all(out)?;
    write_loss_chart(
        &out.join("loss.svg"),
        &log.losses,
        &cfg,
        task.tgt_vocab.len(),
    )?;
    let aligned = write_alignment(&out.join("alignment.svg"), &mut model, &task)?;

    let mut r = String::new();
    let wiring = match model_cfg.wiring {
        Wiring::PostLn => "Post-LN",
        Wiring::PreLn => "Pre-LN",
    };
    writeln!(
        r,
        "model: d_model {}, {} heads, d_ff {}, {} encoder + {} decoder layers, {wiring}, \
         output tied to the target embedding",
        model_cfg.d_model,
        model_cfg.n_heads,
        model_cfg.d_ff,
        model_cfg.n_enc,
        model_cfg.n_dec
    )?;
    writeln!(
        r,
        "vocabularies: {} source words, {} target tokens; parameters: {}",
        task.src_vocab.len(),
        task.tgt_vocab.len(),
        model.num_params()
    )?;
    writeln!(
        r,
        "training: {} steps, batches of at most {} padded tokens, \
         Adam (0.9, 0.98, 1e-9), Noam warmup {} (peak lr {}), clip {}, label smoothing {}, seed {}",
        cfg.steps,
        cfg.max_tokens,
        cfg.warmup,
        round(
            ch07_transformer::optim::noam_lr(
                cfg.warmup,
                D_MODEL,
                cfg.warmup,
                cfg.lr_scale
            ),
            4
        ),
        cfg.clip,
        cfg.smoothing,
        cfg.seed
    )?;
    writeln!(
        r,
        "time: {seconds:.1} s on {} threads, {} target tokens, {:.0} target tokens/s",
        rayon::current_num_threads(),
        log.tokens,
        log.tokens as f64 / seconds
    )?;
    let n = log.losses.len();
    let tail = &log.losses[n.saturating_sub(50)..];
    writeln!(
        r,
        "loss: first step {}, mean of the last {} steps {}, \
         floor (entropy of the smoothed target) {}",
        round(log.losses[0], 3),
        tail.len(),
        round(tail.iter().sum::<f32>() / tail.len() as f32, 3),
        round(smoothed_loss_floor(cfg.smoothing, task.tgt_vocab.len()), 3)
    )?;
    writeln!(
        r,
        "held-out: {} sentences, none seen in training",
        log.heldout.len()
    )?;
    writeln!(
        r,
        "exact match, greedy: {:.1} % ({:.1} s for all {})",
        100.0 * eval.greedy_accuracy,
        eval.greedy_seconds,
        log.heldout.len()
    )?;
    writeln!(
        r,
        "exact match, beam {BEAM} (alpha {ALPHA}): {:.1} % ({:.1} s)",
        100.0 * eval.beam_accuracy,
        eval.beam_seconds
    )?;
    let disagree = eval
        .greedy
        .iter()
        .zip(&eval.beam)
        .filter(|(g, b)| g != b)
        .count();
    writeln!(r, "greedy and beam disagree on {disagree} sentences")?;
    writeln!(r, "\nsamples (held-out, greedy):")?;
    for (ex, pred) in log.heldout.iter().zip(&eval.greedy).take(6) {
        let mark = if *pred == ex.tgt { "" } else { "   (wrong)" };
        let src = task.src_vocab.decode(&ex.src, " ");
        let pred = task.tgt_vocab.decode(pred, "");
        writeln!(r, "  {src:<56} -> {pred}{mark}")?;
    }
    let wrong: Vec<_> = log
        .heldout
        .iter()
        .zip(&eval.greedy)
        .filter(|(ex, pred)| **pred != ex.tgt)
        .take(5)
        .collect();
    if !wrong.is_empty() {
        writeln!(r, "\nerrors (greedy):")?;
        for (ex, pred) in wrong {
            let src = task.src_vocab.decode(&ex.src, " ");
            let (pred, want) = (task.tgt_vocab.decode(pred, ""), ex.date.iso());
            writeln!(r, "  {src:<56} -> {pred} (expected {want})")?;
        }
    }
    writeln!(r, "\n{aligned}")?;
    std::fs::write(out.join("translate-run.txt"), &r)?;
    print!("{r}");
    Ok(())
}

fn write_loss_chart(
    path: &Path,
    losses: &[f32],
    cfg: &TrainConfig,
    tgt_vocab: usize,
) -> Result<(), Box<dyn Error>> {
    let mut chart = LineChart::new(
        "training loss (label-smoothed cross-entropy)",
        "step",
        "loss per target token",
    );
    let points = losses
        .iter()
        .enumerate()
        .map(|(i, &l)| ((i + 1) as f64, l as f64))
        .collect();
    chart.series.push(Series::new("loss", points));
    let floor = smoothed_loss_floor(cfg.smoothing, tgt_vocab) as f64;
    let floor_line = vec![(1.0, floor), (losses.len() as f64, floor)];
    chart.series.push(Series::new(
        "floor: entropy of the smoothed target",
        floor_line,
    ));
    chart
        .markers
        .push((cfg.warmup as f64, "end of warmup".into()));
    write_line_chart(path, &chart)
}

/// The heat map of one sentence (not necessarily held out: it is the text's example), and
/// the same numbers as a table for translate-run.txt.
fn write_alignment(
    path: &Path,
    model: &mut ch07_transformer::Transformer,
    task: &Task,
) -> Result<String, Box<dyn Error>> {
    let date = Date {
        year: 2004,
        month: 3,
        day: 23,
    };
    let ex = task.example(date, Style::MonthFirst);
    assert_eq!(task.src_vocab.decode(&ex.src, " "), ALIGNED);
    let out = ch07_transformer::decode::greedy(
        model,
        &ndarray::Array2::from_shape_vec((1, ex.src.len()), ex.src.clone())?,
        ch07_transformer::data::BOS,
        ch07_transformer::data::EOS,
        model.cfg.max_len,
    )
    .remove(0);
    let map = cross_attention_map(model, &ex.src, &out);
    let words: Vec<&str> = ALIGNED.split(' ').collect();
    let mut outputs: Vec<String> = out
        .iter()
        .map(|&id| task.tgt_vocab.word(id).into())
        .collect();
    outputs.push("<eos>".into());
    let heat = HeatMap {
        title: "cross-attention, last decoder layer, mean over heads".into(),
        x_label: "source word".into(),
        y_label: "output token".into(),
        data: map.clone(),
        diverging: false,
    };
    let source: Vec<String> = words.iter().map(|w| w.to_string()).collect();
    write_labelled_heatmap(path, &heat, &source, &outputs)?;
    let mut table = format!(
        "alignment.svg: \"{ALIGNED}\" -> {}\n\
         rows: output tokens, columns: source words\n{:>6}",
        task.tgt_vocab.decode(&out, ""),
        ""
    );
    for w in &words {
        write!(table, "{w:>9}")?;
    }
    for (row, tok) in map.outer_iter().zip(&outputs) {
        write!(table, "\n{tok:>6}")?;
        for &p in row {
            write!(table, "{:>9}", round(p, 2))?;
        }
    }
    Ok(table)
}

fn run(cli: Cli) -> Result<(), Box<dyn Error>> {
    let command = cli.command.unwrap_or(Command::Train {
        out: None,
        checkpoint: None,
        steps: TrainConfig::full().steps,
        seed: TrainConfig::full().seed,
    });
    match command {
        Command::Train {
            out,
            checkpoint,
            steps,
            seed,
        } => {
            let out = out.unwrap_or_else(|| root().join("src/figures/ch07"));
            let checkpoint = checkpoint.unwrap_or_else(default_checkpoint);
            train_and_report(&out, &checkpoint, steps, seed)
        }
        Command::Translate {
            checkpoint,
            beam,
            sentences,
        } => {
            let path = checkpoint.unwrap_or_else(default_checkpoint);
            let (mut model, task) = checkpoint::load(&path)?;
            for sentence in &sentences {
                println!("{}", translate(&mut model, &task, sentence, beam)?);
            }
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
