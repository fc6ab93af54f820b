//! The LoRA page's claims about the committed experiment table
//! (src/figures/ch13/lora.txt, written by `cargo run --release -p ch13-optimizations
//! --example lora_finetune`). Nothing is trained here: if a rerun changes what the
//! table shows, this test says which sentence no longer holds.

use golden::{cell, page_text};

struct Row {
    method: String,
    targets: String,
    rank: Option<usize>,
    trainable: usize,
    percent: f64,
    adam_bytes: usize,
    exact: f64,
    loss: f64,
    ms: f64,
}

/// `file` under src/figures/ch13: lora.txt, or qlora.txt (the same runs on an NF4 base).
fn table_of(file: &str) -> (String, Vec<Row>) {
    let path = format!(
        "{}/../../src/figures/ch13/{file}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let rows = text
        .lines()
        .filter(|l| l.starts_with("| full") || l.starts_with("| LoRA"))
        .map(|l| {
            let c: Vec<&str> = l.split('|').map(str::trim).collect();
            Row {
                method: c[1].to_owned(),
                targets: c[2].to_owned(),
                rank: c[3].parse().ok(),
                trainable: c[4].parse().expect("a count"),
                percent: cell(c[5]),
                adam_bytes: c[6].parse().expect("bytes"),
                exact: cell(c[7]),
                loss: cell(c[8]),
                ms: cell(c[9]),
            }
        })
        .collect();
    (text, rows)
}

fn table() -> (String, Vec<Row>) {
    table_of("lora.txt")
}

fn lora<'a>(rows: &'a [Row], targets: &str, rank: usize) -> &'a Row {
    (rows.iter())
        .find(|r| r.targets == targets && r.rank == Some(rank))
        .unwrap_or_else(|| panic!("no LoRA row for {targets} at rank {rank}"))
}

#[test]
fn the_table_says_what_the_page_says() {
    let (text, rows) = table();
    let page = page_text("ch13-optimizations/lora.md");
    assert_eq!(
        rows.len(),
        11,
        "full, then ranks 1..16 on q,v and on q,k,v,o"
    );
    let full = &rows[0];
    assert_eq!(full.method, "full");
    // "The base copies perfectly and, before fine-tuning, enciphers nothing"
    assert!(text.contains(
        "copy accuracy 1.000; cipher accuracy before fine-tuning 0.000, loss 10.538"
    ));
    assert!(page.contains("exact match 0.000, held-out loss 10.538 nats"));
    // "Full fine-tuning, training all 76224 parameters, reaches 1.000."
    assert_eq!((full.trainable, full.exact), (76224, 1.0));
    assert!(page.contains("training all 76224 parameters, reaches 1.000"));

    // q,v: fails at rank 1, 0.980 at 2, 0.992 at 4, 1.000 from 8; loss falls with rank.
    let qv: Vec<&Row> = [1, 2, 4, 8, 16]
        .iter()
        .map(|&r| lora(&rows, "q,v", r))
        .collect();
    assert_eq!((qv[0].exact, qv[0].loss), (0.0, 1.619));
    assert!(page.contains("At rank 1 it fails (0.000, loss 1.619)"));
    assert_eq!(
        (qv[1].exact, qv[1].trainable, qv[1].percent),
        (0.98, 896, 1.18)
    );
    assert!(page.contains(
        "0.980 of the held-out sequences right with 896 trainable parameters, 1.18 %"
    ));
    assert_eq!(qv[2].exact, 0.992);
    assert!(qv[3..].iter().all(|r| r.exact == full.exact));
    assert!(
        qv.windows(2).all(|w| w[1].loss < w[0].loss),
        "the held-out loss falls as the rank grows"
    );

    // "rank 1 on q,k,v,o (896 parameters) reaches 1.000, where rank 2 on q,v ... 0.980"
    let all1 = lora(&rows, "q,k,v,o", 1);
    assert_eq!((all1.trainable, all1.exact), (qv[1].trainable, 1.0));
    assert!(page.contains("rank 1 on q,k,v,o (896 parameters) reaches 1.000"));

    for r in &rows[1..] {
        let rank = r.rank.expect("a LoRA row has a rank");
        // r·(d_in + d_out) per adapter, 2 blocks; W_q, W_o 64×64, W_k, W_v 64×32.
        let per_block = if r.targets == "q,v" {
            128 + 96
        } else {
            2 * 128 + 2 * 96
        };
        assert_eq!(r.trainable, 2 * rank * per_block, "{}", r.targets);
        // "Every LoRA run's step was measured below full fine-tuning's 38.40 ms"
        assert!(r.ms < full.ms, "rank {rank} on {}: {} ms", r.targets, r.ms);
    }
    assert!(page.contains(&format!("full fine-tuning's {:.2} ms", full.ms)));
    // "eight bytes per trainable parameter in both columns"
    assert!(rows.iter().all(|r| r.adam_bytes == 8 * r.trainable));
    let (lo, hi) = (
        rows[1..].iter().map(|r| r.adam_bytes).min(),
        rows[1..].iter().map(|r| r.adam_bytes).max(),
    );
    let claim = format!(
        "{} bytes of AdamW moments for full fine-tuning against {} to {} for LoRA",
        full.adam_bytes,
        lo.unwrap(),
        hi.unwrap()
    );
    assert!(page.contains(&claim), "{claim}");
}

/// qlora.md: on the NF4-rounded base every LoRA run ends within 0.02 exact match of the
/// same run on the f32 base, rank 1 on q,v fails on both, and every other run reaches at
/// least 0.98.
#[test]
fn lora_on_an_nf4_base_learns_what_it_learns_on_f32() {
    let (_, f32_rows) = table();
    let (_, nf4_rows) = table_of("qlora.txt");
    assert_eq!(nf4_rows.len(), f32_rows.len());
    for (a, b) in f32_rows.iter().zip(&nf4_rows) {
        assert_eq!(
            (&a.method, &a.targets, a.rank),
            (&b.method, &b.targets, b.rank)
        );
        assert!(
            b.exact >= a.exact - 0.02,
            "{} {:?}: NF4 {} against f32 {}",
            b.targets,
            b.rank,
            b.exact,
            a.exact
        );
    }
    let rank1 = |rows: &[Row]| lora(rows, "q,v", 1).exact;
    assert!(rank1(&f32_rows) < 0.1 && rank1(&nf4_rows) < 0.1);
    let others = nf4_rows
        .iter()
        .filter(|r| !(r.targets == "q,v" && r.rank == Some(1)));
    assert!(
        others.clone().all(|r| r.exact >= 0.98),
        "every other run on the NF4 base"
    );
    let page = page_text("ch13-optimizations/qlora.md");
    for quoted in ["0.020", "10.378", "10.538"] {
        assert!(page.contains(quoted), "qlora.md quotes {quoted}");
    }
}
