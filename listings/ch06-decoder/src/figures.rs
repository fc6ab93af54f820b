//! The chapter's figures, generated from the chapter's own code (`cargo xtask figures`,
//! or `cargo run --release -p ch06-decoder --example ch06_figures -- DIR`).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::plot::{
    Draw, HeatMap, LineChart, Series, draw_all, write_labelled_heatmap, write_line_chart,
};
use ndarray::{Array2, s};

use crate::data::letters;
use crate::report::causality_experiment;
use crate::train::{TRAIN, train};

/// What the figures need from the chapter's training run, computed once.
struct Trained {
    losses: Vec<f32>,
    /// Per layer: [T, h·(T + 1) - 1], the heads side by side, NaN (grey) between them.
    attention: Vec<Array2<f32>>,
    tokens: String,
}

fn trained() -> &'static Trained {
    static RUN: OnceLock<Trained> = OnceLock::new();
    RUN.get_or_init(|| {
        let mut run = train(&TRAIN);
        let key = TRAIN.pattern.key(true, &mut seeded_rng(7));
        let seq = TRAIN.pattern.continue_key(&key);
        let ids = Array2::from_shape_vec((1, seq.len()), seq.clone()).expect("[1, T]");
        run.model.forward(&ids, None);
        let t = seq.len();
        let attention = (run.model.blocks.iter())
            .map(|b| {
                let p = b.block.attn.weights().expect("after forward");
                let h = p.dim().1;
                let mut m = Array2::from_elem((t, h * (t + 1) - 1), f32::NAN);
                for head in 0..h {
                    let cols = head * (t + 1)..head * (t + 1) + t;
                    m.slice_mut(s![.., cols])
                        .assign(&p.slice(s![0, head, .., ..]));
                }
                m
            })
            .collect();
        Trained {
            losses: run.losses,
            attention,
            tokens: letters(&seq),
        }
    })
}

/// The training loss of the chapter's run, step by step.
pub fn training_loss(path: &Path) -> Result<(), Box<dyn Error>> {
    let mut chart = LineChart::new(
        "Training loss of the tiny decoder-only LM (SGD, lr 0.2, batch 32)",
        "step",
        "cross-entropy (nats)",
    );
    let points = (trained().losses.iter().enumerate())
        .map(|(i, &l)| (i as f64, l as f64))
        .collect();
    chart.series.push(Series::new("loss on the batch", points));
    let chance = (TRAIN.model.vocab as f64).ln();
    let flat = vec![(0.0, chance), (TRAIN.steps as f64, chance)];
    chart.series.push(Series::new("chance, ln 12", flat));
    write_line_chart(path, &chart)
}

fn attention(path: &Path, layer: usize) -> Result<(), Box<dyn Error>> {
    let run = trained();
    let map = HeatMap {
        title: format!(
            "Trained model, layer {layer}: head 0 | head 1 on \"{}\"",
            run.tokens
        ),
        x_label: "key token (head 0, then head 1)".into(),
        y_label: "query token".into(),
        data: run.attention[layer].clone(),
        diverging: false,
    };
    let tokens: Vec<String> = run.tokens.chars().map(String::from).collect();
    let heads = map.data.ncols().div_ceil(tokens.len() + 1);
    let mut keys = Vec::new();
    for head in 0..heads {
        if head > 0 {
            keys.push(String::new()); // the grey separator column
        }
        keys.extend(tokens.iter().cloned());
    }
    write_labelled_heatmap(path, &map, &keys, &tokens)
}

/// Layer 0's attention weights on a held-out sequence.
pub fn attention_layer0(path: &Path) -> Result<(), Box<dyn Error>> {
    attention(path, 0)
}

/// Layer 1's.
pub fn attention_layer1(path: &Path) -> Result<(), Box<dyn Error>> {
    attention(path, 1)
}

/// How much each output moves when tokens 5, 6, 7 change, encoder against decoder.
pub fn causality(path: &Path) -> Result<(), Box<dyn Error>> {
    let (enc, dec) = causality_experiment();
    let mut chart = LineChart::new(
        "Tokens 5, 6, 7 replaced: change of each output, same weights",
        "position t",
        "max |Δy_t|",
    );
    chart.points = true;
    for (label, v) in [("encoder block", enc), ("decoder block (causal)", dec)] {
        let points = v
            .iter()
            .enumerate()
            .map(|(t, &d)| (t as f64, d as f64))
            .collect();
        chart.series.push(Series::new(label, points));
    }
    chart.markers.push((4.5, "first changed token".into()));
    write_line_chart(path, &chart)
}

/// Writes every figure of the chapter into `dir`, returning the paths written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    let figures: [(&str, Draw); 4] = [
        ("training-loss.svg", training_loss),
        ("attention-layer0.svg", attention_layer0),
        ("attention-layer1.svg", attention_layer1),
        ("causality.svg", causality),
    ];
    draw_all(dir, &figures)
}
