//! Inverted dropout (section "Dropout").

use ndarray::Array2;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

// ANCHOR: dropout
/// Zeroes each element with probability p at training time and scales the survivors by
/// 1/(1 - p), so E[y] = x and evaluation needs no rescaling: at eval it is the identity.
#[derive(Clone, Debug)]
pub struct Dropout {
    pub p: f32,
    pub training: bool,
    mask: Option<Array2<f32>>, // 0 or 1/(1-p) per element, reused by backward
}

impl Dropout {
    pub fn new(p: f32) -> Self {
        assert!(
            (0.0..1.0).contains(&p),
            "Dropout: p = {p} must be in [0, 1)"
        );
        Dropout {
            p,
            training: true,
            mask: None,
        }
    }
}
// ANCHOR_END: dropout

// ANCHOR: dropout_forward
impl Dropout {
    /// The randomness comes only from `rng`: the same seed drops the same elements.
    // x: [N, D] -> y: [N, D]
    pub fn forward(&mut self, x: &Array2<f32>, rng: &mut ChaCha8Rng) -> Array2<f32> {
        if !self.training || self.p == 0.0 {
            self.mask = None;
            return x.clone();
        }
        let scale = 1.0 / (1.0 - self.p);
        // Drawn in row-major order, so the mask depends only on the seed and the shape.
        let mask = Array2::from_shape_simple_fn(x.raw_dim(), || {
            if rng.random::<f32>() < self.p {
                0.0
            } else {
                scale
            }
        });
        let y = x * &mask;
        self.mask = Some(mask);
        y
    }

    /// dx = dy ⊙ mask: the same elements are dropped and scaled on the way back.
    // dy: [N, D] -> dx: [N, D]
    pub fn backward(&self, dy: &Array2<f32>) -> Array2<f32> {
        match &self.mask {
            None => dy.clone(), // eval mode or p = 0: the identity
            Some(mask) => {
                assert_eq!(
                    dy.shape(),
                    mask.shape(),
                    "Dropout: dy is {:?} but the forward input was {:?}",
                    dy.shape(),
                    mask.shape()
                );
                dy * mask
            }
        }
    }
}
// ANCHOR_END: dropout_forward
