//! The `translate` example's run (section "Training"): train, evaluate on held-out
//! sentences, and write the figures and the run report the text quotes. The example calls
//! it, and so does `tests/figures.rs`, which checks that the committed files are what
//! this run writes.

use std::error::Error;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::linalg::rows;
use ch01_foundations::module::Module;
use ch01_foundations::plot::{
    HeatMap, LineChart, Series, write_labelled_heatmap, write_line_chart,
};
use ch01_foundations::report::round;
use ch05_encoder::block::Wiring;
use ch06_decoder::chance::{ChanceBreakdown, chance_breakdown};
use ndarray::{Array2, s};

use crate::data::{BOS, Batch, Date, EOS, Example, PAD, Style, Task};
use crate::decode::greedy;
use crate::model::{Config, Transformer};
use crate::train::{
    StepStats, TrainConfig, cross_attention_map, evaluate, model_config,
    smoothed_loss_floor, train,
};

pub const D_MODEL: usize = 64;
pub const LAYERS: usize = 3;
pub const BEAM: usize = 4;
pub const ALPHA: f32 = 0.6;
/// The sentence of the cross-attention figure (the text's example, not held out).
pub const ALIGNED: &str = "march the twenty third two thousand and four";
/// The encoder layer (0 = first) and head of the self-attention figure; the run report
/// lists every head of that layer. Head 3 is the one whose rows do not mostly pick "the".
pub const SELF_ATTENTION_LAYER: usize = 0;
pub const SELF_ATTENTION_HEAD: usize = 3;

/// The files a run writes into its output folder.
pub const FILES: [&str; 4] = [
    "loss.svg",
    "alignment.svg",
    "encoder-self-attention.svg",
    "translate-run.txt",
];

/// What a run leaves behind besides its files.
pub struct Run {
    pub model: Transformer,
    pub task: Task,
    /// translate-run.txt's text.
    pub report: String,
    pub files: Vec<PathBuf>,
}

/// Trains the example's model with `steps` and `seed`, evaluates it on the held-out
/// sentences, and writes [`FILES`] into `out`. `on_step` sees every training step.
pub fn train_and_report(
    out: &Path,
    steps: usize,
    seed: u64,
    on_step: impl FnMut(usize, &StepStats),
) -> Result<Run, Box<dyn Error>> {
    let task = Task::default();
    let cfg = TrainConfig {
        steps,
        seed,
        ..TrainConfig::full()
    };
    let model_cfg = model_config(&task, D_MODEL, LAYERS);
    let first = first_step_breakdown(&task, model_cfg, &cfg);
    let start = Instant::now();
    let (mut model, log) = train(&task, model_cfg, &cfg, on_step);
    let seconds = start.elapsed().as_secs_f64();

    let eval = evaluate(&mut model, &log.heldout, BEAM, ALPHA);
    std::fs::create_dir_all(out)?;
    let files: Vec<PathBuf> = FILES.iter().map(|f| out.join(f)).collect();
    write_loss_chart(&files[0], &log.losses, &cfg, task.tgt_vocab.len())?;
    let aligned = write_alignment(&files[1], &mut model, &task)?;
    let attended = write_self_attention(&files[2], &mut model, &task, &log.heldout[0])?;

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
    let peak = crate::optim::noam_lr(cfg.warmup, D_MODEL, cfg.warmup, cfg.lr_scale);
    writeln!(
        r,
        "training: {} steps, batches of at most {} padded tokens, \
         Adam (0.9, 0.98, 1e-9), Noam warmup {} (peak lr {}), clip {}, label smoothing {}, seed {}",
        cfg.steps,
        cfg.max_tokens,
        cfg.warmup,
        round(peak, 4),
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
    writeln!(r, "{first}")?;
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
    let disagree = (eval.greedy.iter().zip(&eval.beam))
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
    let wrong: Vec<_> = (log.heldout.iter().zip(&eval.greedy))
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
    writeln!(r, "\n{attended}")?;
    std::fs::write(&files[3], &r)?;
    Ok(Run {
        model,
        task,
        report: r,
        files,
    })
}

/// The lines of a report that do not depend on the machine: every line but the wall
/// time, with the seconds of the evaluation lines cut off.
pub fn deterministic_lines(report: &str) -> Vec<&str> {
    report
        .lines()
        .filter(|l| !l.starts_with("time: "))
        .map(|l| match l.find(" % (") {
            Some(i) if l.starts_with("exact match") => &l[..i + 2],
            _ => l,
        })
        .collect()
}

/// Chapter 1's "initial loss ≈ ln K" check on the run's first step (the same seed, model
/// and first batch as `train`, one forward pass), taken apart as Chapter 6 does.
pub fn first_step_chance(
    task: &Task,
    model_cfg: Config,
    cfg: &TrainConfig,
) -> ChanceBreakdown {
    let mut model = Transformer::new(model_cfg, &mut seeded_rng(cfg.seed));
    let mut data_rng = seeded_rng(cfg.seed.wrapping_add(1));
    let (_, stream) = task.split(cfg.n_heldout, &mut data_rng);
    let batch = Batch::new(&stream.batch(cfg.max_tokens, &mut data_rng));
    let logits = rows(&model.forward(&batch.src, &batch.tgt_in));
    let targets: Vec<Option<usize>> = (batch.tgt_out.iter())
        .map(|&y| (y != PAD).then_some(y))
        .collect();
    chance_breakdown(&logits, &targets, cfg.smoothing)
}

/// The breakdown as one line of translate-run.txt.
pub fn first_step_breakdown(task: &Task, model_cfg: Config, cfg: &TrainConfig) -> String {
    let b = first_step_chance(task, model_cfg, cfg);
    format!(
        "first loss = ln {} ({}) + spread {} + gap {} = {}; logits' std across the \
         vocabulary σ = {}, σ²/2 = {}",
        task.tgt_vocab.len(),
        round(b.ln_k, 3),
        round(b.spread, 3),
        round(b.gap, 3),
        round(b.loss, 3),
        round(b.sigma, 3),
        round(b.sigma * b.sigma / 2.0, 3)
    )
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
    let points = (losses.iter().enumerate())
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
    model: &mut Transformer,
    task: &Task,
) -> Result<String, Box<dyn Error>> {
    let date = Date {
        year: 2004,
        month: 3,
        day: 23,
    };
    let ex = task.example(date, Style::MonthFirst);
    assert_eq!(task.src_vocab.decode(&ex.src, " "), ALIGNED);
    let src = Array2::from_shape_vec((1, ex.src.len()), ex.src.clone())?;
    let out = greedy(model, &src, BOS, EOS, model.cfg.max_len).remove(0);
    let map = cross_attention_map(model, &ex.src, &out);
    let words: Vec<&str> = ALIGNED.split(' ').collect();
    let mut outputs: Vec<String> = (out.iter())
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

/// The trained encoder's self-attention on one held-out sentence: head
/// [`SELF_ATTENTION_HEAD`] of layer [`SELF_ATTENTION_LAYER`] as a heat map, each row a
/// query word, each column a key word; and, for translate-run.txt, the word each row of
/// every head of that layer gives the most weight.
fn write_self_attention(
    path: &Path,
    model: &mut Transformer,
    task: &Task,
    ex: &Example,
) -> Result<String, Box<dyn Error>> {
    let src = Array2::from_shape_vec((1, ex.src.len()), ex.src.clone())?;
    model.encode(&src);
    let block = &model.encoder.blocks[SELF_ATTENTION_LAYER];
    let p = block.attn.weights().expect("cached by encode"); // [1, h, S, S]
    let h = p.dim().1;
    let words: Vec<String> = (ex.src.iter())
        .map(|&id| task.src_vocab.word(id).to_owned())
        .collect();
    let heat = HeatMap {
        title: format!(
            "encoder layer {}, head {}: self-attention weights",
            SELF_ATTENTION_LAYER + 1,
            SELF_ATTENTION_HEAD
        ),
        x_label: "key word".into(),
        y_label: "query word".into(),
        data: p.slice(s![0, SELF_ATTENTION_HEAD, .., ..]).to_owned(),
        diverging: false,
    };
    write_labelled_heatmap(path, &heat, &words, &words)?;
    let mut table = format!(
        "encoder-self-attention.svg: \"{}\" (held out), encoder layer {}, head {}\n\
         the key word each query word gives the most weight, in every head of the layer \
         (and that weight)\n{:<10}",
        words.join(" "),
        SELF_ATTENTION_LAYER + 1,
        SELF_ATTENTION_HEAD,
        "query"
    );
    for head in 0..h {
        write!(table, "{:>18}", format!("head {head}"))?;
    }
    for (i, w) in words.iter().enumerate() {
        write!(table, "\n{w:<10}")?;
        for head in 0..h {
            let row = p.slice(s![0, head, i, ..]);
            let j = ch01_foundations::probability::argmax(row.iter().copied());
            write!(
                table,
                "{:>18}",
                format!("{} {}", words[j], round(row[j], 2))
            )?;
        }
    }
    Ok(table)
}
