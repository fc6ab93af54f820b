//! The text's claims about the committed measurements (section "Cost and speed" and the
//! `exp` paragraph of "Scaled dot-product attention"), checked against the files the text
//! includes. Nothing is timed here: `cargo xtask bench` rewrites the files, and if a rerun
//! changes what they show, this test says which sentence no longer holds.

use std::path::Path;

fn committed(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../src/figures/ch03")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()))
}

/// The rows of attention-cost.txt: (T, ms, ms / (T/256)², weights MiB, other MiB).
fn cost_rows() -> Vec<[f64; 5]> {
    committed("attention-cost.txt")
        .lines()
        .filter_map(|line| {
            let v: Vec<f64> = line
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            <[f64; 5]>::try_from(v).ok()
        })
        .collect()
}

#[test]
fn time_per_t_squared_falls_fast_then_levels_off_from_t_512() {
    let rows = cost_rows();
    assert_eq!(rows.len(), 6, "attention-cost.txt has T = 64 … 2048");
    for w in rows.windows(2) {
        let (t, ratio) = (w[1][0], w[1][2] / w[0][2]);
        if t <= 512.0 {
            // "by a quarter or more with each doubling up to T = 512"
            assert!(ratio <= 0.75, "T {t}: ms/(T/256)² fell only to {ratio:.3}×");
        } else {
            // "by a tenth or less per doubling from there on"
            assert!(ratio >= 0.90, "T {t}: ms/(T/256)² fell to {ratio:.3}×");
            assert!(ratio <= 1.0, "T {t}: ms/(T/256)² rose ({ratio:.3}×)");
        }
    }
}

#[test]
fn kept_weights_overtake_the_rest_once_h_t_exceeds_5_c() {
    let (h, c) = (8.0, 256.0);
    for [t, _, _, weights, other] in cost_rows() {
        assert_eq!(weights > other, h * t > 5.0 * c, "T {t}");
    }
}

/// profile-parts.txt as (label, ms).
fn parts() -> Vec<(String, f64)> {
    committed("profile-parts.txt")
        .lines()
        .filter_map(|line| {
            let (label, ms) = line.trim_end().rsplit_once(' ')?;
            Some((label.trim().to_owned(), ms.parse().ok()?))
        })
        .collect()
}

fn part(parts: &[(String, f64)], prefix: &str) -> f64 {
    parts
        .iter()
        .find(|(label, _)| label.starts_with(prefix))
        .unwrap_or_else(|| panic!("profile-parts.txt has no line {prefix:?}"))
        .1
}

#[test]
fn profile_of_the_parts_shows_what_the_text_says() {
    let p = parts();
    let forward = part(&p, "heads forward, P [8,8,256,256] reused");
    let fresh = part(&p, "heads forward, P [8,8,256,256] fresh");
    let std_exp = part(&p, "e^x of all 4.2M scores, std");
    let book_exp = part(&p, "e^x of all 4.2M scores, the book's");
    let qkv = part(&p, "qkv");
    let strided = part(&p, "64 x scores Q K^T, [256x32] x [32x256], strided");
    let contiguous = part(&p, "64 x scores Q K^T, [256x32] x [32x256], contiguous");
    let pv = part(&p, "64 x P V");
    // "the book's exp is faster than f32::exp"
    assert!(book_exp < std_exp, "{book_exp} vs {std_exp}");
    // "the exponentials alone take more than a third of the heads' forward time, more
    // than any other part timed: the QKV projection, the scores, P V"
    assert!(book_exp > forward / 3.0, "{book_exp} vs forward {forward}");
    for other in [qkv, strided, pv] {
        assert!(book_exp > other, "{book_exp} vs {other}");
    }
    // "a fresh [B, h, T, T] buffer each call is slower than reusing one"
    // "... though by less than a tenth"
    assert!(
        fresh > forward && fresh < 1.1 * forward,
        "{fresh} vs {forward}"
    );
    // "the scores from strided head views cost within 10 % of contiguous copies"
    assert!(
        (strided / contiguous - 1.0).abs() < 0.1,
        "{strided} vs {contiguous}"
    );
}
