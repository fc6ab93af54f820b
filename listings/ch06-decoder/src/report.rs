//! What the chapter prints. The examples print these, the snapshot tests pin them, and
//! the book includes the snapshots. Floats are rounded so CPUs cannot flip the text.

use std::fmt::Write;

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch01_foundations::report::{round, round_all};
use ch05_encoder::{EncoderBlock, Wiring};
use ndarray::{Array3, s};

use crate::block::DecoderBlock;
use crate::data::letters;
use crate::generate::generate_greedy;
use crate::train::{TrainConfig, TrainRun, evaluate};

macro_rules! out {
    ($s:expr, $($arg:tt)*) => { writeln!($s, $($arg)*).expect("writing to a String") };
}

/// Section "The block and the causal mask": the same parameters as the encoder block,
/// and the attention weights of a fresh block on five tokens.
pub fn block_demo() -> String {
    let mut s = String::new();
    let mut dec = DecoderBlock::new(16, 2, 64, Wiring::PreLn, &mut seeded_rng(0));
    let enc = EncoderBlock::new(16, 2, 64, Wiring::PreLn, &mut seeded_rng(0));
    out!(
        s,
        "decoder block parameters: {}",
        dec.param_names().join(", ")
    );
    out!(
        s,
        "{} parameters; the encoder block built from the same seed: {}, names equal: {}",
        dec.num_params(),
        enc.num_params(),
        dec.param_names() == enc.param_names()
    );
    let x: Array3<f32> = normal((1, 5, 16), 1.0, &mut seeded_rng(1));
    dec.forward(&x, None);
    let p = dec.block.attn.weights().expect("after forward");
    out!(
        s,
        "attention weights of head 0, query t (rows) over key j (columns):"
    );
    for t in 0..5 {
        out!(s, "  t = {t}: {}", round_all(p.slice(s![0, 0, t, ..]), 3));
    }
    s
}

/// max over channels of |y[t] - y'[t]| at every position t.
fn change_per_position(y: &Array3<f32>, y2: &Array3<f32>) -> Vec<f32> {
    (0..y.dim().1)
        .map(|t| {
            let d = &y.slice(s![0, t, ..]) - &y2.slice(s![0, t, ..]);
            d.iter().fold(0.0f32, |m, v| m.max(v.abs()))
        })
        .collect()
}

/// The causality experiment: 8 tokens, the last three replaced, through one encoder
/// block and through the same block with the causal flag on.
// -> (encoder change per position, decoder change per position)
pub fn causality_experiment() -> (Vec<f32>, Vec<f32>) {
    let x: Array3<f32> = normal((1, 8, 16), 1.0, &mut seeded_rng(1));
    let mut x2 = x.clone();
    let fresh: Array3<f32> = normal((1, 3, 16), 1.0, &mut seeded_rng(2));
    x2.slice_mut(s![.., 5.., ..]).assign(&fresh);
    let mut block = EncoderBlock::new(16, 2, 64, Wiring::PreLn, &mut seeded_rng(0));
    let enc = change_per_position(&block.forward(&x, None), &block.forward(&x2, None));
    block.attn.causal = true;
    let dec = change_per_position(&block.forward(&x, None), &block.forward(&x2, None));
    (enc, dec)
}

/// Section "Causality": what changes when tokens 5, 6, 7 change.
pub fn causality_demo() -> String {
    let mut s = String::new();
    let (enc, dec) = causality_experiment();
    out!(s, "tokens 5, 6, 7 replaced; max |Δy_t| at each position t:");
    out!(s, "{:>3}  {:>10}  {:>10}", "t", "encoder", "decoder");
    for t in 0..enc.len() {
        out!(
            s,
            "{t:>3}  {:>10}  {:>10}",
            round(enc[t], 4),
            round(dec[t], 4)
        );
    }
    let exact = dec[..5].iter().all(|&d| d == 0.0);
    out!(s, "decoder outputs 0..=4 bit-identical: {exact}");
    s
}

/// Section "The LM head and training": the run, its loss, and held-out generations.
pub fn train_report(cfg: &TrainConfig, run: &mut TrainRun) -> String {
    let mut s = String::new();
    let m = cfg.model;
    out!(
        s,
        "model: {} layers, d_model {}, {} heads, d_ff {}, vocab {}, context {}, {:?}",
        m.n_layers,
        m.d_model,
        m.n_heads,
        m.d_ff,
        m.vocab,
        m.max_len,
        m.wiring
    );
    out!(s, "parameters: {}", run.model.num_params());
    out!(
        s,
        "data: keys of {} distinct letters repeated to {} tokens; SGD lr {}, batch {}",
        cfg.pattern.period,
        cfg.pattern.len,
        cfg.lr,
        cfg.batch
    );
    out!(
        s,
        "loss (ln {} = {} is chance):",
        m.vocab,
        round((m.vocab as f32).ln(), 3)
    );
    for step in (0..cfg.steps).step_by(cfg.steps / 6).chain([cfg.steps - 1]) {
        out!(s, "  step {step:>4}: {}", round(run.losses[step], 4));
    }
    let tail = &run.losses[cfg.steps - 20..];
    out!(
        s,
        "  mean of the last 20 steps: {}",
        round(tail.iter().sum::<f32>() / 20.0, 4)
    );
    out!(s, "greedy continuations of held-out keys:");
    let mut rng = seeded_rng(7);
    for _ in 0..4 {
        let key = cfg.pattern.key(true, &mut rng);
        let n_new = cfg.pattern.len - key.len();
        let out = generate_greedy(&mut run.model, &key, n_new).expect("fits");
        out!(s, "  {} -> {}", letters(&key), letters(&out[key.len()..]));
    }
    out!(
        s,
        "where each head looks, on a held-out sequence (queries t ≥ 3):"
    );
    let key = cfg.pattern.key(true, &mut seeded_rng(7));
    let seq = cfg.pattern.continue_key(&key);
    let ids = ndarray::Array2::from_shape_vec((1, seq.len()), seq).expect("[1, T]");
    run.model.forward(&ids, None);
    for (l, block) in run.model.blocks.iter().enumerate() {
        let p = block.block.attn.weights().expect("after forward");
        let period = cfg.pattern.period;
        for h in 0..p.dim().1 {
            // Mean over queries t ≥ 3 of the weight on every key b, b + period, b + 2·period,
            // ... places behind the query: in a periodic sequence those keys all hold the
            // same token, so this is where the head looks, by content.
            let mean_at = |back: usize| {
                let w: f32 = (3..p.dim().2)
                    .map(|t| {
                        (back..=t)
                            .step_by(period)
                            .map(|k| p[[0, h, t, t - k]])
                            .sum::<f32>()
                    })
                    .sum();
                w / (p.dim().2 - 3) as f32
            };
            let best = (0..period).max_by(|&a, &b| mean_at(a).total_cmp(&mean_at(b)));
            let best = best.expect("period > 0");
            out!(
                s,
                "  layer {l} head {h}: most weight on keys {}, {}, ... places back (mean {})",
                best,
                best + period,
                round(mean_at(best), 3)
            );
        }
    }
    let e = evaluate(&mut run.model, &cfg.pattern, 200, 11);
    out!(
        s,
        "held-out keys continued exactly: {}/{}; tokens right: {}",
        e.exact,
        e.prompts,
        round(e.token_accuracy, 4)
    );
    s
}

/// Section "The generation loop": the requests `generate_greedy` refuses, and why.
pub fn generate_errors_demo() -> String {
    let mut s = String::new();
    let mut lm = crate::lm::DecoderLm::new(crate::train::TRAIN.model, &mut seeded_rng(0));
    let requests: [(&str, Vec<usize>, usize); 4] = [
        ("empty prompt", vec![], 5),
        ("token 12 in a 12-token vocabulary", vec![3, 12, 4], 5),
        ("past the context of 16", vec![0, 1, 2, 3], 13),
        ("exactly filling the context", vec![0, 1, 2, 3], 12),
    ];
    for (what, prompt, n_new) in requests {
        match generate_greedy(&mut lm, &prompt, n_new) {
            Ok(ids) => out!(s, "{what}: Ok, {} tokens", ids.len()),
            Err(e) => out!(s, "{what}: Err: {e}"),
        }
    }
    s
}
