//! The claims section "Clipping and accumulation" makes, checked against the committed
//! outputs of the `clipping_spike` and `accumulation` examples, and the same code rerun
//! at a tiny size.

use ch01_foundations::init::seeded_rng;
use ch09_decoder_only::llama_model::LlamaTrainConfig;
use ch11_training::accumulate::report;
use ch11_training::clipping::{
    SpikeConfig, corrupt, plain_sgd, spike_run, spike_summary,
};
use golden::{cell, measured_rows};
use rand::RngExt;

const SPIKE_AT: usize = 150;
const RUNS: [&str; 4] = ["SGD", "SGD, clip 1", "AdamW", "AdamW, clip 1"];

fn figure(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../src/figures/ch11")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Run r's (losses, gradient norms) from the table of clipping.txt.
fn run(rows: &[Vec<String>], r: usize) -> (Vec<f32>, Vec<f32>) {
    rows.iter()
        .map(|c| (cell(&c[1 + 2 * r]) as f32, cell(&c[2 + 2 * r]) as f32))
        .unzip()
}

#[test]
fn clipping_tames_the_sgd_spike_and_adamw_barely_needs_it() {
    let rows = measured_rows("ch11/clipping.txt");
    assert_eq!(rows.len(), 250);
    let text = figure("clipping.txt");
    let mut summaries = Vec::new();
    for (r, name) in RUNS.iter().enumerate() {
        let (losses, norms) = run(&rows, r);
        let s = spike_summary(&losses, SPIKE_AT);
        let mut before = norms[..SPIKE_AT].to_vec();
        before.sort_by(f32::total_cmp);
        let median = before[before.len() / 2];
        // "the corrupted batch's gradient is more than ten times the usual"
        assert!(
            norms[SPIKE_AT] > 10.0 * median,
            "{name}: {} vs {median}",
            norms[SPIKE_AT]
        );
        // the summary line the text quotes agrees with the table (4-digit cells)
        let line = text
            .lines()
            .find(|l| l.starts_with(&format!("{name}: ")))
            .unwrap_or_else(|| panic!("no summary line for {name}"));
        assert!(
            line.contains(&format!("recovered after {} steps", s.recovery)),
            "{line}"
        );
        let peak = golden::number_after(line, "peak of the next 10 steps");
        assert!(
            (peak - f64::from(s.peak_after)).abs() < 2e-3,
            "{line} vs {s:?}"
        );
        summaries.push(s);
    }
    let [sgd, sgd_clip, adamw, adamw_clip] = summaries[..] else {
        unreachable!()
    };
    // SGD without clipping: the loss jumps by more than 5 nats and takes 20+ steps back
    assert!(sgd.peak_after > sgd.before + 5.0, "{sgd:?}");
    assert!(sgd.recovery >= 20, "{sgd:?}");
    // with clipping at 1: no step after it is 0.2 above the level before
    for s in [sgd_clip, adamw, adamw_clip] {
        assert!(s.peak_after < s.before + 0.2 && s.recovery == 0, "{s:?}");
    }
}

#[test]
fn accumulation_report_is_reproduced_and_says_what_the_text_says() {
    let committed = figure("accumulation.txt");
    assert_eq!(
        report(4, 2, 24, 7),
        committed,
        "rerun the accumulation example"
    );
    let line = |key: &str| committed.lines().find(|l| l.starts_with(key)).unwrap();
    let acc = line("accumulated");
    let exact: f64 = acc.rsplit(' ').next().unwrap().parse().unwrap();
    assert_eq!(
        exact, 0.0,
        "the text says the two are equal exactly here: {acc}"
    );
    let naive = golden::number_after(line("mean of means"), "from one batch");
    assert!(naive > 0.5, "mean of means is off by {naive}");
}

#[test]
fn a_tiny_spike_run_is_deterministic_and_logs_the_corrupted_step() {
    let cfg = SpikeConfig {
        model: LlamaTrainConfig::tiny(),
        batch: 4,
        context: 16,
        steps: 30,
        warmup: 5,
        peak_lr: 0.5,
        spike_at: 20,
        seed: 3,
    };
    let mut rng = seeded_rng(4);
    let stream: Vec<usize> = (0..800).map(|_| rng.random_range(0..40)).collect();
    let bad = corrupt(&stream, 7);
    let a = spike_run(&cfg, plain_sgd(), &stream, &bad, None);
    let b = spike_run(&cfg, plain_sgd(), &stream, &bad, Some(1.0));
    assert_eq!(a, spike_run(&cfg, plain_sgd(), &stream, &bad, None));
    let (na, nb) = (a[20].grad_norm, b[20].grad_norm);
    assert!(
        a[..20].iter().all(|l| l.grad_norm < na),
        "the corrupted step has the largest norm"
    );
    assert!(b.iter().all(|l| l.grad_norm <= nb), "{nb}");
    let worst = |l: &[ch11_training::trainer::StepLog]| {
        l[21..].iter().fold(0.0f32, |m, s| m.max(s.loss))
    };
    eprintln!(
        "after the spike: no clip {} vs clip {}",
        worst(&a),
        worst(&b)
    );
    assert!(worst(&b) < worst(&a));
}
