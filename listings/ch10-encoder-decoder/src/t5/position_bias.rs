//! T5's relative position bias (section "Relative position bias"): the offset from a
//! query to a key is put into one of a few buckets, exact for small offsets and
//! log-spaced for large ones, and each bucket has one learned scalar per head, added to
//! the attention scores.

use ch01_foundations::init::normal;
use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ndarray::{Array2, Array3, Ix2};
use rand::Rng;

// ANCHOR: bucket
/// The bucket of a key at `offset` = key position - query position, as in Mesh
/// TensorFlow and Hugging Face's `_relative_position_bucket`. Bidirectional (encoder):
/// half the buckets for keys after the query, half for the rest. Causal (decoder): only
/// keys at or before the query exist, so all the buckets go to distances back.
/// Of a side's n buckets, distances below n/2 get one each; the rest share the other
/// half, log-spaced up to `max_distance`, beyond which everything is the last bucket.
pub fn relative_position_bucket(
    offset: i64,
    bidirectional: bool,
    num_buckets: usize,
    max_distance: usize,
) -> usize {
    let (mut bucket, mut n) = (0, num_buckets);
    let distance = if bidirectional {
        n /= 2;
        if offset > 0 {
            bucket += n;
        }
        offset.unsigned_abs() as usize
    } else {
        (-offset.min(0)) as usize // a later key (offset > 0) is bucket 0: it is masked
    };
    let max_exact = n / 2;
    if distance < max_exact {
        return bucket + distance;
    }
    // In f32, as Hugging Face computes it: the truncation below must agree with it
    // where the logarithm lands next to a whole number.
    let log_ratio = (distance as f32 / max_exact as f32).ln()
        / (max_distance as f64 / max_exact as f64).ln() as f32;
    let large = max_exact + (log_ratio * (n - max_exact) as f32) as usize;
    bucket + large.min(n - 1)
}
// ANCHOR_END: bucket

// ANCHOR: bias
/// A learned table B: [num_buckets, n_heads]; the bias of head h for query i and key j
/// is B[bucket(j - i), h]. One table per stack, shared by all its layers.
pub struct RelativePositionBias {
    pub table: Param<Ix2>,
    pub bidirectional: bool,
    pub max_distance: usize,
    buckets: Option<Array2<usize>>, // [Tq, Tk], for backward
}

impl RelativePositionBias {
    /// Entries from N(0, d_model^-1), as Hugging Face initialises T5.
    pub fn new(
        (num_buckets, n_heads): (usize, usize),
        bidirectional: bool,
        max_distance: usize,
        d_model: usize,
        rng: &mut impl Rng,
    ) -> Self {
        let std = (d_model as f32).powf(-0.5);
        RelativePositionBias {
            table: Param::new(normal((num_buckets, n_heads), std, rng)),
            bidirectional,
            max_distance,
            buckets: None,
        }
    }
}
// ANCHOR_END: bias

// ANCHOR: bias_forward
impl RelativePositionBias {
    // (Tq, Tk) -> bias: [H, Tq, Tk]
    pub fn forward(&mut self, tq: usize, tk: usize) -> Array3<f32> {
        let (num_buckets, n_heads) = self.table.value.dim();
        let buckets = Array2::from_shape_fn((tq, tk), |(i, j)| {
            let offset = j as i64 - i as i64;
            relative_position_bucket(
                offset,
                self.bidirectional,
                num_buckets,
                self.max_distance,
            )
        });
        let bias = Array3::from_shape_fn((n_heads, tq, tk), |(h, i, j)| {
            self.table.value[[buckets[[i, j]], h]]
        });
        self.buckets = Some(buckets);
        bias
    }

    /// Every (i, j) that fell into bucket b adds its gradient to B[b, h]: a scatter-add,
    /// like an embedding's backward.
    // d_bias: [H, Tq, Tk] -> nothing (the input is two lengths)
    pub fn backward(&mut self, d_bias: &Array3<f32>) {
        let buckets = self.buckets.as_ref().expect("bias backward before forward");
        let (tq, tk) = buckets.dim();
        assert_eq!(
            d_bias.dim(),
            (self.table.value.ncols(), tq, tk),
            "position bias backward: d_bias and [H, Tq, Tk] (left, right)"
        );
        for ((h, i, j), &g) in d_bias.indexed_iter() {
            self.table.grad[[buckets[[i, j]], h]] += g;
        }
    }
}
// ANCHOR_END: bias_forward

impl Module for RelativePositionBias {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("table", self.table.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("table", self.table.view_mut());
    }
}
