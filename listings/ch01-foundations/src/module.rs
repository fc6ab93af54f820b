//! Parameters and the one trait that lets optimizers, checkpoints, LoRA and parameter
//! counts visit every parameter of a model by a stable dotted name (section
//! "Parameters").

use ndarray::{Array, ArrayViewD, ArrayViewMutD, Dimension};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

// ANCHOR: param
/// A trainable tensor and the gradient accumulated into it: layers own their parameters,
/// `backward` adds ∂L/∂value into `grad`, and an optimizer step reads both.
#[derive(Clone, Debug)]
pub struct Param<D: Dimension> {
    pub value: Array<f32, D>,
    pub grad: Array<f32, D>,
}

impl<D: Dimension> Param<D> {
    /// A parameter with a zero gradient of the same shape.
    pub fn new(value: Array<f32, D>) -> Self {
        let grad = Array::zeros(value.raw_dim());
        Param { value, grad }
    }
}
// ANCHOR_END: param

// ANCHOR: param_view
impl<D: Dimension> Param<D> {
    /// Shape-erased read-only view, for visitors.
    pub fn view(&self) -> ParamView<'_> {
        ParamView {
            value: self.value.view().into_dyn(),
            grad: self.grad.view().into_dyn(),
        }
    }

    /// Shape-erased mutable view, for visitors.
    pub fn view_mut(&mut self) -> ParamViewMut<'_> {
        ParamViewMut {
            value: self.value.view_mut().into_dyn(),
            grad: self.grad.view_mut().into_dyn(),
        }
    }
}

/// A parameter seen through a visitor: value and gradient, any rank.
pub struct ParamView<'a> {
    pub value: ArrayViewD<'a, f32>,
    pub grad: ArrayViewD<'a, f32>,
}

/// A parameter seen through a mutable visitor.
pub struct ParamViewMut<'a> {
    pub value: ArrayViewMutD<'a, f32>,
    pub grad: ArrayViewMutD<'a, f32>,
}
// ANCHOR_END: param_view

// ANCHOR: module
/// Anything that owns parameters. Implement the two visitors; everything else follows.
/// Names are dotted paths (`blocks.3.attn.w_qkv`), the same on every visit, in the same
/// order: optimizers key their state by them and checkpoints store tensors under them.
pub trait Module {
    /// Calls `f(name, param)` for every parameter, in a fixed order.
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>));

    /// The same parameters, in the same order, mutably.
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>));

    /// Total number of scalar parameters.
    fn num_params(&self) -> usize {
        let mut n = 0;
        self.visit_params(&mut |_, p| n += p.value.len());
        n
    }

    /// Every parameter's dotted name, in visiting order.
    fn param_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        self.visit_params(&mut |name, _| names.push(name.to_owned()));
        names
    }

    /// Sets every gradient to zero: gradients accumulate, so each step starts here.
    fn zero_grad(&mut self) {
        self.visit_params_mut(&mut |_, mut p| p.grad.fill(0.0));
    }

    /// Switches every dropout inside to training or evaluation (see [`Mode`]). Layers
    /// without dropout keep this default; a model passes `mode` to its children in order.
    fn set_mode(&mut self, _mode: &mut Mode<'_>) {}
}
// ANCHOR_END: module

// ANCHOR: mode
/// What a forward pass is for. Training drops units at random, evaluation uses them all.
/// The randomness comes only from the generator given here: each dropout in a model
/// forks its own generator from it, in visiting order, so one seed fixes every mask.
pub enum Mode<'a> {
    Train(&'a mut ChaCha8Rng),
    Eval,
}

impl Mode<'_> {
    /// A generator of its own for one dropout, or `None` in evaluation.
    pub fn fork(&mut self) -> Option<ChaCha8Rng> {
        match self {
            Mode::Train(rng) => Some(ChaCha8Rng::from_rng(&mut **rng)),
            Mode::Eval => None,
        }
    }
}
// ANCHOR_END: mode

// ANCHOR: grad_norm
/// ‖g‖: the L2 norm of all of a module's gradients taken together, the number that
/// gradient clipping compares with its threshold and depth experiments plot per layer.
/// The sum runs in f64, in the visitor's fixed order, so it is the same on every run.
pub fn grad_norm(m: &dyn Module) -> f32 {
    let mut sum_sq = 0.0f64;
    m.visit_params(&mut |_, p| {
        sum_sq += p
            .grad
            .iter()
            .map(|&g| f64::from(g) * f64::from(g))
            .sum::<f64>();
    });
    sum_sq.sqrt() as f32
}
// ANCHOR_END: grad_norm

// ANCHOR: nesting
/// Visits `child`'s parameters as `prefix.name`: how a model names the parameters of the
/// layers it is built from.
pub fn visit_child(
    prefix: &str,
    child: &dyn Module,
    f: &mut dyn FnMut(&str, ParamView<'_>),
) {
    child.visit_params(&mut |name, p| f(&format!("{prefix}.{name}"), p));
}

/// Mutable counterpart of [`visit_child`].
pub fn visit_child_mut(
    prefix: &str,
    child: &mut dyn Module,
    f: &mut dyn FnMut(&str, ParamViewMut<'_>),
) {
    child.visit_params_mut(&mut |name, p| f(&format!("{prefix}.{name}"), p));
}

/// A stack of layers names its children by position: `0.w`, `1.w`, ...
impl<M: Module> Module for Vec<M> {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        for (i, layer) in self.iter().enumerate() {
            visit_child(&i.to_string(), layer, f);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        for (i, layer) in self.iter_mut().enumerate() {
            visit_child_mut(&i.to_string(), layer, f);
        }
    }

    fn set_mode(&mut self, mode: &mut Mode<'_>) {
        self.iter_mut().for_each(|layer| layer.set_mode(mode));
    }
}
// ANCHOR_END: nesting
