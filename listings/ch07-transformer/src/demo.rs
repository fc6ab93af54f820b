//! What the sections on the model and on decoding print. Each example program prints one
//! of these, snapshot tests pin them, and the book includes the snapshots. Floats are
//! rounded so that FMA and CPU differences cannot change the text.

use std::fmt::Write;

use ch01_foundations::init::seeded_rng;
use ch01_foundations::linalg::{rows, unrows};
use ch01_foundations::module::Module;
use ch01_foundations::report::round;
use ch05_encoder::block::Wiring;
use ch05_encoder::encoder::embed_with_positions;
use ndarray::{Array2, array};

use crate::count::{ParamCount, param_count};
use crate::decode::{beam_search_with, length_penalty};
use crate::decoder::Padding;
use crate::loss::label_smoothed_cross_entropy;
use crate::model::{Config, Transformer, shift_right};

// Writing into a String cannot fail, so `writeln!(...).expect(...)` never panics.
macro_rules! out {
    ($s:expr, $($arg:tt)*) => { writeln!($s, $($arg)*).expect("writing to a String") };
}

const PAD: usize = 0;
const BOS: usize = 1;
const EOS: usize = 2;

/// The model the shape demo runs: small, both stacks two layers deep.
pub fn demo_config(wiring: Wiring, tie_output: bool) -> Config {
    Config {
        src_vocab: 40,
        tgt_vocab: 16,
        max_len: 32,
        d_model: 32,
        n_heads: 4,
        d_ff: 64,
        n_enc: 2,
        n_dec: 2,
        wiring,
        tie_output,
        pad: PAD,
    }
}

/// A padded batch of two sentence pairs: sources end in eos, targets too.
// -> (src: [2, 7], tgt: [2, 6])
pub fn demo_batch() -> (Array2<usize>, Array2<usize>) {
    let src = array![[5, 9, 13, 22, 31, 7, EOS], [17, 4, 25, EOS, PAD, PAD, PAD]];
    let tgt = array![[3, 8, 11, 4, 9, EOS], [12, 6, EOS, PAD, PAD, PAD]];
    (src, tgt)
}

/// Section "The full model": the shape at every arrow of the data flow, computed by
/// running the model's pieces one at a time and checked against `forward`.
pub fn data_flow_demo() -> String {
    let mut s = String::new();
    let cfg = demo_config(Wiring::PostLn, true);
    let mut model = Transformer::new(cfg, &mut seeded_rng(0));
    let (src, tgt) = demo_batch();
    // ANCHOR: data_flow
    let tgt_in = shift_right(&tgt, BOS); // teacher forcing
    let (src_pad, tgt_pad) = (src.mapv(|id| id == PAD), tgt_in.mapv(|id| id == PAD));
    let x = embed_with_positions(&mut model.src_embed, &model.pe, &src);
    let m = model.encoder.forward(&x, Some(&src_pad));
    let y = embed_with_positions(&mut model.tgt_embed, &model.pe, &tgt_in);
    let pad = Padding {
        src: Some(&src_pad),
        tgt: Some(&tgt_pad),
    };
    let h = model.decoder.forward(&y, &m, pad);
    let (b, t, c) = h.dim();
    let logits = unrows(model.tgt_embed.unembed(&rows(&h)), b, t, cfg.tgt_vocab);
    assert_eq!(
        logits,
        model.forward(&src, &tgt_in),
        "the pieces are the model"
    );
    // ANCHOR_END: data_flow
    let (loss, _) =
        label_smoothed_cross_entropy(&rows(&logits), &tgt_flat(&tgt), PAD, 0.1);

    out!(
        s,
        "C = {c}, {} heads, d_ff = {}, {} + {} layers, Post-LN, tied output",
        cfg.n_heads,
        cfg.d_ff,
        cfg.n_enc,
        cfg.n_dec
    );
    out!(
        s,
        "src ids                        [B, S]    {:?}",
        src.shape()
    );
    out!(
        s,
        "  source padding                [B, S]    {:?}  row 1: {} pads",
        src_pad.shape(),
        count(&src_pad, 1)
    );
    out!(
        s,
        "src embeddings ×√C + PE        [B, S, C] {:?}",
        x.shape()
    );
    out!(
        s,
        "encoder memory m               [B, S, C] {:?}",
        m.shape()
    );
    out!(
        s,
        "tgt ids                        [B, T]    {:?}",
        tgt.shape()
    );
    out!(
        s,
        "tgt_in = shift_right(tgt)      [B, T]    {:?}  row 0: {:?}",
        tgt_in.shape(),
        tgt_in.row(0).to_vec()
    );
    out!(
        s,
        "  target padding                [B, T]    {:?}  row 1: {} pads",
        tgt_in.shape(),
        count(&tgt_pad, 1)
    );
    out!(
        s,
        "tgt embeddings ×√C + PE        [B, T, C] {:?}",
        y.shape()
    );
    out!(
        s,
        "decoder output h (reads m)     [B, T, C] {:?}",
        h.shape()
    );
    out!(
        s,
        "logits = h Eᵀ                  [B, T, V] {:?}",
        logits.shape()
    );
    let std = logits.std(0.0);
    out!(
        s,
        "logits' standard deviation at initialisation: {}",
        round(std, 2)
    );
    out!(
        s,
        "loss (ε = 0.1, pads ignored) at initialisation: {}   ln V = {}",
        round(loss, 2),
        round((cfg.tgt_vocab as f32).ln(), 2)
    );
    s
}

fn tgt_flat(tgt: &Array2<usize>) -> Vec<usize> {
    tgt.iter().copied().collect()
}

fn count(mask: &Array2<bool>, row: usize) -> usize {
    mask.row(row).iter().filter(|&&p| p).count()
}

/// Section "The full model": parameters per component, counted by visiting the model,
/// for the demo model tied and untied, and by formula for the 2017 base model.
pub fn param_count_demo() -> String {
    let mut s = String::new();
    out!(s, "{:<22} {:>10} {:>10}", "component", "tied", "untied");
    let mut counted = Vec::new();
    for tie in [true, false] {
        let cfg = demo_config(Wiring::PostLn, tie);
        let model = Transformer::new(cfg, &mut seeded_rng(0));
        let by_part = visit_count(&model);
        assert_eq!(by_part, param_count(&cfg), "formula and model agree");
        assert_eq!(by_part.total(), model.num_params());
        counted.push(by_part);
    }
    let [tied, untied] = [counted[0], counted[1]].map(|p| {
        [
            p.src_embed,
            p.tgt_embed,
            p.encoder,
            p.decoder,
            p.out,
            p.total(),
        ]
    });
    let names = [
        "src_embed",
        "tgt_embed",
        "encoder (2 blocks)",
        "decoder (2 layers)",
        "out (projection)",
        "total",
    ];
    for (i, name) in names.iter().enumerate() {
        out!(s, "{name:<22} {:>10} {:>10}", tied[i], untied[i]);
    }
    let base = Config {
        src_vocab: 37_000,
        tgt_vocab: 37_000,
        max_len: 512,
        d_model: 512,
        n_heads: 8,
        d_ff: 2048,
        n_enc: 6,
        n_dec: 6,
        wiring: Wiring::PostLn,
        tie_output: true,
        pad: PAD,
    };
    let p = param_count(&base);
    out!(
        s,
        "2017 base model (C 512, d_ff 2048, 6 + 6 layers, V 37000, tied output):"
    );
    out!(
        s,
        "  encoder {:.1}M  decoder {:.1}M  one embedding table {:.1}M",
        mega(p.encoder),
        mega(p.decoder),
        mega(p.tgt_embed)
    );
    out!(
        s,
        "  two tables: {:.1}M   one table shared by source, target and output: {:.1}M",
        mega(p.total()),
        mega(p.total() - p.src_embed)
    );
    s
}

fn mega(n: usize) -> f64 {
    n as f64 / 1e6
}

/// Parameters grouped by the first part of their dotted name.
pub fn visit_count(model: &Transformer) -> ParamCount {
    let mut p = ParamCount {
        src_embed: 0,
        tgt_embed: 0,
        encoder: 0,
        decoder: 0,
        out: 0,
    };
    model.visit_params(&mut |name, v| {
        let n = v.value.len();
        match name.split('.').next() {
            Some("src_embed") => p.src_embed += n,
            Some("tgt_embed") => p.tgt_embed += n,
            Some("encoder") => p.encoder += n,
            Some("decoder") => p.decoder += n,
            Some("out") => p.out += n,
            _ => panic!("unexpected parameter {name}"),
        }
    });
    p
}

// ANCHOR: scripted
/// Next-token probabilities by prefix: (prefix, [(token, p)]). A prefix not listed ends.
pub type Table = &'static [(&'static [usize], &'static [(usize, f32)])];

/// Tokens 3 and 4 are "a" and "b". Greedy takes "a" (0.6) and then meets a flat
/// distribution; "b" (0.4) is followed by a confident eos.
pub const MYOPIC: Table = &[
    (&[BOS], &[(3, 0.6), (4, 0.4)]),
    (&[BOS, 3], &[(EOS, 0.34), (3, 0.33), (4, 0.33)]),
    (&[BOS, 4], &[(EOS, 0.9), (3, 0.05), (4, 0.05)]),
];

/// Ending at once (0.45) is a little more probable than "a a a" (about 0.442).
pub const SHORT: Table = &[
    (&[BOS], &[(EOS, 0.45), (3, 0.55)]),
    (&[BOS, 3], &[(3, 0.92), (EOS, 0.08)]),
    (&[BOS, 3, 3], &[(3, 0.92), (EOS, 0.08)]),
    (&[BOS, 3, 3, 3], &[(EOS, 0.95), (3, 0.05)]),
];

/// A `step` for beam search that reads the table: log-probabilities [k, 5].
pub fn scorer(table: Table) -> impl FnMut(&[Vec<usize>]) -> Array2<f32> {
    move |prefixes: &[Vec<usize>]| {
        let mut log_p = Array2::from_elem((prefixes.len(), 5), f32::NEG_INFINITY);
        for (i, p) in prefixes.iter().enumerate() {
            let dist = table.iter().find(|(q, _)| *q == p.as_slice());
            for &(tok, prob) in dist.map_or(&[(EOS, 1.0)][..], |(_, d)| d) {
                log_p[[i, tok]] = prob.ln();
            }
        }
        log_p
    }
}
// ANCHOR_END: scripted

/// Section "Decoding": greedy (beam 1) against wider beams on the scripted scorers, and
/// what the length penalty does to the ranking.
pub fn decoding_demo() -> String {
    let mut s = String::new();
    let names = ["<pad>", "<bos>", "<eos>", "a", "b"];
    let show = |tokens: &[usize]| {
        let words: Vec<&str> = tokens.iter().map(|&t| names[t]).collect();
        if words.is_empty() {
            "(empty)".to_string()
        } else {
            words.join(" ")
        }
    };
    for (name, table) in [("MYOPIC", MYOPIC), ("SHORT", SHORT)] {
        out!(s, "{name}: beam  alpha  output    P(y)   log P   score");
        for (beam, alpha) in [(1, 0.0), (2, 0.0), (3, 0.0), (2, 0.6), (2, 1.0)] {
            let h = beam_search_with(scorer(table), BOS, EOS, 8, beam, alpha);
            out!(
                s,
                "{:>11}  {:>5}  {:<8} {:>5}  {:>6}  {:>6}",
                beam,
                round(alpha, 1),
                show(&h.tokens),
                round(h.log_prob.exp(), 3),
                round(h.log_prob, 3),
                round(h.score, 3)
            );
        }
    }
    out!(s, "length penalty lp(n) = ((5 + n) / 6)^α:");
    out!(s, "   n   α=0   α=0.6   α=1");
    for n in [1, 2, 4, 10, 20] {
        let lp = |a| round(length_penalty(n, a), 2);
        out!(s, "{n:>4}  {:>4}  {:>6}  {:>4}", lp(0.0), lp(0.6), lp(1.0));
    }
    s
}
