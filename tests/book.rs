//! The real book passes every book check.
//!
//! `cargo test -p book-checks --test book` checks the sources (includes,
//! anchors, SUMMARY.md, listings, math, diagrams). Set `BOOK_HTML_DIR` to a
//! built book (e.g. `book`) to check its HTML as well.

use std::path::{Path, PathBuf};

use book_checks::{Problem, check_all, check_built_html};

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

#[test]
fn built_book_has_no_math_errors_when_asked() {
    let Some(dir) = std::env::var_os("BOOK_HTML_DIR") else {
        eprintln!("BOOK_HTML_DIR not set: skipping the check of the built HTML");
        return;
    };
    let dir = root().join(PathBuf::from(dir));
    let problems = check_built_html(&dir);
    assert!(
        problems.is_empty(),
        "{}",
        report("the built book", &problems)
    );
}
