//! Parity with torch.optim (tools/golden/ch11_optim.py): SGD with momentum and dampening,
//! Nesterov SGD, Adam with coupled L2 decay and AdamW with decoupled decay, each with
//! the two parameter groups `decays` chooses, over 5 steps of fixed gradients and a
//! changing learning rate. Parameters and state are compared after every step with
//! PyTorch's float32 run (tight) and with its float64 run (the exact answer, up to f64).

use ch01_foundations::module::Param;
use ch11_training::optim::{AdamW, NamedParams, Optimizer, Sgd, WeightDecay, decays};
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/optim.json");
    let text = std::fs::read_to_string(path).expect("tests/golden/optim.json");
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    doc["cases"].clone()
}

/// A tensor as f64, exactly as PyTorch wrote it.
fn tensor(v: &Value) -> ArrayD<f64> {
    let shape: Vec<usize> = v["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = v["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    ArrayD::from_shape_vec(IxDyn(&shape), data).unwrap()
}

/// max |ours - want| / max |want|: the error relative to the tensor's scale.
fn rel_err(ours: &ArrayD<f32>, want: &ArrayD<f64>) -> f64 {
    assert_eq!(ours.shape(), want.shape());
    let scale = want.iter().fold(0.0f64, |a, w| a.max(w.abs())).max(1e-30);
    ours.iter()
        .zip(want)
        .map(|(&o, w)| (f64::from(o) - w).abs())
        .fold(0.0, f64::max)
        / scale
}

/// The largest relative error of our f32 run against PyTorch's `dtype` run of `config`,
/// over every step and tensor: (parameters, state). `state(opt, name, key)` is our
/// tensor of the state PyTorch calls `key`.
fn errors<O: Optimizer>(
    mut opt: O,
    config: &str,
    dtype: &str,
    state: impl Fn(&O, &str, &str) -> ArrayD<f32>,
) -> (f64, f64) {
    let cases = fixture();
    let setup = &cases["setup"];
    let mut model = NamedParams(
        setup["init"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(n, v)| (n.clone(), Param::new(tensor(v).mapv(|x| x as f32))))
            .collect(),
    );
    let (mut param_err, mut state_err) = (0.0f64, 0.0f64);
    for (t, want) in cases[config][dtype].as_array().unwrap().iter().enumerate() {
        for (name, p) in &mut model.0 {
            p.grad = tensor(&setup["grads"][t][name.as_str()]).mapv(|x| x as f32);
        }
        opt.step(&mut model, setup["lrs"][t].as_f64().unwrap() as f32);
        for (key, want) in want.as_object().unwrap() {
            let want = tensor(want);
            match key.split_once('/') {
                None => {
                    let p = &model.0.iter().find(|(n, _)| n == key).unwrap().1;
                    param_err = param_err.max(rel_err(&p.value, &want));
                }
                Some((name, k)) => {
                    state_err = state_err.max(rel_err(&state(&opt, name, k), &want))
                }
            }
        }
    }
    println!(
        "{config} against torch {dtype}: parameters {param_err:.2e}, state {state_err:.2e}"
    );
    (param_err, state_err)
}

fn sgd_buffer(opt: &Sgd, name: &str, key: &str) -> ArrayD<f32> {
    assert_eq!(key, "momentum_buffer");
    opt.state[name].clone()
}

fn adam_moment(opt: &AdamW, name: &str, key: &str) -> ArrayD<f32> {
    match key {
        "exp_avg" => opt.state[name].m.clone(),
        "exp_avg_sq" => opt.state[name].v.clone(),
        _ => panic!("unexpected state {key}"),
    }
}

fn all_errors(dtype: &str) -> Vec<(f64, f64)> {
    vec![
        errors(
            Sgd::new(0.9, 0.1, false, 0.01).unwrap(),
            "sgd_momentum",
            dtype,
            sgd_buffer,
        ),
        errors(
            Sgd::new(0.9, 0.0, true, 0.01).unwrap(),
            "sgd_nesterov",
            dtype,
            sgd_buffer,
        ),
        errors(
            AdamW::with_betas(0.9, 0.999, 1e-8, WeightDecay::Coupled(0.1)),
            "adam_l2",
            dtype,
            adam_moment,
        ),
        errors(
            AdamW::with_betas(0.9, 0.95, 1e-8, WeightDecay::Decoupled(0.1)),
            "adamw",
            dtype,
            adam_moment,
        ),
    ]
}

#[test]
fn the_fixture_groups_are_the_ones_decays_chooses() {
    let cases = fixture();
    let no_decay: Vec<&str> = cases["setup"]["no_decay"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for name in cases["setup"]["init"].as_object().unwrap().keys() {
        assert_eq!(decays(name), !no_decay.contains(&name.as_str()), "{name}");
    }
}

/// f32's unit roundoff: the spacing of floats near 1 is 2ε = 1.19e-7.
const ULP: f64 = f32::EPSILON as f64;

#[test]
fn optimizers_match_torch_float32() {
    // Same arithmetic in the same precision: within 2 f32 units at the tensor's scale
    // (measured: at most 1.1e-7, about one unit).
    for (p, s) in all_errors("f32") {
        assert!(
            p < 2.0 * ULP && s < 2.0 * ULP,
            "parameters {p:e}, state {s:e}"
        );
    }
}

#[test]
fn optimizers_match_torch_float64() {
    // Against the exact answer (to f64), five steps of f32 rounding: within 4 f32 units
    // at the tensor's scale (measured: at most 2.2e-7).
    for (p, s) in all_errors("f64") {
        assert!(
            p < 4.0 * ULP && s < 4.0 * ULP,
            "parameters {p:e}, state {s:e}"
        );
    }
}
