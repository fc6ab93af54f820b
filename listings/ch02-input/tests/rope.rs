//! RoPE: gradient checks, the inverse rotation, the two conventions as one up to a
//! permutation, the relative-position property, and the section's snapshot.

use ch01_foundations::gradcheck::{GradCheck, random_upstream};
use ch01_foundations::init::{normal, seeded_rng};
use ch02_input::positions::report;
use ch02_input::positions::rope::{Rope, RopeStyle, rope_angles};
use ndarray::{Array2, Array3, Ix2, Ix3, s};

const TOL: f32 = 1e-2;
const STYLES: [RopeStyle; 2] = [RopeStyle::RotateHalf, RopeStyle::Interleaved];

/// RoPE is linear in x, so a central difference has no truncation error at any step; a
/// large step keeps f32 rounding (≈ 1e-7·|L| / h) far below the tolerance.
fn check() -> GradCheck {
    GradCheck {
        eps: 5e-2,
        max_elements: usize::MAX,
        ..GradCheck::default()
    }
}

fn snapshot(name: &str, text: String) {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn backward_matches_finite_differences_in_both_conventions() {
    let positions = [0, 1, 2, 7, 30, 31];
    let x: Array2<f32> = normal((6, 8), 1.0, &mut seeded_rng(30));
    let r = random_upstream(&[6, 8], 31)
        .into_dimensionality::<Ix2>()
        .unwrap();
    for style in STYLES {
        let rope = Rope::new(&positions, 8, 10_000.0, style);
        let dx = rope.backward(&r);
        check()
            .check(&x, &dx, |x| (rope.forward(x) * &r).sum())
            .assert_within(TOL, &format!("RoPE {style:?}"));
    }
}

#[test]
fn multi_head_backward_matches_finite_differences() {
    let positions = [3, 4, 5, 6, 100];
    let x: Array3<f32> = normal((3, 5, 16), 1.0, &mut seeded_rng(32));
    let r = random_upstream(&[3, 5, 16], 33)
        .into_dimensionality::<Ix3>()
        .unwrap();
    for style in STYLES {
        let rope = Rope::new(&positions, 16, 500_000.0, style);
        let dx = rope.backward_heads(&r);
        check()
            .check(&x, &dx, |x| (rope.forward_heads(x) * &r).sum())
            .assert_within(TOL, &format!("RoPE heads {style:?}"));
        // Each head is rotated exactly as the 2-D form rotates it.
        let y = rope.forward_heads(&x);
        for h in 0..3 {
            assert_eq!(
                y.slice(s![h, .., ..]),
                rope.forward(&x.slice(s![h, .., ..]))
            );
        }
    }
}

#[test]
fn backward_is_the_inverse_rotation_and_lengths_are_kept() {
    let x: Array2<f32> = normal((4, 12), 1.0, &mut seeded_rng(34));
    for style in STYLES {
        let rope = Rope::new(&[0, 9, 99, 999], 12, 10_000.0, style);
        let y = rope.forward(&x);
        let back = rope.backward(&y);
        assert!(back.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-5));
        for (xr, yr) in x.rows().into_iter().zip(y.rows()) {
            assert!((xr.dot(&xr) - yr.dot(&yr)).abs() < 1e-4 * xr.dot(&xr));
        }
        // Position 0 is the identity.
        let at_zero = Rope::new(&[0], 12, 10_000.0, style);
        assert_eq!(
            at_zero.forward(&x.slice(s![0..1, ..])),
            x.slice(s![0..1, ..])
        );
    }
}

#[test]
fn the_two_conventions_agree_up_to_a_permutation_of_head_dimensions() {
    let d = 16;
    let positions: Vec<usize> = (0..10).map(|i| i * 13).collect();
    let x: Array2<f32> = normal((10, d), 1.0, &mut seeded_rng(35));
    // Interleaved column 2i is rotate-half column i; 2i + 1 is i + d/2.
    let perm: Vec<usize> = (0..d)
        .map(|j| if j % 2 == 0 { j / 2 } else { j / 2 + d / 2 })
        .collect();
    let to_half = |a: &Array2<f32>| {
        let mut b = Array2::zeros(a.raw_dim());
        for (j, &p) in perm.iter().enumerate() {
            b.column_mut(p).assign(&a.column(j));
        }
        b
    };
    let il = Rope::new(&positions, d, 10_000.0, RopeStyle::Interleaved).forward(&x);
    let rh =
        Rope::new(&positions, d, 10_000.0, RopeStyle::RotateHalf).forward(&to_half(&x));
    assert_eq!(
        to_half(&il),
        rh,
        "same pairs, same angles: identical to the bit"
    );
    // Without the permutation they are different functions.
    let rh_unpermuted =
        Rope::new(&positions, d, 10_000.0, RopeStyle::RotateHalf).forward(&x);
    assert!(
        rh_unpermuted
            .iter()
            .zip(&il)
            .any(|(a, b)| (a - b).abs() > 1e-2)
    );
}

#[test]
fn q_m_dot_k_n_depends_only_on_m_minus_n() {
    let d = 32;
    let mut rng = seeded_rng(36);
    let q: Array2<f32> = normal((1, d), 1.0, &mut rng);
    let k: Array2<f32> = normal((1, d), 1.0, &mut rng);
    for style in STYLES {
        let score = |m: usize, n: usize| {
            let q_m = Rope::new(&[m], d, 10_000.0, style).forward(&q);
            let k_n = Rope::new(&[n], d, 10_000.0, style).forward(&k);
            q_m.row(0).dot(&k_n.row(0))
        };
        let mut by_offset = Vec::new();
        for offset in [-40i64, -3, 0, 1, 5, 64, 300] {
            let reference = score(1000usize.saturating_add_signed(offset as isize), 1000);
            for n in [0i64, 1, 2, 50, 333, 2048, 9999] {
                let m = n + offset;
                if m < 0 {
                    continue;
                }
                let s = score(m as usize, n as usize);
                assert!(
                    (s - reference).abs() < 1e-4 * reference.abs().max(1.0),
                    "{style:?}, offset {offset}: ({m}, {n}) gives {s}, \
                     (1000 + {offset}, 1000) gives {reference}"
                );
            }
            by_offset.push(reference);
        }
        // Different offsets do give different scores: the test above could fail.
        for (i, a) in by_offset.iter().enumerate() {
            for b in &by_offset[i + 1..] {
                assert!(
                    (a - b).abs() > 1e-3,
                    "{style:?}: offsets gave equal scores {a}, {b}"
                );
            }
        }
    }
}

#[test]
fn angle_table_uses_the_configured_base() {
    let (c1, s1) = rope_angles(&[1], 8, 10_000.0);
    let (c2, s2) = rope_angles(&[1], 8, 500_000.0);
    // Pair 0 always turns by 1 rad per position; pair d/2 - 1 turns by base^(-6/8).
    assert!(
        (s1[[0, 0]] - 1f32.sin()).abs() < 1e-7 && (c1[[0, 0]] - 1f32.cos()).abs() < 1e-7
    );
    assert!((s1[[0, 3]] - 10_000f32.powf(-0.75).sin()).abs() < 1e-7);
    assert!((s2[[0, 3]] - 500_000f32.powf(-0.75).sin()).abs() < 1e-7);
    assert_eq!(c2.dim(), (1, 4));
}

#[test]
#[should_panic(expected = "rope: x is [3, 8] but the angle table is [2, 4]")]
fn mismatched_positions_are_an_assertion_naming_both_shapes() {
    let x = Array2::<f32>::zeros((3, 8));
    Rope::new(&[0, 1], 8, 10_000.0, RopeStyle::RotateHalf).forward(&x);
}

#[test]
fn snapshot_rope() {
    snapshot("rope", report::rope_demo());
}
