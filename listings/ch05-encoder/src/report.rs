//! What the chapter prints. Each example program prints one of these, the snapshot tests
//! pin them, and the book includes the snapshots, so the text shows exactly what the code
//! printed. Floats are rounded so that FMA and CPU differences cannot change the text.

use std::fmt::Write;

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch01_foundations::report::round;
use ndarray::{Array2, Array3, Axis, s};

use crate::block::{EncoderBlock, Wiring, padding_mask};
use crate::depth::{
    GRAD_DEPTHS, OTHER_RUNS, SETUP, STEPS, TRAIN_DEPTHS, WIRINGS, mean, results,
};
use crate::encoder::{Encoder, EncoderConfig, embed_with_positions};
use ch01_foundations::linalg::rows;

// Writing into a String cannot fail, so `writeln!(...).expect(...)` never panics.
macro_rules! out {
    ($s:expr, $($arg:tt)*) => { writeln!($s, $($arg)*).expect("writing to a String") };
}

/// Mean over tokens of each token's (mean, std) across its C features.
fn token_stats(y: &Array3<f32>) -> (f32, f32) {
    let r = rows(y);
    let means = r.mean_axis(Axis(1)).expect("C > 0");
    let stds = r.std_axis(Axis(1), 0.0);
    (means.mean().unwrap_or(0.0), stds.mean().unwrap_or(0.0))
}

fn norm(a: &Array3<f32>) -> f32 {
    a.iter().map(|v| v * v).sum::<f32>().sqrt()
}

/// Section "The encoder block": parameters of the 2017 base block, and what each wiring
/// does to the scale of its input.
pub fn block_demo() -> String {
    let mut s = String::new();
    let block = EncoderBlock::new(512, 8, 2048, Wiring::PostLn, &mut seeded_rng(0));
    out!(
        s,
        "EncoderBlock(C = 512, h = 8, d_ff = 2048), the 2017 base model's block:"
    );
    block.visit_params(&mut |name, p| {
        out!(
            s,
            "  {name:<12} {:>12} {:>9}",
            format!("{:?}", p.value.shape()),
            p.value.len()
        );
    });
    let n = block.num_params();
    out!(s, "  total {n} parameters; 6 blocks: {}", 6 * n);
    out!(s, "");
    let (b, t, c) = (2, 5, 16);
    let x: Array3<f32> = normal((b, t, c), 3.0, &mut seeded_rng(1));
    let pad = padding_mask(&[5, 3], t);
    let (mx, sx) = token_stats(&x);
    out!(
        s,
        "x: [B, T, C] = {:?}, per token: mean {}, std {}",
        [b, t, c],
        round(mx, 2),
        round(sx, 2)
    );
    for (name, wiring) in WIRINGS {
        let mut block = EncoderBlock::new(c, 2, 4 * c, wiring, &mut seeded_rng(2));
        let y = block.forward(&x, Some(&pad));
        let (my, sy) = token_stats(&y);
        out!(
            s,
            "{name:<7} y: {:?}, per token: mean {:>5}, std {:>4}; ‖y - x‖ / ‖x‖ = {}",
            y.shape(),
            round(my, 2),
            round(sy, 2),
            round(norm(&(&y - &x)) / norm(&x), 2)
        );
    }
    s
}

/// The sizes of the chapter's small encoder demos.
pub const DEMO: EncoderConfig = EncoderConfig {
    vocab: 10,
    max_len: 8,
    d_model: 16,
    n_heads: 2,
    d_ff: 64,
    n_layers: 2,
    wiring: Wiring::PreLn,
};

/// Section "The encoder stack": the whole encoder's parameters and shapes.
pub fn encoder_demo() -> String {
    let mut s = String::new();
    let mut enc = Encoder::new(DEMO, &mut seeded_rng(0));
    out!(s, "{DEMO:?}");
    let mut groups: Vec<(String, usize)> = Vec::new();
    enc.visit_params(&mut |name, p| {
        let group = name.split('.').take(2).collect::<Vec<_>>().join(".");
        let group = if group.starts_with("embed") {
            "embed".to_owned()
        } else {
            group
        };
        match groups.last_mut() {
            Some((g, n)) if *g == group => *n += p.value.len(),
            _ => groups.push((group, p.value.len())),
        }
    });
    for (g, n) in &groups {
        out!(s, "  {g:<16} {n:>6}");
    }
    out!(
        s,
        "  total            {:>6}  (PE: {:?}, fixed, not a parameter)",
        enc.num_params(),
        enc.pe.shape()
    );
    out!(s, "");
    let ids = Array2::from_shape_vec((2, 6), vec![3, 1, 4, 1, 5, 9, 2, 6, 5, 0, 0, 0])
        .expect("12 ids");
    let pad = padding_mask(&[6, 3], 6);
    out!(s, "ids: {:?}, lengths [6, 3] (0 = padding id)", ids.shape());
    let emb = enc.embed.forward(&ids.iter().copied().collect::<Vec<_>>());
    let scaled = &emb * (DEMO.d_model as f32).sqrt();
    out!(s, "E[ids]:        std {}", round(emb.std(0.0), 3));
    out!(s, "E[ids] · √C:   std {}", round(scaled.std(0.0), 3));
    out!(
        s,
        "PE[0..6]:      std {}",
        round(enc.pe.slice(s![..6, ..]).std(0.0), 3)
    );
    let x = embed_with_positions(&mut enc.embed, &enc.pe, &ids);
    out!(
        s,
        "x = E·√C + PE: {:?}, std {}",
        x.shape(),
        round(x.std(0.0), 3)
    );
    let y = enc.forward(&ids, Some(&pad));
    let (my, sy) = token_stats(&y);
    out!(
        s,
        "y = Encoder(ids): {:?}, per token: mean {}, std {} (the final LayerNorm)",
        y.shape(),
        round(my, 2),
        round(sy, 2)
    );
    s
}

/// The sequence of section "Bidirectional context": 6 tokens, padded to 8.
pub const BIDI_LEN: usize = 6;
const BIDI_IDS: [usize; 8] = [7, 2, 9, 4, 4, 1, 0, 0];

// ANCHOR: influence
/// Δ[i, j] = ‖y_i(ids) - y_i(ids with token j replaced)‖: how much output position i
/// moves when input token j changes, for one sequence padded to 8.
// -> [T, T]
pub fn influence() -> Array2<f32> {
    let t = BIDI_IDS.len();
    let mut enc = Encoder::new(DEMO, &mut seeded_rng(0));
    let pad = padding_mask(&[BIDI_LEN], t);
    let ids = Array2::from_shape_vec((1, t), BIDI_IDS.to_vec()).expect("one sequence");
    let y = enc.forward(&ids, Some(&pad));
    Array2::from_shape_fn((t, t), |(i, j)| {
        let mut changed = ids.clone();
        changed[[0, j]] = (ids[[0, j]] + 1) % DEMO.vocab;
        let y2 = enc.forward(&changed, Some(&pad));
        let d = &y.slice(s![0, i, ..]) - &y2.slice(s![0, i, ..]);
        d.iter().map(|v| v * v).sum::<f32>().sqrt()
    })
}
// ANCHOR_END: influence

/// Section "Bidirectional context": the influence matrix, printed.
pub fn bidirectional_demo() -> String {
    let mut s = String::new();
    let d = influence();
    let t = d.nrows();
    out!(
        s,
        "ids {BIDI_IDS:?}: {BIDI_LEN} tokens, then {} padding",
        t - BIDI_LEN
    );
    out!(
        s,
        "‖Δy_i‖ when token j changes (rows i, columns j; * = padded position):"
    );
    let head: String = (0..t)
        .map(|j| {
            format!(
                "{:>7}",
                format!("j={j}{}", if j >= BIDI_LEN { "*" } else { "" })
            )
        })
        .collect();
    out!(s, "      {head}");
    for i in 0..t {
        let row: String = (0..t)
            .map(|j| format!("{:>7}", round(d[[i, j]], 3)))
            .collect();
        out!(s, "i={i}{:<2} {row}", if i >= BIDI_LEN { "*" } else { "" });
    }
    let later = (0..BIDI_LEN)
        .flat_map(|i| (i + 1..BIDI_LEN).map(move |j| (i, j)))
        .map(|(i, j)| d[[i, j]])
        .fold(f32::INFINITY, f32::min);
    let padded = (0..BIDI_LEN)
        .flat_map(|i| (BIDI_LEN..t).map(move |j| (i, j)))
        .map(|(i, j)| d[[i, j]])
        .fold(0.0f32, f32::max);
    out!(
        s,
        "smallest effect of a later real token on an earlier one: {}",
        round(later, 3)
    );
    out!(
        s,
        "largest effect of a padded token on a real position:     {padded}"
    );
    s
}

/// Section "Post-LN against Pre-LN in depth", part 1: gradient norms at init.
pub fn depth_grads_demo() -> String {
    let mut s = String::new();
    let st = SETUP;
    out!(
        s,
        "histogram task, vocab {}, T {}, batch {}; C {}, h {}, d_ff {}; seed {}",
        st.vocab,
        st.t,
        4 * st.batch,
        st.d_model,
        st.n_heads,
        st.d_ff,
        st.seed
    );
    out!(
        s,
        "‖∂L/∂θ_l‖ at initialisation (θ_l: all parameters of block l, l = 1 at the bottom)"
    );
    out!(
        s,
        "{:<8} {:>3} | {:>8} {:>8} {:>8} {:>8}",
        "",
        "L",
        "l = 1",
        "l = L",
        "min",
        "max"
    );
    for (name, wiring) in WIRINGS {
        for (w, depth, norms) in &results().grads {
            if *w != wiring {
                continue;
            }
            let min = norms.iter().copied().fold(f32::INFINITY, f32::min);
            let max = norms.iter().copied().fold(0.0f32, f32::max);
            out!(
                s,
                "{name:<8} {depth:>3} | {:>8} {:>8} {:>8} {:>8}",
                round(norms[0], 2),
                round(norms[depth - 1], 2),
                round(min, 2),
                round(max, 2)
            );
        }
    }
    debug_assert_eq!(results().grads.len(), 2 * GRAD_DEPTHS.len());
    s
}

/// Part 2: early training with plain SGD.
pub fn depth_training_demo() -> String {
    let mut s = String::new();
    let r = results();
    out!(
        s,
        "plain SGD, batch {}, {STEPS} steps; mean loss over steps [a, b)",
        SETUP.batch
    );
    out!(
        s,
        "{:<8} {:>3} {:>5} | {:>7} {:>9} {:>9} {:>9} | {:>6}",
        "",
        "L",
        "lr",
        "[0,10)",
        "[90,100)",
        "[190,200)",
        "[350,400)",
        "max"
    );
    let row = |name: &str, wiring, depth, lr: f32| {
        let l = r.run(wiring, depth, lr);
        let max = l.iter().copied().fold(0.0f32, f32::max);
        format!(
            "{name:<8} {depth:>3} {:>5} | {:>7} {:>9} {:>9} {:>9} | {:>6}",
            lr,
            round(mean(l, 0, 10), 3),
            round(mean(l, 90, 100), 3),
            round(mean(l, 190, 200), 3),
            round(mean(l, 350, 400), 3),
            round(max, 2)
        )
    };
    for (name, wiring) in WIRINGS {
        for depth in TRAIN_DEPTHS {
            out!(s, "{}", row(name, wiring, depth, SETUP.lr));
        }
    }
    out!(s, "other learning rates:");
    for (name, wiring) in WIRINGS {
        for (depth, lr) in OTHER_RUNS {
            out!(s, "{}", row(name, wiring, depth, lr));
        }
    }
    out!(
        s,
        "(predicting the counts' marginal distribution, ignoring the input, scores {})",
        round(marginal_entropy(), 3)
    );
    s
}

/// The loss of the best input-blind predictor: the entropy of a token's count.
fn marginal_entropy() -> f32 {
    // Count - 1 ~ Binomial(T - 1, 1 / vocab): the other T - 1 tokens each match w.p. 1/V.
    let (n, p) = (SETUP.t - 1, 1.0 / SETUP.vocab as f64);
    let choose = |n: usize, k: usize| {
        (0..k).fold(1.0f64, |a, i| a * (n - i) as f64 / (i + 1) as f64)
    };
    -(0..=n)
        .map(|k| choose(n, k) * p.powi(k as i32) * (1.0 - p).powi((n - k) as i32))
        .map(|q| q * q.ln())
        .sum::<f64>() as f32
}
