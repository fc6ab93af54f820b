//! The claims the QLoRA page makes about src/figures/ch13/nf4.txt, written by
//! `cargo run --release -p ch13-optimizations --example qlora_nf4`; the memory account
//! in the file is also recomputed from the code, so a stale file fails.

use std::path::Path;

use ch13_optimizations::nf4::{
    Targets, account_setups, llama2_7b, lora_params, memory_account, nf4, param_split,
    smollm2_135m,
};

fn report() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch13/nf4.txt");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The numeric cells of the table row whose first cell starts with `name`, within the
/// part of the report after `section`.
fn row(text: &str, section: &str, name: &str) -> Vec<f64> {
    let at = text
        .find(section)
        .unwrap_or_else(|| panic!("no {section:?}"));
    let line = text[at..]
        .lines()
        .find(|l| l.starts_with(&format!("| {name}")))
        .unwrap_or_else(|| panic!("no row {name:?} after {section:?}"));
    line.split('|')
        .skip(2)
        .filter(|c| !c.trim().is_empty())
        .map(|c| golden::cell(c.trim()))
        .collect()
}

fn with_commas(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, ch) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

fn assert_quoted(page: &str, quotes: &[String]) {
    for q in quotes {
        assert!(page.contains(q.as_str()), "the page should say {q:?}");
    }
}

#[test]
fn nf4_beats_int4_on_every_row_and_double_quant_costs_little() {
    let text = report();
    let codes: Vec<String> = nf4().iter().map(|c| format!("{c:.4}")).collect();
    assert!(text.starts_with(&format!("NF4 code points: {}", codes.join(", "))));
    let rows = [
        row(&text, "NF4 against", "N(0, 1)"),
        row(&text, "NF4 against", "SmolLM2 token embedding"),
        row(&text, "NF4 against", "SmolLM2 linear weights"),
    ];
    // Cells: n, NF4, NF4 + DQ, int4, int4/NF4 squared, NF4 entropy, int4 entropy.
    for r in &rows {
        assert!(r[1] < r[3], "NF4 below int4: {r:?}");
        assert!(
            (r[2] - r[1]).abs() <= 0.0002,
            "double quantization costs little: {r:?}"
        );
        assert!(
            ((r[3] / r[1]).powi(2) - r[4]).abs() < 0.01,
            "the ratio column: {r:?}"
        );
        assert!(
            r[5] > r[6] && r[5] <= 4.0,
            "NF4 uses its codes more evenly: {r:?}"
        );
    }
    // "the gap is widest" on the embedding.
    assert!(rows[1][4] > rows[0][4] && rows[1][4] > rows[2][4]);
    let page = golden::page_text("ch13-optimizations/qlora.md");
    let (g, e, l) = (&rows[0], &rows[1], &rows[2]);
    assert_quoted(
        &page,
        &[
            format!("{:.4} against int4's {:.4}", g[1], g[3]),
            format!("squared error is {:.3} times NF4's", g[4]),
            format!("NF4's codes carry {:.3} bits, int4's {:.3}", g[5], g[6]),
            format!("({:.4} against {:.4})", l[1], l[3]),
            format!(
                "({:.4} against {:.4}, a squared-error ratio of {:.3})",
                e[1], e[3], e[4]
            ),
            format!("{:.4} becomes {:.4} on the linear weights", l[1], l[2]),
            format!("\\approx {:.4}.", ch13_optimizations::nf4::NF4_OFFSET),
        ],
    );
}

const GIB: f64 = (1u64 << 30) as f64;

/// Cells: base, scales, trainable + grads, AdamW, total (GiB), base bits/param.
fn account_row(text: &str, model: &str, setup: &str) -> Vec<f64> {
    row(text, model, setup)
}

#[test]
fn memory_account_matches_the_code_and_the_page() {
    let text = report();
    let setups = account_setups();
    for (model, cfg, tied) in [
        ("SmolLM2-135M", smollm2_135m(), true),
        ("Llama 2 7B", llama2_7b(), false),
    ] {
        let mut totals = Vec::new();
        for (name, setup) in setups {
            let r = account_row(&text, model, name);
            let m = memory_account(&cfg, tied, 8, setup);
            let want =
                [m.base, m.scales, m.trainable, m.optimizer, m.total()].map(|x| x / GIB);
            for (k, w) in want.iter().enumerate() {
                assert!(
                    (r[k] - w).abs() < 1e-4,
                    "{model} {name} column {k}: file {} code {w}",
                    r[k]
                );
            }
            totals.push(r[4]);
        }
        // Each step down the table needs less: full > LoRA all > QLoRA > QLoRA + DQ.
        assert!(totals[0] > totals[2] && totals[2] > totals[3] && totals[3] > totals[4]);
        assert!(
            totals[1] < totals[2],
            "{model}: adapters on q,v only are cheaper"
        );
    }
    let big = |s| account_row(&text, "Llama 2 7B", s);
    let small = |s| account_row(&text, "SmolLM2-135M", s);
    let (full, lora, q1, q2) = (
        big("full"),
        big("LoRA all"),
        big("QLoRA all, f32"),
        big("QLoRA all, double"),
    );
    // "three quarters of it optimizer state", "less than a 25th of full fine-tuning".
    assert!((full[3] / full[4] - 0.75).abs() < 0.001);
    assert!(full[4] / q2[4] > 25.0);
    let p = param_split(&smollm2_135m(), true);
    let n = p.linear + p.other;
    // "a fifth of its parameters", "half, not a quarter", "already a quarter of the total".
    let frac = p.other as f64 / n as f64;
    assert!((0.19..0.22).contains(&frac), "{frac}");
    let (s_lora, s_q2) = (small("LoRA all"), small("QLoRA all, double"));
    assert!((0.45..0.55).contains(&(s_q2[4] / s_lora[4])));
    assert!((0.22..0.28).contains(&((s_q2[2] + s_q2[3]) / s_q2[4])));
    let page = golden::page_text("ch13-optimizations/qlora.md");
    assert_quoted(
        &page,
        &[
            format!("7-billion-parameter Llama that is {:.2} GiB", lora[0]),
            format!("Full fine-tuning needs {:.2} GiB", full[4]),
            format!(
                "leaves {:.2} GiB, of which the frozen bf16 base is {:.2} GiB",
                lora[4], lora[0]
            ),
            format!("the base to {:.2} GiB", q1[0]),
            format!(
                "the scales add {:.4} GiB with f32 scales and {:.4} GiB with double quantization",
                q1[1], q2[1]
            ),
            format!("for a total of {:.2} GiB", q2[4]),
            format!("the base then costs {:.3} bits a parameter", q2[5])
                .replacen("the", "The", 1),
            format!(
                "({} of {}, counting the norms)",
                with_commas(p.other),
                with_commas(n)
            ),
            format!("its base costs {:.3} bits a parameter", s_q2[5]),
            format!(
                "needs {:.4} GiB against {:.4} GiB for LoRA on a bf16 base",
                s_q2[4], s_lora[4]
            ),
            format!(
                "({} parameters on all projections)",
                with_commas(lora_params(&smollm2_135m(), 8, Targets::All))
            ),
        ],
    );
}
