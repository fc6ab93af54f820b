//! Dropout inside a model: the mode switches it, the generator comes from the mode, and a
//! training run's seed fixes every mask.

use ch01_foundations::init::seeded_rng;
use ch01_foundations::module::{Mode, Module};
use ch04_ffn_norms::dropout::Dropout;
use ndarray::{Array2, Array3};

fn train(d: &mut Dropout, seed: u64) {
    d.set_mode(&mut Mode::Train(&mut seeded_rng(seed)));
}

#[test]
fn the_mode_switches_it_and_the_seed_fixes_the_mask() {
    let x = Array3::<f32>::ones((2, 3, 8));
    let mut d = Dropout::new(0.5);
    train(&mut d, 1);
    let a = d.apply(x.clone());
    train(&mut d, 1);
    assert_eq!(
        d.apply(x.clone()),
        a,
        "the same seed must draw the same mask"
    );
    assert_ne!(d.apply(x.clone()), a, "the next pass draws a new mask");
    assert!(a.iter().all(|&v| v == 0.0 || v == 2.0));
    // The backward pass uses the last forward pass's mask, in any shape.
    train(&mut d, 1);
    d.apply(x.clone());
    assert_eq!(d.backward(&x), a);
    d.set_mode(&mut Mode::Eval);
    assert_eq!(d.apply(x.clone()), x, "evaluation is the identity");
    assert_eq!(d.backward(&x), x);
}

#[test]
fn p_zero_draws_nothing_and_needs_no_generator() {
    let x = Array2::<f32>::from_shape_fn((4, 5), |(i, j)| (i * 5 + j) as f32);
    assert_eq!(Dropout::new(0.0).apply(x.clone()), x);
}

#[test]
#[should_panic(expected = "set_mode")]
fn training_without_a_generator_says_to_call_set_mode() {
    Dropout::new(0.1).apply(Array2::<f32>::ones((2, 2)));
}

#[test]
#[should_panic(expected = "must be in [0, 1)")]
fn set_p_checks_the_probability() {
    Dropout::new(0.1).set_p(1.0);
}
