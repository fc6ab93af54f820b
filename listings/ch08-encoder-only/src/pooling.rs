//! From token vectors to one sentence vector (section "Sentence embeddings"): the mean
//! over the real tokens, scaled to unit length.

use ndarray::{Array2, Array3, Axis, s};

// ANCHOR: mean_pool
/// The mean of each item's first `lens[b]` token vectors: padding never counts. An
/// item with no tokens has no mean and is an error of the caller (BERT's inputs always
/// hold [CLS] and [SEP]).
// h: [B, T, C], lens: [B] -> [B, C]
pub fn mean_pool(h: &Array3<f32>, lens: &[usize]) -> Array2<f32> {
    let (b, t, c) = h.dim();
    assert!(
        lens.len() == b && lens.iter().all(|&n| 0 < n && n <= t),
        "mean_pool: h is {:?} but lens are {lens:?}",
        [b, t, c]
    );
    let mut out = Array2::zeros((b, c));
    for (i, mut row) in out.rows_mut().into_iter().enumerate() {
        let real = h.slice(s![i, ..lens[i], ..]);
        row.assign(&(real.sum_axis(Axis(0)) / lens[i] as f32));
    }
    out
}

/// Each row divided by its Euclidean length, so that a dot product of two rows is
/// their cosine similarity. The floor 1e-12 keeps a zero row at zero, as PyTorch's
/// `F.normalize` does.
// x: [B, C] -> [B, C]
pub fn l2_normalize(mut x: Array2<f32>) -> Array2<f32> {
    for mut row in x.rows_mut() {
        let norm = row.dot(&row).sqrt().max(1e-12);
        row /= norm;
    }
    x
}
// ANCHOR_END: mean_pool
