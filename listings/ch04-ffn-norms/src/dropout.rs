//! Inverted dropout (section "Dropout"), and the same layer inside a model, where the
//! model's mode switches it on and off.

use ch01_foundations::module::{Mode, Module, ParamView, ParamViewMut};
use ndarray::{Array, ArrayD, Dimension};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

// ANCHOR: dropout
/// Zeroes each element with probability p at training time and scales the survivors by
/// 1/(1 - p), so E[y] = x and evaluation needs no rescaling: at eval it is the identity.
#[derive(Clone, Debug)]
pub struct Dropout {
    pub p: f32,
    pub training: bool,
    mask: Option<ArrayD<f32>>, // 0 or 1/(1-p) per element, reused by backward
    rng: Option<ChaCha8Rng>,   // inside a model: the generator set_mode forked for it
}

impl Dropout {
    pub fn new(p: f32) -> Self {
        check_p(p);
        Dropout {
            p,
            training: true,
            mask: None,
            rng: None,
        }
    }
}
// ANCHOR_END: dropout

fn check_p(p: f32) {
    assert!(
        (0.0..1.0).contains(&p),
        "Dropout: p = {p} must be in [0, 1)"
    );
}

// ANCHOR: dropout_forward
impl Dropout {
    /// The randomness comes only from `rng`: the same seed drops the same elements.
    // x: [N, D] (any shape) -> y: x's shape
    pub fn forward<D: Dimension>(
        &mut self,
        x: &Array<f32, D>,
        rng: &mut ChaCha8Rng,
    ) -> Array<f32, D> {
        if !self.training || self.p == 0.0 {
            self.mask = None;
            return x.clone();
        }
        let scale = 1.0 / (1.0 - self.p);
        // Drawn in row-major order, so the mask depends only on the seed and the shape.
        let mask = Array::from_shape_simple_fn(x.raw_dim(), || {
            if rng.random::<f32>() < self.p {
                0.0
            } else {
                scale
            }
        });
        let y = x * &mask;
        self.mask = Some(mask.into_dyn());
        y
    }
}
// ANCHOR_END: dropout_forward

// ANCHOR: dropout_backward
impl Dropout {
    /// dx = dy ⊙ mask: the same elements are dropped and scaled on the way back.
    // dy: y's shape -> dx: x's shape
    pub fn backward<D: Dimension>(&self, dy: &Array<f32, D>) -> Array<f32, D> {
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
                let mask = mask.view().into_dimensionality::<D>().expect("same rank");
                dy * &mask
            }
        }
    }
}
// ANCHOR_END: dropout_backward

// ANCHOR: dropout_in_a_model
impl Dropout {
    /// Dropout as a model uses it: the generator is the one `set_mode` forked for this
    /// layer, so a model's forward pass keeps its usual signature. x is taken by value:
    /// with p = 0, or in evaluation, it comes back untouched, not copied.
    // x: any shape -> x's shape
    pub fn apply<D: Dimension>(&mut self, x: Array<f32, D>) -> Array<f32, D> {
        if !self.training || self.p == 0.0 {
            self.mask = None;
            return x;
        }
        let Some(mut rng) = self.rng.take() else {
            panic!(
                "Dropout: p = {} in training mode but no generator: call \
                 set_mode(&mut Mode::Train(&mut rng)) or Mode::Eval on the model first",
                self.p
            )
        };
        let y = self.forward(&x, &mut rng);
        self.rng = Some(rng);
        y
    }

    /// Changes p, keeping the mode and the generator.
    pub fn set_p(&mut self, p: f32) {
        check_p(p);
        self.p = p;
    }
}

/// No parameters; the mode is the only thing a model passes down to it.
impl Module for Dropout {
    fn visit_params(&self, _: &mut dyn FnMut(&str, ParamView<'_>)) {}

    fn visit_params_mut(&mut self, _: &mut dyn FnMut(&str, ParamViewMut<'_>)) {}

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.training = matches!(mode, Mode::Train(_));
        self.rng = mode.fork();
    }
}
// ANCHOR_END: dropout_in_a_model
