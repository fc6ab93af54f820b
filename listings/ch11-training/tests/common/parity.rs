//! Running the book's optimizers on tools/golden/ch11_optim.py's fixture and measuring
//! the error against PyTorch: shared by tests/optim_golden.rs and the optim_parity
//! example, which writes the table the text includes.

use ch01_foundations::module::Param;
use ch11_training::optim::{AdamW, NamedParams, Optimizer, Sgd, WeightDecay};
use ndarray::{ArrayD, IxDyn};
use serde_json::Value;

pub fn fixture() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden/optim.json");
    let text = std::fs::read_to_string(path).expect("tests/golden/optim.json");
    let doc: Value = serde_json::from_str(&text).expect("valid JSON");
    doc["cases"].clone()
}

/// A tensor as f64, exactly as PyTorch wrote it.
pub fn tensor(v: &Value) -> ArrayD<f64> {
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
pub fn rel_err(ours: &ArrayD<f32>, want: &ArrayD<f64>) -> f64 {
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
pub fn errors<O: Optimizer>(
    mut opt: O,
    config: &'static str,
    dtype: &str,
    state: impl Fn(&O, &str, &str) -> ArrayD<f32>,
) -> (&'static str, f64, f64) {
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
    (config, param_err, state_err)
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

/// (config, parameter error, state error) for every optimizer of the fixture.
pub fn all_errors(dtype: &str) -> Vec<(&'static str, f64, f64)> {
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

/// The table of src/figures/ch11/optim-parity.txt.
pub fn parity_table() -> String {
    let mut s = String::from(
        "The book's optimizers against torch.optim (tools/golden/ch11_optim.py): 5 steps, 5 tensors,\n\
         two parameter groups; the largest error over every step and tensor, relative to the\n\
         tensor's largest entry (f32 rounding: 1.19e-7 a unit)\n\n\
         optimizer    | vs torch f32: params | state    | vs torch f64: params | state\n\
         ------------ | -------------------- | -------- | -------------------- | --------\n",
    );
    for ((config, p32, s32), (_, p64, s64)) in
        all_errors("f32").into_iter().zip(all_errors("f64"))
    {
        s += &format!(
            "{config:<12} | {p32:>20.2e} | {s32:>8.2e} | {p64:>20.2e} | {s64:>8.2e}\n"
        );
    }
    s
}
