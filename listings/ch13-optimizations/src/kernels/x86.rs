//! The x86-64 kernels: the same sums as the portable ones, the integer part done 32
//! bytes at a time. Each block's i32 lanes are exactly the portable lanes (integer
//! sums have no rounding), and the float steps after them are the same operations in
//! the same order, so every kernel gives the portable kernel's bits.

use std::arch::x86_64::*;

use super::{ActivationsQ8, Isa, LANES, XRow, finish};
use crate::blocks::{BlockQ4_1, BlockQ8_0, QK};

// ANCHOR: madd
/// Eight i32 lanes, lane l = Σ_{k<4} u_{4l+k} · s_{4l+k}, for unsigned bytes u and
/// signed bytes s. AVX-512 VNNI does it in one instruction, `vpdpbusd`; AVX2 needs
/// `vpmaddubsw` (adjacent pairs to i16, which saturates, but our pairs stay below
/// 2 · 128 · 127 = 32512) and `vpmaddwd` by ones (adjacent i16 pairs to i32).
#[inline(always)]
unsafe fn madd<const VNNI: bool>(u: __m256i, s: __m256i) -> __m256i {
    unsafe {
        if VNNI {
            _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s)
        } else {
            _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1))
        }
    }
}
// ANCHOR_END: madd

/// acc + f32(lanes) · scale, unfused, as in the portable `accumulate`.
#[inline(always)]
unsafe fn accumulate(acc: __m256, lanes: __m256i, scale: f32) -> __m256 {
    unsafe {
        _mm256_add_ps(
            acc,
            _mm256_mul_ps(_mm256_cvtepi32_ps(lanes), _mm256_set1_ps(scale)),
        )
    }
}

#[inline(always)]
unsafe fn lanes_of(acc: __m256) -> [f32; LANES] {
    let mut a = [0.0f32; LANES];
    unsafe { _mm256_storeu_ps(a.as_mut_ptr(), acc) };
    a
}

/// The first `n` f16 values at `p` as f32 (F16C's `vcvtph2ps`, exact like
/// `f16_to_f32`): 1 for Q8_0's d, 2 for Q4_1's d and m.
#[inline(always)]
unsafe fn halves(bits: i32) -> [f32; 4] {
    let mut a = [0.0f32; 4];
    unsafe { _mm_storeu_ps(a.as_mut_ptr(), _mm_cvtph_ps(_mm_cvtsi32_si128(bits))) };
    a
}

// ANCHOR: dots_q4_1
/// w_r · x for R rows of Q4_1 blocks at once (R independent sums hide the add's
/// latency), each block's 16 code bytes spread to 32 nibbles in the order of x.
// w: [R · nb blocks], x: [nb · 32] -> [R]
#[inline(always)]
unsafe fn dots_q4_1<const VNNI: bool, const R: usize>(
    w: &[BlockQ4_1],
    x: XRow,
) -> [f32; R] {
    let nb = w.len() / R;
    unsafe {
        let (mut acc, mut mins) = ([_mm256_setzero_ps(); R], [0.0f32; R]);
        let low = _mm256_set1_epi8(0x0f);
        for b in 0..nb {
            let xv = _mm256_loadu_si256(x.qs[b * QK..(b + 1) * QK].as_ptr().cast());
            for r in 0..R {
                let blk = &w[r * nb + b];
                let q = _mm_loadu_si128(blk.qs.as_ptr().cast());
                // Low nibbles are elements 0..16, high nibbles 16..32.
                let u = _mm256_and_si256(_mm256_set_m128i(_mm_srli_epi16(q, 4), q), low);
                let [d, m, ..] = halves(i32::from(blk.d) | (i32::from(blk.m) << 16));
                acc[r] = accumulate(acc[r], madd::<VNNI>(u, xv), d * x.d[b]);
                mins[r] += m * x.s[b];
            }
        }
        std::array::from_fn(|r| finish(lanes_of(acc[r])) + mins[r])
    }
}
// ANCHOR_END: dots_q4_1

// ANCHOR: dots_q8_0
/// w_r · x for R rows of Q8_0 blocks. `vpdpbusd` multiplies unsigned by signed bytes,
/// so w·x is computed as |w| · (x with w's sign): exact for every code w, since our
/// activations are never −128.
// w: [R · nb blocks], x: [nb · 32] -> [R]
#[inline(always)]
unsafe fn dots_q8_0<const VNNI: bool, const R: usize>(
    w: &[BlockQ8_0],
    x: XRow,
) -> [f32; R] {
    let nb = w.len() / R;
    unsafe {
        let mut acc = [_mm256_setzero_ps(); R];
        for b in 0..nb {
            let xv = _mm256_loadu_si256(x.qs[b * QK..(b + 1) * QK].as_ptr().cast());
            for r in 0..R {
                let blk = &w[r * nb + b];
                let wv = _mm256_loadu_si256(blk.qs.as_ptr().cast());
                let lanes = madd::<VNNI>(_mm256_abs_epi8(wv), _mm256_sign_epi8(xv, wv));
                let [d, ..] = halves(i32::from(blk.d));
                acc[r] = accumulate(acc[r], lanes, d * x.d[b]);
            }
        }
        std::array::from_fn(|r| finish(lanes_of(acc[r])))
    }
}
// ANCHOR_END: dots_q8_0

/// w_r · x for R int8 rows, each scaled by its row's scale at the end.
// w: [R, nb · 32], s: [R], x: [nb · 32] -> [R]
#[inline(always)]
unsafe fn dots_int8<const VNNI: bool, const R: usize>(
    w: &[i8],
    s: &[f32],
    x: XRow,
) -> [f32; R] {
    let n = w.len() / R;
    unsafe {
        let mut acc = [_mm256_setzero_ps(); R];
        for b in 0..n / QK {
            let xv = _mm256_loadu_si256(x.qs[b * QK..(b + 1) * QK].as_ptr().cast());
            for (r, acc) in acc.iter_mut().enumerate() {
                let wv = _mm256_loadu_si256(
                    w[r * n + b * QK..r * n + (b + 1) * QK].as_ptr().cast(),
                );
                let lanes = madd::<VNNI>(_mm256_abs_epi8(wv), _mm256_sign_epi8(xv, wv));
                *acc = accumulate(*acc, lanes, x.d[b]);
            }
        }
        std::array::from_fn(|r| s[r] * finish(lanes_of(acc[r])))
    }
}

/// Rows of W four at a time, for every row of x, then the rows left over one by one.
/// `dots(w, rows, x)` gives rows' results; its R is 4 or 1.
#[inline(always)]
fn rows_by_four(
    n_rows: usize,
    x: &ActivationsQ8,
    y: &mut [f32],
    mut dots4: impl FnMut(usize, XRow) -> [f32; 4],
    mut dots1: impl FnMut(usize, XRow) -> [f32; 1],
) {
    let t_n = x.rows;
    for g in 0..n_rows / 4 {
        for t in 0..t_n {
            for (k, v) in dots4(4 * g, x.row(t)).into_iter().enumerate() {
                y[(4 * g + k) * t_n + t] = v;
            }
        }
    }
    for o in n_rows / 4 * 4..n_rows {
        for t in 0..t_n {
            y[o * t_n + t] = dots1(o, x.row(t))[0];
        }
    }
}

/// Monomorphic entry points, compiled with the features each instruction set needs.
macro_rules! entry {
    ($name:ident, $features:literal, $vnni:literal) => {
        #[target_feature(enable = $features)]
        fn $name(w: Weights, nb: usize, x: &ActivationsQ8, y: &mut [f32]) {
            match w {
                Weights::Q4_1(w) => rows_by_four(
                    w.len() / nb,
                    x,
                    y,
                    |o, x| unsafe { dots_q4_1::<$vnni, 4>(&w[o * nb..(o + 4) * nb], x) },
                    |o, x| unsafe { dots_q4_1::<$vnni, 1>(&w[o * nb..(o + 1) * nb], x) },
                ),
                Weights::Q8_0(w) => rows_by_four(
                    w.len() / nb,
                    x,
                    y,
                    |o, x| unsafe { dots_q8_0::<$vnni, 4>(&w[o * nb..(o + 4) * nb], x) },
                    |o, x| unsafe { dots_q8_0::<$vnni, 1>(&w[o * nb..(o + 1) * nb], x) },
                ),
                Weights::Int8(w, s) => {
                    let n = nb * QK;
                    rows_by_four(
                        s.len(),
                        x,
                        y,
                        |o, x| unsafe {
                            dots_int8::<$vnni, 4>(&w[o * n..(o + 4) * n], &s[o..], x)
                        },
                        |o, x| unsafe {
                            dots_int8::<$vnni, 1>(&w[o * n..(o + 1) * n], &s[o..], x)
                        },
                    )
                }
            }
        }
    };
}

/// A block of rows of W in one of the three formats.
#[derive(Clone, Copy)]
enum Weights<'a> {
    Q4_1(&'a [BlockQ4_1]),
    Q8_0(&'a [BlockQ8_0]),
    Int8(&'a [i8], &'a [f32]),
}

entry!(rows_vnni, "avx512vnni,avx512vl,avx2,f16c", true);
entry!(rows_avx2, "avx2,f16c", false);

fn rows(isa: Isa, w: Weights, nb: usize, x: &ActivationsQ8, y: &mut [f32]) {
    match isa {
        // SAFETY: `Isa::detect` found these features (callers check `Isa::available`).
        Isa::Avx512Vnni => unsafe { rows_vnni(w, nb, x, y) },
        Isa::Avx2 => unsafe { rows_avx2(w, nb, x, y) },
        Isa::Portable => unreachable!("the portable kernels are not in this module"),
    }
}

// w: [rows · nb blocks], x: [T, in], y: [rows, T]
pub(super) fn rows_q4_1(
    isa: Isa,
    w: &[BlockQ4_1],
    nb: usize,
    x: &ActivationsQ8,
    y: &mut [f32],
) {
    rows(isa, Weights::Q4_1(w), nb, x, y)
}

// w: [rows · nb blocks], x: [T, in], y: [rows, T]
pub(super) fn rows_q8_0(
    isa: Isa,
    w: &[BlockQ8_0],
    nb: usize,
    x: &ActivationsQ8,
    y: &mut [f32],
) {
    rows(isa, Weights::Q8_0(w), nb, x, y)
}

// w: [rows, nb · 32], s: [rows], x: [T, in], y: [rows, T]
pub(super) fn rows_int8(isa: Isa, w: &[i8], s: &[f32], x: &ActivationsQ8, y: &mut [f32]) {
    rows(isa, Weights::Int8(w, s), x.blocks(), x, y)
}
