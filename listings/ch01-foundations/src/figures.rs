//! The chapter's figures, generated from the chapter's own code (`cargo xtask figures`,
//! or `cargo run -p ch01-foundations --example ch01_figures -- DIR`).

use std::error::Error;
use std::path::{Path, PathBuf};

use ndarray::Axis;

use crate::calculus::central_difference;
use crate::plot::{Draw, LineChart, Series, draw_all, write_line_chart};
use crate::softmax::{naive_softmax, softmax};

/// The logits every temperature figure uses.
pub const LOGITS: [f32; 6] = [3.0, 2.0, 1.5, 1.0, 0.0, -1.0];

/// Softmax(z / T) for several temperatures T: low T sharpens toward the argmax, high T
/// flattens toward uniform.
pub fn softmax_temperatures(path: &Path) -> Result<(), Box<dyn Error>> {
    let mut chart = LineChart::new(
        "softmax(z / T) at several temperatures",
        "token index i",
        "probability p_i",
    );
    chart.points = true;
    for t in [0.25f32, 0.5, 1.0, 2.0, 5.0] {
        let z = ndarray::Array1::from(LOGITS.to_vec()) / t;
        let p = softmax(&z, Axis(0));
        let points = p
            .iter()
            .enumerate()
            .map(|(i, &v)| (i as f64, v as f64))
            .collect();
        chart.series.push(Series::new(format!("T = {t}"), points));
    }
    write_line_chart(path, &chart)
}

/// p_0 of softmax([s, s/2, 0]) as the scale s grows: the naive formula overflows to NaN
/// once s passes ln(f32::MAX) ≈ 88.72, the stable one never does.
pub fn naive_vs_stable(path: &Path) -> Result<(), Box<dyn Error>> {
    let scales: Vec<f64> = (0..=240).map(|i| i as f64 * 0.5).collect();
    let p0 = |f: &dyn Fn(&[f32]) -> Vec<f32>| -> Vec<(f64, f64)> {
        scales
            .iter()
            .map(|&s| (s, f(&[s as f32, s as f32 / 2.0, 0.0])[0] as f64))
            .collect()
    };
    let stable =
        |z: &[f32]| softmax(&ndarray::Array1::from(z.to_vec()), Axis(0)).to_vec();
    let mut chart =
        LineChart::new("p_0 of softmax([s, s/2, 0]) in f32", "logit scale s", "p_0");
    chart
        .series
        .push(Series::new("stable: exp(z - max z)", p0(&stable)));
    chart.series.push(Series::new(
        "naive: exp(z) / Σ exp(z)  (NaN: not drawn)",
        p0(&naive_softmax),
    ));
    chart
        .markers
        .push((f64::from(f32::MAX.ln()), "ln(f32::MAX) ≈ 88.72".into()));
    write_line_chart(path, &chart)
}

/// Error of the central difference of sin(x²) at x = 1 against the step h, in f32 and
/// f64: truncation error falls as h², rounding error rises as ε/h, so each precision has
/// a best h, and f32's is far larger than f64's.
pub fn finite_difference_error(path: &Path) -> Result<(), Box<dyn Error>> {
    let exact = 2.0 * 1.0f64.cos(); // d/dx sin(x²) = 2x cos(x²) at x = 1
    let hs: Vec<f64> = (0..=56)
        .map(|i| 10f64.powf(-12.0 + i as f64 * 0.2))
        .collect();
    let f64_err = hs
        .iter()
        .map(|&h| {
            (
                h.log10(),
                (central_difference(|x| (x * x).sin(), 1.0, h) - exact)
                    .abs()
                    .max(1e-17)
                    .log10(),
            )
        })
        .collect();
    let f32_err = hs
        .iter()
        .map(|&h| {
            let (x, h32) = (1.0f32, h as f32);
            let d = (((x + h32) * (x + h32)).sin() - ((x - h32) * (x - h32)).sin())
                / (2.0 * h32);
            let err = (d as f64 - exact).abs();
            (
                h.log10(),
                if h32 > 0.0 && err.is_finite() {
                    err.max(1e-17).log10()
                } else {
                    f64::NAN
                },
            )
        })
        .collect();
    let mut chart = LineChart::new(
        "central-difference error for d/dx sin(x²) at x = 1",
        "log10 h",
        "log10 |error|",
    );
    chart.series.push(Series::new("f32", f32_err));
    chart.series.push(Series::new("f64", f64_err));
    write_line_chart(path, &chart)
}

/// Writes every figure of the chapter into `dir`, returning the paths written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    let figures: [(&str, Draw); 3] = [
        ("softmax-temperature.svg", softmax_temperatures),
        ("naive-vs-stable-softmax.svg", naive_vs_stable),
        ("finite-difference-error.svg", finite_difference_error),
    ];
    draw_all(dir, &figures)
}

/// Draws figures with `draw` into a fresh temporary directory and checks that each is
/// byte-identical to the committed copy in `<book_root>/src/figures/<chapter>/`; returns
/// how many were checked. Panics naming a missing or stale file. Every chapter's figure
/// test calls this, so a figure edited by hand, or code changed without regenerating its
/// figures (`cargo xtask figures`), fails CI.
pub fn assert_up_to_date(
    book_root: &Path,
    chapter: &str,
    draw: impl FnOnce(&Path) -> Result<Vec<PathBuf>, Box<dyn Error>>,
) -> usize {
    static RUN: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUN.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let fresh = std::env::temp_dir()
        .join(format!("figures-{chapter}-{}-{run}", std::process::id()));
    let written =
        draw(&fresh).unwrap_or_else(|e| panic!("drawing {chapter}'s figures: {e}"));
    let committed = book_root.join("src/figures").join(chapter);
    for path in &written {
        let name = path.file_name().expect("a figure file").to_string_lossy();
        let want = std::fs::read(committed.join(&*name)).unwrap_or_else(|e| {
            panic!(
                "src/figures/{chapter}/{name} is missing ({e}): run `cargo xtask figures`"
            )
        });
        let got = std::fs::read(path).expect("the figure just drawn");
        assert!(
            got == want,
            "src/figures/{chapter}/{name} is stale: run `cargo xtask figures`"
        );
    }
    std::fs::remove_dir_all(&fresh).expect("removing the temporary figures");
    written.len()
}
