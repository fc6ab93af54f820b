//! Where generation spends its time (section "Where generation spends its time"): a
//! STREAM-style memory-bandwidth benchmark, the arithmetic intensity of a matrix-vector
//! product against a matrix product, and the roofline those imply for SmolLM2's decode.

use ch09_decoder_only::config::LlamaConfig;
use rayon::prelude::*;
use std::time::Instant;

/// Elements a rayon task handles in the STREAM kernels: a fixed split, so every
/// element is computed by the same expression whatever the thread count.
const CHUNK: usize = 1 << 16;

// ANCHOR: stream
/// STREAM's four kernels (McCalpin) on f32 arrays a, b, c of n elements, and the bytes
/// each moves: copy c = a and scale b = s·c read one array and write one (8n bytes);
/// add c = a + b and triad a = b + s·c read two and write one (12n bytes).
pub fn stream_kernels(a: &mut [f32], b: &mut [f32], c: &mut [f32], s: f32) -> [f64; 4] {
    let mut seconds = [0.0; 4];
    let mut time = |k: usize, f: &mut dyn FnMut()| {
        let start = Instant::now();
        f();
        seconds[k] = start.elapsed().as_secs_f64();
    };
    time(0, &mut || zip2(c, a, |c, a| *c = a));
    time(1, &mut || zip2(b, c, |b, c| *b = s * c));
    time(2, &mut || zip3(c, a, b, |c, a, b| *c = a + b));
    time(3, &mut || zip3(a, b, c, |a, b, c| *a = b + s * c));
    seconds
}

/// Bytes each kernel moves per element of f32 arrays: copy, scale, add, triad.
pub const STREAM_BYTES: [usize; 4] = [8, 8, 12, 12];
// ANCHOR_END: stream

fn zip2(out: &mut [f32], x: &[f32], f: impl Fn(&mut f32, f32) + Sync) {
    out.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(o, x)| o.iter_mut().zip(x).for_each(|(o, &x)| f(o, x)));
}

fn zip3(out: &mut [f32], x: &[f32], y: &[f32], f: impl Fn(&mut f32, f32, f32) + Sync) {
    out.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK).zip(y.par_chunks(CHUNK)))
        .for_each(|(o, (x, y))| {
            o.iter_mut()
                .zip(x.iter().zip(y))
                .for_each(|(o, (&x, &y))| f(o, x, y))
        });
}

/// Best GB/s of each kernel over `repeat` rounds on arrays of n f32, and the arrays'
/// final contents (the same bits on any number of threads).
pub fn stream(n: usize, repeat: usize) -> ([f64; 4], Vec<f32>) {
    let (mut a, mut b, mut c) = (vec![1.0f32; n], vec![2.0f32; n], vec![0.0f32; n]);
    let mut best = [f64::INFINITY; 4];
    for _ in 0..repeat.max(1) {
        let s = stream_kernels(&mut a, &mut b, &mut c, 0.5);
        for k in 0..4 {
            best[k] = best[k].min(s[k]);
        }
    }
    let gbs = std::array::from_fn(|k| (STREAM_BYTES[k] * n) as f64 / best[k] / 1e9);
    a.extend_from_slice(&b);
    a.extend_from_slice(&c);
    (gbs, a)
}

// ANCHOR: intensity
/// FLOPs per byte of y = x Wᵀ with x: [T, k], W: [m, k], y: [T, m], all f32, each
/// read or written once: 2Tmk FLOPs over 4(mk + Tk + Tm) bytes. At T = 1 (a matrix-
/// vector product, one decoding step) it is about 1/2; it grows with T (a prefill).
pub fn intensity(t: usize, k: usize, m: usize) -> f64 {
    let (t, k, m) = (t as f64, k as f64, m as f64);
    2.0 * t * m * k / (4.0 * (m * k + t * k + t * m))
}

/// The roofline: GFLOP/s attainable at intensity `i` (FLOP/byte) on a machine with
/// `peak` GFLOP/s of compute and `bandwidth` GB/s of memory.
pub fn attainable(i: f64, peak: f64, bandwidth: f64) -> f64 {
    peak.min(i * bandwidth)
}
// ANCHOR_END: intensity

// ANCHOR: decode_bytes
/// The f32 weight bytes one decoding step reads: every matrix of every block once,
/// the norms' gains, and the whole token table, which the tied LM head multiplies.
pub fn decode_weight_bytes(cfg: &LlamaConfig) -> usize {
    cfg.f32_weight_bytes() // Chapter 9 holds every weight as f32 once it is loaded
}

/// The fastest decode memory allows: each token must stream every weight once.
pub fn decode_tokens_per_s_bound(bandwidth_gbs: f64, weight_bytes: usize) -> f64 {
    bandwidth_gbs * 1e9 / weight_bytes as f64
}
// ANCHOR_END: decode_bytes

/// The intensity table at a Llama's shapes: each linear layer's (name, k, m) for a
/// decoding step (T = 1) and a prefill of `t` tokens, as markdown.
pub fn intensity_table(cfg: &LlamaConfig, t: usize) -> String {
    let (c, f, v) = (cfg.d_model, cfg.d_ff, cfg.vocab);
    let (q, kv) = (cfg.n_heads * cfg.d_head(), cfg.n_kv_heads * cfg.d_head());
    let layers = [
        ("q_proj", c, q),
        ("k_proj, v_proj", c, kv),
        ("o_proj", q, c),
        ("gate, up", c, f),
        ("down", f, c),
        ("LM head", c, v),
    ];
    let mut out = format!(
        "| layer | k (in) | m (out) | FLOP/byte at T = 1 | FLOP/byte at T = {t} |\n|---|---|---|---|---|\n"
    );
    for (name, k, m) in layers {
        out += &format!(
            "| {name} | {k} | {m} | {:.3} | {:.1} |\n",
            intensity(1, k, m),
            intensity(t, k, m)
        );
    }
    out
}

/// FLOPs and bytes of one forward of T tokens through a Llama's linear layers, as
/// generation runs it: every block's projections for all T rows, and the LM head for
/// the last row only (the next token's logits). Each weight and activation is read or
/// written once. Attention's own score products are left out: at SmolLM2's size and a
/// few hundred tokens they are a few per cent of the FLOPs.
pub fn forward_flops_bytes(cfg: &LlamaConfig, t: usize) -> (f64, f64) {
    let (c, f, v) = (cfg.d_model, cfg.d_ff, cfg.vocab);
    let (q, kv) = (cfg.n_heads * cfg.d_head(), cfg.n_kv_heads * cfg.d_head());
    let block = [(c, q), (c, kv), (c, kv), (q, c), (c, f), (c, f), (f, c)];
    let rows = (0..cfg.n_layers)
        .flat_map(|_| block)
        .map(|(k, m)| (t, k, m));
    let shapes = rows.chain([(1, c, v)]);
    shapes.fold((0.0, 0.0), |(fl, by), (t, k, m)| {
        let (t, k, m) = (t as f64, k as f64, m as f64);
        (fl + 2.0 * t * k * m, by + 4.0 * (k * m + t * k + t * m))
    })
}
