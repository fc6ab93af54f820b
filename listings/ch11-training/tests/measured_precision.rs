//! The mixed-precision and recipe experiments: the same code as the examples at a tiny
//! size, and the text's claims about the committed reports
//! (src/figures/ch11/mixed-precision.txt and recipe.txt, which the pages quote).

use ch09_decoder_only::train_run::{TrainConfig, book_tokens};
use ch11_training::precision_run::{precision_experiment, underflow};
use ch11_training::recipe::{Recipe, recipe_experiment};
use golden::number_after;

fn figure(name: &str) -> String {
    let path =
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../src/figures/ch11/").to_owned() + name;
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The report's line for one run.
fn arm<'a>(report: &'a str, name: &str) -> &'a str {
    report
        .lines()
        .find(|l| l.starts_with(&format!("{name}: final")))
        .unwrap_or_else(|| panic!("no line for {name:?}"))
}

#[test]
fn a_tiny_precision_run_writes_its_files() {
    let cfg = TrainConfig::tiny();
    let data = book_tokens(&cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (logs, report) =
        precision_experiment(dir.path(), &data, &cfg, 20, |_| {}).unwrap();
    for f in ch11_training::precision_run::FILES {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    assert_eq!(logs.len(), 4);
    assert_eq!(underflow(&logs[0].dlogits), 0.0, "f32 loses nothing");
    assert_eq!(underflow(&logs[1].grads), 0.0, "bf16 has f32's range");
    for l in &logs {
        let first = l.losses[..10].iter().sum::<f32>();
        let last = l.losses[l.losses.len() - 10..].iter().sum::<f32>();
        assert!(last < first, "{}: {first} -> {last}", l.name);
        assert!(report.contains(&format!("{}: final held-out", l.name)));
    }
    // the scaler starts at 2^16 and grows after 20 clean steps unless it backed off
    assert_eq!(logs[3].scales[0], 65536.0);
    assert!(logs[2].scales.iter().all(|&s| s == 1.0));
}

#[test]
fn a_tiny_recipe_run_writes_its_files() {
    let cfg = TrainConfig::tiny();
    let data = book_tokens(&cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (old, new, report) =
        recipe_experiment(dir.path(), &data, &cfg, &Recipe::chapter()).unwrap();
    for f in ch11_training::recipe::FILES {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    assert_eq!(old.heldout.len(), new.heldout.len());
    let uniform = (data.vocab_size as f32).ln();
    for log in [&old, &new] {
        assert!(log.heldout.last().unwrap().1 < uniform, "{:?}", log.heldout);
    }
    assert!(report.contains("final held-out: Chapter 9"));
}
