//! The integer quantization schemes: codes and values against PyTorch, the
//! round-to-nearest bound, the errors, and what granularity does with an outlier.

use ch13_optimizations::schemes::{
    Granularity, Mapping, QuantError, Scheme, SchemeError, fake_quantize, quantize,
};
use golden::Fixture;
use ndarray::{Array2, Ix2, array};
use proptest::prelude::*;

fn fixture() -> Fixture {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/ch13_schemes.json"
    );
    Fixture::load(path).unwrap_or_else(|e| panic!("{e}"))
}

fn matrix(f: &Fixture, case: &str, field: &str) -> Array2<f32> {
    let t = f.tensor(case, field).unwrap_or_else(|e| panic!("{e}"));
    t.into_dimensionality::<Ix2>().unwrap()
}

/// Codes and values equal PyTorch's exactly (tolerance 0): the same f32 scale and
/// zero-point and the same ties-to-even rounding give the same bits.
#[test]
fn codes_match_pytorch_bit_for_bit() {
    let f = fixture();
    let x = matrix(&f, "input", "x");
    let cases = [
        (
            "tensor_absmax8",
            Scheme::new(8, Mapping::Absmax, Granularity::PerTensor),
        ),
        (
            "tensor_zp8",
            Scheme::new(8, Mapping::ZeroPoint, Granularity::PerTensor),
        ),
        (
            "channel_absmax8",
            Scheme::new(8, Mapping::Absmax, Granularity::PerChannel),
        ),
        (
            "channel_zp8",
            Scheme::new(8, Mapping::ZeroPoint, Granularity::PerChannel),
        ),
        (
            "group16_absmax8",
            Scheme::new(8, Mapping::Absmax, Granularity::PerGroup(16)),
        ),
    ];
    for (case, scheme) in cases {
        let q = quantize(&x, &scheme).unwrap();
        let codes = matrix(&f, case, "codes").mapv(|c| c as i32);
        assert_eq!(q.codes, codes, "{case}: codes");
        assert_eq!(
            q.dequantize(),
            matrix(&f, case, "dequant"),
            "{case}: values"
        );
    }
    let q = quantize(
        &x,
        &Scheme::new(8, Mapping::ZeroPoint, Granularity::PerTensor),
    )
    .unwrap();
    assert_eq!(q.scales[[0, 0]], f.scalar("tensor_zp8", "scale").unwrap());
    assert_eq!(
        q.zero_points[[0, 0]] as f32,
        f.scalar("tensor_zp8", "zero_point").unwrap()
    );
}

/// Four bits through PyTorch's fake quantization (no int4 dtype there), exactly.
#[test]
fn four_bit_groups_match_pytorch_fake_quantization() {
    let f = fixture();
    let x = matrix(&f, "input", "x");
    for (case, mapping) in [
        ("group32_absmax4", Mapping::Absmax),
        ("group32_zp4", Mapping::ZeroPoint),
    ] {
        let scheme = Scheme::new(4, mapping, Granularity::PerGroup(32));
        let q = quantize(&x, &scheme).unwrap();
        assert_eq!(q.scales, matrix(&f, case, "scales"), "{case}: scales");
        assert_eq!(
            fake_quantize(&x, &scheme).unwrap(),
            matrix(&f, case, "dequant"),
            "{case}"
        );
    }
}

/// x / Δ = k + 1/2 exactly: both PyTorch and the book round to the even code.
#[test]
fn ties_round_to_even() {
    let f = fixture();
    let x = matrix(&f, "ties", "x");
    let q =
        quantize(&x, &Scheme::new(8, Mapping::Absmax, Granularity::PerTensor)).unwrap();
    assert_eq!(q.scales[[0, 0]], 0.5);
    assert_eq!(q.codes, matrix(&f, "ties", "codes").mapv(|c| c as i32));
    assert_eq!(q.codes.row(0).to_vec(), vec![0, 2, 2, 4, 0, -2, -2, 127]);
}

fn all_schemes() -> Vec<Scheme> {
    let mut v = Vec::new();
    for bits in 2..=8 {
        for mapping in [Mapping::Absmax, Mapping::ZeroPoint] {
            for g in [
                Granularity::PerTensor,
                Granularity::PerChannel,
                Granularity::PerGroup(4),
            ] {
                v.push(Scheme::new(bits, mapping, g));
            }
        }
    }
    v
}

proptest! {
    /// Round to nearest: every entry lands within Δ/2 of where it was (Δ of its block),
    /// and every code is in range.
    #[test]
    fn error_is_at_most_half_a_step(
        data in prop::collection::vec(-100.0f32..100.0, 24),
        which in 0usize..42,
    ) {
        let w = Array2::from_shape_vec((3, 8), data).unwrap();
        let scheme = all_schemes()[which];
        let q = quantize(&w, &scheme).unwrap();
        let w_hat = q.dequantize();
        let (lo, hi) = scheme.code_range();
        let (br, bc) = (3 / q.scales.nrows(), 8 / q.scales.ncols());
        for ((r, c), &x) in w.indexed_iter() {
            let delta = q.scales[[r / br, c / bc]];
            prop_assert!((lo..=hi).contains(&q.codes[[r, c]]));
            // Δ/2, plus the f32 rounding of x / Δ and of Δ·(q − z).
            let bound = delta / 2.0 * (1.0 + 1e-5) + x.abs() * 1e-6;
            prop_assert!((x - w_hat[[r, c]]).abs() <= bound,
                "{scheme:?}: {x} -> {} (Δ = {delta})", w_hat[[r, c]]);
        }
    }
}

/// Zero is exact under both mappings (a zero-point range always holds 0), and a block of
/// zeros comes back as zeros.
#[test]
fn zero_is_exact() {
    let w = array![[0.0, 0.3, 0.7, 1.1], [0.0, 0.0, 0.0, 0.0]];
    for scheme in all_schemes() {
        let w_hat = fake_quantize(&w, &scheme).unwrap();
        assert_eq!(w_hat[[0, 0]], 0.0, "{scheme:?}");
        assert!(w_hat.row(1).iter().all(|&v| v == 0.0), "{scheme:?}");
    }
}

/// A zero-point spends all 2^b codes on a one-sided range; absmax wastes half of them.
#[test]
fn zero_point_wins_on_a_one_sided_range() {
    let w = Array2::from_shape_fn((4, 32), |(r, c)| {
        0.1 + ((r * 32 + c) as f32 * 0.37).sin().abs()
    });
    let err = |m| {
        let w_hat =
            fake_quantize(&w, &Scheme::new(4, m, Granularity::PerChannel)).unwrap();
        QuantError::between(w.view(), w_hat.view())
            .unwrap()
            .relative()
    };
    let (sym, asym) = (err(Mapping::Absmax), err(Mapping::ZeroPoint));
    assert!(asym < 0.6 * sym, "zero-point {asym} against absmax {sym}");
}

/// One outlier sets the per-tensor scale and flattens every other row; per-channel
/// confines the damage to its row, per-group to its group.
#[test]
fn an_outlier_hurts_per_tensor_most() {
    let mut w = Array2::from_shape_fn((8, 64), |(r, c)| {
        ((r * 64 + c) as f32 * 0.731).sin() * 0.02
    });
    w[[3, 17]] = 2.0;
    let err = |g| {
        let w_hat = fake_quantize(&w, &Scheme::new(4, Mapping::Absmax, g)).unwrap();
        QuantError::between(w.view(), w_hat.view())
            .unwrap()
            .relative()
    };
    let (t, c, g) = (
        err(Granularity::PerTensor),
        err(Granularity::PerChannel),
        err(Granularity::PerGroup(16)),
    );
    assert!(
        g < c && c < t,
        "per-group {g} < per-channel {c} < per-tensor {t}"
    );
}

#[test]
fn more_bits_less_error() {
    let w = Array2::from_shape_fn((4, 64), |(r, c)| ((r * 64 + c) as f32 * 1.37).cos());
    let errs: Vec<f64> = (2..=8)
        .map(|b| {
            let w_hat = fake_quantize(
                &w,
                &Scheme::new(b, Mapping::Absmax, Granularity::PerChannel),
            )
            .unwrap();
            QuantError::between(w.view(), w_hat.view())
                .unwrap()
                .relative()
        })
        .collect();
    assert!(errs.windows(2).all(|p| p[1] < p[0]), "{errs:?}");
    // Each bit halves Δ: the error falls by about 2 a bit.
    let ratio = errs[3] / errs[4];
    assert!((1.6..2.5).contains(&ratio), "5 → 6 bits: ×{ratio}");
}

#[test]
fn storage_counts_scales_and_zero_points() {
    let s = Scheme::INT4_GROUP32;
    assert_eq!(s.bits_per_weight(576, 576).unwrap(), 4.5);
    let z = Scheme::new(4, Mapping::ZeroPoint, Granularity::PerGroup(32));
    assert_eq!(z.bits_per_weight(576, 576).unwrap(), 4.625);
    let c = Scheme::INT8_CHANNEL.bits_per_weight(576, 1536).unwrap();
    assert!((c - (8.0 + 16.0 / 1536.0)).abs() < 1e-12);
}

#[test]
fn bad_input_is_a_clear_error() {
    let w = Array2::<f32>::zeros((2, 6));
    let s = |bits, g| Scheme::new(bits, Mapping::Absmax, g);
    assert_eq!(
        quantize(&w, &s(9, Granularity::PerTensor)).unwrap_err(),
        SchemeError::BadBits(9)
    );
    assert_eq!(
        quantize(&w, &s(1, Granularity::PerTensor)).unwrap_err(),
        SchemeError::BadBits(1)
    );
    assert_eq!(
        quantize(&w, &s(8, Granularity::PerGroup(4))).unwrap_err(),
        SchemeError::GroupDoesNotDivide { group: 4, cols: 6 }
    );
    assert_eq!(
        quantize(&w, &s(8, Granularity::PerGroup(0))).unwrap_err(),
        SchemeError::EmptyGroup
    );
    let empty = Array2::<f32>::zeros((0, 6));
    assert_eq!(
        quantize(&empty, &s(8, Granularity::PerTensor)).unwrap_err(),
        SchemeError::Empty { rows: 0, cols: 6 }
    );
    let mut bad = w.clone();
    bad[[1, 4]] = f32::NAN;
    let e = quantize(&bad, &s(8, Granularity::PerChannel)).unwrap_err();
    assert!(
        matches!(e, SchemeError::NonFinite { row: 1, col: 4, .. }),
        "{e:?}"
    );
    assert_eq!(
        e.to_string(),
        "entry [1, 4] is NaN: only finite values can be quantized"
    );
    let e = QuantError::between(w.view(), empty.view()).unwrap_err();
    assert!(
        e.to_string().contains("expected shape [2, 6], got [0, 6]"),
        "{e}"
    );
}

/// A planted outlier channel: per-channel scales beat per-token ones, which beat one
/// per tensor, and the ordinary channels pay most under one scale.
#[test]
fn activation_report_finds_a_planted_outlier() {
    use ch13_optimizations::schemes::activation_report;
    let mut x =
        Array2::from_shape_fn((16, 32), |(t, c)| ((t * 32 + c) as f32 * 0.37).sin());
    x.column_mut(9).mapv_inplace(|v| 40.0 * v.signum().max(0.5));
    let r = activation_report(&x, 1).unwrap();
    assert!(r.contains("outlier channel 9: max |x| 40.000"), "{r}");
    let err = |name: &str| -> f64 {
        let line = r.lines().find(|l| l.starts_with(name)).unwrap();
        let all = line.split(" all ").nth(1).unwrap();
        all.split_whitespace().next().unwrap().parse().unwrap()
    };
    let (t, k, c) = (
        err("int8 per tensor  "),
        err("int8 per token"),
        err("int8 per channel"),
    );
    assert!(
        c < k && k <= t,
        "channel {c} < token {k} <= tensor {t}\n{r}"
    );
}

/// On the real file (first block only): re-quantizing the Q8_0 embedding as int8 absmax
/// in groups of 32 finds its grid exactly.
#[test]
fn smollm2_embedding_is_int8_g32_absmax() {
    use ch09_decoder_only::gguf::Gguf;
    use ch13_optimizations::schemes::weight_table;
    let dir = models::SMOLLM2_135M_INSTRUCT
        .dir()
        .unwrap_or_else(|e| panic!("{e}"));
    let g = Gguf::open(&dir.join(models::SMOLLM2_GGUF)).unwrap_or_else(|e| panic!("{e}"));
    let t = weight_table(&g, 1).unwrap();
    let line = t
        .lines()
        .find(|l| l.starts_with("int8 g32 absmax"))
        .unwrap();
    assert!(line.ends_with(" 0.000e0"), "{line}");
    assert_eq!(t.lines().count(), 17, "{t}");
}
