//! Putting the chapter together: softmax regression, a one-layer classifier with its own
//! parameters, forward, backward and a gradient-descent step (section "Softmax
//! regression").

use ndarray::{Array1, Array2, ArrayRef2, Axis, Ix1, Ix2};
use rand::Rng;
use rand_distr::{Distribution, Normal};

use crate::calculus::{matmul_backward, softmax_cross_entropy};
use crate::init::{seeded_rng, xavier_uniform};
use crate::module::{Module, Param, ParamView, ParamViewMut};
use crate::probability::argmax;

// ANCHOR: model
/// logits = x W + b: the smallest model with the shape of every layer in the book, owning
/// its parameters and caching in `forward` what `backward` needs.
pub struct SoftmaxRegression {
    pub w: Param<Ix2>,
    pub b: Param<Ix1>,
    x: Option<Array2<f32>>,
}

impl SoftmaxRegression {
    pub fn new(d_in: usize, n_classes: usize, rng: &mut impl Rng) -> Self {
        let w = Param::new(xavier_uniform(d_in, n_classes, rng));
        let b = Param::new(Array1::zeros(n_classes));
        SoftmaxRegression { w, b, x: None }
    }

    // x: [n, d_in] -> logits: [n, n_classes]
    pub fn forward(&mut self, x: &ArrayRef2<f32>) -> Array2<f32> {
        self.x = Some(x.to_owned());
        x.dot(&self.w.value) + &self.b.value
    }

    // dlogits: [n, n_classes] -> dx: [n, d_in]; adds into w.grad and b.grad
    pub fn backward(&mut self, dlogits: &ArrayRef2<f32>) -> Array2<f32> {
        let x = self.x.as_ref().expect("backward called before forward");
        let (dx, dw) = matmul_backward(x, &self.w.value, dlogits);
        self.w.grad += &dw;
        self.b.grad += &dlogits.sum_axis(Axis(0)); // b was broadcast over rows: sum them
        dx
    }
}
// ANCHOR_END: model

// ANCHOR: model_module
impl Module for SoftmaxRegression {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("w", self.w.view());
        f("b", self.b.view());
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("w", self.w.view_mut());
        f("b", self.b.view_mut());
    }
}
// ANCHOR_END: model_module

// ANCHOR: sgd_step
/// θ ← θ - lr · ∂L/∂θ for every parameter of any module: written once, against the trait.
pub fn sgd_step(model: &mut dyn Module, lr: f32) {
    model.visit_params_mut(&mut |_, mut p| p.value.scaled_add(-lr, &p.grad));
}
// ANCHOR_END: sgd_step

/// Three Gaussian blobs in the plane, one a class, centred on a circle of radius 2.
// -> (x: [3·n_per_class, 2], labels: [3·n_per_class])
pub fn blobs(n_per_class: usize, rng: &mut impl Rng) -> (Array2<f32>, Vec<usize>) {
    let noise = Normal::new(0.0f32, 0.7).expect("valid std");
    let mut x = Array2::zeros((3 * n_per_class, 2));
    let mut labels = Vec::with_capacity(3 * n_per_class);
    for (row, mut point) in x.rows_mut().into_iter().enumerate() {
        let class = row % 3;
        let angle = class as f32 * std::f32::consts::TAU / 3.0;
        point[0] = 2.0 * angle.cos() + noise.sample(rng);
        point[1] = 2.0 * angle.sin() + noise.sample(rng);
        labels.push(class);
    }
    (x, labels)
}

/// What a training run reports.
pub struct TrainLog {
    /// Mean training loss before each step.
    pub losses: Vec<f32>,
    pub train_accuracy: f32,
    pub test_accuracy: f32,
    pub param_names: Vec<String>,
    pub num_params: usize,
}

// ANCHOR: train
/// Full-batch gradient descent on the blobs: forward, loss, backward, step.
pub fn train(seed: u64, steps: usize, lr: f32) -> TrainLog {
    let mut rng = seeded_rng(seed);
    let (x, y) = blobs(100, &mut rng);
    let (x_test, y_test) = blobs(100, &mut rng);
    let mut model = SoftmaxRegression::new(2, 3, &mut rng);
    let mut losses = Vec::with_capacity(steps);
    for _ in 0..steps {
        model.zero_grad();
        let logits = model.forward(&x);
        let (loss, dlogits) = softmax_cross_entropy(&logits, &y);
        model.backward(&dlogits);
        sgd_step(&mut model, lr);
        losses.push(loss);
    }
    let train_accuracy = accuracy(&model.forward(&x), &y);
    let test_accuracy = accuracy(&model.forward(&x_test), &y_test);
    let (param_names, num_params) = (model.param_names(), model.num_params());
    TrainLog {
        losses,
        train_accuracy,
        test_accuracy,
        param_names,
        num_params,
    }
}
// ANCHOR_END: train

/// Fraction of rows whose largest logit is the label.
// logits: [n, classes], labels: [n] -> scalar in [0, 1]
pub fn accuracy(logits: &ArrayRef2<f32>, labels: &[usize]) -> f32 {
    let correct = logits
        .rows()
        .into_iter()
        .zip(labels)
        .filter(|(row, label)| argmax(row.iter().copied()) == **label)
        .count();
    correct as f32 / labels.len() as f32
}
