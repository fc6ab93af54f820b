//! Grouped-query attention with RoPE, forward and backward (section "Llama from
//! scratch"). `n_kv_heads` K/V heads, each shared by `n_heads / n_kv_heads` query heads:
//! one K/V head is multi-query attention (MQA), `n_kv_heads = n_heads` is multi-head.

use std::any::Any;

use ch01_foundations::init::xavier_uniform;
use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ch01_foundations::module::{visit_child, visit_child_mut};
use ch02_input::positions::rope::{Rope, RopeStyle};
use ch03_attention::mask::Mask;
use ch03_attention::sdpa::{sdpa, sdpa_backward};
use ndarray::{Array2, Array3, Ix2, s};
use rand::Rng;

/// What backward needs: the input x [T, C], the rotated queries [H, T, d] and keys
/// [H_kv, T, d], the values [H_kv, T, d], every head's weights [H, T, T], the heads'
/// concatenated output [T, H·d], and the rotation.
struct GqaCache(
    Array2<f32>,
    Array3<f32>,
    Array3<f32>,
    Array3<f32>,
    Array3<f32>,
    Array2<f32>,
    Rope,
);

/// Causal, and nothing else: Llama's training batches are unpadded.
fn causal() -> Mask<'static> {
    Mask {
        causal: true,
        ..Mask::default()
    }
}

// ANCHOR: gqa_struct
/// Bias-free projections W_q: [C, H·d], W_k, W_v: [C, H_kv·d], W_o: [H·d, C].
/// Query head h reads K/V head h / (H / H_kv), as Hugging Face's `repeat_kv` does.
pub struct GroupedQueryAttention {
    pub wq: Param<Ix2>,
    pub wk: Param<Ix2>,
    pub wv: Param<Ix2>,
    pub wo: Param<Ix2>,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    pub rope_base: f64,
    /// Which pairs RoPE turns: rotate-half, as Hugging Face's Llama checkpoints expect.
    pub rope_style: RopeStyle,
    /// Trainable paths beside W_q, W_k, W_v, W_o, in that order (Chapter 13's LoRA);
    /// none in this chapter.
    pub side: [Option<Box<dyn SidePath>>; 4],
    /// Whether backward leaves the four projections' gradients alone.
    pub frozen: bool,
    cache: Option<GqaCache>,
}
// ANCHOR_END: gqa_struct

// ANCHOR: side_path
/// A trainable path beside a projection, y = x·W + path(x): the hook Chapter 13's
/// low-rank adapters plug into. Its parameters are visited as the projection's
/// (`wq_side.a`), and it caches its own input for its backward. `Any` lets the owner of
/// a concrete path (LoRA, merging itself into W) find it again.
pub trait SidePath: Module + Any + Send + Sync {
    // x: [T, d_in] -> [T, d_out]
    fn forward(&mut self, x: &Array2<f32>) -> Array2<f32>;
    /// Adds its parameters' gradients and returns its share of dx.
    // dy: [T, d_out] -> dx: [T, d_in]
    fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32>;
}

/// The names of the four projections, in the order of `side`.
pub const PROJECTIONS: [&str; 4] = ["wq", "wk", "wv", "wo"];
// ANCHOR_END: side_path

// ANCHOR: project

/// x·W plus the side path's output where one is installed.
// x: [T, d_in] -> [T, d_out]
fn project(
    w: &Param<Ix2>,
    side: &mut Option<Box<dyn SidePath>>,
    x: &Array2<f32>,
) -> Array2<f32> {
    let y = x.dot(&w.value);
    match side {
        Some(path) => y + &path.forward(x),
        None => y,
    }
}

/// Adds xᵀ·dy to W's gradient unless it is frozen; returns dy·Wᵀ plus the side path's dx.
// x: [T, d_in], dy: [T, d_out] -> dx: [T, d_in]
fn project_backward(
    w: &mut Param<Ix2>,
    side: &mut Option<Box<dyn SidePath>>,
    frozen: bool,
    (x, dy): (&Array2<f32>, &Array2<f32>),
) -> Array2<f32> {
    if !frozen {
        w.grad += &x.t().dot(dy);
    }
    let dx = dy.dot(&w.value.t());
    match side {
        Some(path) => dx + &path.backward(dy),
        None => dx,
    }
}
// ANCHOR_END: project

impl GroupedQueryAttention {
    /// Panics unless `n_kv_heads` divides `n_heads` and `head_dim` is even: the model's
    /// config checks these first and returns an error naming the field.
    pub fn new(
        d_model: usize,
        (n_heads, n_kv_heads, head_dim): (usize, usize, usize),
        rope_base: f64,
        rng: &mut impl Rng,
    ) -> Self {
        assert!(
            n_kv_heads > 0 && n_heads.is_multiple_of(n_kv_heads) && head_dim % 2 == 0,
            "gqa: {n_kv_heads} K/V heads must divide {n_heads} heads, head_dim {head_dim} even"
        );
        let (dq, dkv) = (n_heads * head_dim, n_kv_heads * head_dim);
        GroupedQueryAttention {
            wq: Param::new(xavier_uniform(d_model, dq, rng)),
            wk: Param::new(xavier_uniform(d_model, dkv, rng)),
            wv: Param::new(xavier_uniform(d_model, dkv, rng)),
            wo: Param::new(xavier_uniform(dq, d_model, rng)),
            n_heads,
            n_kv_heads,
            head_dim,
            rope_base,
            rope_style: RopeStyle::RotateHalf,
            side: [None, None, None, None],
            frozen: false,
            cache: None,
        }
    }

    /// Query heads per K/V head.
    pub fn group(&self) -> usize {
        self.n_heads / self.n_kv_heads
    }
}

/// [T, n·d] -> [n, T, d]: the heads side by side in the columns, split apart.
// x: [T, n·d] -> [n, T, d]
pub fn split_heads(x: Array2<f32>, n: usize) -> Array3<f32> {
    let (t, nd) = x.dim();
    let x = x
        .into_shape_with_order((t, n, nd / n))
        .expect("n divides the width");
    x.permuted_axes([1, 0, 2]).as_standard_layout().into_owned()
}

/// [n, T, d] -> [T, n·d], the inverse of [`split_heads`].
// x: [n, T, d] -> [T, n·d]
fn merge_heads(x: Array3<f32>) -> Array2<f32> {
    let (n, t, d) = x.dim();
    let x = x.permuted_axes([1, 0, 2]).as_standard_layout().into_owned();
    x.into_shape_with_order((t, n * d)).expect("contiguous")
}

// ANCHOR: gqa_forward
impl GroupedQueryAttention {
    /// Causal self-attention at positions 0..T. RoPE turns q and k, not v.
    // x: [T, C] -> y: [T, C]
    pub fn forward(&mut self, x: &Array2<f32>) -> Array2<f32> {
        let (t, d, g) = (x.nrows(), self.head_dim, self.group());
        let positions: Vec<usize> = (0..t).collect();
        let rope = Rope::new(&positions, d, self.rope_base, self.rope_style);
        let [sq, sk, sv, _] = &mut self.side;
        let q = rope.forward_heads(&split_heads(project(&self.wq, sq, x), self.n_heads));
        let k =
            rope.forward_heads(&split_heads(project(&self.wk, sk, x), self.n_kv_heads));
        let v = split_heads(project(&self.wv, sv, x), self.n_kv_heads);
        let mut o = Array3::zeros((self.n_heads, t, d));
        let mut p = Array3::zeros((self.n_heads, t, t));
        for h in 0..self.n_heads {
            let kv = h / g; // the K/V head this query head shares
            let a = sdpa(
                q.slice(s![h, .., ..]),
                k.slice(s![kv, .., ..]),
                v.slice(s![kv, .., ..]),
                &causal(),
            );
            o.slice_mut(s![h, .., ..]).assign(&a.out);
            p.slice_mut(s![h, .., ..]).assign(&a.p);
        }
        let o = merge_heads(o);
        let y = project(&self.wo, &mut self.side[3], &o);
        self.cache = Some(GqaCache(x.clone(), q, k, v, p, o, rope));
        y
    }
}
// ANCHOR_END: gqa_forward

// ANCHOR: gqa_backward
impl GroupedQueryAttention {
    /// A K/V head served `group` query heads, so its gradient is the sum of theirs.
    /// RoPE's backward is the inverse rotation.
    // dy: [T, C] -> dx: [T, C]
    pub fn backward(&mut self, dy: &Array2<f32>) -> Array2<f32> {
        let cache = self.cache.as_ref().expect("gqa backward before forward");
        let GqaCache(x, q, k, v, p, o, rope) = cache;
        assert_eq!(dy.dim(), x.dim(), "gqa backward: dy and x (left, right)");
        let (g, frozen) = (self.group(), self.frozen);
        let [sq, sk, sv, so] = &mut self.side;
        let d_o = project_backward(&mut self.wo, so, frozen, (o, dy));
        let d_o = split_heads(d_o, self.n_heads);
        let mut dq = Array3::zeros(q.raw_dim());
        let (mut dk, mut dv) = (Array3::zeros(k.raw_dim()), Array3::zeros(v.raw_dim()));
        for h in 0..self.n_heads {
            let kv = h / g;
            let (dq_h, dk_h, dv_h) = sdpa_backward(
                q.slice(s![h, .., ..]),
                k.slice(s![kv, .., ..]),
                v.slice(s![kv, .., ..]),
                p.slice(s![h, .., ..]),
                d_o.slice(s![h, .., ..]),
            );
            dq.slice_mut(s![h, .., ..]).assign(&dq_h);
            let mut dk_kv = dk.slice_mut(s![kv, .., ..]);
            dk_kv += &dk_h; // summed over the group
            let mut dv_kv = dv.slice_mut(s![kv, .., ..]);
            dv_kv += &dv_h;
        }
        let dq = merge_heads(rope.backward_heads(&dq));
        let dk = merge_heads(rope.backward_heads(&dk));
        let dv = merge_heads(dv);
        project_backward(&mut self.wq, sq, frozen, (x, &dq))
            + project_backward(&mut self.wk, sk, frozen, (x, &dk))
            + project_backward(&mut self.wv, sv, frozen, (x, &dv))
    }
}
// ANCHOR_END: gqa_backward

impl Module for GroupedQueryAttention {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        f("wq", self.wq.view());
        f("wk", self.wk.view());
        f("wv", self.wv.view());
        f("wo", self.wo.view());
        for (name, side) in PROJECTIONS.iter().zip(&self.side) {
            if let Some(path) = side {
                visit_child(&format!("{name}_side"), path.as_ref(), f);
            }
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        f("wq", self.wq.view_mut());
        f("wk", self.wk.view_mut());
        f("wv", self.wv.view_mut());
        f("wo", self.wo.view_mut());
        for (name, side) in PROJECTIONS.iter().zip(&mut self.side) {
            if let Some(path) = side {
                visit_child_mut(&format!("{name}_side"), path.as_mut(), f);
            }
        }
    }
}
