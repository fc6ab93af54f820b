//! Learned absolute positions, as in BERT and GPT-2 (section "Learned positions").

use ndarray::{Array2, ArrayRef2, Ix2, s};
use rand::Rng;

use ch01_foundations::init::normal;
use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};

/// A sequence longer than the table has rows for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "learned positions: a sequence of {len} tokens needs positions 0..{len}, but the \
     table has rows only for 0..{max_len} (max_len = {max_len})"
)]
pub struct TooLong {
    pub len: usize,
    pub max_len: usize,
}

// ANCHOR: learned
/// A table P: [max_len, d_model] trained like any other weight; position t adds P[t].
pub struct LearnedPositions {
    pub table: Param<Ix2>,
    len: Option<usize>,
}

impl LearnedPositions {
    pub fn new(max_len: usize, d_model: usize, std: f32, rng: &mut impl Rng) -> Self {
        let table = Param::new(normal((max_len, d_model), std, rng));
        LearnedPositions { table, len: None }
    }

    pub fn max_len(&self) -> usize {
        self.table.value.nrows()
    }

    /// There is no row for position max_len: the table cannot extrapolate, so a longer
    /// input is an error, not a silent truncation.
    // x: [T, d_model] -> x + P[0..T]: [T, d_model]
    pub fn forward(&mut self, x: &ArrayRef2<f32>) -> Result<Array2<f32>, TooLong> {
        let (len, max_len) = (x.nrows(), self.max_len());
        if len > max_len {
            return Err(TooLong { len, max_len });
        }
        assert_eq!(
            x.ncols(),
            self.table.value.ncols(),
            "learned positions: x is {:?} but the table is {:?}",
            x.dim(),
            self.table.value.dim()
        );
        self.len = Some(len);
        Ok(x + &*self.table.value.slice(s![..len, ..]))
    }
}
// ANCHOR_END: learned

// ANCHOR: learned_backward
impl LearnedPositions {
    // dy: [T, d_model] -> dx = dy; adds dy into P.grad[0..T]
    pub fn backward(&mut self, dy: &ArrayRef2<f32>) -> Array2<f32> {
        let len = self.len.expect("backward called before forward");
        assert_eq!(
            dy.nrows(),
            len,
            "learned positions backward: dy is {:?}, T = {len}",
            dy.dim()
        );
        let mut g = self.table.grad.slice_mut(s![..len, ..]);
        *g += dy;
        dy.to_owned()
    }
}
// ANCHOR_END: learned_backward

impl Module for LearnedPositions {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("table", self.table.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("table", self.table.view_mut());
    }
}
