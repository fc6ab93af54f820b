//! The exercise solutions of the sections on positions, each tested the way the exercise
//! asks.

use ch02_input::positions::exercises::{
    RopeScaling, scaled_frequencies, sinusoidal_shift_matrix,
};
use ch02_input::positions::rope::rope_angles;
use ch02_input::positions::sinusoidal::sinusoidal;

#[test]
fn ex1_a_fixed_matrix_moves_every_encoding_k_positions() {
    let d = 32;
    let pe = sinusoidal(600, d);
    for k in [1usize, 7, 100] {
        let m_k = sinusoidal_shift_matrix(k as f64, d);
        for p in [0usize, 3, 250, 499] {
            let moved = m_k.dot(&pe.row(p));
            let d_max = moved
                .iter()
                .zip(pe.row(p + k))
                .map(|(a, b)| (a - b).abs())
                .fold(0.0, f32::max);
            assert!(d_max < 1e-5, "M_{k} PE[{p}] vs PE[{}]: {d_max}", p + k);
        }
        // M_k is a rotation: M_kᵀ M_k = I.
        let eye = m_k.t().dot(&m_k);
        for ((i, j), &v) in eye.indexed_iter() {
            assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-6);
        }
    }
}

#[test]
fn ex2_linear_scaling_maps_position_s_m_to_m() {
    let (d, s) = (16, 4.0);
    let theta = scaled_frequencies(d, 10_000.0, RopeScaling::Linear(s));
    let (cos, sin) = rope_angles(&[25], d, 10_000.0);
    for (i, &th) in theta.iter().enumerate() {
        let angle = 100.0 * th; // position 100 = 4 × 25
        assert!((angle.cos() as f32 - cos[[0, i]]).abs() < 1e-6);
        assert!((angle.sin() as f32 - sin[[0, i]]).abs() < 1e-6);
    }
}

#[test]
fn ex2_ntk_scaling_keeps_the_fastest_pair_and_slows_the_slowest_by_s() {
    let (d, s) = (64, 8.0);
    let plain = scaled_frequencies(d, 10_000.0, RopeScaling::Linear(1.0));
    let ntk = scaled_frequencies(d, 10_000.0, RopeScaling::Ntk(s));
    assert_eq!(
        ntk[0], plain[0],
        "pair 0 turns 1 rad per position either way"
    );
    let last = d / 2 - 1;
    assert!(
        (plain[last] / ntk[last] - s).abs() < 1e-9,
        "slowest pair slowed by exactly s"
    );
    // In between, every pair is slowed by a factor between 1 and s.
    for i in 1..last {
        let r = plain[i] / ntk[i];
        assert!(r > 1.0 && r < s, "pair {i}: slowed by {r}");
    }
}
