//! The text's claims about the committed step benchmark (section "How fast is a step?"),
//! checked against src/figures/ch07/train-step-speed.txt, which the text includes.
//! Nothing is timed here: `cargo xtask bench` rewrites the file, and if a rerun changes
//! what it shows, this test says which sentence no longer holds.

use std::path::Path;

/// The numeric cells of each `|`-separated row whose first cell is a thread count.
fn rows(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .map(|l| {
            l.split('|')
                .map(|c| c.trim().to_owned())
                .collect::<Vec<_>>()
        })
        .filter(|cells| cells.len() > 2 && cells[0].parse::<usize>().is_ok())
        .collect()
}

#[test]
fn step_speed_says_what_the_text_says() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../src/figures/ch07/train-step-speed.txt");
    let text = std::fs::read_to_string(&path).expect("train-step-speed.txt");
    let num = |c: &str| {
        c.parse::<f64>()
            .unwrap_or_else(|_| panic!("{c:?} is not a number"))
    };
    let all = rows(&text);
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
