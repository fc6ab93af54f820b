//! ALiBi: the slope rule, the bias matrix, why fairseq's row-shifted form gives the same
//! attention, and the section's snapshot.

use ch01_foundations::init::{normal, seeded_rng};
use ch01_foundations::softmax::softmax;
use ch02_input::positions::alibi::{alibi_bias, alibi_slopes};
use ch02_input::positions::report;
use ndarray::{Array3, Axis};

fn snapshot(name: &str, text: String) {
    insta::with_settings!({ omit_expression => true, prepend_module_to_snapshot => false }, {
        insta::assert_snapshot!(name, text);
    });
}

#[test]
fn power_of_two_head_counts_give_a_geometric_sequence_ending_at_two_to_minus_eight() {
    for n in [1usize, 2, 4, 8, 16, 32] {
        let m = alibi_slopes(n);
        assert_eq!(m.len(), n);
        for (h, &slope) in m.iter().enumerate() {
            let want = 2f32.powf(-8.0 * (h + 1) as f32 / n as f32);
            assert!(
                (slope - want).abs() <= 1e-7 * want,
                "n = {n}, head {h}: {slope} vs {want}"
            );
        }
        assert!(
            (m[n - 1] - 1.0 / 256.0).abs() < 1e-9,
            "the last slope is always 2^-8"
        );
    }
}

#[test]
fn other_head_counts_interleave_the_next_power_of_two() {
    // 12 heads: the 8 slopes for 8 heads, then slopes 1, 3, 5, 7 (0-based 0, 2, 4, 6) of 16.
    let (m12, m8, m16) = (alibi_slopes(12), alibi_slopes(8), alibi_slopes(16));
    assert_eq!(m12[..8], m8[..]);
    assert_eq!(m12[8..], [m16[0], m16[2], m16[4], m16[6]]);
    // 6 heads: the 4 slopes for 4 heads, then slopes 0 and 2 of 8.
    let (m6, m4) = (alibi_slopes(6), alibi_slopes(4));
    assert_eq!(m6[..4], m4[..]);
    assert_eq!(m6[4..], [m8[0], m8[2]]);
    // Every slope is distinct and in (0, 1).
    let mut sorted = m12.clone();
    sorted.sort_by(f32::total_cmp);
    sorted.dedup();
    assert_eq!(sorted.len(), 12);
    assert!(m12.iter().all(|&m| m > 0.0 && m < 1.0));
}

#[test]
fn bias_is_minus_slope_times_distance_and_masks_the_future() {
    let slopes = alibi_slopes(4);
    let b = alibi_bias(&slopes, 6);
    assert_eq!(b.dim(), (4, 6, 6));
    for h in 0..4 {
        for i in 0..6 {
            for j in 0..6 {
                let v = b[[h, i, j]];
                if j <= i {
                    assert_eq!(v, -slopes[h] * (i - j) as f32);
                } else {
                    assert_eq!(v, f32::NEG_INFINITY);
                }
            }
        }
    }
}

#[test]
fn fairseq_row_shifted_bias_gives_the_same_attention() {
    // fairseq adds +m·j to every row: it differs from -m·(i - j) by m·i, a constant along
    // each row, and softmax ignores a per-row constant.
    let (h, t) = (5, 9);
    let slopes = alibi_slopes(h);
    let scores: Array3<f32> = normal((h, t, t), 2.0, &mut seeded_rng(40));
    let ours = softmax(&(&scores + &alibi_bias(&slopes, t)), Axis(2));
    let fairseq = Array3::from_shape_fn((h, t, t), |(hh, i, j)| {
        if j <= i {
            scores[[hh, i, j]] + slopes[hh] * j as f32
        } else {
            f32::NEG_INFINITY
        }
    });
    let theirs = softmax(&fairseq, Axis(2));
    let d = ours
        .iter()
        .zip(&theirs)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    assert!(d < 1e-6, "attention differs by {d}");
    // The biases themselves differ (fairseq's is 0 at j = 0 on every row, ours is
    // -m·i there): only the softmax hides the difference.
    let ours_bias = alibi_bias(&slopes, t);
    assert!((0..h).all(|hh| ours_bias[[hh, t - 1, 0]] == -slopes[hh] * (t - 1) as f32));
}

#[test]
fn snapshot_alibi() {
    snapshot("alibi", report::alibi_demo());
}
