//! The chapter's figures, generated from the chapter's own code (`cargo xtask figures`,
//! or `cargo run --release -p ch05-encoder --example ch05_figures -- DIR`).

use std::error::Error;
use std::path::{Path, PathBuf};

use ch01_foundations::plot::{
    Draw, HeatMap, LineChart, Series, draw_all, write_heatmap, write_line_chart,
};

use crate::block::Wiring;
use crate::depth::{SETUP, STEPS, TRAIN_DEPTHS, WIRINGS, results};
use crate::report::{BIDI_LEN, influence};

fn grad_chart(path: &Path, wiring: Wiring, name: &str) -> Result<(), Box<dyn Error>> {
    let title = format!("{name}: ‖∂L/∂θ‖ of each block at initialisation");
    let mut chart =
        LineChart::new(&title, "block l (1 = next to the embeddings)", "‖∂L/∂θ_l‖");
    chart.points = true;
    for (w, depth, norms) in &results().grads {
        if *w == wiring {
            let points = norms
                .iter()
                .enumerate()
                .map(|(l, &n)| ((l + 1) as f64, n as f64))
                .collect();
            chart
                .series
                .push(Series::new(format!("{depth} blocks"), points));
        }
    }
    write_line_chart(path, &chart)
}

/// Per-block gradient norms of Post-LN stacks of 2, 6, 12 and 24 blocks.
pub fn grad_norms_post(path: &Path) -> Result<(), Box<dyn Error>> {
    grad_chart(path, Wiring::PostLn, "Post-LN")
}

/// The same for Pre-LN stacks.
pub fn grad_norms_pre(path: &Path) -> Result<(), Box<dyn Error>> {
    grad_chart(path, Wiring::PreLn, "Pre-LN")
}

/// Training loss, smoothed over 20 steps, of both wirings at two depths, one lr.
pub fn loss_curves(path: &Path) -> Result<(), Box<dyn Error>> {
    let title = format!(
        "histogram task, SGD lr {}: loss (mean of 20 steps)",
        SETUP.lr
    );
    let mut chart = LineChart::new(&title, "step", "cross-entropy");
    for (name, wiring) in WIRINGS {
        for depth in TRAIN_DEPTHS {
            let losses = results().run(wiring, depth, SETUP.lr);
            let points = (20..=STEPS)
                .step_by(5)
                .map(|s| (s as f64, crate::depth::mean(losses, s - 20, s) as f64))
                .collect();
            chart
                .series
                .push(Series::new(format!("{name}, {depth} blocks"), points));
        }
    }
    write_line_chart(path, &chart)
}

/// How far each output moves when one input token changes: bidirectional, with the
/// padded positions' rows greyed out.
pub fn bidirectional(path: &Path) -> Result<(), Box<dyn Error>> {
    let mut data = influence();
    let t = data.nrows();
    for i in BIDI_LEN..t {
        data.row_mut(i).fill(f32::NAN);
    }
    let map = HeatMap {
        title: format!(
            "‖Δy_i‖ when token j changes ({BIDI_LEN} tokens + {} padding)",
            t - BIDI_LEN
        ),
        x_label: "changed token j".into(),
        y_label: "output position i".into(),
        data,
        diverging: false,
    };
    write_heatmap(path, &map)
}

/// Writes every figure of the chapter into `dir`, returning the paths written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    let figures: [(&str, Draw); 4] = [
        ("bidirectional.svg", bidirectional),
        ("grad-norms-post.svg", grad_norms_post),
        ("grad-norms-pre.svg", grad_norms_pre),
        ("loss-curves.svg", loss_curves),
    ];
    draw_all(dir, &figures)
}
