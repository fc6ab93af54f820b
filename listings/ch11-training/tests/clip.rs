//! Gradient clipping by global norm: Chapter 7's `clip_grad_norm` against
//! torch.nn.utils.clip_grad_norm_ (tools/golden/ch11_clip.py).

use ch01_foundations::module::{Module, Param, ParamView, ParamViewMut};
use ch07_transformer::optim::clip_grad_norm;
use golden::{Fixture, max_abs_diff};
use ndarray::{ArrayD, IxDyn};

const NAMES: [&str; 3] = ["embed", "layer.w", "layer.b"];

/// Three parameters of different shapes, named as the fixture names them.
struct Three([Param<IxDyn>; 3]);

impl Module for Three {
    fn visit_params(&self, f: &mut dyn FnMut(&str, ParamView<'_>)) {
        NAMES.iter().zip(&self.0).for_each(|(n, p)| f(n, p.view()));
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, ParamViewMut<'_>)) {
        NAMES
            .iter()
            .zip(&mut self.0)
            .for_each(|(n, p)| f(n, p.view_mut()));
    }
}

/// Tolerance: the norm to 1e-6 relative (ours sums squares in f64, torch in f32), the
/// clipped gradients to 1e-6 of the largest entry.
#[test]
fn golden_vs_torch_clip_grad_norm() {
    let fx = Fixture::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/ch11_clip.json"
    ))
    .unwrap();
    let cases = ["above", "below", "large", "tiny", "zero", "max_norm_zero"];
    assert_eq!(fx.cases().as_object().unwrap().len(), cases.len());
    for case in cases {
        let grad = |name: &str| fx.tensor(case, &format!("grad.{name}")).unwrap();
        let mut model = Three(NAMES.map(|n| {
            let g: ArrayD<f32> = grad(n);
            Param {
                value: ArrayD::zeros(g.raw_dim()),
                grad: g,
            }
        }));
        let max_norm = fx.scalar(case, "max_norm").unwrap();
        let want_norm = fx.scalar(case, "total_norm").unwrap();
        let norm = clip_grad_norm(&mut model, max_norm);
        let rel = (norm - want_norm).abs() / want_norm.max(f32::MIN_POSITIVE);
        assert!(
            norm == want_norm || rel <= 1e-6,
            "{case}: norm {norm} vs torch {want_norm}"
        );
        for (name, p) in NAMES.iter().zip(&model.0) {
            let want = fx.tensor(case, &format!("clipped.{name}")).unwrap();
            let scale = want.iter().fold(0.0f32, |m, x| m.max(x.abs()));
            let err = max_abs_diff(&p.grad, &want);
            eprintln!("{case} {name}: norm rel {rel:.1e}, grad {err:.1e} of {scale:.1e}");
            assert!(err <= 1e-6 * scale, "{case}: {name} differs by {err:.1e}");
        }
    }
}
