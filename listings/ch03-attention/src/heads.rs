//! All heads of all batch items at once: the part multi-head self-attention and
//! cross-attention share (section "Multi-head attention").

use ch01_foundations::linalg::reuse;
use ch01_foundations::module::{Mode, Module, ParamView, ParamViewMut};
use ndarray::{Array2, Array4, ArrayView2, ArrayViewMut2, ArrayViewMut3, Axis, s};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

use crate::mask::Mask;
use crate::sdpa::{attention_backward_into, attention_dropout_into, attention_into};

/// Queries, keys and values of every head: [B·Tq, C], [B·Tk, C], [B·Tk, C].
pub type Qkv<'a> = (
    ArrayView2<'a, f32>,
    ArrayView2<'a, f32>,
    ArrayView2<'a, f32>,
);
/// Their gradients, written in place.
pub type QkvMut<'a> = (
    ArrayViewMut2<'a, f32>,
    ArrayViewMut2<'a, f32>,
    ArrayViewMut2<'a, f32>,
);

// ANCHOR: weight_dropout
/// Attention-weight dropout for one forward pass of every head: probability `p`, masks
/// written into `keep`. Item b draws its masks from `seed` on ChaCha stream b, so they
/// are the same whichever thread runs which item, and on any number of threads.
pub struct WeightDropout<'a> {
    pub p: f32,
    pub seed: u64,
    pub keep: &'a mut Array4<f32>, // [B, h, Tq, Tk]: 0 or 1/(1 - p) per weight
}
// ANCHOR_END: weight_dropout

// ANCHOR: attention_dropout
/// Attention-weight dropout as a layer keeps it between passes: the probability and, in
/// training, the generator each pass draws its seed from. p = 0, the default and the
/// 2017 model's choice, changes nothing.
#[derive(Clone, Debug)]
pub struct AttentionDropout {
    pub p: f32,
    training: bool,
    rng: Option<ChaCha8Rng>, // forked by set_mode
}

impl AttentionDropout {
    /// This pass's dropout: `None` in evaluation or at p = 0; otherwise `keep` sized like
    /// the weights and one seed, drawn here, before the batch items fan out to threads.
    // shape: [B, h, Tq, Tk]
    pub fn pass<'a>(
        &mut self,
        keep: &'a mut Array4<f32>,
        shape: (usize, usize, usize, usize),
    ) -> Option<WeightDropout<'a>> {
        if !self.training || self.p == 0.0 {
            return None;
        }
        let Some(rng) = self.rng.as_mut() else {
            panic!(
                "attention dropout p = {}: training, but set_mode gave no rng",
                self.p
            )
        };
        reuse(keep, shape);
        let (p, seed) = (self.p, rng.random());
        Some(WeightDropout { p, seed, keep })
    }
}
// ANCHOR_END: attention_dropout

impl AttentionDropout {
    pub fn new(p: f32) -> Self {
        check_p(p);
        AttentionDropout {
            p,
            training: true,
            rng: None,
        }
    }

    /// Changes p, keeping the mode and the generator.
    pub fn set_p(&mut self, p: f32) {
        check_p(p);
        self.p = p;
    }
}

fn check_p(p: f32) {
    assert!(
        (0.0..1.0).contains(&p),
        "AttentionDropout: p = {p} must be in [0, 1)"
    );
}

/// No parameters: a layer passes its mode down to it.
impl Module for AttentionDropout {
    fn visit_params(&self, _: &mut dyn FnMut(&str, ParamView<'_>)) {}

    fn visit_params_mut(&mut self, _: &mut dyn FnMut(&str, ParamViewMut<'_>)) {}

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.training = matches!(mode, Mode::Train(_));
        self.rng = mode.fork();
    }
}

/// One batch item's share of the work: its rows of `merged`, its weights, its masks.
type Item<'a> = (
    usize,
    (
        (ArrayViewMut2<'a, f32>, ArrayViewMut3<'a, f32>),
        Option<ArrayViewMut3<'a, f32>>,
    ),
);

// ANCHOR: heads_forward
/// Runs attention for every head of every batch item, batch items in parallel. Item b
/// reads rows b·T..(b+1)·T of q, k and v and writes the same rows of `merged` and its
/// own block of `p` (and `keep`): the result does not depend on the thread schedule.
// q: [B·Tq, C], k, v: [B·Tk, C], key_padding: [B·Tk] (true = pad), p: [B, h, Tq, Tk]
//   -> merged: [B·Tq, C]; p overwritten with the weights
pub fn heads_forward(
    (q, k, v): Qkv<'_>,
    causal: bool,
    key_padding: Option<&[bool]>,
    p: &mut Array4<f32>,
    drop: Option<WeightDropout<'_>>,
) -> Array2<f32> {
    let (batch, _, tq, tk) = p.dim();
    let mut merged = Array2::<f32>::zeros((batch * tq, q.ncols()));
    let (p_drop, seed) = drop.as_ref().map_or((0.0, 0), |d| (d.p, d.seed));
    let keeps: Vec<_> = match drop {
        Some(d) => d.keep.outer_iter_mut().map(Some).collect(),
        None => (0..batch).map(|_| None).collect(),
    };
    let items: Vec<Item<'_>> = (merged.axis_chunks_iter_mut(Axis(0), tq))
        .zip(p.outer_iter_mut())
        .zip(keeps)
        .enumerate()
        .collect();
    items.into_par_iter().for_each(|(b, ((out, p), keep))| {
        let (rq, rk) = (b * tq..(b + 1) * tq, b * tk..(b + 1) * tk);
        let mask = Mask {
            causal,
            key_padding: key_padding.map(|pad| &pad[rk.clone()]),
            ..Mask::default()
        };
        let drop = keep.map(|keep| (p_drop, item_rng(seed, b), keep));
        let (k, v) = (k.slice(s![rk.clone(), ..]), v.slice(s![rk, ..]));
        item_forward((q.slice(s![rq, ..]), k, v), &mask, p, out, drop);
    });
    merged
}
// ANCHOR_END: heads_forward

// ANCHOR: item_forward
/// One batch item: head h attends in columns h·d_k..(h+1)·d_k of the item's q, k and v,
/// and writes the same columns of `out`: splitting and merging heads are views, not
/// copies. Without dropout the heads run in parallel; with weight dropout, they draw
/// their masks one after another from `rng`.
// q: [Tq, C], k, v: [Tk, C] -> p: [h, Tq, Tk], out: [Tq, C]; drop's keep: [h, Tq, Tk]
fn item_forward(
    (q, k, v): Qkv<'_>,
    mask: &Mask<'_>,
    mut p: ArrayViewMut3<'_, f32>,
    mut out: ArrayViewMut2<'_, f32>,
    drop: Option<(f32, ChaCha8Rng, ArrayViewMut3<'_, f32>)>,
) {
    let Some((p_drop, mut rng, mut keep)) = drop else {
        return heads_in_parallel((q, k, v), mask, p, out);
    };
    let d_k = q.ncols() / p.dim().0;
    for h in 0..p.dim().0 {
        let cols = h * d_k..(h + 1) * d_k;
        let (q_h, k_h) = (q.slice(s![.., cols.clone()]), k.slice(s![.., cols.clone()]));
        let v_h = v.slice(s![.., cols.clone()]);
        let (p_h, out_h) = (p.index_axis_mut(Axis(0), h), out.slice_mut(s![.., cols]));
        let keep_h = keep.index_axis_mut(Axis(0), h);
        attention_dropout_into(q_h, k_h, v_h, mask, p_drop, &mut rng, p_h, keep_h, out_h);
    }
}

/// Item b's generator: stream b of the pass's seed.
fn item_rng(seed: u64, b: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(b as u64);
    rng
}
// ANCHOR_END: item_forward

// ANCHOR: heads_in_parallel
/// [`item_forward`] without dropout: heads are independent, one rayon task each, writing
/// its own weights and columns, so one long sequence (B = 1, Whisper's 1500 audio
/// positions) still uses every thread, and any thread count gives the same bits.
// q: [Tq, C], k, v: [Tk, C] -> p: [h, Tq, Tk], out: [Tq, C]
fn heads_in_parallel(
    (q, k, v): Qkv<'_>,
    mask: &Mask<'_>,
    mut p: ArrayViewMut3<'_, f32>,
    mut out: ArrayViewMut2<'_, f32>,
) {
    let d_k = q.ncols() / p.dim().0;
    let heads: Vec<_> = (p.outer_iter_mut())
        .zip(out.axis_chunks_iter_mut(Axis(1), d_k))
        .enumerate()
        .collect();
    heads.into_par_iter().for_each(|(h, (p_h, out_h))| {
        let cols = h * d_k..(h + 1) * d_k;
        let (q_h, k_h) = (q.slice(s![.., cols.clone()]), k.slice(s![.., cols.clone()]));
        attention_into(q_h, k_h, v.slice(s![.., cols]), mask, p_h, out_h);
    });
}
// ANCHOR_END: heads_in_parallel

// ANCHOR: heads_backward
/// Backward of [`heads_forward`] (given its dropout mask `keep`, if any), batch items in
/// parallel, each writing only its own rows of dq, dk and dv (column blocks, maybe, of
/// one fused gradient matrix).
// q: [B·Tq, C], k, v: [B·Tk, C], p, keep: [B, h, Tq, Tk], d_merged: [B·Tq, C]
//   -> dq: [B·Tq, C], dk, dv: [B·Tk, C] (overwritten)
pub fn heads_backward(
    (q, k, v): Qkv<'_>,
    p: &Array4<f32>,
    keep: Option<&Array4<f32>>,
    d_merged: ArrayView2<'_, f32>,
    (mut dq, mut dk, mut dv): QkvMut<'_>,
) {
    let ((_, n_heads, tq, tk), d_k) = (p.dim(), q.ncols() / p.dim().1);
    let items: Vec<_> = (dq.axis_chunks_iter_mut(Axis(0), tq))
        .zip(dk.axis_chunks_iter_mut(Axis(0), tk))
        .zip(dv.axis_chunks_iter_mut(Axis(0), tk))
        .enumerate()
        .collect();
    items
        .into_par_iter()
        .for_each(|(b, ((mut dq_b, mut dk_b), mut dv_b))| {
            let (rq, rk) = (b * tq..(b + 1) * tq, b * tk..(b + 1) * tk);
            let mut ds = Array2::zeros((tq, tk)); // scratch, reused by every head
            for h in 0..n_heads {
                let cols = h * d_k..(h + 1) * d_k;
                attention_backward_into(
                    q.slice(s![rq.clone(), cols.clone()]),
                    k.slice(s![rk.clone(), cols.clone()]),
                    v.slice(s![rk.clone(), cols.clone()]),
                    p.slice(s![b, h, .., ..]),
                    keep.map(|m| m.slice(s![b, h, .., ..])),
                    d_merged.slice(s![rq.clone(), cols.clone()]),
                    dq_b.slice_mut(s![.., cols.clone()]),
                    dk_b.slice_mut(s![.., cols.clone()]),
                    dv_b.slice_mut(s![.., cols]),
                    &mut ds,
                );
            }
        });
}
// ANCHOR_END: heads_backward
