//! Whisper's features against openai-whisper: the mel filters against the
//! `mel_filters.npz` it ships (from the models cache), and the log-mel spectrogram of
//! every committed clip against `log_mel_spectrogram` (tests/golden/ch10_log_mel_*.npz,
//! written by tools/golden/ch10_log_mel.py), over all 3000 frames.

use std::fs::File;
use std::path::{Path, PathBuf};

use ch10_encoder_decoder::audio::{
    AudioError, N_FFT, N_FRAMES, N_MELS, N_SAMPLES, SAMPLE_RATE, log_mel_spectrogram,
    mel_filters, read_wav,
};
use ndarray::{Array2, s};
use ndarray_npy::NpzReader;

fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn npz(path: &Path, name: &str) -> Array2<f32> {
    let file = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    NpzReader::new(file)
        .and_then(|mut z| z.by_name(name))
        .unwrap_or_else(|e| panic!("{}: {name}: {e}", path.display()))
}

/// openai-whisper's mel filters; without the models cache, one line naming
/// `cargo xtask models`.
fn whisper_filters() -> Array2<f32> {
    let dir: PathBuf = models::OPENAI_WHISPER_ASSETS
        .dir()
        .unwrap_or_else(|e| panic!("{e}"));
    npz(&dir.join("mel_filters.npz"), "mel_80")
}

/// openai-whisper's [80, 3000] log-mel of one clip: the stored frames that touch the
/// audio, then the padded value the script checked every later frame holds.
fn reference(clip: &serde_json::Value) -> Array2<f32> {
    let name = clip["name"].as_str().unwrap();
    let stored = npz(
        &crate_dir().join(format!("tests/golden/ch10_log_mel_{name}.npz")),
        "log_mel",
    );
    let frames = clip["audio_frames"].as_u64().unwrap() as usize;
    assert_eq!(stored.dim(), (N_MELS, frames), "{name}");
    let mut full = Array2::from_elem(
        (N_MELS, N_FRAMES),
        clip["padded_value"].as_f64().unwrap() as f32,
    );
    full.slice_mut(s![.., ..frames]).assign(&stored);
    full
}

fn golden_clips() -> Vec<serde_json::Value> {
    let path = crate_dir().join("tests/golden/ch10_log_mel.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["clips"].as_array().unwrap().clone()
}

fn max_abs_diff(a: &Array2<f32>, b: &Array2<f32>) -> f32 {
    assert_eq!(a.dim(), b.dim());
    a.iter().zip(b).fold(0.0, |m, (x, y)| m.max((x - y).abs()))
}

#[test]
fn mel_filters_equal_the_ones_openai_whisper_ships() {
    let want = whisper_filters();
    let ours = mel_filters(SAMPLE_RATE, N_FFT, N_MELS);
    assert_eq!(ours.dim(), (80, 201));
    // Computed in f64 and rounded to f32 the way librosa rounds: on the machine that
    // wrote the report all 16,080 entries are bit-identical. A libm whose exp or ln
    // differs in the last bit may move a few by one unit in the last place.
    let tolerance = 1e-8;
    let err = max_abs_diff(&ours, &want);
    assert!(err <= tolerance, "max |ours - mel_filters.npz| = {err:e}");
    let identical = ours.iter().zip(&want).filter(|(a, b)| a == b).count();
    assert!(
        identical >= 80 * 201 * 99 / 100,
        "{identical} of 16080 bit-identical"
    );
}

#[test]
fn log_mel_matches_openai_whisper_on_every_clip_over_all_3000_frames() {
    let clips = golden_clips();
    assert_eq!(clips.len(), 4);
    for clip in &clips {
        let file = clip["file"].as_str().unwrap();
        let x = read_wav(crate_dir().join("tests/audio").join(file)).unwrap();
        assert_eq!(x.len() as u64, clip["samples"].as_u64().unwrap(), "{file}");
        let ours = log_mel_spectrogram(&x).unwrap();
        assert_eq!(ours.dim(), (N_MELS, N_FRAMES));
        let err = max_abs_diff(&ours, &reference(clip));
        // torch computes in f32 and the book in f64: the error is torch's rounding.
        assert!(err <= 1e-4, "{file}: max |ours - openai-whisper| = {err:e}");
    }
}

#[test]
fn silence_is_flat_and_more_than_30_seconds_is_an_error() {
    // All zeros: every cell clamps to 1e-10, log10 -10, so (-10 + 4) / 4 = -1.5.
    let quiet = log_mel_spectrogram(&[0.0; 16_000]).unwrap();
    assert!(quiet.iter().all(|&v| v == -1.5));
    let full = log_mel_spectrogram(&vec![0.0; N_SAMPLES]).unwrap();
    assert_eq!(full.dim(), (N_MELS, N_FRAMES));
    let err = log_mel_spectrogram(&vec![0.0; N_SAMPLES + 1]).unwrap_err();
    assert!(
        matches!(
            err,
            AudioError::SamplesTooLong {
                samples: 480_001,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("30.00 s"), "{err}");
}

#[test]
fn the_committed_parity_report_states_what_is_measured() {
    // src/figures/ch10/log-mel-parity.txt is what `--example log_mel` wrote and the text
    // includes: each clip's error, to the digits printed, must be today's.
    let path = crate_dir().join("../../src/figures/ch10/log-mel-parity.txt");
    let report = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut worst = 0.0f32;
    for clip in golden_clips() {
        let file = clip["file"].as_str().unwrap();
        let x = read_wav(crate_dir().join("tests/audio").join(file)).unwrap();
        let err = max_abs_diff(&log_mel_spectrogram(&x).unwrap(), &reference(&clip));
        worst = worst.max(err);
        let row = report
            .lines()
            .find(|l| l.starts_with(file))
            .unwrap_or_else(|| panic!("no row for {file} in the report"));
        assert!(
            row.ends_with(&format!("| {err:.1e}")),
            "{row:?}, measured {err:.1e}"
        );
    }
    assert!(report.contains(&format!(
        "every clip: max |ours - openai-whisper| = {worst:.1e}"
    )));
    assert!(worst <= 1e-4);
    let filters = mel_filters(SAMPLE_RATE, N_FFT, N_MELS);
    let want = whisper_filters();
    let same = filters.iter().zip(&want).filter(|(a, b)| a == b).count();
    let err = max_abs_diff(&filters, &want);
    assert!(
        report.contains(&format!(
            "max |Δ| = {err:.1e}, {same} of 16080 entries bit-identical"
        )),
        "{report}"
    );
}

#[test]
fn the_floor_counts_frames_past_3000_when_the_audio_fills_30_seconds() {
    // The fixture's synthetic case: a quiet 440 Hz tone for 30 s and a loud 3 kHz burst in
    // its last 120 samples. openai-whisper's maximum (which sets the floor, max - 8) lies
    // in frame 3000 or later, past what the model reads; the script asserts that.
    let path = crate_dir().join("tests/golden/ch10_log_mel.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let edge = &doc["edge"];
    let burst = edge["burst_samples"].as_u64().unwrap() as usize;
    let x: Vec<f32> = (0..N_SAMPLES)
        .map(|i| {
            let t = i as f64 / 16_000.0;
            let tone = (0.01 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as f32;
            let loud = (0.9 * (2.0 * std::f64::consts::PI * 3_000.0 * t).sin()) as f32;
            if i >= N_SAMPLES - burst {
                tone + loud
            } else {
                tone
            }
        })
        .collect();
    let ours = log_mel_spectrogram(&x).unwrap();
    let npz_path = crate_dir().join("tests/golden/ch10_log_mel_edge.npz");
    let first = npz(&npz_path, "first");
    let last = npz(&npz_path, "last");
    let tolerance = 1e-4;
    let e_first = max_abs_diff(&ours.slice(s![.., ..10]).to_owned(), &first);
    let e_last = max_abs_diff(&ours.slice(s![.., N_FRAMES - 10..]).to_owned(), &last);
    assert!(
        e_first <= tolerance && e_last <= tolerance,
        "{e_first:e}, {e_last:e}"
    );
    let (lo, hi) = ours
        .iter()
        .fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let want_lo = edge["min"].as_f64().unwrap() as f32;
    let want_hi = edge["max"].as_f64().unwrap() as f32;
    assert!(
        (lo - want_lo).abs() <= tolerance,
        "floor {lo}, openai-whisper {want_lo}"
    );
    assert!(
        (hi - want_hi).abs() <= tolerance,
        "max {hi}, openai-whisper {want_hi}"
    );
}
