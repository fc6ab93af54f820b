//! Batches (section "Batches with padding"): pairs of different lengths padded into one
//! [B, S] source and one [B, T] target, the source's padding masked as keys, the
//! target's padding given no label, and a loss that counts labelled tokens only. Like
//! Chapter 9's trainable Llama, the book's T5 reads one row at a time.

use ch01_foundations::probability::argmax;
use ch06_decoder::lm_loss;
use ndarray::{Array2, Axis};

use super::vocab::{EOS, PAD};
use crate::t5::model::{T5, T5Error};

/// One example as ids: the target ends with EOS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pair {
    pub src: Vec<usize>,
    pub tgt: Vec<usize>,
}

// ANCHOR: batch
/// The decoder reads `tgt_in`, the target shifted right behind PAD, and is scored on
/// `labels`, the target itself; both are padded, and padding has no label.
#[derive(Clone, Debug, PartialEq)]
pub struct Seq2SeqBatch {
    pub src: Array2<usize>, // [B, S], PAD after each row's src_len tokens
    pub src_len: Vec<usize>, // [B]
    pub tgt_in: Array2<usize>, // [B, T]: PAD y₀ … y_{n-2}, then PAD
    pub labels: Array2<Option<usize>>, // [B, T]: y₀ … y_{n-1} (EOS), then None
}

impl Seq2SeqBatch {
    pub fn new(pairs: &[Pair]) -> Self {
        let s = pairs.iter().map(|p| p.src.len()).max().unwrap_or(0);
        let t = pairs.iter().map(|p| p.tgt.len()).max().unwrap_or(0);
        let b = pairs.len();
        Seq2SeqBatch {
            src: Array2::from_shape_fn((b, s), |(i, j)| {
                *pairs[i].src.get(j).unwrap_or(&PAD)
            }),
            src_len: pairs.iter().map(|p| p.src.len()).collect(),
            tgt_in: Array2::from_shape_fn((b, t), |(i, j)| match j {
                j if j > 0 && j < pairs[i].tgt.len() => pairs[i].tgt[j - 1],
                _ => PAD, // the start, and padding
            }),
            labels: Array2::from_shape_fn((b, t), |(i, j)| pairs[i].tgt.get(j).copied()),
        }
    }

    /// The tokens the loss counts.
    pub fn n_labels(&self) -> usize {
        self.labels.iter().filter(|y| y.is_some()).count()
    }
}
// ANCHOR_END: batch

// ANCHOR: step
/// The mean cross-entropy over every labelled token of the batch (Chapter 6's
/// `lm_loss`, which skips `None`). Row b's mean over its n_b labels is weighted by
/// n_b / N, so the sum is the batch mean and long targets count token by token; each
/// row's gradient, scaled the same way, is added to the parameters' when `learn`.
// batch: [B, S] and [B, T] -> loss
pub fn batch_loss(
    model: &mut T5,
    batch: &Seq2SeqBatch,
    learn: bool,
) -> Result<f32, T5Error> {
    let n = batch.n_labels() as f32;
    let mut total = 0.0;
    for (b, labels) in batch.labels.outer_iter().enumerate() {
        let n_b = labels.iter().filter(|y| y.is_some()).count();
        if n_b == 0 {
            continue; // a row with nothing to predict adds nothing
        }
        let src = batch.src.row(b).to_vec();
        let tgt = batch.tgt_in.row(b).to_vec();
        let logits = model.forward_padded(&src, batch.src_len[b], &tgt)?;
        let targets = labels.to_owned().insert_axis(Axis(0)); // [1, T]
        let (loss, dlogits) = lm_loss(&logits.insert_axis(Axis(0)), &targets);
        let weight = n_b as f32 / n;
        if learn {
            model.backward(&(dlogits.index_axis_move(Axis(0), 0) * weight));
        }
        total += loss * weight;
    }
    Ok(total)
}
// ANCHOR_END: step

// ANCHOR: greedy
/// Greedy decoding, recomputing everything at every step (at these lengths the
/// encoder's and the decoder's repeated work costs less than a cache's code): the
/// arg max token until EOS or `max_len` tokens.
// src: [S] -> [≤ max_len], without PAD and EOS
pub fn greedy(
    model: &mut T5,
    src: &[usize],
    max_len: usize,
) -> Result<Vec<usize>, T5Error> {
    let mut out = vec![PAD];
    while out.len() <= max_len {
        let logits: Array2<f32> = model.forward(src, &out)?; // [t, vocab]
        let next = argmax(logits.row(logits.nrows() - 1).iter().copied());
        if next == EOS {
            break;
        }
        out.push(next);
    }
    Ok(out.split_off(1))
}
// ANCHOR_END: greedy
