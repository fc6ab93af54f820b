//! Mixed precision (section "Mixed precision"): float32 values rounded to the two 16-bit
//! formats through the `half` crate, their bit layouts, PyTorch's dynamic loss scaler,
//! and a training step on Chapter 9's Llama that keeps f32 master weights while the
//! forward and backward see half-precision weights, activations and gradients.
//!
//! The arithmetic is emulated: every value that a GPU would *store* in 16 bits is
//! rounded to the format, but the sums and products run in f32 (a CPU without native
//! half arithmetic has nothing faster to offer). What rounding does to training is
//! reproduced; what the narrower format does to speed is not.

use ch01_foundations::module::{Module, ParamViewMut, grad_norm};
use ch06_decoder::lm_loss;
use ch07_transformer::optim::clip_grad_norm;
use ch09_decoder_only::llama_model::Llama;
use half::{bf16, f16};
use ndarray::{Array2, ArrayBase, ArrayD, Axis, DataMut, Dimension};
use thiserror::Error;

use crate::optim::Optimizer;
use crate::trainer::Trainer;

// ANCHOR: precision
/// The format a value is stored in. f16 (IEEE binary16): 1 sign, 5 exponent, 10 mantissa
/// bits. bf16 (bfloat16): 1 sign, 8 exponent, 7 mantissa bits, float32's range with
/// a quarter of f16's precision. Rounding is to nearest, ties to even, as on the GPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Precision {
    F32,
    Bf16,
    F16,
}

impl Precision {
    /// `x` stored in this format and read back as f32.
    pub fn round(self, x: f32) -> f32 {
        match self {
            Precision::F32 => x,
            Precision::Bf16 => bf16::from_f32(x).to_f32(),
            Precision::F16 => f16::from_f32(x).to_f32(),
        }
    }

    /// (exponent bits, mantissa bits); one sign bit comes first in every format.
    pub fn layout(self) -> (u32, u32) {
        match self {
            Precision::F32 => (8, 23),
            Precision::Bf16 => (8, 7),
            Precision::F16 => (5, 10),
        }
    }

    /// The raw bits of `x` stored in this format (the low 16 bits for the half formats).
    pub fn bits(self, x: f32) -> u32 {
        match self {
            Precision::F32 => x.to_bits(),
            Precision::Bf16 => u32::from(bf16::from_f32(x).to_bits()),
            Precision::F16 => u32::from(f16::from_f32(x).to_bits()),
        }
    }
}
// ANCHOR_END: precision

// ANCHOR: fields
impl Precision {
    /// The bits of `x` in this format as "sign exponent mantissa", e.g. f16's 1/3 is
    /// "0 01101 0101010101".
    pub fn fields(self, x: f32) -> String {
        let (e, m) = self.layout();
        let b = self.bits(x);
        let field = |v: u32, n: u32| format!("{:0width$b}", v, width = n as usize);
        let (sign, exponent, mantissa) =
            (b >> (e + m), (b >> m) & ((1 << e) - 1), b & ((1 << m) - 1));
        format!(
            "{} {} {}",
            field(sign, 1),
            field(exponent, e),
            field(mantissa, m)
        )
    }

    /// The largest finite value and the smallest positive normal one.
    pub fn range(self) -> (f32, f32) {
        match self {
            Precision::F32 => (f32::MAX, f32::MIN_POSITIVE),
            Precision::Bf16 => (bf16::MAX.to_f32(), bf16::MIN_POSITIVE.to_f32()),
            Precision::F16 => (f16::MAX.to_f32(), f16::MIN_POSITIVE.to_f32()),
        }
    }
}
// ANCHOR_END: fields

/// The table the text shows: each value's bits and what it becomes in f16 and bf16.
pub fn bit_table(values: &[f32]) -> String {
    let mut t = format!(
        "{:>12} | {:<18} | {:>12} | {:<18} | {:>12}\n",
        "f32 value", "f16 bits", "f16 value", "bf16 bits", "bf16 value"
    );
    for &x in values {
        let (h, b) = (Precision::F16, Precision::Bf16);
        t += &format!(
            "{:>12e} | {:<18} | {:>12e} | {:<18} | {:>12e}\n",
            x,
            h.fields(x),
            h.round(x),
            b.fields(x),
            b.round(x)
        );
    }
    t
}

/// The values of the text's table.
pub const TABLE_VALUES: [f32; 7] = [1.0, 1.0 / 3.0, 65504.0, 70000.0, 1e-6, 1e-8, 3e38];

// ANCHOR: round_array
/// What rounding a tensor to a format did to it.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Rounded {
    pub nonzero: usize,   // entries that were not 0 before rounding
    pub underflow: usize, // ... of which rounding flushed to 0
    pub overflow: usize,  // finite entries that became ±inf
    pub abs: f64,         // Σ|x| before rounding
    pub flushed_abs: f64, // ... of the entries flushed to 0
}

/// Rounds every entry of `a` to `p` in place and counts what was lost.
// a: any shape -> the same shape
pub fn round_array<S, D>(a: &mut ArrayBase<S, D>, p: Precision) -> Rounded
where
    S: DataMut<Elem = f32>,
    D: Dimension,
{
    let mut r = Rounded::default();
    a.map_inplace(|x| {
        let y = p.round(*x);
        r.nonzero += usize::from(*x != 0.0);
        r.underflow += usize::from(*x != 0.0 && y == 0.0);
        r.overflow += usize::from(x.is_finite() && y.is_infinite());
        r.abs += f64::from(x.abs());
        if *x != 0.0 && y == 0.0 {
            r.flushed_abs += f64::from(x.abs());
        }
        *x = y;
    });
    r
}
// ANCHOR_END: round_array

impl std::ops::AddAssign for Rounded {
    fn add_assign(&mut self, o: Rounded) {
        self.nonzero += o.nonzero;
        self.underflow += o.underflow;
        self.overflow += o.overflow;
        self.abs += o.abs;
        self.flushed_abs += o.flushed_abs;
    }
}

/// A loss scaler's settings that cannot work.
#[derive(Debug, Error, PartialEq)]
pub enum ScalerError {
    #[error("loss scaler: init_scale must be finite and > 0, got {0}")]
    Scale(f32),
    #[error("loss scaler: growth_factor must be > 1, got {0}")]
    Growth(f32),
    #[error("loss scaler: backoff_factor must be in (0, 1), got {0}")]
    Backoff(f32),
    #[error("loss scaler: growth_interval must be at least 1")]
    Interval,
}

// ANCHOR: scaler
/// Dynamic loss scaling with the rules of `torch.amp.GradScaler`: multiply the loss
/// (hence every gradient) by `scale`; if any unscaled gradient is inf or NaN, skip the
/// step and multiply `scale` by `backoff_factor`; after `growth_interval` clean steps
/// in a row, multiply it by `growth_factor`.
#[derive(Clone, Debug, PartialEq)]
pub struct LossScaler {
    pub scale: f32,
    pub growth_factor: f32,
    pub backoff_factor: f32,
    pub growth_interval: usize,
    pub clean_steps: usize, // since the last growth or overflow (torch's growth tracker)
}

impl LossScaler {
    /// After a step's gradients were checked: returns whether the optimizer may step.
    pub fn update(&mut self, found_inf: bool) -> bool {
        if found_inf {
            self.scale *= self.backoff_factor;
            self.clean_steps = 0;
            return false;
        }
        self.clean_steps += 1;
        if self.clean_steps == self.growth_interval {
            self.scale *= self.growth_factor;
            self.clean_steps = 0;
        }
        true
    }
}
// ANCHOR_END: scaler

impl LossScaler {
    /// PyTorch's defaults: scale 2^16, ×2 after 2000 clean steps, ×0.5 on an overflow.
    pub fn new() -> Self {
        LossScaler::with(65536.0, 2.0, 0.5, 2000).expect("valid defaults")
    }

    pub fn with(
        init_scale: f32,
        growth_factor: f32,
        backoff_factor: f32,
        growth_interval: usize,
    ) -> Result<Self, ScalerError> {
        if !(init_scale.is_finite() && init_scale > 0.0) {
            return Err(ScalerError::Scale(init_scale));
        }
        if growth_factor.is_nan() || growth_factor <= 1.0 {
            return Err(ScalerError::Growth(growth_factor));
        }
        if !(backoff_factor > 0.0 && backoff_factor < 1.0) {
            return Err(ScalerError::Backoff(backoff_factor));
        }
        if growth_interval == 0 {
            return Err(ScalerError::Interval);
        }
        let clean_steps = 0;
        Ok(LossScaler {
            scale: init_scale,
            growth_factor,
            backoff_factor,
            growth_interval,
            clean_steps,
        })
    }
}

impl Default for LossScaler {
    fn default() -> Self {
        LossScaler::new()
    }
}

// ANCHOR: forward_half
/// Llama's forward (Chapter 9) with every tensor that crosses a block boundary stored in
/// `p`: the embedding output, each block's output (the residual stream), the final
/// norm's output `h` and the logits. Inside a block the arithmetic stays f32. Returns
/// the logits and `h`, which an untied head's backward needs.
// ids: [T] -> (logits: [T, vocab], h: [T, C])
pub fn forward_half(
    model: &mut Llama,
    ids: &[usize],
    p: Precision,
) -> (Array2<f32>, Array2<f32>) {
    let mut x = model.embed.forward(ids);
    round_array(&mut x, p);
    for block in &mut model.blocks {
        x = block.forward(&x);
        round_array(&mut x, p);
    }
    let mut h = model.norm.forward(&x);
    round_array(&mut h, p);
    let mut logits = match &model.lm_head {
        Some(w) => h.dot(&w.value),
        None => model.embed.unembed(&h),
    };
    round_array(&mut logits, p);
    (logits, h)
}
// ANCHOR_END: forward_half

// ANCHOR: backward_half
/// The backward beside it: each gradient that crosses a block boundary is stored in `p`,
/// as the activations were. Parameter gradients accumulate in f32 (the GEMM's
/// accumulator); [`Trainer::train_step_mixed`] rounds them once the batch is done.
// h: [T, C], dlogits: [T, vocab] -> nothing (adds into every parameter's gradient)
pub fn backward_half(
    model: &mut Llama,
    h: &Array2<f32>,
    dlogits: &Array2<f32>,
    p: Precision,
) {
    let mut dh = match &mut model.lm_head {
        Some(w) => {
            w.grad += &h.t().dot(dlogits);
            dlogits.dot(&w.value.t())
        }
        None => model.embed.unembed_backward(dlogits),
    };
    round_array(&mut dh, p);
    let mut dx = model.norm.backward(&dh);
    round_array(&mut dx, p);
    for block in model.blocks.iter_mut().rev() {
        dx = block.backward(&dx);
        round_array(&mut dx, p);
    }
    model.embed.backward(&dx);
}
// ANCHOR_END: backward_half

// ANCHOR: lm_step_half
/// Chapter 9's batch step (one sequence at a time, each row's gradient / B) in precision
/// `p`, the gradient of the loss multiplied by `scale` before it enters the backward.
/// The loss itself is computed in f32 from the rounded logits, as autocast does.
/// Returns the (unscaled) loss and what rounding did to ∂L/∂logits.
// ids: [B, T] -> (loss, rounding of dlogits)
pub fn lm_step_half(
    model: &mut Llama,
    ids: &Array2<usize>,
    p: Precision,
    scale: f32,
) -> (f32, Rounded) {
    let (b, t) = ids.dim();
    assert!(
        t >= 2,
        "lm_step_half: [B, T] = [{b}, {t}] leaves nothing to predict"
    );
    let (mut total, mut lost) = (0.0, Rounded::default());
    for row in ids.rows() {
        let seq = row.to_vec();
        let (logits, h) = forward_half(model, &seq, p);
        let targets = Array2::from_shape_fn((1, t), |(_, j)| seq.get(j + 1).copied());
        let (loss, dlogits) = lm_loss(&logits.insert_axis(Axis(0)), &targets);
        let mut dlogits = dlogits.index_axis_move(Axis(0), 0) * (scale / b as f32);
        lost += round_array(&mut dlogits, p);
        backward_half(model, &h, &dlogits, p);
        total += loss;
    }
    (total / b as f32, lost)
}
// ANCHOR_END: lm_step_half

/// Every parameter's value, in visiting order: the f32 master weights.
pub fn values(model: &dyn Module) -> Vec<ArrayD<f32>> {
    let mut out = Vec::new();
    model.visit_params(&mut |_, p| out.push(p.value.to_owned()));
    out
}

/// Puts `master` back into the model's parameters, in visiting order.
pub fn restore(model: &mut dyn Module, master: &[ArrayD<f32>]) {
    let mut i = 0;
    model.visit_params_mut(&mut |_, mut p: ParamViewMut<'_>| {
        p.value.assign(&master[i]);
        i += 1;
    });
}

/// How a run handles precision: the storage format, and a loss scaler or none.
#[derive(Clone, Debug, PartialEq)]
pub struct MixedPrecision {
    pub precision: Precision,
    pub scaler: Option<LossScaler>,
}

/// What one mixed-precision step did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MixedStepLog {
    pub loss: f32,
    pub grad_norm: f32, // unscaled, before clipping; inf or NaN on a skipped step
    pub lr: f32,
    pub scale: f32, // the loss scale this step used (1 without a scaler)
    pub skipped: bool,
    pub dlogits: Rounded, // ∂L/∂logits rounded to the format (scaled)
    pub grads: Rounded,   // the parameter gradients rounded to the format (scaled)
}

// ANCHOR: half_gradients
/// The scaled gradients of one batch as the half-precision passes leave them: the
/// master weights are set aside, the model's weights rounded to `p` for the forward
/// and backward, the master weights put back, and the gradients rounded to `p` (where
/// fp16 flushes or overflows) and then divided by `scale` in f32.
// ids: [B, T] -> (loss, rounding of dlogits, rounding of the parameter gradients)
pub fn half_gradients(
    model: &mut Llama,
    ids: &Array2<usize>,
    p: Precision,
    scale: f32,
) -> (f32, Rounded, Rounded) {
    let master = values(model);
    model.visit_params_mut(&mut |_, mut w| {
        round_array(&mut w.value, p);
    });
    model.zero_grad();
    let (loss, dlogits) = lm_step_half(model, ids, p, scale);
    restore(model, &master);
    let mut grads = Rounded::default();
    model.visit_params_mut(&mut |_, mut w| {
        grads += round_array(&mut w.grad, p);
        w.grad.mapv_inplace(|g| g / scale);
    });
    (loss, dlogits, grads)
}
// ANCHOR_END: half_gradients

impl<O: Optimizer> Trainer<Llama, O> {
    /// [`Trainer::update_mixed`] on the next batch of `b` windows.
    pub fn train_step_mixed(
        &mut self,
        stream: &[usize],
        b: usize,
        mp: &mut MixedPrecision,
    ) -> MixedStepLog {
        let ids = self.batches.next(stream, b);
        self.update_mixed(&ids, mp)
    }
}

// ANCHOR: update_mixed
impl<O: Optimizer> Trainer<Llama, O> {
    /// One update in mixed precision: half-precision passes, f32 master weights and
    /// optimizer. `self.step` counts batches, skipped or not, so the schedule is the f32
    /// run's. Without a scaler an overflow skips the step too, rather than poison θ.
    // ids: [B, T] -> what the step did
    pub fn update_mixed(
        &mut self,
        ids: &Array2<usize>,
        mp: &mut MixedPrecision,
    ) -> MixedStepLog {
        let scale = mp.scaler.as_ref().map_or(1.0, |s| s.scale);
        let (loss, dlogits, grads) =
            half_gradients(&mut self.model, ids, mp.precision, scale);
        let norm = grad_norm(&self.model);
        let found_inf = !norm.is_finite(); // an inf or NaN anywhere makes the norm one
        let stepped = mp
            .scaler
            .as_mut()
            .map_or(!found_inf, |s| s.update(found_inf));
        let lr = self.peak_lr * self.schedule.factor(self.step);
        if stepped {
            if let Some(max) = self.clip {
                clip_grad_norm(&mut self.model, max);
            }
            self.opt.step(&mut self.model, lr);
        }
        self.step += 1;
        let skipped = !stepped;
        MixedStepLog {
            loss,
            grad_norm: norm,
            lr,
            scale,
            skipped,
            dlogits,
            grads,
        }
    }
}
// ANCHOR_END: update_mixed
