//! smollm2-quantized.md's claims about the committed speed table
//! (src/figures/ch13/quant-speed.txt, written by tools/golden/bench_ch13.py).

use golden::page_text;

/// (format, threads) -> [weights MiB, bound, ours, llama.cpp (NaN for f32), vs f32, vs llama.cpp]
fn rows() -> Vec<(String, usize, [f64; 6])> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../src/figures/ch13/quant-speed.txt"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rows = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.starts_with("format"));
    rows.map(|l| {
        let c: Vec<&str> = l.split_whitespace().collect();
        let num = |s: &str| s.parse::<f64>().unwrap_or(f64::NAN);
        let v = std::array::from_fn(|i| num(c[i + 2]));
        (c[0].to_owned(), c[1].parse().unwrap(), v)
    })
    .collect()
}

#[test]
fn the_speed_table_says_what_the_page_says() {
    let rows = rows();
    assert_eq!(rows.len(), 6, "three formats at 1 and 2 threads");
    let get = |f: &str, t: usize| rows.iter().find(|r| r.0 == f && r.1 == t).unwrap().2;
    let page = page_text("ch13-optimizations/smollm2-quantized.md");
    for t in [1, 2] {
        let (f32, q8, q4) = (get("f32", t), get("q8_0", t), get("q4_1", t));
        assert!(
            q4[2] > q8[2] && q8[2] > f32[2],
            "{t} threads: Q4_1 > Q8_0 > f32"
        );
        assert!(
            q4[4] < 3.0 && q4[5] < 0.7,
            "{t} threads: the targets are not met"
        );
        assert!(
            q4[3] > q4[2] && q8[3] > q8[2],
            "{t} threads: llama.cpp is ahead"
        );
        assert!(
            f32[2] > 0.5 * f32[1],
            "{t} threads: f32 decodes above half its bound"
        );
        assert!(
            q4[2] < 0.2 * q4[1],
            "{t} threads: Q4_1 decodes under a fifth of its bound"
        );
        for v in [q4[4], q4[5], q8[4], q8[5], f32[1], f32[2], q4[1], q4[2]] {
            let quoted = format!("{v:.2}");
            let short = format!("{v:.1}");
            assert!(
                page.contains(&quoted) || page.contains(&short),
                "the page quotes {v}"
            );
        }
    }
}
