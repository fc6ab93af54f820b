//! Mixed precision: rounding and bit patterns against torch's float16/bfloat16 casts,
//! the loss scaler against torch.amp.GradScaler on a scripted run
//! (tools/golden/ch11_scaler.py), the half-precision forward/backward against Chapter 9's,
//! underflow counted, a skipped step, and tiny runs that learn.

use ch01_foundations::module::Module;
use ch09_decoder_only::llama_model::{Llama, LlamaTrainConfig};
use ch09_decoder_only::training::LanguageModel;
use ch11_training::optim::{AdamW, WeightDecay};
use ch11_training::precision::{
    LossScaler, MixedPrecision, Precision, ScalerError, lm_step_half, values,
};
use ch11_training::schedule::Schedule;
use ch11_training::trainer::{Batches, Trainer};
use golden::Fixture;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

fn fixture() -> Fixture {
    Fixture::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/scaler.json"
    ))
    .unwrap()
}

/// A JSON number, or "inf" / "-inf" / "nan" (JSON has none of them).
fn num(v: &Value) -> f32 {
    match v.as_str() {
        Some("inf") => f32::INFINITY,
        Some("-inf") => f32::NEG_INFINITY,
        Some("nan") => f32::NAN,
        _ => v.as_f64().expect("a number") as f32,
    }
}

fn nums(v: &Value) -> Vec<f32> {
    v.as_array().expect("an array").iter().map(num).collect()
}

fn same(a: f32, b: f32) -> bool {
    a == b || (a.is_nan() && b.is_nan())
}

#[test]
fn rounding_and_bits_match_torch_exactly() {
    let fx = fixture();
    let r = &fx.cases()["rounding"];
    let input = nums(&r["input"]);
    for (p, key) in [(Precision::F16, "f16"), (Precision::Bf16, "bf16")] {
        let want = nums(&r[key]);
        let bits = r[format!("{key}_bits")].as_array().unwrap();
        for ((&x, &w), b) in input.iter().zip(&want).zip(bits) {
            // tolerance 0: a cast is exact. A NaN is a NaN: its sign and payload bits
            // differ between torch (0xFFFF for bf16) and `half` (0x7FC0), both valid.
            assert!(
                same(p.round(x), w),
                "{key}({x:e}) = {:e}, torch {w:e}",
                p.round(x)
            );
            if !x.is_nan() {
                assert_eq!(
                    u64::from(p.bits(x)),
                    b.as_u64().unwrap(),
                    "{key} bits of {x:e}"
                );
            }
        }
    }
}

#[test]
fn bit_fields_and_ranges() {
    // 1/3 = 1.0101...₂ × 2⁻²: f16's exponent field is -2 + 15 = 13, bf16's -2 + 127 = 125
    assert_eq!(Precision::F16.fields(1.0 / 3.0), "0 01101 0101010101");
    assert_eq!(Precision::Bf16.fields(1.0 / 3.0), "0 01111101 0101011"); // rounded up
    assert_eq!(Precision::F16.fields(65504.0), "0 11110 1111111111");
    assert_eq!(Precision::F16.fields(1e-8), "0 00000 0000000000"); // flushed to zero
    assert_eq!(Precision::F16.fields(3e38), "0 11111 0000000000"); // inf
    assert_eq!(
        Precision::F32.fields(-2.0),
        "1 10000000 00000000000000000000000"
    );
    assert_eq!(Precision::F16.range(), (65504.0, 2f32.powi(-14)));
    assert_eq!(Precision::Bf16.range().1, f32::MIN_POSITIVE);
    assert!((Precision::Bf16.range().0 / 3.4e38 - 1.0).abs() < 0.01); // the text's table
    assert_eq!(Precision::F32.range().0, f32::MAX);
    // ties go to even: 1 + 2⁻⁸ is halfway between bf16's 1 and 1 + 2⁻⁷
    assert_eq!(Precision::Bf16.round(1.0 + 2f32.powi(-8)), 1.0);
    assert_eq!(
        Precision::Bf16.round(1.0 + 3.0 * 2f32.powi(-8)),
        1.0 + 2.0 * 2f32.powi(-7)
    );
}

#[test]
fn the_scaler_follows_torch_grad_scaler() {
    let fx = fixture();
    let s = &fx.cases()["scaler"];
    let mut scaler = LossScaler::with(
        num(&s["init_scale"]),
        num(&s["growth_factor"]),
        num(&s["backoff_factor"]),
        s["growth_interval"].as_u64().unwrap() as usize,
    )
    .unwrap();
    let mut param = vec![0.0f32; 4];
    for (i, step) in s["steps"].as_array().unwrap().iter().enumerate() {
        assert_eq!(scaler.scale, num(&step["scale_before"]), "step {i}");
        let g = nums(&step["grad"]);
        // torch unscales g·scale by 1/scale; both are powers of two, so this is exact
        let unscaled: Vec<f32> = g
            .iter()
            .map(|&x| x * scaler.scale * (1.0 / scaler.scale))
            .collect();
        let found_inf = unscaled.iter().any(|x| !x.is_finite());
        let stepped = scaler.update(found_inf);
        assert_eq!(stepped, step["stepped"].as_bool().unwrap(), "step {i}");
        assert_eq!(scaler.scale, num(&step["scale_after"]), "step {i}");
        if stepped {
            param.iter_mut().zip(&unscaled).for_each(|(p, g)| *p -= g); // SGD, lr 1
        }
        let want = nums(&step["param"]);
        for (a, b) in param.iter().zip(&want) {
            assert!(
                (a - b).abs() <= 1e-6,
                "step {i}: param {param:?}, torch {want:?}"
            );
        }
    }
}

#[test]
fn bad_scaler_settings_are_errors() {
    assert_eq!(
        LossScaler::with(0.0, 2.0, 0.5, 10),
        Err(ScalerError::Scale(0.0))
    );
    assert_eq!(
        LossScaler::with(1.0, 1.0, 0.5, 10),
        Err(ScalerError::Growth(1.0))
    );
    assert_eq!(
        LossScaler::with(1.0, 2.0, 1.5, 10),
        Err(ScalerError::Backoff(1.5))
    );
    assert_eq!(
        LossScaler::with(1.0, 2.0, 0.5, 0),
        Err(ScalerError::Interval)
    );
    let defaults = LossScaler::new();
    assert_eq!((defaults.scale, defaults.growth_interval), (65536.0, 2000));
}

fn tiny(vocab: usize) -> (Llama, Array2<usize>) {
    let cfg = LlamaTrainConfig {
        vocab_size: vocab,
        ..LlamaTrainConfig::tiny()
    };
    let model = Llama::new(cfg, &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    let ids = Array2::from_shape_fn((2, 12), |(b, t)| (7 * b + 5 * t * t) % vocab);
    (model, ids)
}

#[test]
fn in_f32_the_half_step_is_chapter_9s_step() {
    // Chapter 9's Llama backward is checked against finite differences
    // (ch09 tests/llama_gradients.rs); the f32 path here must be it, bit for bit.
    let (mut a, ids) = tiny(40);
    let mut b = Llama::new(a.cfg.clone(), &mut ChaCha8Rng::seed_from_u64(0)).unwrap();
    let want = a.lm_step(&ids);
    let (loss, lost) = lm_step_half(&mut b, &ids, Precision::F32, 1.0);
    assert_eq!(loss, want);
    assert_eq!(lost.underflow, 0);
    let (mut ga, mut gb) = (Vec::new(), Vec::new());
    a.visit_params(&mut |_, p| ga.push(p.grad.to_owned()));
    b.visit_params(&mut |_, p| gb.push(p.grad.to_owned()));
    assert_eq!(ga, gb);
}

#[test]
fn fp16_gradients_underflow_without_scaling_and_not_with_it() {
    // A confident model has tiny probabilities, hence tiny ∂L/∂logit = (p - y) / (B T).
    // Training takes long to get there; a final-norm gain 50 times larger gets there
    // at once, logits 50 times further apart.
    let (mut model, ids) = tiny(512);
    model.visit_params_mut(&mut |name, mut p| {
        if name.starts_with("norm.") {
            p.value *= 50.0;
        }
    });
    let mut lost = Vec::new();
    for (p, scale) in [
        (Precision::F16, 1.0),
        (Precision::F16, 65536.0),
        (Precision::Bf16, 1.0),
    ] {
        model.zero_grad();
        let (_, dlogits) = lm_step_half(&mut model, &ids, p, scale);
        lost.push(dlogits);
    }
    let (plain, scaled, bf) = (lost[0], lost[1], lost[2]);
    assert!(plain.underflow > plain.nonzero / 10, "{plain:?}");
    assert!(
        scaled.underflow < plain.underflow / 10,
        "{scaled:?} vs {plain:?}"
    );
    assert_eq!(bf.underflow, 0, "bf16 has float32's range: {bf:?}");
}

fn trainer(model: Llama, stream_len: usize) -> Trainer<Llama, AdamW> {
    Trainer {
        model,
        opt: AdamW::new(WeightDecay::Decoupled(0.1)),
        schedule: Schedule::WarmupCosine {
            warmup: 5,
            total: 40,
            floor: 0.1,
        },
        peak_lr: 1e-2,
        clip: Some(1.0),
        step: 0,
        batches: Batches::new(stream_len, 16, 0),
    }
}

#[test]
fn an_overflow_skips_the_step_and_backs_off() {
    let (model, _) = tiny(40);
    let stream: Vec<usize> = (0..400).map(|i| (i * 7) % 40).collect();
    let mut t = trainer(model, stream.len());
    let before = values(&t.model);
    // 2⁶⁰ times any gradient entry above 6e-14 is past f16's 65504
    let scaler = LossScaler::with(2f32.powi(60), 2.0, 0.5, 3).unwrap();
    let mut mp = MixedPrecision {
        precision: Precision::F16,
        scaler: Some(scaler),
    };
    let log = t.train_step_mixed(&stream, 2, &mut mp);
    assert!(log.skipped && log.dlogits.overflow > 0, "{log:?}");
    assert_eq!(
        values(&t.model),
        before,
        "a skipped step leaves the master weights"
    );
    assert_eq!(mp.scaler.as_ref().unwrap().scale, 2f32.powi(59));
    assert_eq!((t.step, t.opt.t), (1, 0)); // the batch is spent, the optimizer never ran
}

#[test]
fn tiny_mixed_runs_learn() {
    let stream: Vec<usize> = (0..2000).map(|i| (i * 7) % 40).collect();
    for (precision, scaler) in [
        (Precision::Bf16, None),
        (
            Precision::F16,
            Some(LossScaler::with(65536.0, 2.0, 0.5, 10).unwrap()),
        ),
    ] {
        let (model, _) = tiny(40);
        let mut t = trainer(model, stream.len());
        let mut mp = MixedPrecision { precision, scaler };
        let first = t.train_step_mixed(&stream, 4, &mut mp).loss;
        let mut last = first;
        for _ in 1..40 {
            last = t.train_step_mixed(&stream, 4, &mut mp).loss;
        }
        assert!(last < 0.5 * first, "{precision:?}: loss {first} -> {last}");
        // the master weights are f32: most are not representable in the half format
        let mut off_grid = 0;
        t.model.visit_params(&mut |_, p| {
            off_grid += p.value.iter().filter(|&&w| precision.round(w) != w).count();
        });
        assert!(
            off_grid > t.model.num_params() / 2,
            "{precision:?}: {off_grid}"
        );
    }
}

#[test]
fn the_bit_table_shows_each_format() {
    let t = ch11_training::precision::bit_table(&[1.0 / 3.0, 1e-8, 3e38]);
    let rows: Vec<&str> = t.lines().collect();
    assert_eq!(rows.len(), 4);
    assert!(
        rows[1].contains("0 01101 0101010101") && rows[1].contains("0 01111101 0101011")
    );
    // 1e-8: zero in f16, kept by bf16; 3e38: inf in f16, kept by bf16
    assert!(
        rows[2].contains("0e0") && rows[2].contains("1.0011718e-8"),
        "{}",
        rows[2]
    );
    assert!(
        rows[3].contains("inf") && rows[3].contains("3.004"),
        "{}",
        rows[3]
    );
}

#[test]
fn mixed_steps_are_the_same_at_any_thread_count() {
    let stream: Vec<usize> = (0..2000).map(|i| (i * 7) % 40).collect();
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let (model, _) = tiny(40);
            let mut t = trainer(model, stream.len());
            let scaler = LossScaler::with(65536.0, 2.0, 0.5, 3).unwrap();
            let mut mp = MixedPrecision {
                precision: Precision::F16,
                scaler: Some(scaler),
            };
            let losses: Vec<f32> = (0..8)
                .map(|_| t.train_step_mixed(&stream, 4, &mut mp).loss)
                .collect();
            (losses, values(&t.model))
        })
    };
    assert_eq!(run(1), run(2));
}
