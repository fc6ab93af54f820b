//! The exercises' solutions: ROUGE-1 and ROUGE-2 against rouge-score 0.1.2 (the same
//! fixture as tests/rouge.rs, tolerance 1e-12), and the recovered LCS against the
//! length the chapter's `lcs_len` computes, on random sequences; 30-second windows of
//! long audio; the centres of Whisper's mel filters; timestamps, against CTranslate2's
//! greedy ids on every clip (tools/golden/ch10_timestamps.py).

use ch10_encoder_decoder::audio::{N_FFT, N_MELS, N_SAMPLES, SAMPLE_RATE};
use ch10_encoder_decoder::audio::{log_mel_spectrogram, mel_filters};
mod common;

use std::path::Path;

use ch10_encoder_decoder::audio::read_wav;
use ch10_encoder_decoder::exercises::{
    TIMESTAMP_BEGIN, greedy_with_timestamps, timestamp_rules,
};
use ch10_encoder_decoder::exercises::{lcs, mel_centres, rouge_n, windows};
use ch10_encoder_decoder::text_to_text::rouge::lcs_len;
use ch10_encoder_decoder::transcribe::{DecodingRules, EOT, NO_TIMESTAMPS};
use ch10_encoder_decoder::whisper::Whisper;
use ndarray::{Array1, s};
use proptest::prelude::*;

#[test]
fn rouge_1_and_2_equal_rouge_score() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/ch10_rouge.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cases = doc["cases"].as_object().unwrap();
    assert_eq!(cases.len(), 15);
    for (name, case) in cases {
        let (r, p) = (
            case["reference"].as_str().unwrap(),
            case["prediction"].as_str().unwrap(),
        );
        for (n, key) in [(1, "rouge1"), (2, "rouge2")] {
            let want: Vec<f64> = serde_json::from_value(case[key].clone()).unwrap();
            let got = rouge_n(r, p, n);
            let got = [got.precision, got.recall, got.fmeasure];
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).abs() < 1e-12, "{name} {key}: {got:?} vs {want:?}");
            }
        }
    }
}

#[test]
fn clipping_stops_repeats_from_counting_twice() {
    let s = rouge_n("the cat", "the the the the", 1);
    assert_eq!((s.precision, s.recall), (0.25, 0.5));
}

/// `sub` is a subsequence of `seq`.
fn is_subsequence(sub: &[u8], seq: &[u8]) -> bool {
    let mut it = seq.iter();
    sub.iter().all(|x| it.any(|y| y == x))
}

proptest! {
    #[test]
    fn the_lcs_is_common_and_longest(
        a in prop::collection::vec(0u8..4, 0..12),
        b in prop::collection::vec(0u8..4, 0..12),
    ) {
        let l = lcs(&a, &b);
        prop_assert!(is_subsequence(&l, &a) && is_subsequence(&l, &b), "{l:?}");
        prop_assert_eq!(l.len(), lcs_len(&a, &b));
    }
}

#[test]
fn the_lcs_of_clrs_example() {
    let l = lcs(b"ABCBDAB", b"BDCABA");
    assert_eq!(l.len(), 4);
    assert!(is_subsequence(&l, b"ABCBDAB") && is_subsequence(&l, b"BDCABA"));
}

#[test]
fn seventy_seconds_in_overlapping_windows() {
    let samples: Vec<f32> = (0..70 * SAMPLE_RATE as usize)
        .map(|i| (i as f32 * 0.01).sin() * 0.1)
        .collect();
    let hop = 25 * SAMPLE_RATE as usize; // 5 s of overlap
    let w = windows(&samples, hop);
    let starts: Vec<usize> = w
        .iter()
        .map(|x| x.as_ptr() as usize - samples.as_ptr() as usize)
        .map(|bytes| bytes / 4)
        .collect();
    assert_eq!(starts, [0, hop, 2 * hop]);
    assert!(w.iter().all(|x| x.len() <= N_SAMPLES));
    assert_eq!(
        starts[2] + w[2].len(),
        samples.len(),
        "the last ends at the end"
    );
    // Any 5-second stretch lies whole inside one window.
    let stretch = N_SAMPLES - hop;
    for s in (0..=samples.len() - stretch).step_by(997) {
        assert!(
            starts
                .iter()
                .zip(&w)
                .any(|(&a, x)| a <= s && s + stretch <= a + x.len()),
            "{s}"
        );
    }
    for x in &w {
        assert_eq!(log_mel_spectrogram(x).unwrap().dim(), (80, 3000));
    }
    assert!(
        log_mel_spectrogram(&samples).is_err(),
        "70 s is one call too many"
    );
}

proptest! {
    #[test]
    fn windows_tile_any_length(n in 0usize..2_000_000, hop_s in 1usize..=30) {
        let samples = vec![0.0f32; n];
        let hop = hop_s * SAMPLE_RATE as usize;
        let w = windows(&samples, hop);
        prop_assert!(w.iter().all(|x| x.len() <= N_SAMPLES));
        prop_assert_eq!((w.len() - 1) * hop + w.last().unwrap().len(), n);
        prop_assert!(w[..w.len() - 1].iter().all(|x| x.len() == N_SAMPLES));
    }
}

#[test]
fn mel_centres_are_linear_below_1_khz_and_geometric_above() {
    let c = mel_centres(SAMPLE_RATE, N_MELS);
    assert_eq!(c.len(), N_MELS);
    let (low, high): (Vec<_>, Vec<_>) = c.windows(2).partition(|p| p[1] <= 1000.0);
    let diffs: Vec<f64> = low.iter().map(|p| p[1] - p[0]).collect();
    let ratios: Vec<f64> = high
        .iter()
        .filter(|p| p[0] >= 1000.0)
        .map(|p| p[1] / p[0])
        .collect();
    assert!(
        diffs.len() > 20 && ratios.len() > 40,
        "{} {}",
        diffs.len(),
        ratios.len()
    );
    assert!(
        diffs.iter().all(|d| (d - diffs[0]).abs() < 1e-9),
        "{diffs:?}"
    );
    assert!(
        ratios.iter().all(|r| (r - ratios[0]).abs() < 1e-9),
        "{ratios:?}"
    );
    // Each filter of the bank peaks at the FFT bin nearest its centre.
    let bin_hz = f64::from(SAMPLE_RATE) / N_FFT as f64;
    let bank = mel_filters(SAMPLE_RATE, N_FFT, N_MELS);
    for (row, &centre) in bank.rows().into_iter().zip(&c) {
        let peak = (0..row.len()).fold(0, |m, k| if row[k] > row[m] { k } else { m });
        assert!(
            (peak as f64 * bin_hz - centre).abs() <= bin_hz,
            "{centre} Hz: bin {peak}"
        );
    }
    println!(
        "below 1 kHz: {:.3} Hz apart; above: x{:.5}",
        diffs[0], ratios[0]
    );
}

/// Logits over a toy vocabulary laid out as tiny.en's: text below EOT, the specials, then
/// 10 timestamps from TIMESTAMP_BEGIN.
fn toy_logits() -> Array1<f32> {
    Array1::from_shape_fn(TIMESTAMP_BEGIN as usize + 10, |i| (i % 7) as f32 * 0.1)
}

fn allowed(l: &Array1<f32>) -> Vec<usize> {
    (0..l.len()).filter(|&i| l[i] > f32::NEG_INFINITY).collect()
}

#[test]
fn timestamp_rules_follow_ctranslate2s() {
    let (tb, t) = (TIMESTAMP_BEGIN as usize, TIMESTAMP_BEGIN);
    // First step: only a timestamp, at most max_initial steps in.
    let mut l = toy_logits();
    timestamp_rules(&mut l, &[], 3);
    assert_eq!(allowed(&l), (tb..=tb + 3).collect::<Vec<_>>());
    // A pair just closed, or the opening timestamp alone: no timestamp next.
    for text in [vec![t + 2], vec![t, 11, t + 4, t + 4]] {
        let mut l = toy_logits();
        timestamp_rules(&mut l, &text, 3);
        assert!(
            allowed(&l).iter().all(|&i| i < tb)
                && l[NO_TIMESTAMPS as usize].is_infinite()
        );
    }
    // An open pair: EOT or a timestamp no earlier than the opening one (EOT's logit
    // above the timestamps' total, so that the probability rule leaves it).
    let mut l = toy_logits();
    l[EOT as usize] = 5.0;
    timestamp_rules(&mut l, &[t, 11, t + 4], 3);
    // (The specials between EOT and <|notimestamps|> are the suppress rules' to forbid.)
    let specials = EOT as usize..NO_TIMESTAMPS as usize;
    let want: Vec<usize> = specials.chain(tb + 4..tb + 10).collect();
    assert_eq!(allowed(&l), want);
    // After text: timestamps only later than the last one.
    let mut l = toy_logits();
    timestamp_rules(&mut l, &[t, 11, 12], 3);
    assert!(
        !allowed(&l).contains(&tb),
        "no timestamp at or before <|0.00|> again"
    );
    assert!(l[tb + 1] > f32::NEG_INFINITY);
    // Timestamps that together outweigh every text token force a timestamp.
    let mut l = toy_logits();
    l.slice_mut(s![tb..]).fill(0.55); // each below the best text logit (0.6), the sum above
    timestamp_rules(&mut l, &[t, 11], 3);
    assert!(allowed(&l).iter().all(|&i| i >= tb), "{:?}", allowed(&l));
}

#[test]
fn greedy_with_timestamps_matches_ctranslate2_on_every_clip() {
    let dir = common::whisper_dir();
    let mut model = Whisper::from_ct2(common::whisper_bin()).unwrap();
    let rules = DecodingRules::from_config(&dir.join("config.json")).unwrap();
    let cases = common::fixture("ch10_timestamps.json");
    let cases = cases.as_object().unwrap();
    assert_eq!(cases.len(), 4);
    let audio = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/audio");
    for (file, case) in cases {
        let mel = log_mel_spectrogram(&read_wav(audio.join(file)).unwrap()).unwrap();
        let m = model.encode(&mel).unwrap();
        let ids = greedy_with_timestamps(&mut model, &m, &rules).unwrap();
        let want: Vec<u32> = case["ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(ids, want, "{file} (smallest margin {})", case["min_margin"]);
        assert!(
            is_time(ids[0]) && is_time(*ids.last().unwrap()),
            "{file}: {ids:?}"
        );
    }
}

fn is_time(t: u32) -> bool {
    t >= TIMESTAMP_BEGIN
}
