//! Whisper's log-mel spectrogram of a WAV file, drawn, and the book's features against
//! openai-whisper's on every committed clip:
//!
//!   cargo run --release -p ch10-encoder-decoder --example log_mel -- \
//!       listings/ch10-encoder-decoder/tests/audio/question.wav --out src/figures/ch10
//!
//! writes `log-mel.svg` (the spectrogram of the file) and `log-mel-parity.txt` (the
//! largest difference from tools/golden's openai-whisper fixtures over all 3000 frames of
//! each clip, and from the mel_filters.npz in the models cache), which the text quotes
//! and tests/measured.rs checks.

use std::error::Error;
use std::fmt::Write as _;
use std::fs::File;
use std::path::{Path, PathBuf};

use ch10_encoder_decoder::audio::{
    HOP_LENGTH, N_FFT, N_FRAMES, N_MELS, SAMPLE_RATE, log_mel_spectrogram, mel_filters,
    read_wav,
};
use ndarray::{Array2, s};
use ndarray_npy::NpzReader;
use plotters::prelude::*;

fn main() -> Result<(), Box<dyn Error>> {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args().skip(1);
    let (mut wav, mut out) = (
        crate_dir.join("tests/audio/question.wav"),
        PathBuf::from("src/figures/ch10"),
    );
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().ok_or("--out needs a directory")?.into(),
            _ => wav = a.into(),
        }
    }
    std::fs::create_dir_all(&out)?;
    let x = read_wav(&wav)?;
    let mel = log_mel_spectrogram(&x)?;
    let name = wav.file_name().and_then(|n| n.to_str()).unwrap_or("audio");
    let svg = out.join("log-mel.svg");
    draw(&svg, &mel, x.len(), name)?;
    println!("wrote {}", svg.display());
    let txt = out.join("log-mel-parity.txt");
    std::fs::write(&txt, parity(crate_dir)?)?;
    println!("wrote {}", txt.display());
    Ok(())
}

fn npz(path: &Path, name: &str) -> Result<Array2<f32>, Box<dyn Error>> {
    let mut z = NpzReader::new(
        File::open(path).map_err(|e| format!("{}: {e}", path.display()))?,
    )?;
    Ok(z.by_name(name)?)
}

fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

/// The report: one row a clip, then the filters.
fn parity(crate_dir: &Path) -> Result<String, Box<dyn Error>> {
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        crate_dir.join("tests/golden/ch10_log_mel.json"),
    )?)?;
    let mut r = String::new();
    writeln!(
        r,
        "Whisper's log-mel spectrogram ({N_MELS} mel bands x {N_FRAMES} frames): the book's"
    )?;
    writeln!(
        r,
        "against openai-whisper {}'s log_mel_spectrogram, on the espeak-ng clips",
        doc["openai_whisper"].as_str().unwrap_or("?")
    )?;
    writeln!(r)?;
    writeln!(
        r,
        "clip          | seconds | audio frames | max |ours - openai-whisper|, all 3000 frames"
    )?;
    let mut worst = 0.0f32;
    for clip in doc["clips"].as_array().ok_or("no clips")? {
        let (file, name) = (
            clip["file"].as_str().ok_or("file")?,
            clip["name"].as_str().ok_or("name")?,
        );
        let frames = clip["audio_frames"].as_u64().ok_or("audio_frames")? as usize;
        let mut want = Array2::from_elem(
            (N_MELS, N_FRAMES),
            clip["padded_value"].as_f64().ok_or("padded_value")? as f32,
        );
        let stored = npz(
            &crate_dir.join(format!("tests/golden/ch10_log_mel_{name}.npz")),
            "log_mel",
        )?;
        want.slice_mut(s![.., ..frames]).assign(&stored);
        let x = read_wav(crate_dir.join("tests/audio").join(file))?;
        let err = max_abs_diff(&log_mel_spectrogram(&x)?, &want);
        worst = worst.max(err);
        let seconds = x.len() as f64 / f64::from(SAMPLE_RATE);
        writeln!(r, "{file:<13} | {seconds:>7.2} | {frames:>12} | {err:.1e}")?;
    }
    writeln!(r)?;
    writeln!(r, "every clip: max |ours - openai-whisper| = {worst:.1e}")?;
    let dir = models::OPENAI_WHISPER_ASSETS.dir()?;
    let want = npz(&dir.join("mel_filters.npz"), "mel_80")?;
    let ours = mel_filters(SAMPLE_RATE, N_FFT, N_MELS);
    let same = ours.iter().zip(&want).filter(|(a, b)| a == b).count();
    writeln!(
        r,
        "mel filters [{N_MELS}, {}] against mel_filters.npz: max |Δ| = {:.1e}, {same} of {} entries bit-identical",
        N_FFT / 2 + 1,
        max_abs_diff(&ours, &want),
        ours.len()
    )?;
    Ok(r)
}

/// Viridis, five stops: dark for quiet, yellow for loud.
const STOPS: [(u8, u8, u8); 5] = [
    (68, 1, 84),
    (59, 82, 139),
    (33, 145, 140),
    (94, 201, 98),
    (253, 231, 37),
];
/// Colours the cells snap to: fewer levels, longer runs of one colour, a smaller SVG.
const LEVELS: usize = 16;
/// Frames averaged into one drawn column.
const POOL: usize = 2;

fn colour(level: usize) -> RGBColor {
    let x = level as f64 / (LEVELS - 1) as f64 * (STOPS.len() - 1) as f64;
    let (i, t) = ((x as usize).min(STOPS.len() - 2), x.fract());
    let (i, t) = if x >= (STOPS.len() - 1) as f64 {
        (STOPS.len() - 2, 1.0)
    } else {
        (i, t)
    };
    let mix =
        |a: u8, b: u8| (f64::from(a) + t * (f64::from(b) - f64::from(a))).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

/// The spectrogram of the audio and half a second of the padding after it: time across,
/// mel band up, each run of frames of one colour level drawn as one rectangle.
fn draw(
    path: &Path,
    mel: &Array2<f32>,
    samples: usize,
    name: &str,
) -> Result<(), Box<dyn Error>> {
    let frame_s = HOP_LENGTH as f64 / f64::from(SAMPLE_RATE);
    let col_s = POOL as f64 * frame_s;
    let shown = (samples / HOP_LENGTH + 50).min(N_FRAMES);
    let (lo, hi) = mel
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let level = |v: f32| {
        (((v - lo) / (hi - lo).max(1e-6)) * (LEVELS - 1) as f32).round() as usize
    };
    let root = SVGBackend::new(path, (760, 360)).into_drawing_area();
    root.fill(&WHITE)?;
    let (main, bar) = root.split_horizontally(680);
    let mut ctx = ChartBuilder::on(&main)
        .caption(
            format!("Log-mel spectrogram of {name} (espeak-ng)"),
            ("sans-serif", 18),
        )
        .margin(10)
        .x_label_area_size(36)
        .y_label_area_size(44)
        .build_cartesian_2d(0.0..(shown / POOL) as f64 * col_s, 0.0..N_MELS as f64)?;
    ctx.configure_mesh()
        .disable_mesh()
        .x_desc("time (s); 30 s of zero padding follow")
        .y_desc("mel band")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .draw()?;
    // Painted in layers, quietest first: the whole area in level 0's colour, then for
    // each level l the cells at level l or louder, as runs along time that grow upward
    // while the band above has the same run. Louder layers cover quieter ones, and a
    // layer's runs are long because it includes everything louder: far fewer rectangles
    // than one a cell, for the same picture.
    // Two frames (20 ms) a column, averaged: half the rectangles, a file a browser loads
    // quickly, and still finer than a phoneme.
    let shown = shown / POOL;
    let levels = Array2::from_shape_fn((N_MELS, shown), |(b, c)| {
        level(
            mel.slice(s![b, c * POOL..(c + 1) * POOL])
                .mean()
                .unwrap_or(lo),
        )
    }); // [80, shown]
    let mut cells = Vec::new();
    for l in 0..LEVELS {
        let mut open: Vec<(usize, usize, usize)> = Vec::new(); // (t0, t1, band0)
        for band in 0..=N_MELS {
            let mut runs = Vec::new();
            let mut t = 0;
            while band < N_MELS && t < shown {
                if levels[[band, t]] >= l {
                    let end =
                        (t..shown).find(|&u| levels[[band, u]] < l).unwrap_or(shown);
                    runs.push((t, end));
                    t = end;
                } else {
                    t += 1;
                }
            }
            let mut next = Vec::new();
            for (t0, t1, b0) in open.drain(..) {
                if runs.contains(&(t0, t1)) {
                    next.push((t0, t1, b0));
                } else {
                    let (x0, x1) = (t0 as f64 * col_s, t1 as f64 * col_s);
                    cells.push(Rectangle::new(
                        [(x0, b0 as f64), (x1, band as f64)],
                        colour(l).filled(),
                    ));
                }
            }
            for (t0, t1) in runs {
                if !next.iter().any(|r| (r.0, r.1) == (t0, t1)) {
                    next.push((t0, t1, band));
                }
            }
            open = next;
        }
    }
    ctx.draw_series(cells)?;
    let audio_end = samples as f64 / f64::from(SAMPLE_RATE);
    ctx.draw_series(DashedLineSeries::new(
        [(audio_end, 0.0), (audio_end, N_MELS as f64)],
        5,
        4,
        WHITE.stroke_width(1),
    ))?;
    let mut legend = ChartBuilder::on(&bar)
        .margin_top(38)
        .margin_bottom(46)
        .y_label_area_size(40)
        .build_cartesian_2d(0.0..1.0, f64::from(lo)..f64::from(hi))?;
    legend
        .configure_mesh()
        .disable_mesh()
        .disable_x_axis()
        .y_label_style(("sans-serif", 12))
        // Rounded, -0.04 would print as "-0.0".
        .y_label_formatter(&|v| format!("{:.1}", if v.abs() < 0.05 { 0.0 } else { *v }))
        .draw()?;
    let step = f64::from(hi - lo) / LEVELS as f64;
    legend.draw_series((0..LEVELS).map(|l| {
        let y0 = f64::from(lo) + l as f64 * step;
        Rectangle::new([(0.0, y0), (1.0, y0 + step)], colour(l).filled())
    }))?;
    root.present()?;
    Ok(())
}
