//! The claims of section "Initialisation and stability" about its committed outputs,
//! src/figures/ch11/{init-loss,lr-sweep,warmup}.txt, which the text includes. The
//! examples `init_loss`, `lr_sweep` and `warmup_postln` rewrite them; if a rerun changes
//! what they show, this test says which sentence no longer holds.

fn figure(name: &str) -> String {
    let path = format!(
        "{}/../../src/figures/ch11/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn num(s: &str) -> f32 {
    s.parse()
        .unwrap_or_else(|_| panic!("{s:?} is not a number"))
}

/// (label, loss, logit std) of each row of init-loss.txt, and ln V.
fn init_rows() -> (f32, Vec<(String, f32, f32)>) {
    let text = figure("init-loss.txt");
    let ln_v = num(text
        .lines()
        .next()
        .expect("a header")
        .rsplit(' ')
        .next()
        .expect("ln V"));
    let rows = text
        .lines()
        .skip(2)
        .map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let n = cols.len();
            (cols[..n - 2].join(" "), num(cols[n - 2]), num(cols[n - 1]))
        })
        .collect();
    (ln_v, rows)
}

#[test]
fn the_initial_loss_is_ln_v_unless_the_embedding_starts_at_unit_scale() {
    let (ln_v, rows) = init_rows();
    assert_eq!(rows.len(), 7);
    let width: f32 = 64.0; // C of Chapter 9's run
    for (label, loss, std) in &rows {
        if label.contains("N(0, 1)") {
            // "more than six times ln V", "a logit spread of about √C = 8"
            assert!(*loss > 6.0 * ln_v, "{label}");
            assert!((std / width.sqrt() - 1.0).abs() < 0.02, "{label}");
        } else {
            // "within 0.015 of ln V", "0.02 √C = 0.16"
            assert!((loss - ln_v).abs() < 0.015, "{label}");
            assert!((std / (0.02 * width.sqrt()) - 1.0).abs() < 0.02, "{label}");
        }
    }
    // "ln V + σ²/2 predicts the Llama's to 0.01"
    let (_, llama, std) = &rows[0];
    assert!((llama - (ln_v + std * std / 2.0)).abs() < 0.01);
    // "leaving out 1/√(2L) moves the initial loss by less than 0.01, at 2 and 12 layers"
    for pair in rows[2..6].chunks(2) {
        assert!(pair[1].0.contains("no 1/sqrt(2L)"));
        assert!((pair[1].1 - pair[0].1).abs() < 0.01, "{pair:?}");
    }
}

/// (lr, first, last, min, diverged) of each row of lr-sweep.txt.
fn sweep_rows() -> Vec<(f32, f32, f32, f32, bool)> {
    figure("lr-sweep.txt")
        .lines()
        .skip(2)
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            (num(c[0]), num(c[1]), num(c[2]), num(c[3]), c[4] == "yes")
        })
        .collect()
}

#[test]
fn the_sweep_falls_to_a_best_rate_rises_and_diverges_above_one() {
    let rows = sweep_rows();
    assert!(rows.len() >= 8);
    let best = (0..rows.len())
        .filter(|&i| rows[i].2.is_finite())
        .min_by(|&a, &b| rows[a].2.total_cmp(&rows[b].2))
        .expect("a finite run");
    // "the best peak learning rate is 1e-2, inside the range swept"
    assert!((rows[best].0 / 1e-2 - 1.0).abs() < 1e-3, "{:?}", rows[best]);
    // "the loss falls as the learning rate rises up to it, and rises after it"
    for w in rows[..=best].windows(2) {
        assert!(w[1].2 < w[0].2, "{w:?}");
    }
    let trained: Vec<_> = rows.iter().filter(|r| !r.4).collect();
    for w in trained[best..].windows(2) {
        assert!(w[1].2 > w[0].2, "{w:?}");
    }
    // "every run up to lr 1 ends below its start; every run above 1 ends above it"
    for r in &rows {
        assert_eq!(r.4, r.0 > 1.01, "{r:?}");
        let ends_below = r.2 < r.1; // false for NaN
        assert_eq!(r.4, !ends_below, "{r:?}");
    }
    // "from lr 10 on, the loss ends more than 50 times its start"
    for r in rows.iter().filter(|r| r.0 > 9.0) {
        assert!(r.2.is_nan() || r.2 > 50.0 * r.1, "{r:?}");
    }
}

/// (lr, wiring, warm-up, first 10, last 50) of each row of warmup.txt.
fn warmup_rows() -> Vec<(f32, String, usize, f32, f32)> {
    figure("warmup.txt")
        .lines()
        .skip(2)
        .map(|l| {
            let c: Vec<&str> = l.split_whitespace().collect();
            let warmup = c[2].parse().expect("steps");
            (num(c[0]), c[1].to_owned(), warmup, num(c[3]), num(c[4]))
        })
        .collect()
}

#[test]
fn warm_up_rescues_post_ln_at_3e_3_and_not_at_1e_2() {
    let rows = warmup_rows();
    assert_eq!(rows.len(), 12);
    let get = |lr: f32, wiring: &str, warmup: usize| {
        rows.iter()
            .find(|r| (r.0 / lr - 1.0).abs() < 1e-3 && r.1 == wiring && r.2 == warmup)
            .unwrap_or_else(|| panic!("{lr} {wiring} {warmup}"))
            .clone()
    };
    // "at 1e-3 all four train, with or without warm-up"
    for r in rows.iter().filter(|r| r.0 < 2e-3) {
        assert!(r.4 < 0.15, "{r:?}");
    }
    // "at 3e-3 Post-LN without warm-up stays on the plateau, with warm-up it trains"
    assert!(get(3e-3, "Post-LN", 0).4 > 1.3);
    assert!(get(3e-3, "Post-LN", 50).4 < 0.5);
    // "Pre-LN trains at every learning rate, with or without warm-up"
    for r in rows.iter().filter(|r| r.1 == "Pre-LN") {
        assert!(r.4 < 0.35, "{r:?}");
    }
    // "at 1e-2 warm-up is not enough: Post-LN stalls either way"
    assert!(get(1e-2, "Post-LN", 0).4 > 1.3 && get(1e-2, "Post-LN", 50).4 > 1.3);
    // "warm-up makes the first ten steps slower in every row"
    for r in rows.iter().filter(|r| r.2 > 0) {
        assert!(r.3 > get(r.0, &r.1, 0).3, "{r:?}");
    }
}
