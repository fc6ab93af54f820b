//! The GGUF blocks against llama.cpp's own quantizer (the `gguf` package), and the
//! quantized kernels against dequantize-then-f32, across instruction sets and thread
//! counts.

use std::path::Path;
use std::sync::OnceLock;

use ch09_decoder_only::gguf::Gguf;
use ch13_optimizations::blocks::{BlockQ4_1, BlockQ8_0, QK};
use ch13_optimizations::kernels::{
    ActivationsQ8, Int8Matrix, Isa, Q4_1Matrix, Q8_0Matrix, QuantError, QuantizedMatrix,
};
use golden::Fixture;
use ndarray::{Array2, ArrayView2};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn fixture() -> Fixture {
    Fixture::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/blocks.json"))
        .unwrap()
}

fn floats(v: &serde_json::Value) -> Vec<f32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Every block of every fixture row quantizes to llama.cpp's bytes exactly, and
/// Chapter 9's dequantization reads back the package's values exactly.
#[test]
fn blocks_match_llama_cpp_byte_for_byte() {
    let f = fixture();
    let cases = f.cases().as_object().unwrap();
    assert_eq!(cases.len(), 4);
    for (name, case) in cases {
        let x = floats(&case["x"]);
        let (chunks, rest) = x.as_chunks::<QK>();
        assert!(rest.is_empty());
        let q8: Vec<u8> = chunks
            .iter()
            .flat_map(|c| BlockQ8_0::quantize(c).to_bytes())
            .collect();
        let q4: Vec<u8> = chunks
            .iter()
            .flat_map(|c| BlockQ4_1::quantize(c).to_bytes())
            .collect();
        assert_eq!(
            hex(&q8),
            case["Q8_0"]["bytes"].as_str().unwrap(),
            "{name} Q8_0"
        );
        assert_eq!(
            hex(&q4),
            case["Q4_1"]["bytes"].as_str().unwrap(),
            "{name} Q4_1"
        );
        let m8 = Q8_0Matrix::from_bytes(1, x.len(), &q8).unwrap();
        let m4 = Q4_1Matrix::from_bytes(1, x.len(), &q4).unwrap();
        assert_eq!(
            m8.row(0),
            floats(&case["Q8_0"]["dequantized"]),
            "{name} Q8_0 values"
        );
        assert_eq!(
            m4.row(0),
            floats(&case["Q4_1"]["dequantized"]),
            "{name} Q4_1 values"
        );
    }
}

#[test]
fn q4_1_nibbles_hold_j_and_j_plus_16() {
    let x: [f32; QK] = std::array::from_fn(|j| j as f32 % 16.0); // d = 1, m = 0
    let b = BlockQ4_1::quantize(&x);
    assert_eq!((b.d, b.m), (0x3c00, 0)); // f16 1.0 and 0.0
    for j in 0..16 {
        assert_eq!(b.qs[j], (j as u8) | ((j as u8) << 4), "byte {j}");
    }
    assert_eq!(BlockQ4_1::from_bytes(&b.to_bytes()), b);
    assert_eq!(b.dequantize(), x);
}

fn random(rows: usize, cols: usize, seed: u64) -> Array2<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Rows of different scales, and a few outliers, as in real weights.
    Array2::from_shape_fn((rows, cols), |(i, _)| {
        let v: f32 = rng.random_range(-1.0..1.0) * (1.0 + (i % 7) as f32);
        if rng.random_range(0..100) == 0 {
            v * 8.0
        } else {
            v
        }
    })
}

/// x Wᵀ in f64, and Σ|x||w| per entry (what float rounding error scales with).
// x: [T, n], w: [out, n] -> ([T, out], [T, out])
fn reference(x: ArrayView2<f32>, w: ArrayView2<f32>) -> (Array2<f64>, Array2<f64>) {
    let (x, w) = (x.mapv(f64::from), w.mapv(f64::from));
    (x.dot(&w.t()), x.abs().dot(&w.abs().t()))
}

/// Against the dequantized weights times the dequantized activations, in f64: only f32
/// rounding separates them, so the error is at most 1e-6 · Σ|x̂||ŵ| (a block of 32
/// exact integer products, then about n/32 + 3 f32 roundings of 6e-8 each).
fn check_same_activations(m: &dyn QuantizedMatrix, x: ArrayView2<f32>) -> f64 {
    let xq = ActivationsQ8::quantize(x);
    let y = m.matmul_q8(&xq);
    let (want, scale) = reference(xq.dequantize().view(), m.dequantize().view());
    let mut worst = 0.0f64;
    for ((&y, &r), &s) in y.iter().zip(&want).zip(&scale) {
        let err = (f64::from(y) - r).abs();
        assert!(err <= 1e-6 * s + 1e-30, "y {y}, reference {r}, Σ|xw| {s}");
        worst = worst.max(err / s.max(1e-30));
    }
    worst
}

/// Against the dequantized weights times the f32 activations: now the activations'
/// rounding counts too. Each x_j moves by at most d_x / 2 = max|x_block| / 254, so
/// |error| ≤ Σ_blocks (max|x_block| / 254) · Σ_j |w_j|, plus the f32 slack above.
fn check_f32_activations(m: &dyn QuantizedMatrix, x: ArrayView2<f32>) {
    let y = m.matmul(x);
    let w = m.dequantize();
    let (want, scale) = reference(x, w.view());
    for t in 0..x.nrows() {
        for o in 0..w.nrows() {
            let mut bound = 1e-6 * scale[[t, o]];
            for b in 0..x.ncols().div_ceil(QK) {
                let cols = b * QK..((b + 1) * QK).min(x.ncols());
                let amax = x
                    .row(t)
                    .slice(ndarray::s![cols.clone()])
                    .fold(0.0f32, |a, v| a.max(v.abs()));
                let wsum: f64 = w
                    .row(o)
                    .slice(ndarray::s![cols])
                    .iter()
                    .map(|v| f64::from(v.abs()))
                    .sum();
                bound += f64::from(amax) / 254.0 * wsum;
            }
            let err = (f64::from(y[[t, o]]) - want[[t, o]]).abs();
            assert!(
                err <= bound,
                "[{t}, {o}]: y {}, reference {}, bound {bound}",
                y[[t, o]],
                want[[t, o]]
            );
        }
    }
}

fn matrices(w: ArrayView2<f32>) -> Vec<(&'static str, Box<dyn QuantizedMatrix>)> {
    vec![
        ("Q8_0", Box::new(Q8_0Matrix::quantize(w).unwrap())),
        ("Q4_1", Box::new(Q4_1Matrix::quantize(w).unwrap())),
        ("int8", Box::new(Int8Matrix::quantize(w).unwrap())),
    ]
}

/// SmolLM2's shapes (up: 1536 × 576, down: 576 × 1536), a row count that is no multiple
/// of 4 or of a task's 64, one row of x and odd numbers of rows.
#[test]
fn kernels_match_dequantize_then_f32() {
    for (seed, (out, n)) in [(1536, 576), (576, 1536), (130, 64)]
        .into_iter()
        .enumerate()
    {
        let w = random(out, n, seed as u64);
        for t in [1, 3, 17] {
            let x = random(t, n, 100 + seed as u64) * 0.5;
            for (name, m) in matrices(w.view()) {
                let worst = check_same_activations(m.as_ref(), x.view());
                assert!(worst < 1e-6, "{name} {out}x{n} T={t}: {worst}");
                check_f32_activations(m.as_ref(), x.view());
            }
        }
    }
}

#[test]
fn int8_takes_rows_that_are_not_whole_blocks() {
    let w = random(9, 50, 7);
    let m = Int8Matrix::quantize(w.view()).unwrap();
    assert_eq!(m.shape(), [9, 50]);
    assert_eq!(m.bytes(), 9 * 64 + 9 * 4); // codes padded to 64, one f32 scale a row
    let x = random(2, 50, 8);
    check_same_activations(&m, x.view());
    check_f32_activations(&m, x.view());
    assert!(
        (m.dequantize() - &w)
            .iter()
            .all(|e| e.abs() <= 8.0 * 8.0 / 254.0 + 1e-6)
    );
}

fn bits(a: &Array2<f32>) -> Vec<u32> {
    a.iter().map(|v| v.to_bits()).collect()
}

/// Every instruction set the CPU has gives the portable kernel's bits; Q8_0 with every
/// byte value, −128 included, which the sign trick must handle.
#[test]
fn simd_and_portable_give_the_same_bits() {
    let isas = Isa::available();
    eprintln!("instruction sets here: {isas:?}");
    assert_eq!(isas.last(), Some(&Isa::Portable));
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let (out, n) = (70, 256);
    let mut q8 = vec![0u8; out * n / QK * BlockQ8_0::BYTES];
    let mut q4 = vec![0u8; out * n / QK * BlockQ4_1::BYTES];
    rng.fill(&mut q8[..]);
    rng.fill(&mut q4[..]);
    // Keep the f16 scales finite: clear the top exponent bit of every d and m.
    for b in q8.chunks_exact_mut(BlockQ8_0::BYTES) {
        b[1] &= 0xbf;
    }
    for b in q4.chunks_exact_mut(BlockQ4_1::BYTES) {
        b[1] &= 0xbf;
        b[3] &= 0xbf;
    }
    let m8 = Q8_0Matrix::from_bytes(out, n, &q8).unwrap();
    let m4 = Q4_1Matrix::from_bytes(out, n, &q4).unwrap();
    let mi = Int8Matrix::quantize(random(out, n, 6).view()).unwrap();
    assert!(m8.blocks().iter().any(|b| b.qs.contains(&-128)));
    for t in [1, 4, 5] {
        let x = ActivationsQ8::quantize(random(t, n, 9).view());
        let want = [
            bits(&m8.matmul_with(&x, Isa::Portable)),
            bits(&m4.matmul_with(&x, Isa::Portable)),
            bits(&mi.matmul_with(&x, Isa::Portable)),
        ];
        for &isa in &isas {
            assert_eq!(
                bits(&m8.matmul_with(&x, isa)),
                want[0],
                "Q8_0 {isa:?} T={t}"
            );
            assert_eq!(
                bits(&m4.matmul_with(&x, isa)),
                want[1],
                "Q4_1 {isa:?} T={t}"
            );
            assert_eq!(
                bits(&mi.matmul_with(&x, isa)),
                want[2],
                "int8 {isa:?} T={t}"
            );
        }
        // A row of x gets the same bits alone as among others.
        let alone = ActivationsQ8::quantize(
            random(t, n, 9).row(t - 1).insert_axis(ndarray::Axis(0)),
        );
        assert_eq!(
            bits(&m4.matmul_q8(&alone)),
            bits(
                &m4.matmul_q8(&x)
                    .row(t - 1)
                    .to_owned()
                    .insert_axis(ndarray::Axis(0))
            )
        );
    }
}

#[test]
fn same_bits_on_one_and_three_threads() {
    let w = random(300, 192, 11);
    let x = random(3, 192, 12);
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            matrices(w.view())
                .iter()
                .map(|(_, m)| bits(&m.matmul(x.view())))
                .collect::<Vec<_>>()
        })
    };
    assert_eq!(run(1), run(3));
}

#[test]
fn bad_inputs_are_errors() {
    let w = Array2::<f32>::zeros((4, 33));
    let e = Q4_1Matrix::quantize(w.view()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Q4_1: rows of 33 values are not whole blocks of 32"
    );
    assert!(matches!(
        Q8_0Matrix::quantize(w.view()),
        Err(QuantError::NotWholeBlocks { .. })
    ));
    let e = Q8_0Matrix::from_bytes(2, 64, &[0; 135]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Q8_0: a [2, 64] matrix takes 136 bytes, got 135"
    );
    let e = Q4_1Matrix::from_bytes(2, 64, &[0; 81]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Q4_1: a [2, 64] matrix takes 80 bytes, got 81"
    );
}

fn smollm2() -> &'static Gguf {
    static FILE: OnceLock<Gguf> = OnceLock::new();
    FILE.get_or_init(|| {
        let dir = models::SMOLLM2_135M_INSTRUCT
            .dir()
            .unwrap_or_else(|e| panic!("{e}"));
        Gguf::open(&dir.join(models::SMOLLM2_GGUF)).unwrap_or_else(|e| panic!("{e}"))
    })
}

/// The real file's blocks, taken as they are, dequantize to Chapter 9's values exactly;
/// a wrong type or shape is an error naming the tensor.
#[test]
fn smollm2_tensors_load_without_requantizing() {
    let g = smollm2();
    let up = Q4_1Matrix::from_gguf(g, "blk.0.ffn_up.weight", [1536, 576]).unwrap();
    assert_eq!(up.bytes(), 1536 * 576 / 32 * 20);
    let want = g.dequantize("blk.0.ffn_up.weight").unwrap();
    assert_eq!(up.dequantize().into_dyn(), want);
    let embd = Q8_0Matrix::from_gguf(g, "token_embd.weight", [49152, 576]).unwrap();
    let want = g.dequantize("token_embd.weight").unwrap();
    assert_eq!(
        embd.row(1234),
        want.as_slice().unwrap()[1234 * 576..1235 * 576]
    );
    let e = Q4_1Matrix::from_gguf(g, "token_embd.weight", [49152, 576]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tensor token_embd.weight: type Q8_0 in the file, expected Q4_1"
    );
    let e = Q4_1Matrix::from_gguf(g, "blk.0.ffn_up.weight", [576, 1536]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "tensor blk.0.ffn_up.weight: shape [1536, 576] in the file, expected [576, 1536]"
    );
    assert!(
        Q8_0Matrix::from_gguf(g, "nope", [1, 32])
            .unwrap_err()
            .to_string()
            .contains("nope")
    );
}
