//! Beam search on a decoder-only model (section "Beams, stopping and streaming"):
//! Chapter 7's `beam_search_with`, unchanged, given a scorer that runs the prompt's
//! cache forward along each beam. Stop strings finish a beam the way the end of
//! sequence does.

use ch01_foundations::softmax::log_softmax;
use ch07_transformer::decode::beam_search_with;
use ch09_decoder_only::tokenizer::GgufTokenizer;
use ndarray::{Array2, Axis};

use crate::stopping::CachedModel;

/// The settings: the stop strings end a beam as `eos` does.
#[derive(Clone, Debug)]
pub struct BeamOptions {
    pub beam: usize,
    /// GNMT's length-penalty exponent (Chapter 7); 0 ranks by the plain sum.
    pub alpha: f32,
    pub eos: u32,
    pub stop_strings: Vec<String>,
    pub max_tokens: usize,
}

// ANCHOR: beam_search
/// The best continuation of `prompt` (at least one id) by beam search: its ids, the
/// end of sequence excluded, and its text cut before the first stop string. Chapter 7's
/// search calls the prefix's first id "bos"; here it is the prompt's last id, so each
/// beam's prefix is exactly what runs after the cache of the rest of the prompt. Each
/// step reruns every beam's generated ids from that cache: O(T²) in the reply length,
/// as in Chapter 7, simple rather than fast.
pub fn beam_search<M: CachedModel>(
    model: &M,
    tok: &GgufTokenizer,
    prompt: &[u32],
    o: &BeamOptions,
) -> (Vec<u32>, String) {
    let (&last, rest) = prompt.split_last().expect("beam_search: an empty prompt");
    let mut base = model.new_cache();
    if !rest.is_empty() {
        model.extend(rest, &mut base);
    }
    let text = |ids: &[usize]| {
        let ids: Vec<u32> = ids.iter().map(|&i| i as u32).collect();
        String::from_utf8_lossy(&tok.decode(&ids).unwrap_or_default()).into_owned()
    };
    let stopped = |s: &str| o.stop_strings.iter().find_map(|t| s.find(t.as_str()));
    let step = |prefixes: &[Vec<usize>]| {
        let rows: Vec<Vec<f32>> = (prefixes.iter())
            .map(|p| {
                if stopped(&text(&p[1..])).is_some() {
                    // A stop string: the only continuation is eos, at log 1 = 0.
                    let mut row = vec![f32::NEG_INFINITY; model.vocab()];
                    row[o.eos as usize] = 0.0;
                    return row;
                }
                let ids: Vec<u32> = p.iter().map(|&i| i as u32).collect();
                model.extend(&ids, &mut base.clone()).to_vec()
            })
            .collect();
        let v = rows[0].len();
        let logits =
            Array2::from_shape_vec((rows.len(), v), rows.concat()).expect("rows");
        log_softmax(&logits, Axis(1)) // [k, V]
    };
    let best = beam_search_with(
        step,
        last as usize,
        o.eos as usize,
        o.max_tokens,
        o.beam,
        o.alpha,
    );
    let full = text(&best.tokens);
    let cut = stopped(&full).unwrap_or(full.len());
    (
        best.tokens.iter().map(|&i| i as u32).collect(),
        full[..cut].to_owned(),
    )
}
// ANCHOR_END: beam_search
