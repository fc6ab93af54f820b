//! The exercises' solutions do what the exercises ask.

use ch01_foundations::init::{normal, seeded_rng};
use ch03_attention::exercises::{
    alibi_attention, grouped_query_attention, sdpa_backward_by_parts,
};
use ch03_attention::mask::Mask;
use ch03_attention::sdpa::{sdpa, sdpa_backward};
use ndarray::{Array2, Array3, s};

#[test]
fn backward_by_parts_matches_the_fused_backward() {
    let mut rng = seeded_rng(1);
    let (q, k, v, d_out): (Array2<f32>, Array2<f32>, Array2<f32>, Array2<f32>) = (
        normal((4, 8), 1.0, &mut rng),
        normal((6, 8), 1.0, &mut rng),
        normal((6, 5), 1.0, &mut rng),
        normal((4, 5), 1.0, &mut rng),
    );
    let a = sdpa(q.view(), k.view(), v.view(), &Mask::default());
    let fused = sdpa_backward(q.view(), k.view(), v.view(), a.p.view(), d_out.view());
    let parts = sdpa_backward_by_parts(q.view(), k.view(), v.view(), d_out.view());
    for (x, y) in [
        (&fused.0, &parts.0),
        (&fused.1, &parts.1),
        (&fused.2, &parts.2),
    ] {
        assert!((x - y).iter().all(|d| d.abs() < 1e-5));
    }
}

#[test]
fn alibi_is_causal_and_favours_recent_keys() {
    let (h, t) = (4, 6);
    // Zero queries: every score is 0, so the weights are the softmax of the bias alone;
    // v = one-hot positions, so each output row is that weight row itself.
    let q = Array3::<f32>::zeros((h, t, t));
    let k: Array3<f32> = normal((h, t, t), 1.0, &mut seeded_rng(2));
    let v = Array3::from_shape_fn((h, t, t), |(_, j, c)| f32::from(u8::from(j == c)));
    let p = alibi_attention(q.view(), k.view(), v.view());
    for head in 0..h {
        for i in 0..t {
            let row = p.slice(s![head, i, ..]);
            assert!(
                row.iter().skip(i + 1).all(|&w| w == 0.0),
                "head {head} sees the future"
            );
            let seen = row.slice(s![..=i]);
            assert!(
                seen.windows(2).into_iter().all(|w| w[0] < w[1]),
                "nearer keys get more"
            );
        }
    }
    // Head 0 has the steepest slope, so it is more local than the last head.
    assert!(p[[0, t - 1, t - 1]] > p[[h - 1, t - 1, t - 1]]);
}

#[test]
fn gqa_with_one_group_per_head_is_mha_and_groups_share_keys() {
    let (h, t, d) = (4, 5, 8);
    let mut rng = seeded_rng(3);
    let q: Array3<f32> = normal((h, t, d), 1.0, &mut rng);
    let k: Array3<f32> = normal((h, t, d), 1.0, &mut rng);
    let v: Array3<f32> = normal((h, t, d), 1.0, &mut rng);
    let mha = grouped_query_attention(q.view(), k.view(), v.view(), true);
    for head in 0..h {
        let a = sdpa(
            q.slice(s![head, .., ..]),
            k.slice(s![head, .., ..]),
            v.slice(s![head, .., ..]),
            &Mask {
                causal: true,
                ..Mask::default()
            },
        );
        assert_eq!(mha.slice(s![head, .., ..]), a.out);
    }
    // g = 2: heads 0, 1 read group 0; heads 2, 3 group 1. Same as repeating each group.
    let (k2, v2) = (k.slice(s![..2, .., ..]), v.slice(s![..2, .., ..]));
    let gqa = grouped_query_attention(q.view(), k2, v2, false);
    let repeat = |x: ndarray::ArrayView3<f32>| {
        ndarray::concatenate![
            ndarray::Axis(0),
            x.slice(s![..1, .., ..]),
            x.slice(s![..1, .., ..]),
            x.slice(s![1..2, .., ..]),
            x.slice(s![1..2, .., ..])
        ]
    };
    let full =
        grouped_query_attention(q.view(), repeat(k2).view(), repeat(v2).view(), false);
    assert_eq!(gqa, full);
}
