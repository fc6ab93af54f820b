//! T5's relative position buckets against Hugging Face's
//! `T5Attention._relative_position_bucket` (fixture: tools/golden/ch10_t5.py): every
//! offset from -300 to 300, bidirectional and causal, for three (num_buckets,
//! max_distance) pairs, t5-small's (32, 128) among them. Buckets are integers: exact.

use std::path::Path;

use ch10_encoder_decoder::t5::position_bias::relative_position_bucket;

#[test]
fn buckets_equal_hugging_face_on_every_offset() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/t5_buckets.json");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let cases = doc["cases"].as_object().expect("cases");
    assert_eq!(cases.len(), 6, "three configs, two directions");
    for (name, case) in cases {
        let nb = case["num_buckets"].as_u64().unwrap() as usize;
        let md = case["max_distance"].as_u64().unwrap() as usize;
        let bidirectional = case["bidirectional"].as_bool().unwrap();
        let first = case["first_offset"].as_i64().unwrap();
        let want = case["buckets"].as_array().unwrap();
        assert_eq!(want.len(), 601, "{name}");
        for (i, w) in want.iter().enumerate() {
            let offset = first + i as i64;
            let ours = relative_position_bucket(offset, bidirectional, nb, md);
            assert_eq!(ours as u64, w.as_u64().unwrap(), "{name}: offset {offset}");
        }
    }
}

#[test]
fn buckets_are_exact_near_zero_and_saturate_past_max_distance() {
    // t5-small's encoder: 16 buckets a side, 8 exact, the last one from 128 on.
    for d in 0..8 {
        assert_eq!(relative_position_bucket(-d, true, 32, 128), d as usize);
        assert_eq!(
            relative_position_bucket(d, true, 32, 128),
            if d == 0 { 0 } else { 16 + d as usize }
        );
    }
    assert_eq!(relative_position_bucket(-127, true, 32, 128), 15);
    for offset in -300..=-128 {
        assert_eq!(
            relative_position_bucket(offset, true, 32, 128),
            15,
            "{offset}"
        );
    }
    assert_eq!(relative_position_bucket(10_000, true, 32, 128), 31);
    // The decoder: every key after the query is bucket 0, distances back use all 32.
    assert_eq!(relative_position_bucket(5, false, 32, 128), 0);
    assert_eq!(relative_position_bucket(-15, false, 32, 128), 15);
    assert_eq!(relative_position_bucket(-10_000, false, 32, 128), 31);
    // Monotone in the distance on each side.
    let mut last = 0;
    for d in 0..300 {
        let b = relative_position_bucket(-d, false, 32, 128);
        assert!(b >= last, "distance {d}");
        last = b;
    }
}
