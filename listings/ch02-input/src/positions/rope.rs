//! Rotary position embeddings, RoPE (section "Rotary embeddings"), in both conventions
//! found in the wild.

use ndarray::{Array2, Array3, ArrayRef2, ArrayRef3, ArrayView2, ArrayViewMut2, Zip, s};

// ANCHOR: style
/// Which coordinates of a head vector form the 2-D pairs that RoPE rotates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RopeStyle {
    /// Pairs (i, i + d/2): Hugging Face Llama, GPT-NeoX (`rotate_half`).
    RotateHalf,
    /// Pairs (2i, 2i + 1): Meta's Llama, GPT-J, RoFormer (complex multiplication).
    Interleaved,
}
// ANCHOR_END: style

// ANCHOR: rope_angles
/// Pair i turns at frequency θ_i = base^(-2i/d); position m rotates it by m·θ_i.
/// Angles are formed in f64: at m = 10⁵ an f32 angle is off by ~4e-3 radians.
// (positions: [T], d_head, base) -> (cos, sin): [T, d_head / 2] each
pub fn rope_angles(
    positions: &[usize],
    d_head: usize,
    base: f64,
) -> (Array2<f32>, Array2<f32>) {
    assert!(
        d_head.is_multiple_of(2),
        "rope: d_head must be even, got {d_head}"
    );
    let half = d_head / 2;
    let theta: Vec<f64> = (0..half)
        .map(|i| base.powf(-((2 * i) as f64) / d_head as f64))
        .collect();
    let angle = |(t, i): (usize, usize)| positions[t] as f64 * theta[i];
    let cos = Array2::from_shape_fn((positions.len(), half), |ti| angle(ti).cos() as f32);
    let sin = Array2::from_shape_fn((positions.len(), half), |ti| angle(ti).sin() as f32);
    (cos, sin)
}
// ANCHOR_END: rope_angles

// ANCHOR: rotate
/// Rotates every pair (a, b) of every row of x by its angle, in the direction `sign`:
///   a' = a cos - sign · b sin,   b' = sign · a sin + b cos.
/// The two conventions differ only in which columns are a and which are b.
// x: [T, d], cos, sin: [T, d/2] -> y: [T, d]
fn rotate(
    x: ArrayView2<f32>,
    mut y: ArrayViewMut2<f32>,
    (cos, sin): (&Array2<f32>, &Array2<f32>),
    style: RopeStyle,
    sign: f32,
) {
    let (t, d) = x.dim();
    assert!(
        cos.dim() == (t, d / 2) && y.dim() == (t, d),
        "rope: x is {:?} but the angle table is {:?} (want [T, d/2])",
        x.shape(),
        cos.shape()
    );
    let (a, b) = match style {
        RopeStyle::RotateHalf => (s![.., ..d / 2], s![.., d / 2..]),
        RopeStyle::Interleaved => (s![.., 0..;2], s![.., 1..;2]),
    };
    let (ya, yb) = y.multi_slice_mut((a, b));
    Zip::from(ya)
        .and(yb)
        .and(x.slice(a))
        .and(x.slice(b))
        .and(cos)
        .and(sin)
        .for_each(|ya, yb, &a, &b, &c, &s| {
            let s = sign * s;
            *ya = a * c - b * s;
            *yb = a * s + b * c;
        });
}
// ANCHOR_END: rotate

// ANCHOR: rope
/// RoPE for a fixed list of positions. It has no parameters; backward needs only the
/// angles, and is the inverse rotation, because a rotation's Jacobian is the rotation
/// itself and the transpose of a rotation is its inverse.
pub struct Rope {
    pub style: RopeStyle,
    cos: Array2<f32>,
    sin: Array2<f32>,
}

impl Rope {
    pub fn new(positions: &[usize], d_head: usize, base: f64, style: RopeStyle) -> Self {
        let (cos, sin) = rope_angles(positions, d_head, base);
        Rope { style, cos, sin }
    }

    // x: [T, d_head] -> [T, d_head]
    pub fn forward(&self, x: &ArrayRef2<f32>) -> Array2<f32> {
        self.rotated(x, 1.0)
    }

    // dy: [T, d_head] -> dx = R(-mθ) dy: [T, d_head]
    pub fn backward(&self, dy: &ArrayRef2<f32>) -> Array2<f32> {
        self.rotated(dy, -1.0)
    }

    /// Each row rotated by its angles, forwards (`sign` = 1) or backwards (-1).
    // x: [T, d_head] -> [T, d_head]
    fn rotated(&self, x: &ArrayRef2<f32>, sign: f32) -> Array2<f32> {
        let mut y = Array2::zeros(x.raw_dim());
        let angles = (&self.cos, &self.sin);
        rotate(x.view(), y.view_mut(), angles, self.style, sign);
        y
    }
}
// ANCHOR_END: rope

// ANCHOR: rope_heads
impl Rope {
    /// Every head of q (or k) at once: the same angles for each head.
    // x: [H, T, d_head] -> [H, T, d_head]
    pub fn forward_heads(&self, x: &ArrayRef3<f32>) -> Array3<f32> {
        self.heads(x, 1.0)
    }

    // dy: [H, T, d_head] -> dx: [H, T, d_head]
    pub fn backward_heads(&self, dy: &ArrayRef3<f32>) -> Array3<f32> {
        self.heads(dy, -1.0)
    }

    fn heads(&self, x: &ArrayRef3<f32>, sign: f32) -> Array3<f32> {
        let mut y = Array3::zeros(x.raw_dim());
        for (xh, yh) in x.outer_iter().zip(y.outer_iter_mut()) {
            rotate(xh, yh, (&self.cos, &self.sin), self.style, sign);
        }
        y
    }
}
// ANCHOR_END: rope_heads
