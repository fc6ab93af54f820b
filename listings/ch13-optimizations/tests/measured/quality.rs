//! smollm2-quantized.md's claims about the committed perplexity table
//! (src/figures/ch13/perplexity.txt, written by `cargo run --release -p
//! ch13-optimizations --example quant_quality`).

use golden::page_text;

/// (format, size in MiB, perplexity, change against f32 in %) for each row.
fn rows() -> Vec<(String, f64, f64, f64)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../src/figures/ch13/perplexity.txt"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rows = text.lines().skip(2).map(|l| {
        let cells: Vec<&str> = l.split_whitespace().collect();
        let n = cells.len();
        let num = |s: &str| s.trim_end_matches('%').parse::<f64>().unwrap();
        let name = cells[..n - 4].join(" ");
        (
            name,
            num(cells[n - 4]),
            num(cells[n - 2]),
            num(cells[n - 1]),
        )
    });
    rows.collect()
}

fn row<'a>(
    rows: &'a [(String, f64, f64, f64)],
    name: &str,
) -> &'a (String, f64, f64, f64) {
    rows.iter()
        .find(|r| r.0 == name)
        .unwrap_or_else(|| panic!("no row {name}"))
}

#[test]
fn the_perplexity_table_says_what_the_page_says() {
    let rows = rows();
    assert_eq!(rows.len(), 6);
    let f32 = row(&rows, "f32");
    for (name, within) in [
        ("Q4_1 (the file)", 1.0),
        ("Q8_0", 1.0),
        ("int8 per-channel", 2.0),
    ] {
        let r = row(&rows, name);
        assert!(r.3 > 0.0 && r.3 < within, "{name}: {}% against f32", r.3);
    }
    let file = row(&rows, "Q4_1 (the file)");
    assert!(
        file.3 < row(&rows, "Q8_0").3,
        "the file's own blocks beat a Q8_0 copy"
    );
    assert!(file.1 < 0.2 * f32.1, "the file is under a fifth of f32");
    for name in ["int4 per-group 32", "NF4 (QLoRA)"] {
        let r = row(&rows, name);
        assert!(
            r.3 > 20.0,
            "{name}: a second 4-bit rounding costs over 20 %"
        );
        assert!(r.1 < file.1, "{name} is smaller than the file");
    }
    let page = page_text("ch13-optimizations/smollm2-quantized.md");
    for r in &rows {
        for quoted in [format!("{:.3}", r.2), format!("{:.1} MiB", r.1)] {
            assert!(
                page.contains(&quoted),
                "the page quotes {quoted} for {}",
                r.0
            );
        }
    }
}
