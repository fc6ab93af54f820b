//! The sampling section's figure: the committed table is what `filter_effects` computes,
//! and the claims the page makes about it hold.

use ch12_inference::sampling::filter_effects;
use ndarray::Array1;

#[test]
fn the_filter_table_is_what_the_code_computes_and_says_what_the_page_says() {
    let committed = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../src/figures/ch12/sampling.txt"
    ))
    .unwrap();
    let logits = Array1::from_shape_fn(30, |i| -0.25 * i as f32);
    let effects = filter_effects(&logits).unwrap();
    let kept: Vec<usize> = (effects.iter())
        .map(|(_, p)| p.iter().filter(|&&q| q > 0.0).count())
        .collect();
    for ((label, p), k) in effects.iter().zip(&kept) {
        let line = format!("{label:<18} | {k:>11} | {:.4}", p[0]);
        assert!(committed.contains(&line), "{line}");
    }
    // "Temperature 0.5 keeps all 30 tokens but raises the first from 0.2213 to 0.3935";
    // "top-k 5 keeps 5, top-p 0.8 keeps 7, min-p 0.1 keeps 10"
    assert_eq!(kept, [30, 30, 5, 7, 10]);
    assert_eq!(
        (
            format!("{:.4}", effects[0].1[0]),
            format!("{:.4}", effects[1].1[0])
        ),
        ("0.2213".into(), "0.3935".into())
    );
}
