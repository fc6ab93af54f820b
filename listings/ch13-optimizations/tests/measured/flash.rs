//! The claims the "Flash Attention" page makes about src/figures/ch13/flash.txt, written
//! by `cargo run --release -p ch13-optimizations --example flash_measure`.

use std::path::Path;

fn report() -> String {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../src/figures/ch13/flash.txt");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One table line: T and its 13 cells, `None` where naive was not run ("-").
struct Row {
    t: usize,
    cells: Vec<Option<f64>>,
}

// Column indices, after T.
const NAIVE_FWD_MIB: usize = 0;
const FLASH_FWD_MIB: usize = 1;
const MEM_RATIO: usize = 2;
const NAIVE_FB_MIB: usize = 3;
const FLASH_FB_MIB: usize = 4;
const NAIVE_FWD_MS: usize = 6;
const FLASH_FWD_MS: usize = 7;
const TIME_RATIO: usize = 8;
const CAUSAL_MS: usize = 9;
const NAIVE_FB_MS: usize = 10;
const FLASH_FB_MS: usize = 11;
const TIME_RATIO_FB: usize = 12;

fn rows() -> Vec<Row> {
    report()
        .lines()
        // The main table's lines (14 cells); the wall-clock table below has 6.
        .filter(|l| l.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .filter(|l| l.split(" | ").count() == 14)
        .map(|l| {
            let mut f = l.split(" | ").map(str::trim);
            let t = f.next().unwrap().parse().unwrap();
            let cells = f.map(|c| (c != "-").then(|| golden::cell(c))).collect();
            Row { t, cells }
        })
        .collect()
}

fn row(t: usize) -> Row {
    rows()
        .into_iter()
        .find(|r| r.t == t)
        .unwrap_or_else(|| panic!("no row for T = {t}"))
}

fn page() -> String {
    golden::page_text("ch13-optimizations/flash-attention.md")
}

#[test]
fn the_table_covers_256_to_32k_and_naive_stops_at_the_budget() {
    let rows = rows();
    let ts: Vec<usize> = rows.iter().map(|r| r.t).collect();
    assert_eq!(ts, [256, 512, 1024, 2048, 4096, 8192, 16384, 32768]);
    for r in &rows {
        assert_eq!(r.cells.len(), 13, "T = {}", r.t);
        // Naive ran exactly where its T x T arrays fit in 2 GiB.
        let square = (r.t * r.t * 4) as f64;
        let budget = 2.0 * (1u64 << 30) as f64;
        assert_eq!(
            r.cells[NAIVE_FWD_MIB].is_some(),
            square <= budget,
            "T = {}",
            r.t
        );
        assert_eq!(
            r.cells[NAIVE_FB_MIB].is_some(),
            2.0 * square <= budget,
            "T = {}",
            r.t
        );
        // Flash always ran.
        for c in [
            FLASH_FWD_MIB,
            FLASH_FB_MIB,
            FLASH_FWD_MS,
            CAUSAL_MS,
            FLASH_FB_MS,
        ] {
            assert!(
                r.cells[c].is_some_and(|x| x > 0.0),
                "T = {}, column {c}",
                r.t
            );
        }
    }
    assert!(
        report().contains("naive is not run where its T x T f32 arrays would pass 2 GiB")
    );
}

#[test]
fn naive_memory_is_the_t_by_t_matrix_and_flash_is_linear() {
    for r in rows() {
        let mib = |c: usize| r.cells[c].unwrap() * 1024.0 * 1024.0;
        let square = (r.t * r.t * 4) as f64;
        let linear = (r.t * 64 * 4) as f64; // one [T, 64] f32 array
        if r.cells[NAIVE_FWD_MIB].is_some() {
            // P, and the output on top.
            assert!(
                mib(NAIVE_FWD_MIB) >= square && mib(NAIVE_FWD_MIB) < 1.2 * square + 1e6
            );
        }
        // Flash: O plus tiles; forward + backward: O, dQ, dK, dV plus tiles.
        assert!(
            mib(FLASH_FWD_MIB) >= linear && mib(FLASH_FWD_MIB) < linear + 1e6,
            "T = {}",
            r.t
        );
        assert!(
            mib(FLASH_FB_MIB) >= 4.0 * linear && mib(FLASH_FB_MIB) < 4.0 * linear + 2e6
        );
    }
}

#[test]
fn flash_needs_at_most_a_fiftieth_of_naives_memory_at_16k() {
    let r = row(16384);
    let ratio = r.cells[MEM_RATIO].unwrap();
    let computed = r.cells[NAIVE_FWD_MIB].unwrap() / r.cells[FLASH_FWD_MIB].unwrap();
    assert!((ratio - computed).abs() / computed < 0.01);
    assert!(ratio >= 50.0, "naive / flash memory at 16k: {ratio}");
    let fb = r.cells[NAIVE_FB_MIB].unwrap() / r.cells[FLASH_FB_MIB].unwrap();
    assert!(fb >= 50.0, "forward + backward at 16k: {fb}");
    let q = format!("{:.0} times less at T = 16,384", ratio);
    assert!(page().contains(&q), "the page does not say {q:?}");
}

#[test]
fn flash_forward_is_no_slower_than_naive_from_1024_and_runs_on_past_the_budget() {
    for r in rows() {
        let (Some(naive), Some(ratio)) = (r.cells[NAIVE_FWD_MS], r.cells[TIME_RATIO])
        else {
            continue;
        };
        let flash = r.cells[FLASH_FWD_MS].unwrap();
        assert!(
            (flash / naive - ratio).abs() < 0.01 + 0.01 * ratio,
            "T = {}",
            r.t
        );
        if r.t >= 1024 {
            assert!(ratio <= 1.0, "T = {}: flash / naive time {ratio}", r.t);
        }
        // Skipping the tiles above the diagonal: the causal forward is faster.
        assert!(r.cells[CAUSAL_MS].unwrap() < flash, "T = {}", r.t);
        if let Some(fb) = r.cells[TIME_RATIO_FB] {
            let computed = r.cells[FLASH_FB_MS].unwrap() / r.cells[NAIVE_FB_MS].unwrap();
            assert!((computed - fb).abs() < 0.01 + 0.01 * fb, "T = {}", r.t);
        }
    }
    let last = row(32768);
    assert!(last.cells[NAIVE_FWD_MS].is_none() && last.cells[FLASH_FB_MS].is_some());
}

/// The numbers the page quotes, as the table prints them.
#[test]
fn the_page_quotes_the_table() {
    let c = |t: usize, col: usize| row(t).cells[col].unwrap();
    let (r256, r512) = (c(256, TIME_RATIO), c(512, TIME_RATIO));
    // "At T = 256 and 512 it is slower".
    assert!(r256 > 1.0 && r512 > 1.0);
    // "falling": the ratio at 16k is below the one at 1024.
    assert!(c(16384, TIME_RATIO) < c(1024, TIME_RATIO));
    // "halves the work, and the time follows".
    let causal = c(16384, CAUSAL_MS) / c(16384, FLASH_FWD_MS);
    assert!(
        (0.4..0.6).contains(&causal),
        "causal / full at 16k: {causal}"
    );
    // The backward: slower than naive, less so as T grows.
    assert!(c(256, TIME_RATIO_FB) > c(16384, TIME_RATIO_FB));
    assert!(
        rows()
            .iter()
            .all(|r| r.cells[TIME_RATIO_FB].is_none_or(|x| x > 1.0))
    );
    let page = page();
    for q in [
        format!(
            "({:.3} MiB against {:.3} MiB)",
            c(16384, NAIVE_FWD_MIB),
            c(16384, FLASH_FWD_MIB)
        ),
        format!(
            "{:.1} times less ({:.3} MiB against {:.3} MiB",
            c(16384, NAIVE_FB_MIB) / c(16384, FLASH_FB_MIB),
            c(16384, NAIVE_FB_MIB),
            c(16384, FLASH_FB_MIB)
        ),
        format!(
            "{:.3} MiB and {:.3} MiB",
            c(32768, FLASH_FWD_MIB),
            c(32768, FLASH_FB_MIB)
        ),
        format!(
            "{:.2} of it at T = 1,024, falling to {:.2} at T = 16,384",
            c(1024, TIME_RATIO),
            c(16384, TIME_RATIO)
        ),
        format!("{r256:.2} and {r512:.2} times naive's"),
        format!(
            "{:.2} ms against {:.2} ms at T = 16,384",
            c(16384, CAUSAL_MS),
            c(16384, FLASH_FWD_MS)
        ),
        format!(
            "{:.2} times naive's time at T = 256, falling to {:.2} at T = 16,384",
            c(256, TIME_RATIO_FB),
            c(16384, TIME_RATIO_FB)
        ),
        format!(
            "{:.2} ms and forward and backward in {:.2} ms",
            c(32768, FLASH_FWD_MS),
            c(32768, FLASH_FB_MS)
        ),
    ] {
        assert!(page.contains(&q), "the page does not say {q:?}");
    }
}
