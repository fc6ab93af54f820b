//! The bottleneck's arithmetic: STREAM's kernels are deterministic at any thread count,
//! intensity is ≈ 1/2 FLOP/byte for a matrix-vector product and grows with T, and the
//! weight bytes a decoding step reads are every tensor of SmolLM2's file, in f32.

use ch01_foundations::linalg::in_pool;
use ch09_decoder_only::config::LlamaConfig;
use ch09_decoder_only::gguf::Gguf;
use ch12_inference::roofline::{
    STREAM_BYTES, attainable, decode_tokens_per_s_bound, decode_weight_bytes,
    forward_flops_bytes, intensity, intensity_table, stream, stream_kernels,
};

#[test]
fn stream_kernels_compute_what_they_say_at_any_thread_count() {
    let n = 300_000; // several chunks, the last one short
    let mut a: Vec<f32> = (0..n).map(|i| i as f32 * 0.25).collect();
    let (mut b, mut c) = (vec![0.0; n], vec![0.0; n]);
    let a0 = a.clone();
    stream_kernels(&mut a, &mut b, &mut c, 3.0);
    for i in [0, 1, 65_536, n - 1] {
        let scale = 3.0 * a0[i]; // copy put a into c; scale then read it
        let add = a0[i] + scale;
        assert_eq!((c[i], b[i]), (add, scale), "element {i}");
        assert_eq!(a[i], scale + 3.0 * add, "triad at {i}");
    }
    let one = in_pool(1, || stream(n, 2).1);
    let two = in_pool(2, || stream(n, 2).1);
    assert_eq!(one, two, "the same bits on 1 and 2 threads");
    assert_eq!(STREAM_BYTES, [8, 8, 12, 12]);
}

#[test]
fn matvec_is_memory_bound_and_matmul_is_not() {
    // 2mk FLOPs over 4(mk + k + m) bytes: just under 1/2 for any large matrix.
    let i1 = intensity(1, 576, 1536);
    assert!(
        (i1 - 2.0 * 576.0 * 1536.0 / (4.0 * (576.0 * 1536.0 + 576.0 + 1536.0))).abs()
            < 1e-12
    );
    assert!(i1 < 0.5 && i1 > 0.49);
    assert!(intensity(256, 576, 1536) > 100.0 * i1);
    assert!(intensity(64, 576, 1536) < intensity(256, 576, 1536));
    assert_eq!(attainable(0.5, 100.0, 20.0), 10.0);
    assert_eq!(attainable(50.0, 100.0, 20.0), 100.0);
}

fn smollm2() -> Gguf {
    let path = models::SMOLLM2_135M_INSTRUCT
        .dir()
        .unwrap_or_else(|e| panic!("{e}"))
        .join(models::SMOLLM2_GGUF);
    Gguf::open(&path).unwrap()
}

#[test]
fn a_decoding_step_reads_every_weight_of_smollm2_in_f32() {
    let g = smollm2();
    let cfg = LlamaConfig::from_gguf(&g).unwrap();
    let elements: u64 = g.tensors.iter().map(|t| t.n_elements()).sum();
    assert_eq!(decode_weight_bytes(&cfg) as u64, 4 * elements);
    // The file stores them in Q4_1 / Q8_0: under a quarter of the f32 copy's bytes.
    let file: u64 = g.tensors.iter().map(|t| t.n_bytes).sum();
    assert!(
        4 * file < decode_weight_bytes(&cfg) as u64,
        "{file} bytes in the file, {elements} weights"
    );
    let bound = decode_tokens_per_s_bound(20.0, decode_weight_bytes(&cfg));
    assert!((bound - 20e9 / (4 * elements) as f64).abs() < 1e-9);
    let (f1, b1) = forward_flops_bytes(&cfg, 1);
    assert!(f1 / b1 < 0.5, "decode intensity {}", f1 / b1);
    let (f, b) = forward_flops_bytes(&cfg, 256);
    assert!(f / b > 50.0, "prefill intensity {}", f / b);
    let table = intensity_table(&cfg, 256);
    assert!(table.contains("| LM head | 576 | 49152 |"), "{table}");
}
