//! The chapter's deterministic figures (`cargo xtask figures` writes them; a test checks
//! the committed ones are current). The measured cost figure is written by
//! `examples/cost.rs` instead, because timings are not deterministic.

use std::error::Error;
use std::path::{Path, PathBuf};

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::plot::{
    HeatMap, LineChart, Series, write_heatmap, write_line_chart,
};
use ch01_foundations::softmax::softmax;
use ch02_input::wordpiece::WordPiece;
use ndarray::{Array1, Array2, Array3, Axis, s};

use crate::mask::{Mask, causal_mask, dense};
use crate::mha::MultiHeadAttention;

/// How peaked softmax(q·K) is for random q, k with unit-variance entries.
#[derive(Clone, Copy, Debug)]
pub struct Saturation {
    /// Sample variance of q·k: d_k in theory.
    pub var_dot: f32,
    /// Mean over trials of the largest attention weight, without and with 1/√d_k.
    pub max_unscaled: f32,
    pub max_scaled: f32,
    /// Mean entropy of the weights divided by ln T (1 = uniform, 0 = one-hot).
    pub entropy_unscaled: f32,
    pub entropy_scaled: f32,
}

// ANCHOR: saturation
/// Draws `trials` queries and T keys with N(0, 1) entries and measures how peaked the
/// attention weights are with and without the 1/√d_k scale.
pub fn saturation(d_k: usize, t: usize, trials: usize, seed: u64) -> Saturation {
    let mut rng = seeded_rng(seed);
    let (mut dots, mut acc) = (Vec::new(), [0.0f32; 4]);
    for _ in 0..trials {
        let q: Array1<f32> = normal(d_k, 1.0, &mut rng);
        let k: Array2<f32> = normal((t, d_k), 1.0, &mut rng);
        let s = k.dot(&q); // [T] scores q·k_j, variance d_k
        dots.extend(s.iter().copied());
        let scale = 1.0 / (d_k as f32).sqrt();
        for (n, z) in [s.clone(), s * scale].into_iter().enumerate() {
            let p = softmax(&z, Axis(0));
            let entropy: f32 = p.iter().filter(|&&p| p > 0.0).map(|&p| -p * p.ln()).sum();
            acc[n] += p.fold(0.0f32, |m, &v| m.max(v));
            acc[2 + n] += entropy / (t as f32).ln();
        }
    }
    let n = trials as f32;
    let mean = dots.iter().sum::<f32>() / dots.len() as f32;
    let var_dot =
        dots.iter().map(|d| (d - mean).powi(2)).sum::<f32>() / dots.len() as f32;
    Saturation {
        var_dot,
        max_unscaled: acc[0] / n,
        max_scaled: acc[1] / n,
        entropy_unscaled: acc[2] / n,
        entropy_scaled: acc[3] / n,
    }
}
// ANCHOR_END: saturation

/// The d_k values the scaling figure and table use.
pub const D_KS: [usize; 8] = [2, 4, 8, 16, 32, 64, 128, 256];
/// Keys per query in the scaling study.
pub const SATURATION_T: usize = 64;

/// The sentence the heat maps use.
pub const SENTENCE: &str = "The cat sat on the mat because the mat was warm.";

/// The sentence as BERT WordPiece tokens (Chapter 2, the real bert-base-uncased vocab),
/// with [CLS] and [SEP].
pub fn sentence_tokens() -> Result<Vec<String>, Box<dyn Error>> {
    let vocab = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../ch02-input/tests/golden/bert-uncased-vocab.txt");
    let wp = WordPiece::load(&vocab)?;
    let ids = wp.encode(SENTENCE);
    Ok(wp.tokens(&ids)?.into_iter().map(str::to_owned).collect())
}

// ANCHOR: previous_token_head
/// A one-head causal attention layer with hand-set weights that attends to the
/// previous token. Its input is the one-hot position e_t (width C ≥ T). W_q = β·I makes
/// q_i = β e_i; W_k shifts, k_j = e_{j+1}; so q_i·k_j = β when j = i - 1 and 0
/// otherwise. With β large the softmax puts almost all weight on j = i - 1; token 0,
/// which has no previous token, can only see itself. W_v = I and W_o = I pass the
/// attended position through.
pub fn previous_token_head(c: usize, beta: f32) -> MultiHeadAttention {
    let mut layer = MultiHeadAttention::new(c, 1, true, &mut seeded_rng(0));
    let mut w = Array2::zeros((c, 3 * c));
    for i in 0..c {
        w[[i, i]] = beta; // Q
        if i + 1 < c {
            w[[i, c + i + 1]] = 1.0; // K: position j lands in coordinate j + 1 of k
        }
        w[[i, 2 * c + i]] = 1.0; // V
    }
    layer.w_qkv.value = w;
    layer.b_qkv.value.fill(0.0);
    layer.w_o.value = Array2::eye(c);
    layer
}
// ANCHOR_END: previous_token_head

/// One-hot positions: x[0, t] = e_t.
// (t, c) -> [1, t, c]
pub fn one_hot_positions(t: usize, c: usize) -> Array3<f32> {
    Array3::from_shape_fn((1, t, c), |(_, i, j)| f32::from(u8::from(i == j)))
}

/// Attention weights [T, T] of the hand-set previous-token head on T positions.
pub fn previous_token_weights(t: usize) -> Array2<f32> {
    let c = t.max(2);
    let mut head = previous_token_head(c, 8.0 * (c as f32).sqrt());
    head.forward(&one_hot_positions(t, c), None);
    head.weights()
        .expect("after forward")
        .slice(s![0, 0, .., ..])
        .to_owned()
}

/// Attention weights [h, T, T] of a seeded, randomly initialised 2-head layer (C = 32) on
/// the sentence's tokens, each token a seeded random vector chosen by its text (so
/// repeated words get the same vector) plus a small position signal.
pub fn random_init_weights(tokens: &[String]) -> Array3<f32> {
    let c = 32;
    let t = tokens.len();
    let mut x = Array3::zeros((1, t, c));
    for (i, tok) in tokens.iter().enumerate() {
        let seed = tok
            .bytes()
            .fold(17u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
        let e: Array1<f32> = normal(c, 1.0, &mut seeded_rng(seed));
        x.slice_mut(s![0, i, ..]).assign(&e);
        x[[0, i, i % c]] += 0.5;
    }
    let mut layer = MultiHeadAttention::new(c, 2, false, &mut seeded_rng(3));
    layer.forward(&x, None);
    layer
        .weights()
        .expect("after forward")
        .slice(s![0, .., .., ..])
        .to_owned()
}

fn bool_map(m: &Array2<bool>) -> Array2<f32> {
    m.mapv(|b| f32::from(u8::from(b)))
}

/// Draws every deterministic figure into `dir`; returns the paths written.
pub fn write_all(dir: &Path) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    std::fs::create_dir_all(dir)?;
    let mut written = Vec::new();

    let mut chart = LineChart::new(
        "How peaked is softmax(q·k) over 64 random keys?",
        "log₂ d_k",
        "mean over 400 queries",
    );
    let stats: Vec<(f64, Saturation)> = D_KS
        .iter()
        .map(|&d| ((d as f64).log2(), saturation(d, SATURATION_T, 400, 7)))
        .collect();
    let series = |label: &str, f: fn(&Saturation) -> f32| {
        Series::new(
            label,
            stats.iter().map(|(x, s)| (*x, f64::from(f(s)))).collect(),
        )
    };
    chart.series = vec![
        series("max weight, no scaling", |s| s.max_unscaled),
        series("max weight, scaled by 1/√d_k", |s| s.max_scaled),
        series("entropy / ln T, no scaling", |s| s.entropy_unscaled),
        series("entropy / ln T, scaled", |s| s.entropy_scaled),
    ];
    chart.points = true;
    let path = dir.join("softmax-saturation.svg");
    write_line_chart(&path, &chart)?;
    written.push(path);

    let maps = [
        (
            "causal-mask.svg",
            "Causal mask, T = 8 (1 = may attend)",
            bool_map(&causal_mask(8, 8)),
        ),
        (
            "causal-mask-kv-cache.svg",
            "Causal mask, 3 new queries over 8 keys, aligned bottom-right",
            bool_map(&causal_mask(3, 8)),
        ),
        (
            "causal-padding-mask.svg",
            "Causal and key-padding mask combined (last 3 keys are padding)",
            bool_map(&dense(
                &Mask {
                    causal: true,
                    key_padding: Some(&[
                        false, false, false, false, false, true, true, true,
                    ]),
                    ..Mask::default()
                },
                8,
                8,
            )),
        ),
    ];
    for (name, title, data) in maps {
        let path = dir.join(name);
        let map = HeatMap {
            title: title.into(),
            x_label: "key position j".into(),
            y_label: "query position i".into(),
            data,
            diverging: false,
        };
        write_heatmap(&path, &map)?;
        written.push(path);
    }

    let tokens = sentence_tokens()?;
    let t = tokens.len();
    let random = random_init_weights(&tokens);
    for (name, title, data) in [
        (
            "sentence-previous-token.svg",
            "Hand-set previous-token head (causal) on the sentence's tokens",
            previous_token_weights(t),
        ),
        (
            "sentence-random-init.svg",
            "Randomly initialised head 0 (not trained) on the sentence's tokens",
            random.slice(s![0, .., ..]).to_owned(),
        ),
    ] {
        let path = dir.join(name);
        let map = HeatMap {
            title: title.into(),
            x_label: "key token j (see the token list)".into(),
            y_label: "query token i".into(),
            data,
            diverging: false,
        };
        write_heatmap(&path, &map)?;
        written.push(path);
    }
    Ok(written)
}
