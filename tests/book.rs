//! The real book passes every book check.
//!
//! `cargo test -p book-checks --test book` checks the sources (includes,
//! anchors, SUMMARY.md, listings, math, diagrams). The built HTML is checked by
//! `cargo xtask build` and `cargo xtask test`, right after `mdbook build`; `cargo xtask
//! test` then opens every page in headless Chromium (`book_checks::check_in_browser`).

use std::path::Path;

use book_checks::{Problem, check_all};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn report(what: &str, problems: &[Problem]) -> String {
    let mut out = format!("{} problem(s) in {what}:\n", problems.len());
    for p in problems {
        out.push_str(&format!("  {p}\n"));
    }
    out
}

#[test]
fn book_sources_pass_every_check() {
    let problems = check_all(root());
    assert!(
        problems.is_empty(),
        "{}",
        report("the book sources", &problems)
    );
}
