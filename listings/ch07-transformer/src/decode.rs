//! Decoding (section "Decoding: greedy and beam search"): turning a trained model into a
//! translation, one token at a time. The encoder runs once per source; the decoder reruns
//! on the whole growing prefix at every step. There is no KV cache in this chapter: each
//! step recomputes every earlier position's keys and values, O(T²) decoder work for T
//! tokens. Chapter 12 caches them.

use ch01_foundations::probability::argmax;
use ch01_foundations::softmax::log_softmax;
use ndarray::{Array2, Array3, Axis, s};

use crate::model::{Memory, Transformer};

// ANCHOR: greedy
/// Greedy decoding of a batch: at every step, append each row's most probable next
/// token. A row stops at `eos` (not included) or after `max_len` tokens; the output
/// excludes `bos`. Rows that have finished are fed `pad`, which the decoder masks.
// src: [B, S] -> B token sequences, each at most max_len long
pub fn greedy(
    model: &mut Transformer,
    src: &Array2<usize>,
    bos: usize,
    eos: usize,
    max_len: usize,
) -> Vec<Vec<usize>> {
    check_len(model, max_len);
    let b = src.nrows();
    let memory = model.encode(src); // once: the source does not change while we decode
    let mut prefix = Array2::from_elem((b, 1), bos); // [B, t], grows by one column a step
    let mut out = vec![Vec::new(); b];
    let mut done = vec![false; b];
    for _ in 0..max_len {
        let logits = model.decode(&memory, &prefix); // [B, t, V]
        let last = logits.index_axis(Axis(1), prefix.ncols() - 1); // [B, V]
        let mut next = Vec::with_capacity(b);
        for (i, row) in last.outer_iter().enumerate() {
            let token = argmax(row.iter().copied());
            if !done[i] && token == eos {
                done[i] = true;
            } else if !done[i] {
                out[i].push(token);
            }
            next.push(if done[i] { model.cfg.pad } else { token });
        }
        if done.iter().all(|&d| d) {
            break;
        }
        let column = Array2::from_shape_vec((b, 1), next).expect("b tokens");
        prefix = ndarray::concatenate![Axis(1), prefix, column];
    }
    out
}
// ANCHOR_END: greedy

/// The decoder sees `bos` plus at most `max_len - 1` generated tokens, and every position
/// needs a row of the positional table.
fn check_len(model: &Transformer, max_len: usize) {
    assert!(
        max_len <= model.cfg.max_len,
        "decode: max_len {max_len} exceeds the model's {} positions",
        model.cfg.max_len
    );
}

// ANCHOR: length_penalty
/// GNMT's length penalty (Wu et al., 2016): lp(n) = ((5 + n) / 6)^α, where n counts the
/// scored tokens (eos included). A hypothesis is ranked by log P(y) / lp(|y|). lp(1) = 1,
/// α = 0 turns normalisation off, and the +5 keeps the penalty mild for short outputs.
pub fn length_penalty(n: usize, alpha: f32) -> f32 {
    ((5.0 + n as f32) / 6.0).powf(alpha)
}
// ANCHOR_END: length_penalty

// ANCHOR: hypothesis
/// A finished hypothesis: its tokens (no bos, no eos), the sum of their log-probabilities
/// (eos's included when it ended with eos) and that sum divided by the length penalty,
/// which ranks hypotheses.
#[derive(Clone, Debug, PartialEq)]
pub struct Hypothesis {
    pub tokens: Vec<usize>,
    pub log_prob: f32,
    pub score: f32,
}

impl Hypothesis {
    /// `prefix` starts with bos; `scored` counts the log-probabilities in `log_prob`.
    fn new(prefix: &[usize], log_prob: f32, scored: usize, alpha: f32) -> Self {
        Hypothesis {
            tokens: prefix[1..].to_vec(),
            log_prob,
            score: log_prob / length_penalty(scored, alpha),
        }
    }
}

/// A live beam: bos and the tokens so far, and the sum of their log-probabilities.
type Beam = (Vec<usize>, f32);
// ANCHOR_END: hypothesis

// ANCHOR: expand
/// One step: every beam extended by every token, best sums first. A candidate ending in
/// eos finishes if it ranks among the top `beam`; the best `beam` others stay live.
fn expand(
    live: &[Beam],
    log_p: &Array2<f32>, // [k, V]
    (eos, beam, alpha): (usize, usize, f32),
    finished: &mut Vec<Hypothesis>,
) -> Vec<Beam> {
    let mut cands: Vec<(f32, usize, usize)> = Vec::new(); // (sum, beam, token)
    for ((prefix_sum, row), i) in
        live.iter().map(|b| b.1).zip(log_p.outer_iter()).zip(0..)
    {
        cands.extend(row.iter().zip(0..).map(|(&lp, v)| (prefix_sum + lp, i, v)));
    }
    // Best first; ties go to the lower beam, then the lower token id, like argmax.
    cands.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    let mut next = Vec::with_capacity(beam);
    for (rank, &(sum, i, v)) in cands.iter().enumerate() {
        if sum == f32::NEG_INFINITY || next.len() == beam {
            break; // impossible from here on, or every later one ranks below `beam`
        }
        let prefix = &live[i].0;
        if v == eos && rank < beam {
            finished.push(Hypothesis::new(prefix, sum, prefix.len(), alpha));
        } else if v != eos {
            next.push((append(prefix, v), sum));
        }
    }
    next
}
// ANCHOR_END: expand

// ANCHOR: beam_search_with
/// Beam search over any scorer. `step` gets the live prefixes (each starts with `bos`,
/// all the same length) and returns the log-probabilities of the next token, [k, V].
/// The highest `score` wins. The search stops when no live beam can still overtake the
/// best finished hypothesis (Huang et al., 2017), or after `max_len` tokens.
pub fn beam_search_with(
    mut step: impl FnMut(&[Vec<usize>]) -> Array2<f32>,
    bos: usize,
    eos: usize,
    max_len: usize,
    beam: usize,
    alpha: f32,
) -> Hypothesis {
    assert!(beam >= 1, "beam_search: the beam width must be at least 1");
    assert!(
        alpha >= 0.0,
        "beam_search: the stopping bound needs α ≥ 0, got {alpha}"
    );
    let mut live: Vec<Beam> = vec![(vec![bos], 0.0)];
    let mut finished: Vec<Hypothesis> = Vec::new();
    for _ in 0..max_len {
        let prefixes: Vec<Vec<usize>> = live.iter().map(|b| b.0.clone()).collect();
        let log_p = step(&prefixes); // [k, V]
        assert_eq!(log_p.nrows(), live.len(), "beam_search: one row per beam");
        live = expand(&live, &log_p, (eos, beam, alpha), &mut finished);
        if search_is_over(&live, &finished, max_len, alpha) {
            return best_of(finished);
        }
    }
    // Out of steps: the live beams end at max_len tokens, without eos.
    let ended = live
        .iter()
        .map(|(p, sum)| Hypothesis::new(p, *sum, p.len() - 1, alpha));
    best_of(finished.into_iter().chain(ended).collect())
}
// ANCHOR_END: beam_search_with

// ANCHOR: search_is_over
/// Whether no live beam can still overtake the best finished hypothesis: extending a
/// beam only lowers its sum, and no length penalty exceeds lp(max_len), so a beam's
/// best possible score is its sum over lp(max_len).
fn search_is_over(
    live: &[Beam],
    finished: &[Hypothesis],
    max_len: usize,
    alpha: f32,
) -> bool {
    let bound = |b: &Beam| b.1 / length_penalty(max_len, alpha);
    let best_live = live.iter().map(bound).fold(f32::NEG_INFINITY, f32::max);
    let best = finished
        .iter()
        .map(|h| h.score)
        .fold(f32::NEG_INFINITY, f32::max);
    best >= best_live
}

/// The highest score; the earliest found on a tie.
fn best_of(hypotheses: Vec<Hypothesis>) -> Hypothesis {
    hypotheses
        .into_iter()
        .reduce(|best, h| if h.score > best.score { h } else { best })
        .expect("beam_search: no hypothesis: every continuation had probability 0")
}
// ANCHOR_END: search_is_over

fn append(prefix: &[usize], token: usize) -> Vec<usize> {
    let mut p = prefix.to_vec();
    p.push(token);
    p
}

// ANCHOR: beam_search
/// Beam search with the model: the source is encoded once and its memory repeated along
/// the batch axis, so the live beams run through the decoder as one batch.
// src: [S] -> tokens (no bos, no eos), at most max_len long
pub fn beam_search(
    model: &mut Transformer,
    src: &[usize],
    bos: usize,
    eos: usize,
    max_len: usize,
    beam: usize,
    alpha: f32,
) -> Vec<usize> {
    check_len(model, max_len);
    let src = Array2::from_shape_vec((1, src.len()), src.to_vec()).expect("one row");
    let one = model.encode(&src); // m: [1, S, C]
    let step = |prefixes: &[Vec<usize>]| {
        let (k, t) = (prefixes.len(), prefixes[0].len());
        let memory = repeat(&one, k); // [k, S, C]
        let ids = Array2::from_shape_fn((k, t), |(i, j)| prefixes[i][j]);
        let logits = model.decode(&memory, &ids); // [k, t, V]
        log_softmax(&logits.slice(s![.., t - 1, ..]), Axis(1)) // [k, V]
    };
    beam_search_with(step, bos, eos, max_len, beam, alpha).tokens
}

/// The memory of one source, repeated for k beams.
// memory.m: [1, S, C] -> [k, S, C]
fn repeat(memory: &Memory, k: usize) -> Memory {
    let (_, s, c) = memory.m.dim();
    let m: Array3<f32> = memory.m.broadcast((k, s, c)).expect("batch 1").to_owned();
    let src_pad = memory
        .src_pad
        .broadcast((k, s))
        .expect("batch 1")
        .to_owned();
    Memory { m, src_pad }
}
// ANCHOR_END: beam_search

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Config;
    use ch01_foundations::init::seeded_rng;
    use ch05_encoder::block::Wiring;
    use ndarray::Array2;

    /// Rows of (prefix, [(next token, probability)]).
    type Table<'a> = &'a [(&'a [usize], &'a [(usize, f32)])];

    /// A scorer from a table: the next token's probabilities given the prefix.
    fn scripted(
        v: usize,
        table: Table<'static>,
    ) -> impl FnMut(&[Vec<usize>]) -> Array2<f32> {
        move |prefixes| {
            let mut out = Array2::from_elem((prefixes.len(), v), f32::NEG_INFINITY);
            for (i, p) in prefixes.iter().enumerate() {
                // A prefix the table does not list ends for sure.
                let dist: &[(usize, f32)] =
                    match table.iter().find(|(q, _)| *q == p.as_slice()) {
                        Some((_, d)) => d,
                        None => &[(EOS, 1.0)],
                    };
                for &(tok, prob) in dist {
                    out[[i, tok]] = prob.ln();
                }
            }
            out
        }
    }

    const BOS: usize = 0;
    const EOS: usize = 1;

    #[test]
    fn beam_beats_myopic_greedy() {
        // Greedy takes token 2 (0.6) and then sees a flat distribution: P = 0.6·0.34.
        // Token 3 (0.4) is followed by eos with 0.9: P = 0.36, which a beam of 2 keeps.
        let table: Table = &[
            (&[0], &[(2, 0.6), (3, 0.4)]),
            (&[0, 2], &[(1, 0.34), (2, 0.33), (3, 0.33)]),
            (&[0, 3], &[(1, 0.9), (2, 0.05), (3, 0.05)]),
        ];
        let g = beam_search_with(scripted(4, table), BOS, EOS, 5, 1, 0.0);
        assert_eq!(g.tokens, vec![2]);
        assert!((g.log_prob - (0.6f32 * 0.34).ln()).abs() < 1e-6);
        let b = beam_search_with(scripted(4, table), BOS, EOS, 5, 2, 0.0);
        assert_eq!(b.tokens, vec![3]);
        assert!((b.log_prob - (0.4f32 * 0.9).ln()).abs() < 1e-6);
        assert!(b.log_prob > g.log_prob);
    }

    #[test]
    fn length_penalty_rescues_a_longer_output_from_the_empty_one() {
        // Ending at once: P = 0.45. "a a a": P = 0.55·0.92·0.92·0.95 ≈ 0.442, lower, but
        // with 4 scored tokens against 1 it wins once lengths are normalised.
        let table: Table = &[
            (&[0], &[(1, 0.45), (2, 0.55)]),
            (&[0, 2], &[(2, 0.92), (1, 0.08)]),
            (&[0, 2, 2], &[(2, 0.92), (1, 0.08)]),
            (&[0, 2, 2, 2], &[(1, 0.95), (2, 0.05)]),
        ];
        let raw = beam_search_with(scripted(3, table), BOS, EOS, 8, 2, 0.0);
        assert_eq!(raw.tokens, Vec::<usize>::new());
        assert!((raw.log_prob - 0.45f32.ln()).abs() < 1e-6);
        let normed = beam_search_with(scripted(3, table), BOS, EOS, 8, 2, 0.6);
        assert_eq!(normed.tokens, vec![2, 2, 2]);
        assert!(
            normed.log_prob < raw.log_prob,
            "the winner is less probable"
        );
        // Greedy never compares the two: it takes "a" (0.55) first.
        let greedy = beam_search_with(scripted(3, table), BOS, EOS, 8, 1, 0.0);
        assert_eq!(greedy.tokens, vec![2, 2, 2]);
        assert_eq!(length_penalty(1, 0.7), 1.0);
    }

    #[test]
    fn beam_stops_at_max_len_without_eos() {
        let table: Table = &[
            (&[0], &[(2, 0.9), (1, 0.1)]),
            (&[0, 2], &[(2, 0.9), (1, 0.1)]),
            (&[0, 2, 2], &[(2, 0.9), (1, 0.1)]),
        ];
        let h = beam_search_with(scripted(3, table), BOS, EOS, 3, 1, 0.0);
        assert_eq!(h.tokens, vec![2, 2, 2]);
    }

    fn tiny(seed: u64) -> Transformer {
        let cfg = Config {
            src_vocab: 9,
            tgt_vocab: 7,
            max_len: 8,
            d_model: 16,
            n_heads: 2,
            d_ff: 32,
            n_enc: 1,
            n_dec: 2,
            wiring: Wiring::PostLn,
            tie_output: true,
            pad: 0,
        };
        Transformer::new(cfg, &mut seeded_rng(seed))
    }

    #[test]
    fn beam_of_one_is_greedy() {
        for seed in 0..6 {
            let mut model = tiny(seed);
            let src =
                Array2::from_shape_vec((2, 4), vec![3, 4, 5, 6, 7, 8, 2, 0]).unwrap();
            let batch = greedy(&mut model, &src, 1, 2, 7);
            for (i, g) in batch.iter().enumerate() {
                let row: Vec<usize> =
                    src.row(i).iter().copied().filter(|&t| t != 0).collect();
                let alone = greedy(
                    &mut model,
                    &Array2::from_shape_vec((1, row.len()), row.clone()).unwrap(),
                    1,
                    2,
                    7,
                );
                assert_eq!(
                    &alone[0], g,
                    "seed {seed}: batched greedy differs from row {i} alone"
                );
                let b1 = beam_search(&mut model, &row, 1, 2, 7, 1, 0.0);
                assert_eq!(&b1, g, "seed {seed}: beam 1 differs from greedy on row {i}");
            }
        }
    }
}
