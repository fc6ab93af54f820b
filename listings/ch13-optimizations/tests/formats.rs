//! Number formats: fields and values against the casts Chapter 11 checked against
//! PyTorch, the hand-written bf16 rounding against the `half` crate, the limits against
//! the formats' constants, ties, and the error on one of SmolLM2's real tensors.

use ch09_decoder_only::gguf::Gguf;
use ch13_optimizations::formats::{
    Fields, Precision, Storage, bf16_bits_rne, bf16_bits_truncate, bf16_to_f32, fields,
    format_error, format_table, limits, value, weight,
};
use half::{bf16, f16};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

const FORMATS: [Precision; 3] = [Precision::F32, Precision::F16, Precision::Bf16];

fn values() -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut v: Vec<f32> = (0..20_000)
        .map(|_| f32::from_bits(rng.random::<u32>()))
        .collect();
    v.extend([
        0.0,
        -0.0,
        1.0,
        1.0 / 3.0,
        65504.0,
        65520.0,
        70000.0,
        1e-6,
        1e-8,
        3e38,
    ]);
    v.extend([
        f32::MAX,
        f32::MIN_POSITIVE,
        1e-45,
        f32::INFINITY,
        -f32::INFINITY,
    ]);
    v
}

/// Rebuilding the value from its fields gives back exactly what the cast stored.
#[test]
fn fields_rebuild_the_value() {
    for p in FORMATS {
        for x in values() {
            let stored = p.round(x);
            let v = value(p, fields(p, p.bits(x)));
            if stored.is_nan() {
                assert!(v.is_nan(), "{p:?} {x:e}");
            } else {
                assert_eq!(
                    v,
                    f64::from(stored),
                    "{p:?}: {x:e} -> {:?}",
                    fields(p, p.bits(x))
                );
            }
        }
    }
    // 1/3 in f16: exponent 01101 (13 − 15 = −2), mantissa 0101010101 (1.333 · 2^−2).
    let f = fields(Precision::F16, Precision::F16.bits(1.0 / 3.0));
    assert_eq!(
        f,
        Fields {
            sign: 0,
            exponent: 0b01101,
            mantissa: 0b0101010101
        }
    );
}

/// The hand-written round-to-nearest-even is the `half` crate's bit for bit, NaNs,
/// infinities, subnormals and the overflow to infinity included.
#[test]
fn bf16_rounding_by_hand_matches_half() {
    for x in values() {
        let want = bf16::from_f32(x).to_bits();
        assert_eq!(bf16_bits_rne(x), want, "{x:e} ({:#010x})", x.to_bits());
    }
    assert_eq!(bf16_to_f32(bf16_bits_rne(f32::MAX)), f32::INFINITY);
}

/// Exactly halfway cases go to the even neighbour; truncation always goes toward zero.
#[test]
fn ties_go_to_even() {
    // bf16 keeps 7 mantissa bits: 1 + 2^-8 is halfway between 1 and 1 + 2^-7.
    let (one, ulp) = (1.0f32, 2f32.powi(-7));
    assert_eq!(Precision::Bf16.round(one + ulp / 2.0), one);
    assert_eq!(
        Precision::Bf16.round(one + 3.0 * ulp / 2.0),
        one + 2.0 * ulp
    );
    assert_eq!(
        Precision::Bf16.round(one + ulp / 2.0 + 2f32.powi(-20)),
        one + ulp
    );
    assert_eq!(bf16_to_f32(bf16_bits_truncate(one + 1.9 * ulp)), one + ulp);
    // f16 keeps 10: the same at 2^-11.
    let ulp = 2f32.powi(-10);
    assert_eq!(Precision::F16.round(one + ulp / 2.0), one);
    assert_eq!(Precision::F16.round(one + 3.0 * ulp / 2.0), one + 2.0 * ulp);
}

/// The limits computed from the layouts are the formats' own constants.
#[test]
fn limits_from_the_layout() {
    let f = limits(Precision::F16);
    assert_eq!(f.max, f64::from(f16::MAX.to_f32()));
    assert_eq!(f.min_normal, f64::from(f16::MIN_POSITIVE.to_f32()));
    assert_eq!(f.min_subnormal, f64::from(f16::from_bits(1).to_f32()));
    assert_eq!(f.ulp_at_one, f64::from(f16::EPSILON.to_f32()));
    let b = limits(Precision::Bf16);
    assert_eq!(b.max, f64::from(bf16::MAX.to_f32()));
    assert_eq!(b.min_normal, f64::from(bf16::MIN_POSITIVE.to_f32()));
    assert_eq!(b.min_subnormal, f64::from(bf16::from_bits(1).to_f32()));
    assert_eq!(b.ulp_at_one, f64::from(bf16::EPSILON.to_f32()));
    let s = limits(Precision::F32);
    assert_eq!(s.max, f64::from(f32::MAX));
    assert_eq!(s.min_normal, f64::from(f32::MIN_POSITIVE));
    assert_eq!(s.min_subnormal, f64::from(f32::from_bits(1)));
    assert_eq!(s.ulp_at_one, f64::from(f32::EPSILON));
}

/// In the normal range no entry moves by more than the unit roundoff, relatively.
#[test]
fn relative_error_is_bounded_by_the_unit_roundoff() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    for (s, p) in [
        (Storage::F16, Precision::F16),
        (Storage::Bf16, Precision::Bf16),
    ] {
        let u = limits(p).unit_roundoff;
        for _ in 0..10_000 {
            let x: f32 = rng.random_range(-100.0..100.0);
            let x = if x.abs() < 1e-3 { 1e-3 } else { x };
            let r = (f64::from(s.round(x)) - f64::from(x)).abs() / f64::from(x).abs();
            assert!(r <= u, "{s:?} {x}: {r} > {u}");
        }
    }
}

fn smollm2() -> Gguf {
    let dir = models::SMOLLM2_135M_INSTRUCT
        .dir()
        .unwrap_or_else(|e| panic!("{e}"));
    Gguf::open(&dir.join(models::SMOLLM2_GGUF)).unwrap_or_else(|e| panic!("{e}"))
}

/// On a real weight, fp16's three extra mantissa bits make it about 8× more precise
/// than bf16, and truncating bf16 is about twice as bad as rounding it.
#[test]
fn smollm2_weights_in_16_bits() {
    let g = smollm2();
    let (w, ty) = weight(&g, "blk.0.attn_q.weight").unwrap();
    assert_eq!((ty.as_str(), w.dim()), ("Q4_1", (576, 576)));
    let rel = |s| format_error(w.view(), s).0.relative();
    let (h, b, t) = (
        rel(Storage::F16),
        rel(Storage::Bf16),
        rel(Storage::Bf16Truncated),
    );
    assert!((5.0..11.0).contains(&(b / h)), "bf16 {b} / fp16 {h}");
    assert!((1.5..2.5).contains(&(t / b)), "truncated {t} / rounded {b}");
    let table = format_table(&g, 1).unwrap();
    assert_eq!(table.lines().count(), 11, "{table}");
    assert!(table.contains("token_embd    Q8_0"), "{table}");
}
