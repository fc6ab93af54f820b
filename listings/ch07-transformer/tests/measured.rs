//! The text's claims about the committed step benchmark (section "How fast is a step?"),
//! checked against src/figures/ch07/train-step-speed.txt, which the text includes.
//! Nothing is timed here: `cargo xtask bench` rewrites the file, and if a rerun changes
//! what it shows, this test says which sentence no longer holds.

use std::path::Path;

use golden::{cell as num, measured_rows};

#[test]
fn step_speed_says_what_the_text_says() {
    let all = measured_rows("ch07/train-step-speed.txt");
    let (speed, parts): (Vec<_>, Vec<_>) = all.iter().partition(|r| r.len() == 6);
    assert_eq!(speed.len(), 2, "one speed row per thread count");
    for r in &speed {
        let (torch, ours, speed_up) = (num(&r[1]), num(&r[2]), num(&r[5]));
        // "the book's step takes less time than PyTorch's at both thread counts"
        assert!(ours < torch && speed_up > 1.0, "{r:?}");
        assert!(
            (speed_up - torch / ours).abs() < 0.01,
            "speed-up is PyTorch / ours: {r:?}"
        );
    }
    assert_eq!(parts.len(), 4, "PyTorch and ours at each thread count");
    for r in &parts {
        let (fwd, bwd, opt) = (num(&r[2]), num(&r[3]), num(&r[4]));
        // "forward and backward hold most of the time; clip + Adam is the smallest part"
        assert!(fwd + bwd > opt && opt < fwd && opt < bwd, "{r:?}");
    }
}

/// (step, [train, held-out, exact %] for P_drop = 0, 0.1, 0.3) from the table of
/// src/figures/ch07/dropout-overfit.txt.
fn overfit_table(text: &str) -> Vec<(usize, [[f64; 3]; 3])> {
    text.lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            let step = cells.first()?.parse::<usize>().ok()?;
            (cells.len() == 10).then(|| {
                let num =
                    |i: usize| cells[i].trim_end_matches('%').parse::<f64>().unwrap();
                let run = |p: usize| [num(1 + 3 * p), num(2 + 3 * p), num(3 + 3 * p)];
                (step, [run(0), run(1), run(2)])
            })
        })
        .collect()
}

/// The claims of "Dropout against overfitting" about the committed run, which the text
/// includes (`cargo xtask bench` rewrites it; the seeded run gives the same numbers on
/// the same CPU).
#[test]
fn dropout_run_says_what_the_text_says() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../src/figures/ch07/dropout-overfit.txt");
    let text = std::fs::read_to_string(&path).expect("dropout-overfit.txt");
    let table = overfit_table(&text);
    assert_eq!(table.len(), 13, "steps 0, 100, ..., 1200");
    let held = |p: usize| table.iter().map(move |(s, r)| (*s, r[p][1]));
    let min_at =
        |p: usize| held(p).fold((0, f64::MAX), |a, b| if b.1 < a.1 { b } else { a });
    let last = |p: usize| table.last().unwrap().1[p];
    // "Without dropout ... its held-out loss is lowest at step 400 and then climbs"
    let (step0, min0) = min_at(0);
    assert_eq!((step0, min0), (400, 0.22));
    assert!(
        last(0)[1] > min0 + 0.1 && last(0)[0] == 0.0,
        "{:?}",
        last(0)
    );
    // "with P_drop = 0.1 ... the held-out loss ... ends a third lower than without dropout"
    assert!(
        last(1)[1] <= last(0)[1] * 0.7,
        "{:?} vs {:?}",
        last(1),
        last(0)
    );
    // "P_drop = 0.3: held-out exact match stays below 0.5 %, ... rises from step 300 on"
    assert!(table.iter().all(|(_, r)| r[2][2] < 0.5));
    let rising: Vec<f64> = held(2).filter(|(s, _)| *s >= 300).map(|(_, h)| h).collect();
    assert!(rising.windows(2).all(|w| w[1] >= w[0]), "{rising:?}");
    // "On two more seeds the picture is the same": P_drop 0.1 ends with the lower held-out
    // loss on every seed.
    let seeds: Vec<(f64, f64)> = text
        .lines()
        .filter(|l| l.trim_start().starts_with("seed "))
        .map(|l| {
            let losses: Vec<f64> = l
                .split(": ")
                .skip(2)
                .map(|c| c.split(" / ").next().unwrap().parse().unwrap())
                .collect();
            (losses[0], losses[1])
        })
        .collect();
    assert_eq!(seeds.len(), 3, "seeds 11, 12, 13");
    assert!(seeds.iter().all(|(p0, p1)| p1 < p0), "{seeds:?}");
}
