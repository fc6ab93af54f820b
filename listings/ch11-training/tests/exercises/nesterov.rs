//! The optimizer exercise's solution: Sutskever's look-ahead Nesterov and PyTorch's form,
//! run by the chapter's `Sgd`, visit the same points.

use ch01_foundations::module::Param;
use ch11_training::exercises::nesterov::look_ahead_nesterov;
use ch11_training::optim::{NamedParams, Optimizer, Sgd};
use ndarray::{Array1, Ix1};

#[test]
fn pytorchs_nesterov_iterate_is_sutskevers_look_ahead_point() {
    let a = Array1::from(vec![1.0f32, 10.0, 0.1, 4.0]); // curvatures 100 apart
    let c = Array1::from(vec![0.5f32, -1.0, 2.0, 0.0]);
    let theta0 = Array1::from(vec![-1.0f32, 1.0, 1.0, 3.0]);
    let (lr, mu, steps) = (0.05, 0.9, 60);
    let phi = look_ahead_nesterov(&a, &c, &theta0, lr, mu, steps);

    let mut model =
        NamedParams(vec![("w".into(), Param::new(theta0.clone().into_dyn()))]);
    let mut opt = Sgd::new(f64::from(mu), 0.0, true, 0.0).unwrap();
    for (t, phi) in phi.iter().enumerate() {
        let p = &mut model.0[0].1;
        p.grad = (&a * &(&p.value.view().into_dimensionality::<Ix1>().unwrap() - &c))
            .into_dyn();
        opt.step(&mut model, lr);
        let ours = model.0[0]
            .1
            .value
            .view()
            .into_dimensionality::<Ix1>()
            .unwrap()
            .to_owned();
        // Two orders of f32 rounding of the same recurrence: within 1e-5.
        let err = (&ours - phi).iter().fold(0.0f32, |m, d| m.max(d.abs()));
        assert!(err < 1e-5, "step {t}: {ours} vs {phi}");
    }
    // And both have converged to the minimum c.
    let last = phi.last().unwrap();
    assert!((last - &c).iter().all(|d| d.abs() < 0.2), "{last}");
}
