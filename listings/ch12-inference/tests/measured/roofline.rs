//! The claims "Where generation spends its time" makes about
//! src/figures/ch12/roofline.txt, written by
//! `cargo run --release -p ch12-inference --example stream_bandwidth`.

use std::path::Path;

fn report() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch12/roofline.txt");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The number just before `unit` on the line that starts with `prefix`.
fn number(text: &str, prefix: &str, unit: &str) -> f64 {
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no line starting {prefix:?}"));
    let at = line
        .find(unit)
        .unwrap_or_else(|| panic!("no {unit:?} in {line:?}"));
    let before = line[..at].trim_end();
    let word = before.rsplit(' ').next().unwrap();
    word.parse()
        .unwrap_or_else(|_| panic!("{word:?} in {line:?}"))
}

#[test]
fn decode_sits_under_the_bandwidth_roof() {
    let t = report();
    let decode = number(&t, "decode:", "tokens/s");
    let bound = number(&t, "decode bound", "tokens/s");
    assert!(decode < bound, "decode {decode} tok/s, bound {bound}");
    let (gflops, roof) = (
        number(&t, "decode:", "GFLOP/s"),
        number(&t, "decode roof", "GFLOP/s"),
    );
    assert!(
        gflops < roof,
        "decode {gflops} GFLOP/s under its roof {roof}"
    );
    let peak = number(&t, "threads 2: FMA peak", "GFLOP/s");
    assert!(
        roof < peak / 5.0,
        "at 1/2 FLOP/byte the roof is bandwidth's, far under peak"
    );
}

#[test]
fn prefill_has_much_higher_intensity() {
    let t = report();
    let (d, p) = (
        number(&t, "decode:", "FLOP/byte"),
        number(&t, "prefill:", "FLOP/byte"),
    );
    assert!(
        d < 0.5 && p > 100.0 * d,
        "decode {d}, prefill {p} FLOP/byte"
    );
    let ridge = number(&t, "ridge point", "FLOP/byte");
    assert!(
        d < ridge && ridge < p,
        "decode {d} left of the ridge {ridge}, prefill {p} right"
    );
    let (dg, pg) = (
        number(&t, "decode:", "GFLOP/s"),
        number(&t, "prefill:", "GFLOP/s"),
    );
    assert!(pg > 5.0 * dg, "prefill {pg} GFLOP/s against decode {dg}");
    let (dt, pt) = (
        number(&t, "decode:", "tokens/s"),
        number(&t, "prefill:", "tokens/s"),
    );
    assert!(pt > 5.0 * dt, "prefill {pt} tokens/s against decode {dt}");
}

#[test]
fn the_report_records_the_load_and_determinism() {
    let t = report();
    assert!(t.starts_with("load average at the start: "));
    assert!(t.contains("stream results identical at 1 and 2 threads: true"));
    assert!(t.contains("f32 weight bytes read per decoding step: 538060032\n"));
}

/// The values of the line that starts with `prefix`, in order: every number followed by
/// " GB/s" or " GFLOP/s".
fn rates(text: &str, prefix: &str) -> Vec<f64> {
    let line = text.lines().find(|l| l.starts_with(prefix)).unwrap();
    let words: Vec<&str> = line.split([' ', ',']).filter(|w| !w.is_empty()).collect();
    words
        .windows(2)
        .filter(|w| w[1] == "GB/s" || w[1] == "GFLOP/s")
        .map(|w| w[0].parse().unwrap())
        .collect()
}

/// "Two cores pull more bytes a second than one, but not twice as many"; "the FMA
/// peak doubles with the second core; the matrix product gains less, and stays well
/// under the peak"; "prefill is under half the FMA peak".
#[test]
fn two_cores_double_the_peak_but_not_the_bandwidth() {
    let t = report();
    let (triad1, triad2) = (
        rates(&t, "threads 1: copy")[3],
        rates(&t, "threads 2: copy")[3],
    );
    assert!(
        triad1 < triad2 && triad2 < 1.8 * triad1,
        "{triad1} {triad2}"
    );
    let ([p1, m1], [p2, m2]) = (
        rates(&t, "threads 1: FMA").try_into().unwrap(),
        rates(&t, "threads 2: FMA").try_into().unwrap(),
    );
    assert!(p2 > 1.8 * p1, "FMA peak {p1} -> {p2}");
    assert!(
        m2 / m1 < p2 / p1 && m1 < p1 && m2 < p2,
        "matmul {m1} -> {m2}"
    );
    assert!(number(&t, "prefill:", "GFLOP/s") < p2 / 2.0);
}

/// The page quotes the report's numbers as the report prints them.
#[test]
fn the_page_quotes_the_report() {
    let t = report();
    let page = golden::page_text("ch12-inference/bottleneck.md"); // lines rewrap
    let quoted = [
        format!("{:.1} GB/s of triad", rates(&t, "threads 2: copy")[3]),
        format!("against {:.1}", rates(&t, "threads 1: copy")[3]),
        format!(
            "reached {:.1} tokens a second",
            number(&t, "decode:", "tokens/s")
        ),
        format!("a bound of {:.1}", number(&t, "decode bound", "tokens/s")),
        format!(
            "{:.1} GFLOP/s is under half",
            number(&t, "prefill:", "GFLOP/s")
        ),
    ];
    for q in quoted {
        assert!(page.contains(&q), "the page does not say {q:?}");
    }
}
