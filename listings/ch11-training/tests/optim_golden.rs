//! Parity with torch.optim (tools/golden/ch11_optim.py): SGD with momentum and dampening,
//! Nesterov SGD, Adam with coupled L2 decay and AdamW with decoupled decay, each with
//! the two parameter groups `decays` chooses, over 5 steps of fixed gradients and a
//! changing learning rate. Parameters and state are compared after every step with
//! PyTorch's float32 run (tight) and with its float64 run (the exact answer, up to f64).

mod common;

use ch11_training::optim::decays;
use common::parity::{all_errors, fixture, parity_table};

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
    for (_, p, s) in all_errors("f32") {
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
    for (_, p, s) in all_errors("f64") {
        assert!(
            p < 4.0 * ULP && s < 4.0 * ULP,
            "parameters {p:e}, state {s:e}"
        );
    }
}

#[test]
fn the_committed_parity_table_is_what_the_code_computes() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../src/figures/ch11/optim-parity.txt"
    );
    let committed = std::fs::read_to_string(path).expect("run the optim_parity example");
    assert_eq!(
        committed,
        parity_table(),
        "rerun: cargo run -p ch11-training --example optim_parity"
    );
}
