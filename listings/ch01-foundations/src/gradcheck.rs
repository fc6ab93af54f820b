//! The finite-difference gradient checker every backward pass in the book is tested with
//! (section "Checking gradients").

use std::fmt;

use ndarray::{Array, ArrayD, ArrayRef, Dimension, IxDyn};

use crate::module::Module;

/// How to check: the step, the floor under the relative error's denominator, and how
/// many elements to probe (evenly spaced, so big tensors stay cheap and deterministic).
#[derive(Clone, Copy, Debug)]
pub struct GradCheck {
    /// Central-difference step h. In f32 the error is ≈ h² (truncation) + 1e-7·|L| / h
    /// (rounding); h = 1e-2 to 3e-3 sits near the bottom of that curve for O(1) losses.
    pub eps: f32,
    /// Gradients smaller than this are compared absolutely: f32 rounding makes the
    /// relative error of a near-zero gradient meaningless.
    pub floor: f32,
    /// At most this many elements of each tensor are probed.
    pub max_elements: usize,
}

impl Default for GradCheck {
    fn default() -> Self {
        GradCheck {
            eps: 3e-3,
            floor: 1e-2,
            max_elements: 64,
        }
    }
}

/// The worst element found by a check.
#[derive(Clone, Debug, PartialEq)]
pub struct GradCheckReport {
    /// max over probed elements of |analytic - numeric| / max(|analytic|, |numeric|,
    /// floor).
    pub max_rel_error: f32,
    /// Index (in the checked tensor's shape) where that maximum occurred.
    pub worst_index: Vec<usize>,
    pub analytic: f32,
    pub numeric: f32,
    /// How many elements were probed.
    pub checked: usize,
}

impl fmt::Display for GradCheckReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "max relative error {:.2e} at {:?} (analytic {:.6}, numeric {:.6}; {} probed)",
            self.max_rel_error,
            self.worst_index,
            self.analytic,
            self.numeric,
            self.checked
        )
    }
}

impl GradCheckReport {
    /// Panics, naming `what` and the worst element, if the error is above `tol`.
    pub fn assert_within(&self, tol: f32, what: &str) {
        assert!(
            self.max_rel_error <= tol,
            "gradient check of {what} failed (tolerance {tol:.1e}): {self}"
        );
    }
}

// ANCHOR: check_gradient
impl GradCheck {
    /// Compares `analytic` = ∂L/∂x with central differences (L(x + h·e_i) - L(x - h·e_i))
    /// / 2h at up to `max_elements` evenly spaced elements i, and reports the worst.
    // x, analytic: same shape; loss: x -> scalar
    pub fn check<D: Dimension>(
        &self,
        x: &ArrayRef<f32, D>,
        analytic: &ArrayRef<f32, D>,
        mut loss: impl FnMut(&Array<f32, D>) -> f32,
    ) -> GradCheckReport {
        assert_eq!(
            x.shape(),
            analytic.shape(),
            "gradient check: x is {:?} but its gradient is {:?}",
            x.shape(),
            analytic.shape()
        );
        // Row-major copies, so a flat index means the same element in both.
        let mut probe = x.as_standard_layout().into_owned();
        let analytic = analytic.as_standard_layout();
        let mut report = GradCheckReport::empty();
        for i in self.probe_indices(probe.len()) {
            let x_i = probe.as_slice().expect("standard layout")[i];
            let mut loss_at = |v: f32| {
                probe.as_slice_mut().expect("standard layout")[i] = v;
                loss(&probe)
            };
            let numeric =
                (loss_at(x_i + self.eps) - loss_at(x_i - self.eps)) / (2.0 * self.eps);
            probe.as_slice_mut().expect("standard layout")[i] = x_i;
            let a = analytic.as_slice().expect("standard layout")[i];
            report.record(a, numeric, self.floor, unravel(i, x.shape()));
        }
        report
    }
}
// ANCHOR_END: check_gradient

impl GradCheck {
    /// Checks every parameter gradient of a module. The caller has already run forward
    /// and backward so that `module`'s gradients hold ∂L/∂θ; `loss` reruns the forward
    /// pass. Returns one report per parameter, by dotted name.
    pub fn check_module<M: Module + ?Sized>(
        &self,
        module: &mut M,
        mut loss: impl FnMut(&mut M) -> f32,
    ) -> Vec<(String, GradCheckReport)> {
        let mut params: Vec<(String, ArrayD<f32>, ArrayD<f32>)> = Vec::new();
        module.visit_params(&mut |name, p| {
            let value = p.value.as_standard_layout().into_owned();
            params.push((
                name.to_owned(),
                value,
                p.grad.as_standard_layout().into_owned(),
            ));
        });
        let mut reports = Vec::new();
        for (name, value, grad) in params {
            let (value_flat, grad_flat) = (
                value.as_slice().expect("standard"),
                grad.as_slice().expect("standard"),
            );
            let mut report = GradCheckReport::empty();
            for i in self.probe_indices(value.len()) {
                let mut loss_at = |v: f32| {
                    set_param_element(module, &name, i, v);
                    loss(module)
                };
                let numeric = (loss_at(value_flat[i] + self.eps)
                    - loss_at(value_flat[i] - self.eps))
                    / (2.0 * self.eps);
                set_param_element(module, &name, i, value_flat[i]);
                report.record(
                    grad_flat[i],
                    numeric,
                    self.floor,
                    unravel(i, value.shape()),
                );
            }
            reports.push((name, report));
        }
        reports
    }

    /// Evenly spaced flat indices, always including the first and last element.
    fn probe_indices(&self, len: usize) -> Vec<usize> {
        if len <= self.max_elements || self.max_elements < 2 {
            return (0..len).collect();
        }
        let step = (len - 1) as f64 / (self.max_elements - 1) as f64;
        (0..self.max_elements)
            .map(|i| (i as f64 * step).round() as usize)
            .collect()
    }
}

impl GradCheck {
    /// Checks a whole layer for L = Σ y ⊙ r with a seeded random r: ∂L/∂x (reported as
    /// "x") and then every parameter gradient, by name. Runs `forward` and `backward`
    /// once for the analytic gradients, then `forward` alone for every probe.
    // x: any shape; forward: x -> y; backward: dy (y's shape) -> dx (x's shape)
    pub fn check_layer<M: Module + ?Sized, D: Dimension>(
        &self,
        layer: &mut M,
        x: &Array<f32, D>,
        seed: u64,
        mut forward: impl FnMut(&mut M, &Array<f32, D>) -> Array<f32, D>,
        backward: impl FnOnce(&mut M, &Array<f32, D>) -> Array<f32, D>,
    ) -> Vec<(String, GradCheckReport)> {
        // Σ y ⊙ r in f64, less the base value, so no digits are lost to the f32 sum.
        let dot = |y: &Array<f32, D>, r: &Array<f32, D>| -> f64 {
            y.iter()
                .zip(r)
                .map(|(&y, &r)| f64::from(y) * f64::from(r))
                .sum()
        };
        layer.zero_grad();
        let y = forward(layer, x);
        let r = random_upstream(y.shape(), seed)
            .into_dimensionality::<D>()
            .expect("the upstream has y's shape");
        let base = dot(&y, &r);
        let dx = backward(layer, &r);
        // Probing reruns forward, which overwrites the caches but not the gradients.
        let x_report =
            self.check(x, &dx, |x| (dot(&forward(layer, x), &r) - base) as f32);
        let mut reports = vec![("x".to_owned(), x_report)];
        reports.extend(
            self.check_module(layer, |m| (dot(&forward(m, x), &r) - base) as f32),
        );
        reports
    }
}

impl GradCheckReport {
    fn empty() -> Self {
        GradCheckReport {
            max_rel_error: 0.0,
            worst_index: Vec::new(),
            analytic: 0.0,
            numeric: 0.0,
            checked: 0,
        }
    }

    fn record(&mut self, analytic: f32, numeric: f32, floor: f32, index: Vec<usize>) {
        let err =
            (analytic - numeric).abs() / analytic.abs().max(numeric.abs()).max(floor);
        // NaN compares false with everything: treat it as the worst possible error.
        if err.is_nan() || err > self.max_rel_error || self.checked == 0 {
            self.max_rel_error = if err.is_nan() { f32::INFINITY } else { err };
            self.worst_index = index;
            self.analytic = analytic;
            self.numeric = numeric;
        }
        self.checked += 1;
    }
}

fn set_param_element<M: Module + ?Sized>(
    module: &mut M,
    name: &str,
    flat: usize,
    v: f32,
) {
    let mut found = false;
    module.visit_params_mut(&mut |n, p| {
        if n == name {
            let mut value = p.value;
            match value.as_slice_mut() {
                Some(flat_values) => flat_values[flat] = v,
                None => *value.iter_mut().nth(flat).expect("flat index in range") = v,
            }
            found = true;
        }
    });
    assert!(
        found,
        "gradient check: parameter {name} disappeared between visits"
    );
}

/// Row-major flat index -> multi-index.
fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (i, &n) in shape.iter().enumerate().rev() {
        index[i] = flat % n;
        flat /= n;
    }
    index
}

/// A seeded upstream gradient for gradient checks: checking L = Σ y ⊙ r with random r
/// exercises every output element with a different weight, where L = Σ y would hide
/// errors that cancel (softmax's outputs always sum to 1, so Σ y has zero gradient).
// shape -> r: shape, entries in U(-1, 1)
pub fn random_upstream(shape: &[usize], seed: u64) -> ArrayD<f32> {
    crate::init::uniform(IxDyn(shape), 1.0, &mut crate::init::seeded_rng(seed))
}
