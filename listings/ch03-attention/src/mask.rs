//! Masks: which keys each query may see (section "Masks").

use ndarray::{Array2, ArrayView2};

// ANCHOR: mask
/// Which keys a query may attend to. Every part is optional and they combine with AND:
/// a key is visible only if every part allows it.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mask<'a> {
    /// Causal, aligned bottom-right: query i of Tq sees keys j ≤ i + (Tk - Tq), so the
    /// last query sees every key. With Tq = Tk this is the usual j ≤ i.
    pub causal: bool,
    /// Key padding, `true` = padding (never attended to), as in PyTorch.
    // key_padding: [Tk]
    pub key_padding: Option<&'a [bool]>,
    /// Any boolean mask, `true` = may attend (PyTorch's boolean `attn_mask`).
    // allowed: [Tq, Tk]
    pub allowed: Option<ArrayView2<'a, bool>>,
    /// Added to the scores before the softmax: an additive mask, or a bias like ALiBi.
    // bias: [Tq, Tk]
    pub bias: Option<ArrayView2<'a, f32>>,
}

impl Mask<'_> {
    /// Number of keys query `i` may see under the causal part alone: i + 1 + (Tk - Tq),
    /// clamped to [0, Tk]. Zero means the whole row is masked.
    pub fn causal_limit(&self, i: usize, tq: usize, tk: usize) -> usize {
        if !self.causal {
            return tk;
        }
        (i as isize + 1 + tk as isize - tq as isize).clamp(0, tk as isize) as usize
    }
}
// ANCHOR_END: mask

// ANCHOR: causal_masks
/// The causal mask aligned bottom-right, `true` = may attend: what a KV cache needs,
/// where the Tq new queries are the last Tq positions of Tk keys.
// (Tq, Tk) -> [Tq, Tk]
pub fn causal_mask(tq: usize, tk: usize) -> Array2<bool> {
    let offset = tk as isize - tq as isize;
    Array2::from_shape_fn((tq, tk), |(i, j)| j as isize <= i as isize + offset)
}

/// The causal mask aligned top-left (j ≤ i whatever Tq and Tk are): what PyTorch's
/// `scaled_dot_product_attention(..., is_causal=True)` uses.
// (Tq, Tk) -> [Tq, Tk]
pub fn causal_mask_top_left(tq: usize, tk: usize) -> Array2<bool> {
    Array2::from_shape_fn((tq, tk), |(i, j)| j <= i)
}
// ANCHOR_END: causal_masks

/// The key-padding mask of a sequence with `len` real tokens padded to `t`:
/// `true` = padding.
// (len, t) -> [t]
pub fn padding_from_len(len: usize, t: usize) -> Vec<bool> {
    (0..t).map(|j| j >= len).collect()
}

/// The mask as a dense [Tq, Tk] boolean matrix, `true` = may attend (for figures and
/// tests; the attention code never builds it).
// -> [Tq, Tk]
pub fn dense(mask: &Mask<'_>, tq: usize, tk: usize) -> Array2<bool> {
    Array2::from_shape_fn((tq, tk), |(i, j)| {
        j < mask.causal_limit(i, tq, tk)
            && !mask.key_padding.is_some_and(|p| p[j])
            && mask.allowed.is_none_or(|a| a[[i, j]])
    })
}
