//! Sinusoidal and learned positions: properties, gradient checks, the error past max_len,
//! the snapshots of their sections, and the committed figures.

use std::path::Path;

use ch01_foundations::figures::assert_up_to_date;

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::module::Module;
use ch02_input::positions::learned::{LearnedPositions, TooLong};
use ch02_input::positions::sinusoidal::{
    pe_dot_by_distance, sinusoidal, sinusoidal_with_base,
};
use ch02_input::positions::{figures, report};
use ndarray::{Array2, Ix2};

const TOL: f32 = 1e-2;

fn snapshot(name: &str, text: String) {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn sinusoidal_matches_the_formula_entry_by_entry() {
    let (len, d) = (50, 16);
    let pe = sinusoidal(len, d);
    assert_eq!(pe.dim(), (len, d));
    for pos in 0..len {
        for i in 0..d / 2 {
            let angle = pos as f64 / 10_000f64.powf(2.0 * i as f64 / d as f64);
            assert!((pe[[pos, 2 * i]] as f64 - angle.sin()).abs() < 1e-7);
            assert!((pe[[pos, 2 * i + 1]] as f64 - angle.cos()).abs() < 1e-7);
        }
    }
    // Every (sin, cos) pair lies on the unit circle, so every row has norm √(d/2).
    for row in pe.rows() {
        assert!((row.dot(&row) - (d / 2) as f32).abs() < 1e-4);
    }
    // The base is a parameter: a different base gives a different table.
    assert_ne!(sinusoidal_with_base(len, d, 100.0), pe);
}

#[test]
fn sinusoidal_dot_product_depends_only_on_the_distance() {
    let d = 64;
    let pe = sinusoidal(3000, d);
    for k in [0usize, 1, 5, 33, 250, 999] {
        let want = pe_dot_by_distance(k as f64, d) as f32;
        for p in [0usize, 1, 17, 400, 1999] {
            let got = pe.row(p).dot(&pe.row(p + k));
            assert!(
                (got - want).abs() < 1e-4,
                "PE[{p}]·PE[{p}+{k}] = {got}, Σcos = {want}"
            );
        }
    }
    // It falls from d/2 with distance (not monotonically, but clearly).
    assert_eq!(pe_dot_by_distance(0.0, d), 32.0);
    assert!(pe_dot_by_distance(100.0, d) < 0.6 * pe_dot_by_distance(1.0, d));
}

#[test]
#[should_panic(expected = "d_model must be even, got 7")]
fn sinusoidal_needs_an_even_width() {
    sinusoidal(4, 7);
}

#[test]
fn learned_positions_gradients_match_finite_differences() {
    let mut rng = seeded_rng(20);
    let mut pos = LearnedPositions::new(6, 3, 0.5, &mut rng);
    let x: Array2<f32> = normal((4, 3), 1.0, &mut rng);
    let r = random_upstream(&[4, 3], 21)
        .into_dimensionality::<Ix2>()
        .unwrap();
    pos.zero_grad();
    pos.forward(&x).unwrap();
    let dx = pos.backward(&r);
    let check = GradCheck {
        max_elements: usize::MAX,
        ..GradCheck::default()
    };
    for (name, report) in
        check.check_module(&mut pos, |m| (m.forward(&x).unwrap() * &r).sum())
    {
        report.assert_within(TOL, &format!("learned positions {name}"));
    }
    let mut fresh = LearnedPositions::new(6, 3, 0.5, &mut seeded_rng(20));
    check
        .check(&x, &dx, |x| (fresh.forward(x).unwrap() * &r).sum())
        .assert_within(TOL, "learned positions dx");
    // Rows past T = 4 are never used, so they get no gradient.
    assert!(
        pos.table
            .grad
            .slice(ndarray::s![4.., ..])
            .iter()
            .all(|&g| g == 0.0)
    );
}

#[test]
fn learned_positions_refuse_sequences_past_max_len() {
    let mut pos = LearnedPositions::new(8, 2, 0.02, &mut seeded_rng(22));
    assert!(
        pos.forward(&Array2::zeros((8, 2))).is_ok(),
        "exactly max_len fits"
    );
    let err = pos.forward(&Array2::zeros((9, 2))).unwrap_err();
    assert_eq!(err, TooLong { len: 9, max_len: 8 });
    let msg = err.to_string();
    assert!(
        msg.contains("9 tokens") && msg.contains("max_len = 8"),
        "{msg}"
    );
}

#[test]
fn snapshot_sinusoidal() {
    snapshot("positions_sinusoidal", report::sinusoidal_demo());
}

#[test]
fn snapshot_learned() {
    snapshot("positions_learned", report::learned_demo());
}

/// The committed figures are exactly what the code draws: regenerate with
/// `cargo run --release -p ch02-input --example positions -- --figures src/figures/ch02`.
#[test]
fn committed_figures_are_up_to_date() {
    let checked = assert_up_to_date(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../.."),
        "ch02",
        figures::write_all,
    );
    assert_eq!(checked, figures::FIGURES.len());
}
