//! Residual wiring: Pre-LN x + F(LN(x)) and Post-LN LN(x + F(x)) (section "Residual
//! connections"), and the gradient norms through a deep stack of each.

use ch01_foundations::gradcheck::random_upstream;
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::{
    Module, ParamView, ParamViewMut, visit_child, visit_child_mut,
};
use ndarray::{Array2, Ix2};

use crate::activations::Activation;
use crate::ffn::Ffn;
use crate::norms::LayerNorm;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wiring {
    PreLn,
    PostLn,
}

// ANCHOR: block
/// One residual sub-layer: a LayerNorm and an FFN, wired Pre-LN or Post-LN.
#[derive(Clone, Debug)]
pub struct ResidualBlock {
    pub norm: LayerNorm,
    pub ffn: Ffn,
    pub wiring: Wiring,
}

impl ResidualBlock {
    // x: [N, C] -> [N, C]
    pub fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        match self.wiring {
            // The identity path x runs from input to output untouched.
            Wiring::PreLn => x + &self.ffn.forward(&self.norm.forward(x)),
            // Every block's output passes through a LayerNorm: no untouched path.
            Wiring::PostLn => self.norm.forward(&(x + &self.ffn.forward(x))),
        }
    }

    // dy: [N, C] -> dx: [N, C]
    pub fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        match self.wiring {
            // d(x + F(LN(x)))/dx: the upstream gradient arrives unchanged, plus F's.
            Wiring::PreLn => dy + &self.norm.backward(&self.ffn.backward(dy)),
            Wiring::PostLn => {
                let dz = self.norm.backward(dy);
                &dz + &self.ffn.backward(&dz)
            }
        }
    }
}
// ANCHOR_END: block

impl Module for ResidualBlock {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        visit_child("norm", &self.norm, f);
        visit_child("ffn", &self.ffn, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        visit_child_mut("norm", &mut self.norm, f);
        visit_child_mut("ffn", &mut self.ffn, f);
    }
}

/// A stack of `depth` blocks at initialisation, seeded.
pub fn stack(
    depth: usize,
    d_model: usize,
    wiring: Wiring,
    seed: u64,
) -> Vec<ResidualBlock> {
    let mut rng = seeded_rng(seed);
    (0..depth)
        .map(|_| ResidualBlock {
            norm: LayerNorm::new(d_model, 1e-5),
            ffn: Ffn::new(d_model, 4 * d_model, Activation::Gelu, &mut rng),
            wiring,
        })
        .collect()
}

// ANCHOR: grad_norms
/// Gradient norms through a stack at init, for L = Σ y ⊙ r with a random r:
/// (‖∂L/∂x_l‖ at each block's input, ‖∂L/∂W‖ of each block's fc1.w), l = 0..depth.
/// A Pre-LN stack ends in one more LayerNorm (GPT-2's `ln_f`): its residual stream
/// is never normalised otherwise.
pub fn grad_norms(
    depth: usize,
    d_model: usize,
    tokens: usize,
    wiring: Wiring,
    seed: u64,
) -> (Vec<f32>, Vec<f32>) {
    let mut blocks = stack(depth, d_model, wiring, seed);
    let mut final_norm = LayerNorm::new(d_model, 1e-5);
    let mut x = normal((tokens, d_model), 1.0, &mut seeded_rng(seed + 1));
    for block in &mut blocks {
        x = block.forward(&x);
    }
    let r = random_upstream(&[tokens, d_model], seed + 2);
    let mut dx: Array2<f32> = r.into_dimensionality::<Ix2>().expect("2-D upstream");
    if wiring == Wiring::PreLn {
        final_norm.forward(&x);
        dx = final_norm.backward(&dx);
    }
    let (mut dx_norms, mut dw_norms) = (vec![0.0; depth], vec![0.0; depth]);
    for (l, block) in blocks.iter_mut().enumerate().rev() {
        dx = block.backward(&dx);
        dx_norms[l] = norm(&dx);
        dw_norms[l] = norm(&block.ffn.fc1.w.grad);
    }
    (dx_norms, dw_norms)
}
// ANCHOR_END: grad_norms

fn norm(a: &Array2<f32>) -> f32 {
    a.iter().map(|v| v * v).sum::<f32>().sqrt()
}
