//! The claims the "Number formats" and "Integer quantization" pages make about the
//! committed outputs in src/figures/ch13/, written by
//! `cargo run --release -p ch13-optimizations --example number_formats` and
//! `cargo run --release -p ch13-optimizations --example quant_errors`.

use std::collections::HashMap;
use std::path::Path;

fn read(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../src/figures/ch13")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn num(s: &str) -> f64 {
    s.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{s:?} is not a number"))
}

/// Rows of a whitespace table keyed by their first word: the numbers after it.
fn rows(text: &str) -> HashMap<String, Vec<f64>> {
    text.lines()
        .skip(1)
        .map(|l| {
            let mut words = l.split_whitespace().filter(|w| *w != "|");
            let key = words.next().unwrap().to_string();
            (key, words.filter_map(|w| w.parse().ok()).collect())
        })
        .collect()
}

#[test]
fn limits_follow_from_the_layouts() {
    let r = rows(&read("formats-limits.txt"));
    // [exp, man, bias, ulp(1), u, max, min normal, min subnormal]
    assert_eq!(r["fp16"][5], 65504.0);
    assert_eq!(
        r["bf16"][6], r["fp32"][6],
        "bf16 has fp32's smallest normal"
    );
    assert!(
        (r["bf16"][5] / r["fp32"][5] - 1.0).abs() < 0.01,
        "and about its max"
    );
    let ratio = r["bf16"][3] / r["fp16"][3];
    assert!(
        (ratio - 8.0).abs() < 0.01,
        "but an 8× coarser ulp at 1: {ratio}"
    );
}

#[test]
fn a_few_weights_bit_by_bit() {
    let t = read("formats-fields.txt");
    let lines: Vec<&str> = t.lines().collect();
    // The first two attn_q weights come back exactly from fp16, not from bf16; the norm
    // weight is exact in both (the norms are bf16 values stored as f32).
    for at in [0, 4] {
        assert!(
            lines[at].starts_with("blk.0.attn_q.weight"),
            "{}",
            lines[at]
        );
        assert!(
            lines[at + 2].trim_start().starts_with("fp16")
                && lines[at + 2].ends_with("0.00e0")
        );
        assert!(!lines[at + 3].ends_with("0.00e0"), "{}", lines[at + 3]);
    }
    assert!(lines[8].starts_with("token_embd.weight"));
    assert!(!lines[10].ends_with("0.00e0") && !lines[11].ends_with("0.00e0"));
    assert!(lines[12].starts_with("blk.0.attn_norm"));
    assert!(lines[14].ends_with("0.00e0") && lines[15].ends_with("0.00e0"));
}

#[test]
fn sixteen_bit_errors_on_smollm2() {
    let r = rows(&read("formats-error.txt"));
    // after the class: [entries, max|w|, fp16 rel, fp16 max, bf16 rel, bf16 max,
    // trunc rel, trunc max, fp16 subnormal]
    let (u16_, ubf) = (2f64.powi(-11), 2f64.powi(-8));
    for class in [
        "attn_q",
        "attn_k",
        "attn_v",
        "attn_output",
        "ffn_gate",
        "ffn_up",
        "ffn_down",
        "token_embd",
    ] {
        let v = &r[class];
        assert!(
            v[2] < u16_ && v[4] < ubf,
            "{class}: under the unit roundoff"
        );
        let ratio = v[4] / v[2];
        assert!((6.0..8.5).contains(&ratio), "{class}: bf16/fp16 = {ratio}");
        let trunc = v[6] / v[4];
        assert!(
            (2.0..2.6).contains(&trunc),
            "{class}: truncated/rounded = {trunc}"
        );
        assert!(
            v[1] < 10.0,
            "{class}: max |w| {} far inside fp16's range",
            v[1]
        );
    }
    let round2 = |x: f64| format!("{x:.1e}");
    assert_eq!(
        (round2(r["attn_q"][2]), round2(r["attn_q"][4])),
        ("1.9e-4".into(), "1.3e-3".into())
    );
    let linear = [
        "attn_q",
        "attn_k",
        "attn_v",
        "attn_output",
        "ffn_gate",
        "ffn_up",
        "ffn_down",
    ];
    let entries: f64 = linear.iter().map(|c| r[*c][0]).sum();
    let subnormal: f64 = linear.iter().map(|c| r[*c][8]).sum();
    assert!(
        (105e6..107e6).contains(&entries),
        "106 million linear weights: {entries}"
    );
    assert!(
        (15e3..25e3).contains(&subnormal),
        "about twenty thousand subnormal: {subnormal}"
    );
    for class in ["attn_norm", "ffn_norm"] {
        assert_eq!(
            r[class][2..8],
            [0.0; 6],
            "{class} is exact in every 16-bit storage"
        );
    }
}

/// The weight table: scheme name -> [bits/w, linear rel, linear max, token_embd rel].
fn weight_rows() -> HashMap<String, Vec<f64>> {
    read("schemes-weights.txt")
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split('|').collect();
            let (name, bits) = cells[0].trim().rsplit_once(' ').unwrap();
            let mut v = vec![num(bits)];
            v.extend(cells[1].split_whitespace().map(num));
            v.push(num(cells[2]));
            (name.trim().to_string(), v)
        })
        .collect()
}

#[test]
fn finer_scales_and_zero_points_lower_the_error() {
    let r = weight_rows();
    assert_eq!(r.len(), 16);
    for bits in [8, 4] {
        for m in ["absmax", "zero-point"] {
            let e: Vec<f64> = ["tensor", "channel", "g64", "g32"]
                .iter()
                .map(|g| r[&format!("int{bits} {g} {m}")][1])
                .collect();
            assert!(e.windows(2).all(|p| p[1] < p[0]), "int{bits} {m}: {e:?}");
            assert!(
                e[0] > 3.0 * e[1],
                "int{bits} {m}: per-tensor is far worst {e:?}"
            );
        }
        for g in ["tensor", "channel", "g64", "g32"] {
            let (a, z) = (
                r[&format!("int{bits} {g} absmax")][1],
                r[&format!("int{bits} {g} zero-point")][1],
            );
            assert!(z < a, "int{bits} {g}: zero-point {z} < absmax {a}");
        }
    }
    assert!(
        r["int4 tensor absmax"][1] > 0.5,
        "int4 with one scale loses half the weight"
    );
    let g32 = r["int4 g32 absmax"][1];
    assert!(
        (0.05..0.15).contains(&g32),
        "int4 g32: about a tenth, {g32}"
    );
    assert!(
        r["int8 channel absmax"][1] < 0.01,
        "int8 per channel: under 1 %"
    );
    assert_eq!(r["int4 g32 absmax"][0], 4.5);
    // The numbers the page quotes.
    let pct = |s: &str| format!("{:.2}", r[s][1]);
    assert_eq!(
        [
            pct("int4 tensor absmax"),
            pct("int4 channel absmax"),
            pct("int4 g32 absmax")
        ],
        ["0.58", "0.15", "0.10"]
    );
    assert_eq!(format!("{:.3}", r["int8 tensor absmax"][1]), "0.036");
    assert_eq!(format!("{:.4}", r["int8 g32 absmax"][1]), "0.0055");
    // The largest single error stays at about 0.036 for int8 absmax at every granularity.
    for g in ["tensor", "channel", "g64", "g32"] {
        let m = r[&format!("int8 {g} absmax")][2];
        assert_eq!(format!("{m:.3}"), "0.036", "int8 {g} absmax: max {m}");
    }
}

#[test]
fn the_embedding_is_already_int8_g32_absmax() {
    let r = weight_rows();
    assert_eq!(
        r["int8 g32 absmax"][3], 0.0,
        "Q8_0 is int8 absmax in groups of 32"
    );
    assert!(r["int8 g32 zero-point"][3] > 0.0);
}

/// One section of the activations report: the median, the outliers, the four errors.
fn activations(section: usize) -> (f64, Vec<f64>, HashMap<String, (f64, f64)>) {
    let t = read("schemes-activations.txt");
    let body: Vec<&str> = t
        .lines()
        .skip_while(|l| !l.starts_with("== "))
        .collect::<Vec<_>>()
        .split(|l| l.starts_with("== "))
        .nth(section + 1)
        .expect("a section")
        .to_vec();
    let mut median = f64::NAN;
    let (mut outliers, mut errors) = (Vec::new(), HashMap::new());
    for l in body {
        if let Some(v) = l.strip_prefix("median channel max |x|: ") {
            median = num(v);
        } else if l.starts_with("outlier channel") {
            outliers.push(num(l.rsplit(' ').next().unwrap()));
        } else if let Some((name, rest)) = l.split_once(" all ") {
            let (all, ord) = rest.split_once(" ordinary channels ").unwrap();
            errors.insert(name.trim().to_string(), (num(all), num(ord)));
        }
    }
    (median, outliers, errors)
}

#[test]
fn a_few_channels_carry_outliers() {
    for section in [0, 1] {
        let (median, outliers, e) = activations(section);
        assert_eq!(outliers.len(), 6);
        assert!(
            outliers[0] > 15.0 * median,
            "{} against a median {median}",
            outliers[0]
        );
        let order = [
            "int8 per channel",
            "int8 per tensor + f32 outliers",
            "int8 per token",
            "int8 per tensor",
        ];
        let all: Vec<f64> = order.iter().map(|n| e[*n].0).collect();
        assert!(
            all.windows(2).all(|p| p[0] < p[1]),
            "section {section}: {all:?}"
        );
        let (t, c) = (e["int8 per tensor"], e["int8 per channel"]);
        assert!(
            t.1 > t.0,
            "the ordinary channels pay most for the outliers' scale"
        );
        assert!(
            t.0 > 5.0 * c.0,
            "per-channel scales: {} against {}",
            c.0,
            t.0
        );
    }
}

#[test]
fn the_page_quotes_the_middle_of_the_network() {
    let t = read("schemes-activations.txt");
    assert!(t.starts_with("prompt: 41 tokens"), "{t}");
    assert!(t.contains("outlier channel 507: max |x| 23.827"), "{t}");
    let (median, outliers, e) = activations(0);
    assert_eq!(format!("{median:.2}"), "0.95");
    assert_eq!(format!("{:.0}", outliers[0] / median), "25");
    let pct = |x: f64| format!("{:.1}", 100.0 * x);
    let t = e["int8 per tensor"];
    assert_eq!((pct(t.1), pct(t.0)), ("8.6".into(), "5.4".into()));
    assert_eq!(pct(e["int8 per token"].0), "3.2");
    let c = e["int8 per channel"].0;
    assert_eq!(format!("{:.2}", 100.0 * c), "0.46");
    assert!(t.0 > 10.0 * c, "more than tenfold: {} against {c}", t.0);
}
