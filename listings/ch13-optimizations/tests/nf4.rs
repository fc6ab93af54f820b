//! NF4: the code points against bitsandbytes' table, block-wise quantization against
//! bitsandbytes' `quantize_4bit` (codes, scales, dequantized values), double
//! quantization's error bound and cost, the roundtrip the LoRA experiment plugs in, the
//! errors, and the memory account against the real SmolLM2's tensor table.
//!
//! The fixture `tests/golden/nf4.json` is written by `tools/golden/ch13_nf4.py` with
//! bitsandbytes 0.50.2 on CPU (its PyTorch backend).

use ch13_optimizations::nf4::{
    DoubleQuant, Nf4Config, Nf4Error, Nf4Tensor, Scales, Setup, Targets,
    int4_absmax_roundtrip, lora_params, memory_account, nf4, nf4_code_points,
    nf4_roundtrip, normal_quantile, param_split, quant_error, smollm2_135m,
};
use golden::Fixture;
use ndarray::Array2;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::Value;

fn fixture() -> Fixture {
    Fixture::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/golden/nf4.json"
    ))
    .unwrap()
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

/// The fixture's generator, bit for bit: splitmix64, four 24-bit uniforms summed
/// (exact in f64), one rounding for the product, one for the cast to f32.
fn weights(n: usize, seed: u64, block: usize) -> Vec<f32> {
    let mut state = seed;
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    (0..n)
        .map(|i| {
            let s: f64 = (0..4).map(|_| (next() >> 40) as f64 / 16_777_216.0).sum();
            ((s - 2.0) * (0.005 * (1 + (i / block) % 7) as f64)) as f32
        })
        .collect()
}

fn case_weights(f: &Fixture, case: &str) -> Vec<f32> {
    let c = &f.cases()[case];
    let mut w = weights(
        c["n"].as_u64().unwrap() as usize,
        c["seed"].as_u64().unwrap(),
        64,
    );
    if c["zero_block"].as_bool().unwrap() {
        w[128..192].fill(0.0);
    }
    let sum: f64 = w.iter().map(|&x| x as f64).sum();
    assert!(
        (sum - c["w_sum"].as_f64().unwrap()).abs() < 1e-9,
        "the generator disagrees with the fixture's: sum {sum}"
    );
    w
}

fn gaussian(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    ch01_foundations::init::normal(n, 1.0, &mut rng).to_vec()
}

#[test]
fn code_points_equal_bitsandbytes_table() {
    let f = fixture();
    let want = floats(&f.cases()["code_points"]);
    let ours = nf4_code_points();
    // bitsandbytes takes the probabilities from a float32 `torch.linspace` before its
    // float64 `norm.ppf`; we space them in f64. That moves a code point by at most
    // 1.3e-7 (the fixture's float64 scipy table is within 1e-9 of ours).
    for (i, (&a, &b)) in ours.iter().zip(&want).enumerate() {
        assert!((a - b).abs() < 2e-7, "code {i}: ours {a}, bitsandbytes {b}");
    }
    let scipy = floats(&f.cases()["scipy_float64"]);
    for (i, (&a, &b)) in ours.iter().zip(&scipy).enumerate() {
        assert!(
            (a - b).abs() < 1e-7,
            "code {i}: ours {a}, scipy float64 {b}"
        );
    }
    // The paper's construction in bitsandbytes' `create_normal_map` gives the same table.
    assert_eq!(floats(&f.cases()["create_normal_map"]), want);
    // Its shape: sorted, ends at ±1, an exact zero, 7 negative and 8 positive values.
    assert!(ours.windows(2).all(|p| p[0] < p[1]));
    assert_eq!((ours[0], ours[7], ours[15]), (-1.0, 0.0, 1.0));
}

#[test]
fn quantile_inverts_the_cdf_at_known_points() {
    // Φ⁻¹(0.975) = 1.959963984540054, Φ⁻¹(0.8413447460685429) = 1 (tables).
    assert!((normal_quantile(0.975) - 1.959_963_984_540_054).abs() < 1e-10);
    assert!((normal_quantile(0.841_344_746_068_542_9) - 1.0).abs() < 1e-10);
    assert!(normal_quantile(0.5).abs() < 1e-12);
}

fn unpack(hex: &str) -> Vec<u8> {
    (0..hex.len() / 2)
        .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

#[test]
fn quantize_equals_bitsandbytes_with_f32_scales() {
    let f = fixture();
    for case in ["small", "large"] {
        let w = case_weights(&f, case);
        let c = &f.cases()[case];
        let q = Nf4Tensor::quantize(&w, Nf4Config::F32_SCALES).unwrap();
        // The same packed bytes (codes, nibble order, padding of an odd length).
        let want = unpack(c["packed_hex"].as_str().unwrap());
        let differ = q.packed.iter().zip(&want).filter(|(a, b)| a != b).count();
        assert_eq!(
            (q.packed.len(), differ),
            (want.len(), 0),
            "{case}: packed codes"
        );
        // The same scales, exactly: both are the max of |w| over the block.
        let Scales::F32(absmax) = &q.scales else {
            panic!("f32 scales expected")
        };
        assert_eq!(absmax, &floats(&c["absmax"]), "{case}: absmax");
        // Dequantized: code × scale on both sides, so they differ only as much as the
        // code points do (2e-7, see above) times the block's scale.
        if let Some(d) = c["dequantized"].as_array() {
            let ours = q.dequantize();
            assert_eq!(ours.len(), d.len());
            for (i, (a, b)) in ours.iter().zip(d).enumerate() {
                let b = b.as_f64().unwrap() as f32;
                let tol = 2e-7 * absmax[i / 64] + f32::EPSILON * b.abs();
                assert!((a - b).abs() <= tol, "{case} weight {i}: {a} vs {b}");
            }
        }
    }
}

#[test]
fn double_quantization_against_bitsandbytes() {
    let f = fixture();
    for case in ["small", "large"] {
        let w = case_weights(&f, case);
        let c = &f.cases()[case];
        let d = &c["double"];
        let q = Nf4Tensor::quantize(&w, Nf4Config::QLORA).unwrap();
        // Double quantization does not touch the 4-bit codes (bitsandbytes' neither).
        assert!(d["packed_hex_equal"].as_bool().unwrap());
        assert_eq!(q.packed, unpack(c["packed_hex"].as_str().unwrap()));
        let Scales::Double(dq) = &q.scales else {
            panic!("double quantization expected")
        };
        // The same layout: one 8-bit code a scale, one f32 a block of 256, one mean.
        assert_eq!(dq.absmax2.len(), d["n_absmax2"].as_u64().unwrap() as usize);
        assert_eq!(dq.block, d["scale_block"].as_u64().unwrap() as usize);
        assert!((dq.mean - d["offset"].as_f64().unwrap() as f32).abs() < 1e-8);
        // Different 8-bit maps (ours linear, theirs dynamic), so the reconstructed
        // scales differ. Ours is within half a step, a2/254, of the true scale (a2 the
        // second-level absmax). The dynamic map's widest steps (64 codes over [0.1, 1])
        // are 0.9/64 a2, so its error is at most 0.0071 a2: the two agree within 0.011 a2.
        let exact = floats(&c["absmax"]);
        let theirs = floats(&d["absmax"]);
        for (j, s) in q.absmax().iter().enumerate() {
            let a2 = dq.absmax2[j / 256];
            assert!(
                (s - exact[j]).abs() <= a2 / 254.0 * 1.0001,
                "{case} scale {j}"
            );
            assert!(
                (s - theirs[j]).abs() <= 0.011 * a2,
                "{case} scale {j}: {s} vs {}",
                theirs[j]
            );
        }
        // The roundtrip error is bitsandbytes' within 2 %.
        let ours = quant_error(&w, &q.dequantize(), &[]).rel_rms;
        let want = d["rel_rms_error"].as_f64().unwrap();
        println!("{case}: relative RMS error ours {ours:.5}, bitsandbytes {want:.5}");
        assert!(
            (ours - want).abs() < 0.02 * want,
            "{case}: error {ours} vs {want}"
        );
    }
}

#[test]
fn bits_per_parameter_match_the_account() {
    let w = gaussian(64 * 256 * 4, 1);
    let single = Nf4Tensor::quantize(&w, Nf4Config::F32_SCALES).unwrap();
    let double = Nf4Tensor::quantize(&w, Nf4Config::QLORA).unwrap();
    // 4 + 32/64 = 4.5; 4 + 8/64 + 32/(64·256) + the mean's 32 bits over 65,536 weights.
    assert_eq!(single.bits_per_param(), 4.5);
    let want = 4.0 + 8.0 / 64.0 + 32.0 / (64.0 * 256.0) + 32.0 / w.len() as f64;
    assert!((double.bits_per_param() - want).abs() < 1e-12);
    assert_eq!(single.bytes(), w.len() / 2 + 4 * w.len() / 64);
}

#[test]
fn requantizing_the_dequantized_tensor_is_exact() {
    // Each block's largest |w| maps to the code ±1 exactly, so the dequantized block has
    // the same absmax and every value is on the grid: a second pass changes nothing.
    let w = gaussian(10_000, 2);
    let once = Nf4Tensor::quantize(&w, Nf4Config::F32_SCALES).unwrap();
    let twice = Nf4Tensor::quantize(&once.dequantize(), Nf4Config::F32_SCALES).unwrap();
    assert_eq!(once, twice);
}

#[test]
fn zero_block_and_odd_length_round_trip() {
    let mut w = gaussian(130, 3);
    w[64..128].fill(0.0);
    for config in [Nf4Config::F32_SCALES, Nf4Config::QLORA] {
        let q = Nf4Tensor::quantize(&w, config).unwrap();
        assert_eq!(q.packed.len(), 65);
        let d = q.dequantize();
        assert_eq!(d.len(), 130);
        assert!(
            d[64..128].iter().all(|&x| x == 0.0),
            "a zero block stays zero"
        );
    }
    // Exactly representable values come back exactly: code points times a scale of 1.
    let grid: Vec<f32> = nf4().iter().copied().cycle().take(64).collect();
    let q = Nf4Tensor::quantize(&grid, Nf4Config::F32_SCALES).unwrap();
    assert_eq!(q.dequantize(), grid);
}

#[test]
fn roundtrip_keeps_shape_and_row_major_order() {
    let w = Array2::from_shape_vec((12, 40), gaussian(480, 4)).unwrap();
    let flat: Vec<f32> = w.iter().copied().collect();
    let want = Nf4Tensor::quantize(&flat, Nf4Config::QLORA)
        .unwrap()
        .dequantize();
    let ours = nf4_roundtrip(w.view());
    assert_eq!(ours.dim(), (12, 40));
    assert_eq!(ours.iter().copied().collect::<Vec<_>>(), want);
    // A transposed view is quantized in its own logical (row-major) order.
    let t = nf4_roundtrip(w.t());
    assert_eq!(t.dim(), (40, 12));
    let tf: Vec<f32> = w.t().iter().copied().collect();
    let want_t = Nf4Tensor::quantize(&tf, Nf4Config::QLORA)
        .unwrap()
        .dequantize();
    assert_eq!(t.iter().copied().collect::<Vec<_>>(), want_t);
}

#[test]
fn bad_input_is_an_error_naming_it() {
    let c = Nf4Config::QLORA;
    assert_eq!(Nf4Tensor::quantize(&[], c), Err(Nf4Error::Empty));
    let e = Nf4Tensor::quantize(&[1.0, f32::NAN], c).unwrap_err();
    assert!(matches!(e, Nf4Error::NonFinite { index: 1, .. }));
    assert_eq!(
        e.to_string(),
        "weight 1 is NaN: only finite weights have a 4-bit code"
    );
    let zero = Nf4Config {
        block: 0,
        scale_block: None,
    };
    assert_eq!(
        Nf4Tensor::quantize(&[1.0], zero),
        Err(Nf4Error::ZeroBlock("block"))
    );
    let zero2 = Nf4Config {
        block: 64,
        scale_block: Some(0),
    };
    assert_eq!(
        Nf4Tensor::quantize(&[1.0], zero2).unwrap_err().to_string(),
        "block size scale_block must be positive"
    );
    assert!(int4_absmax_roundtrip(&[f32::INFINITY], 64).is_err());
}

#[test]
#[should_panic(expected = "nf4_roundtrip of a (1, 2) weight: weight 1 is inf")]
fn roundtrip_of_a_non_finite_weight_panics_with_a_message() {
    nf4_roundtrip(
        Array2::from_shape_vec((1, 2), vec![0.0, f32::INFINITY])
            .unwrap()
            .view(),
    );
}

#[test]
fn double_quant_of_constant_scales_is_exact() {
    let dq = DoubleQuant::quantize(&[0.5; 300], 256);
    assert_eq!(dq.dequantize(), vec![0.5; 300]);
    assert_eq!(dq.absmax2.len(), 2);
}

#[test]
fn nf4_beats_int4_on_gaussian_weights() {
    // Gaussian weights are what NF4's quantiles are built for: lower error and a code
    // histogram closer to uniform (more of the 4 bits carry information).
    let w = gaussian(1 << 16, 5);
    let q = Nf4Tensor::quantize(&w, Nf4Config::F32_SCALES).unwrap();
    let nf = quant_error(
        &w,
        &q.dequantize(),
        &ch13_optimizations::nf4::nf4_code_counts(&q),
    );
    let i4 = quant_error(
        &w,
        &int4_absmax_roundtrip(&w, 64).unwrap(),
        &ch13_optimizations::nf4::int4_code_counts(&w, 64),
    );
    assert!(nf.rel_rms < 0.9 * i4.rel_rms, "NF4 {nf:?}, int4 {i4:?}");
    assert!(
        nf.code_entropy > i4.code_entropy + 0.2,
        "NF4 {nf:?}, int4 {i4:?}"
    );
}

#[test]
fn memory_account_by_hand_for_one_projection() {
    let cfg = smollm2_135m();
    // r (d_in + d_out) a matrix: q is 576 × 576, v is 192 × 576.
    assert_eq!(
        lora_params(&cfg, 8, Targets::QV),
        30 * 8 * ((576 + 576) + (576 + 192))
    );
    let full = memory_account(&cfg, true, 8, Setup::Full);
    let p = param_split(&cfg, true);
    assert_eq!(full.total(), 16.0 * (p.linear + p.other) as f64);
    let q = memory_account(
        &cfg,
        true,
        8,
        Setup::QLora {
            targets: Targets::All,
            double: true,
        },
    );
    let q1 = memory_account(
        &cfg,
        true,
        8,
        Setup::QLora {
            targets: Targets::All,
            double: false,
        },
    );
    assert!(
        q.scales < 0.26 * q1.scales,
        "double quantization cuts the scales about 4×"
    );
    assert_eq!(q.base, q1.base);
}

#[test]
fn smollm2_shapes_match_the_gguf() {
    use ch09_decoder_only::config::LlamaConfig;
    use ch09_decoder_only::gguf::Gguf;
    let path = models::SMOLLM2_135M_INSTRUCT
        .dir()
        .unwrap_or_else(|e| panic!("{e}"))
        .join(models::SMOLLM2_GGUF);
    let file = Gguf::open(&path).unwrap();
    let cfg = LlamaConfig::from_gguf(&file).unwrap();
    let ours = smollm2_135m();
    assert_eq!(
        (
            ours.n_layers,
            ours.d_model,
            ours.n_heads,
            ours.n_kv_heads,
            ours.d_ff,
            ours.vocab
        ),
        (
            cfg.n_layers,
            cfg.d_model,
            cfg.n_heads,
            cfg.n_kv_heads,
            cfg.d_ff,
            cfg.vocab
        )
    );
    // Every parameter in the file is counted once, in the right group.
    let p = param_split(&ours, true);
    let (mut linear, mut other) = (0u64, 0u64);
    for (name, _) in cfg.expected_tensors() {
        let n = file.tensor(&name).unwrap().n_elements();
        if name.starts_with("blk.") && !name.contains("norm") {
            linear += n
        } else {
            other += n
        }
    }
    assert_eq!((p.linear as u64, p.other as u64), (linear, other));
}

#[test]
fn nf4_bytes_counts_what_a_tensor_stores() {
    use ch13_optimizations::nf4::nf4_bytes;
    // A SmolLM2 FFN matrix, 1536 × 576: 13,824 blocks, 54 second-level blocks.
    let w = gaussian(1536 * 576, 7);
    for (config, double) in [(Nf4Config::F32_SCALES, false), (Nf4Config::QLORA, true)] {
        let (codes, scales) = nf4_bytes(w.len(), double);
        let q = Nf4Tensor::quantize(&w, config).unwrap();
        assert_eq!(codes + scales, q.bytes(), "double quantization {double}");
    }
}
