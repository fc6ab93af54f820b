//! Tier 2: every layer against PyTorch (fixtures from tools/golden/ch04_ffn_norms.py):
//! outputs, input gradients and parameter gradients for a fixed upstream gradient.
//! Each test states its tolerance (max absolute difference).

use ch01_foundations::module::Module;
use ch04_ffn_norms::activations::{Activation, erf};
use ch04_ffn_norms::ffn::Ffn;
use ch04_ffn_norms::linear::Linear;
use ch04_ffn_norms::norms::{LayerNorm, RmsNorm};
use ch04_ffn_norms::swiglu::SwiGlu;
use golden::{Fixture, max_abs_diff};
use ndarray::{Array1, Array2, ArrayD, Ix1, Ix2};

fn fixture() -> Fixture {
    Fixture::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/ch04.json"
    ))
    .unwrap()
}

fn t2(f: &Fixture, case: &str, field: &str) -> Array2<f32> {
    f.array::<Ix2>(case, field).unwrap()
}

fn t1(f: &Fixture, case: &str, field: &str) -> Array1<f32> {
    f.array::<Ix1>(case, field).unwrap()
}

/// Asserts |ours - reference| ≤ tol everywhere and returns the largest difference.
fn close<D: ndarray::Dimension>(
    ours: &ndarray::Array<f32, D>,
    f: &Fixture,
    case: &str,
    field: &str,
    tol: f32,
) -> f32 {
    let want: ArrayD<f32> = f.tensor(case, field).unwrap();
    let d = max_abs_diff(&ours.clone().into_dyn(), &want);
    assert!(
        d <= tol,
        "{case}.{field}: max |ours - PyTorch| = {d:.3e} > {tol:.1e}"
    );
    // Seen with `cargo test -p ch04-ffn-norms --test golden -- --nocapture`.
    println!("{case}.{field}: max |ours - PyTorch| = {d:.2e} (tolerance {tol:.0e})");
    d
}

/// Parameter gradients by dotted name.
fn grad(m: &dyn Module, name: &str) -> ArrayD<f32> {
    let mut out = None;
    m.visit_params(&mut |n, p| {
        if n == name {
            out = Some(p.grad.to_owned());
        }
    });
    out.unwrap_or_else(|| panic!("no parameter {name}"))
}

#[test]
fn erf_matches_torch_to_1e6() {
    let f = fixture();
    let x = t1(&f, "erf", "x");
    close(&x.mapv(erf), &f, "erf", "y", 1e-6);
}

#[test]
fn activations_match_torch() {
    // 5e-6 absolute: outputs reach |8| (an f32 ulp there is 1e-6) and the
    // derivatives are multiplied by an upstream gradient of size ≈ 2.
    let f = fixture();
    for (case, act) in [
        ("relu", Activation::Relu),
        ("gelu", Activation::Gelu),
        ("gelu_tanh", Activation::GeluTanh),
        ("silu", Activation::Silu),
    ] {
        let x = t2(&f, case, "x");
        let dy = t2(&f, case, "dy");
        close(&act.forward(&x), &f, case, "y", 5e-6);
        close(&act.backward(&x, &dy), &f, case, "dx", 5e-6);
    }
}

#[test]
fn linear_matches_torch() {
    let f = fixture();
    let mut lin = Linear::from_params(t2(&f, "linear", "w"), t1(&f, "linear", "b"));
    let y = lin.forward(&t2(&f, "linear", "x"));
    let dx = lin.backward(&t2(&f, "linear", "dy"));
    let tol = 1e-5;
    close(&y, &f, "linear", "y", tol);
    close(&dx, &f, "linear", "dx", tol);
    close(&lin.w.grad, &f, "linear", "dw", tol);
    close(&lin.b.grad, &f, "linear", "db", tol);
}

#[test]
fn layernorm_matches_torch() {
    // 1e-4: row 0 has mean ≈ 100, where one f32 ulp of x is ≈ 8e-6 and the
    // normalisation divides by a standard deviation of ≈ 1.
    let f = fixture();
    let mut ln = LayerNorm::new(8, f.scalar("layernorm", "eps").unwrap());
    ln.gamma.value = t1(&f, "layernorm", "gamma");
    ln.beta.value = t1(&f, "layernorm", "beta");
    let y = ln.forward(&t2(&f, "layernorm", "x"));
    let dx = ln.backward(&t2(&f, "layernorm", "dy"));
    let tol = 1e-4;
    close(&y, &f, "layernorm", "y", tol);
    close(&dx, &f, "layernorm", "dx", tol);
    close(&ln.gamma.grad, &f, "layernorm", "dgamma", tol);
    close(&ln.beta.grad, &f, "layernorm", "dbeta", tol);
}

#[test]
fn rmsnorm_matches_torch() {
    let f = fixture();
    let mut rms = RmsNorm::new(8, f.scalar("rmsnorm", "eps").unwrap());
    rms.weight.value = t1(&f, "rmsnorm", "weight");
    let y = rms.forward(&t2(&f, "rmsnorm", "x"));
    let dx = rms.backward(&t2(&f, "rmsnorm", "dy"));
    let tol = 1e-5;
    close(&y, &f, "rmsnorm", "y", tol);
    close(&dx, &f, "rmsnorm", "dx", tol);
    close(&rms.weight.grad, &f, "rmsnorm", "dweight", tol);
}

#[test]
fn gelu_ffn_matches_torch_sequential() {
    let f = fixture();
    let fc1 = Linear::from_params(t2(&f, "ffn", "w1"), t1(&f, "ffn", "b1"));
    let fc2 = Linear::from_params(t2(&f, "ffn", "w2"), t1(&f, "ffn", "b2"));
    let mut ffn = Ffn::from_layers(fc1, fc2, Activation::Gelu);
    let y = ffn.forward(&t2(&f, "ffn", "x"));
    let dx = ffn.backward(&t2(&f, "ffn", "dy"));
    let tol = 1e-5;
    close(&y, &f, "ffn", "y", tol);
    close(&dx, &f, "ffn", "dx", tol);
    for (name, field) in [
        ("fc1.w", "dw1"),
        ("fc1.b", "db1"),
        ("fc2.w", "dw2"),
        ("fc2.b", "db2"),
    ] {
        close(&grad(&ffn, name), &f, "ffn", field, tol);
    }
}

#[test]
fn swiglu_matches_llama_feedforward() {
    let f = fixture();
    let (w1, w2, w3) = (
        t2(&f, "swiglu", "w1"),
        t2(&f, "swiglu", "w2"),
        t2(&f, "swiglu", "w3"),
    );
    let mut swiglu = SwiGlu::from_params(w1, w2, w3);
    let y = swiglu.forward(&t2(&f, "swiglu", "x"));
    let dx = swiglu.backward(&t2(&f, "swiglu", "dy"));
    let tol = 1e-5;
    close(&y, &f, "swiglu", "y", tol);
    close(&dx, &f, "swiglu", "dx", tol);
    for (name, field) in [("w1", "dw1"), ("w2", "dw2"), ("w3", "dw3")] {
        close(&grad(&swiglu, name), &f, "swiglu", field, tol);
    }
}
