//! What the chapter prints. Each example program prints one of these, the snapshot tests
//! pin them, and the book includes the snapshots. Floats are rounded so that FMA and CPU
//! differences cannot change the text.

use std::fmt::Write;

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch01_foundations::report::{round, round_all};
use ndarray::{Array2, Array3, s};

use crate::cross::CrossAttention;
use crate::figures::{
    D_KS, SATURATION_T, Saturation, previous_token_weights, saturation, sentence_tokens,
};
use crate::mask::{Mask, causal_mask, causal_mask_top_left, dense, padding_from_len};
use crate::mha::MultiHeadAttention;
use crate::sdpa::{sdpa, sdpa_backward};

macro_rules! out {
    ($s:expr, $($arg:tt)*) => { writeln!($s, $($arg)*).expect("writing to a String") };
}

fn grid(m: &Array2<bool>) -> String {
    let mut s = String::new();
    for row in m.rows() {
        let cells: Vec<&str> = row.iter().map(|&b| if b { "1" } else { "." }).collect();
        out!(s, "  {}", cells.join(" "));
    }
    s
}

/// The scaling table: variance of q·k and how peaked the softmax gets, by d_k.
pub fn scaling_table() -> String {
    let mut s = String::new();
    out!(
        s,
        "{SATURATION_T} keys, 400 random queries, q and k entries ~ N(0, 1)"
    );
    out!(s, "d_k   var(q·k)  max weight        entropy / ln T");
    out!(s, "                raw     scaled    raw     scaled");
    for d in D_KS {
        let Saturation {
            var_dot,
            max_unscaled,
            max_scaled,
            entropy_unscaled,
            entropy_scaled,
        } = saturation(d, SATURATION_T, 400, 7);
        out!(
            s,
            "{d:<5} {:>8}  {:<7} {:<9} {:<7} {}",
            round(var_dot, 1),
            round(max_unscaled, 2),
            round(max_scaled, 2),
            round(entropy_unscaled, 2),
            round(entropy_scaled, 2)
        );
    }
    s
}

/// The masks as grids, and what a fully masked row gives.
pub fn masks_demo() -> String {
    let mut s = String::new();
    out!(
        s,
        "causal, Tq = Tk = 5 (1 = may attend):\n{}",
        grid(&causal_mask(5, 5))
    );
    out!(
        s,
        "causal, Tq = 3, Tk = 5, bottom-right (ours, KV cache):\n{}",
        grid(&causal_mask(3, 5))
    );
    out!(
        s,
        "causal, Tq = 3, Tk = 5, top-left (PyTorch is_causal):\n{}",
        grid(&causal_mask_top_left(3, 5))
    );
    let pad = padding_from_len(3, 5);
    let padding = Mask {
        key_padding: Some(&pad),
        ..Mask::default()
    };
    out!(
        s,
        "key padding, 3 real tokens of 5:\n{}",
        grid(&dense(&padding, 5, 5))
    );
    let both = Mask {
        causal: true,
        key_padding: Some(&pad),
        ..Mask::default()
    };
    out!(s, "causal and key padding:\n{}", grid(&dense(&both, 5, 5)));

    // Tq = 5 queries over Tk = 3 keys, bottom-right: queries 0 and 1 see no key at all.
    let mut rng = seeded_rng(1);
    let (q, k, v): (Array2<f32>, Array2<f32>, Array2<f32>) = (
        normal((5, 4), 1.0, &mut rng),
        normal((3, 4), 1.0, &mut rng),
        normal((3, 2), 1.0, &mut rng),
    );
    let mask = Mask {
        causal: true,
        ..Mask::default()
    };
    let a = sdpa(q.view(), k.view(), v.view(), &mask);
    let d_out = Array2::ones((5, 2));
    let (dq, _, _) =
        sdpa_backward(q.view(), k.view(), v.view(), a.p.view(), d_out.view());
    out!(s, "Tq = 5 queries over Tk = 3 keys, causal bottom-right:");
    for i in 0..5 {
        out!(
            s,
            "  query {i}: weights {}  output {}  |dq| {}",
            round_all(a.p.row(i), 2),
            round_all(a.out.row(i), 2),
            round(dq.row(i).mapv(f32::abs).sum(), 2)
        );
    }
    s
}

/// The multi-head layer's parameters and the shapes along its data flow.
pub fn mha_demo() -> String {
    let (b, t, c, h) = (2, 5, 16, 4);
    let mut layer = MultiHeadAttention::new(c, h, true, &mut seeded_rng(0));
    let mut s = String::new();
    out!(
        s,
        "MultiHeadAttention: d_model {c}, {h} heads, d_k {}",
        c / h
    );
    layer.visit_params(&mut |name, p| {
        out!(s, "  {name:<6} {:?}", p.value.shape());
    });
    out!(s, "  parameters: {} = 4·C² + 4·C", layer.num_params());
    let x: Array3<f32> = normal((b, t, c), 1.0, &mut seeded_rng(1));
    let pad = Array2::from_shape_fn((b, t), |(bi, j)| bi == 1 && j >= 3);
    let y = layer.forward(&x, Some(&pad));
    let p = layer.weights().expect("after forward");
    out!(
        s,
        "x {:?} -> weights {:?} -> y {:?}",
        x.shape(),
        p.shape(),
        y.shape()
    );
    out!(s, "item 1 (last 2 tokens padding), head 0 weights:");
    for row in p.slice(s![1, 0, .., ..]).rows() {
        out!(s, "  {}", round_all(row, 2));
    }
    s
}

/// Cross-attention with a query sequence and a longer memory.
pub fn cross_demo() -> String {
    let (b, tq, tk, c, h) = (2, 3, 6, 8, 2);
    let mut layer = CrossAttention::new(c, h, &mut seeded_rng(0));
    let mut s = String::new();
    out!(s, "CrossAttention: d_model {c}, {h} heads");
    layer.visit_params(&mut |name, p| {
        out!(s, "  {name:<5} {:?}", p.value.shape());
    });
    let x: Array3<f32> = normal((b, tq, c), 1.0, &mut seeded_rng(1));
    let m: Array3<f32> = normal((b, tk, c), 1.0, &mut seeded_rng(2));
    let y = layer.forward(&x, &m, None);
    let p = layer.weights().expect("after forward");
    out!(
        s,
        "x {:?}, memory {:?} -> weights {:?} -> y {:?}",
        x.shape(),
        m.shape(),
        p.shape(),
        y.shape()
    );
    out!(
        s,
        "item 0, head 0 (each of 3 queries over 6 memory positions):"
    );
    for row in p.slice(s![0, 0, .., ..]).rows() {
        out!(s, "  {}", round_all(row, 2));
    }
    s
}

/// The sentence's tokens and where the hand-set previous-token head looks.
pub fn sentence_demo() -> String {
    let mut s = String::new();
    let tokens = match sentence_tokens() {
        Ok(t) => t,
        Err(e) => return format!("cannot tokenize: {e}\n"),
    };
    let p = previous_token_weights(tokens.len());
    out!(s, "{} tokens (BERT WordPiece):", tokens.len());
    for (i, tok) in tokens.iter().enumerate() {
        let row = p.row(i);
        let (j, w) = row.iter().enumerate().fold((0, f32::MIN), |best, (j, &w)| {
            if w > best.1 { (j, w) } else { best }
        });
        out!(
            s,
            "  {i:>2} {tok:<8} attends most to {j:>2} {:<8} (weight {})",
            tokens[j],
            round(w, 3)
        );
    }
    s
}
