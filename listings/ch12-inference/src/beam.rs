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
/// beam's prefix is exactly what runs after the cache of the rest of the prompt.
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
    let step = |prefixes: &[Vec<usize>]| {
        let rows: Vec<Vec<f32>> = (prefixes.iter())
            .map(|p| next_logits(model, tok, &base, p, o))
            .collect();
        let logits = Array2::from_shape_vec((rows.len(), model.vocab()), rows.concat());
        log_softmax(&logits.expect("one row a beam"), Axis(1)) // [k, V]
    };
    let best = beam_search_with(
        step,
        last as usize,
        o.eos as usize,
        o.max_tokens,
        o.beam,
        o.alpha,
    );
    let ids: Vec<u32> = best.tokens.iter().map(|&i| i as u32).collect();
    let full = text(tok, &ids);
    let cut = stop_at(&full, o).unwrap_or(full.len());
    (ids, full[..cut].to_owned())
}
// ANCHOR_END: beam_search

// ANCHOR: next_logits
/// One beam's next-token logits: its ids run from a copy of the prompt's cache (O(T²)
/// in the reply length, as in Chapter 7: simple rather than fast). A beam whose text
/// holds a stop string can only end: every logit −∞ but the end of sequence's.
// prefix: [t] -> [V]
fn next_logits<M: CachedModel>(
    model: &M,
    tok: &GgufTokenizer,
    base: &M::Cache,
    prefix: &[usize],
    o: &BeamOptions,
) -> Vec<f32> {
    let ids: Vec<u32> = prefix.iter().map(|&i| i as u32).collect();
    if stop_at(&text(tok, &ids[1..]), o).is_some() {
        let mut row = vec![f32::NEG_INFINITY; model.vocab()];
        row[o.eos as usize] = 0.0;
        return row;
    }
    model.extend(&ids, &mut base.clone()).to_vec()
}
// ANCHOR_END: next_logits

/// Where the first stop string starts in `s`, if one does.
fn stop_at(s: &str, o: &BeamOptions) -> Option<usize> {
    o.stop_strings
        .iter()
        .filter_map(|t| s.find(t.as_str()))
        .min()
}

fn text(tok: &GgufTokenizer, ids: &[u32]) -> String {
    String::from_utf8_lossy(&tok.decode(ids).unwrap_or_default()).into_owned()
}
