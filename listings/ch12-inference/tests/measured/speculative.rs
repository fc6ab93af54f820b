//! The claims `speculative.md` makes about the committed measurement
//! `src/figures/ch12/speculative.txt` (written by `examples/speculative.rs`).

use std::collections::HashMap;

fn lines() -> Vec<HashMap<String, String>> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../src/figures/ch12/speculative.txt"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    assert!(
        text.contains("load average"),
        "the file records the machine's load"
    );
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .map(|l| {
            l.split_whitespace()
                .filter_map(|kv| kv.split_once('='))
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}

/// The value of `field` for the runs of `draft` on `workload`, k = 1..=8 in order.
fn series(workload: &str, draft: &str, field: &str) -> Vec<f64> {
    let rows: Vec<_> = lines()
        .into_iter()
        .filter(|l| l.get("workload").map(String::as_str) == Some(workload))
        .filter(|l| l.get("draft").map(String::as_str) == Some(draft))
        .collect();
    assert_eq!(rows.len(), 8, "{workload}, {draft}: k = 1..=8");
    rows.iter().map(|l| l[field].parse().unwrap()).collect()
}

fn pass_cost() -> Vec<f64> {
    let v: Vec<f64> = lines()
        .iter()
        .filter(|l| l.contains_key("relative"))
        .map(|l| l["relative"].parse().unwrap())
        .collect();
    assert_eq!(v.len(), 8);
    v
}

/// "A target pass of 2 rows cost 1.40 times a one-row step, and 9 rows 3.15 times."
#[test]
fn verification_is_cheap_not_free() {
    let cost = pass_cost();
    assert!(cost[0] < 1.5 && cost[7] > 2.0 && cost[7] < 4.0, "{cost:?}");
}

/// "Copying: a real speed-up": lookup kept at least 70 % of the time at every k, more
/// than 4 tokens a pass at k = 8, faster than plain decoding at every k, fastest at 8.
#[test]
fn lookup_speeds_up_copying() {
    let a = series("copy", "lookup", "acceptance");
    assert!(a.iter().all(|&a| a > 0.7), "{a:?}");
    assert!(series("copy", "lookup", "tokens_per_pass")[7] > 4.0);
    let s = series("copy", "lookup", "speedup");
    assert!(s.iter().all(|&x| x > 1.2), "{s:?}");
    let best = s.iter().copied().fold(0.0, f64::max);
    assert_eq!(best, s[7], "{s:?}");
}

/// "Open-ended text: about break-even": matches are rare, fewer than 1.2 tokens a
/// target pass, and every speed-up lies between 0.9 and 1.2.
#[test]
fn lookup_is_about_break_even_on_open_text() {
    let a = series("open", "lookup", "acceptance");
    assert!(a[0] > 0.5 && a[7] <= 0.25 && a[0] > a[7], "{a:?}");
    let per_pass = series("open", "lookup", "tokens_per_pass");
    assert!(
        per_pass.iter().all(|&t| (1.0..1.2).contains(&t)),
        "{per_pass:?}"
    );
    let s = series("open", "lookup", "speedup");
    assert!(s.iter().all(|&x| (0.9..1.2).contains(&x)), "{s:?}");
}

/// "The 6-layer draft is kept less than 6 % of the time at every k, less than the
/// lookup's at every k", and it is slower than plain decoding at every k.
#[test]
fn the_truncated_model_is_a_poor_draft() {
    let (small, lookup) = (
        series("open", "6-layer", "acceptance"),
        series("open", "lookup", "acceptance"),
    );
    assert!(small.iter().all(|&a| a < 0.06), "{small:?}");
    assert!(small.iter().zip(&lookup).all(|(s, l)| s < l));
    let s = series("open", "6-layer", "speedup");
    assert!(s.iter().all(|&x| x < 1.0), "{s:?}");
}
