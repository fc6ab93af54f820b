//! The browser check catches what it is for. A small book, built by the real mdBook with
//! this book's preprocessors, theme and scripts, has one correct page and one page for
//! each kind of breakage; each broken page must be reported by name and the correct one
//! must pass.
//!
//! Needs mdBook with mdbook-katex and mdbook-mermaid (`cargo xtask tools`) and Chromium;
//! `cargo xtask test` installs all of them before it runs the tests. Without them this test
//! fails, naming the command, rather than passing without having looked.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use book_checks::{BrowserReport, Problem, check_in_browser, find_chromium};

const SUMMARY: &str = "\
# Summary

- [Good](good.md)
- [Bad diagram](bad-diagram.md)
- [Undrawn diagram](undrawn-diagram.md)
- [Bad formula](bad-formula.md)
- [KaTeX error](katex-error.md)
- [Missing image](missing-image.md)
- [Console error](console-error.md)
- [Exception](exception.md)
- [Online only](online-only.md)
";

const GOOD: &str = "\
# Good

Inline math $a^2 + b^2 = c^2$ and a display formula:

$$\\mathrm{softmax}(x)_i = \\frac{e^{x_i}}{\\sum_j e^{x_j}}$$

```mermaid
graph LR
    A[tokens] --> B[embeddings]
```

![a figure](figures/ok.svg)
";

/// Mermaid draws its \"Syntax error\" diagram for this instead of throwing.
const BAD_DIAGRAM: &str =
    "# Bad diagram\n\n```mermaid\ngraph LR\n    A[tokens] -->\n```\n";
/// Mermaid skips a block it believes it has drawn already, so this one stays text: the
/// check waits its bounded time for it (15 s), then reports it.
const UNDRAWN_DIAGRAM: &str = "# Undrawn diagram\n\n<pre class=\"mermaid\" data-processed=\"true\">\
graph LR\n    A --> B\n</pre>\n";
/// mdbook-katex leaves a formula KaTeX cannot parse as raw TeX (and only warns).
const BAD_FORMULA: &str = "# Bad formula\n\n$$\\frac{1}{2$$\n";
/// What mdbook-katex writes instead when configured with `throw-on-error = false`.
const KATEX_ERROR: &str = "# KaTeX error\n\n<span class=\"katex-error\" \
title=\"ParseError: KaTeX parse error: Undefined control sequence: \\nope\">\\nope</span>\n";
const MISSING_IMAGE: &str = "# Missing image\n\n![gone](figures/missing.svg)\n";
const CONSOLE_ERROR: &str = "# Console error\n\n<script>console.error('logged by the console-error page');</script>\n";
/// The book must read offline: a script from a CDN is an error even where there is network.
const ONLINE_ONLY: &str =
    "# Online only\n\n<script src=\"https://cdn.example.com/lib.js\"></script>\n";
const EXCEPTION: &str = "# Exception\n\n<script>notDefinedAnywhere();</script>\n";

const SVG: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"20\" \
viewBox=\"0 0 40 20\"><rect width=\"40\" height=\"20\" fill=\"teal\"/></svg>\n";

/// The real book's files that make a page look and behave as it does in the book.
const FROM_THE_BOOK: &[&str] = &[
    "book.toml",
    "mermaid.min.js",
    "mermaid-init.js",
    "theme/head.hbs",
    "src/katex",
];

#[test]
fn browser_check_reports_each_broken_page_and_passes_the_good_one() {
    let chromium = find_chromium().unwrap_or_else(|| {
        panic!(
            "Chromium is not installed (or $CHROME names no file): run `cargo xtask test` (it installs it) or `sudo sh -c '{}'`",
            book_checks::INSTALL_CHROMIUM
        )
    });
    let dir = tempfile::tempdir().expect("temporary directory");
    write_book(dir.path());
    build(dir.path());
    let report = check_in_browser(&dir.path().join("book"), &chromium);
    // Shown with --nocapture: what a reader of `cargo xtask test`'s output would see.
    eprintln!("{}", listing(&report.problems));

    let html = dir.path().join("book");
    for good in ["good.html", "index.html"] {
        let found = on_page(&report, &html.join(good));
        assert!(
            found.is_empty(),
            "{good} should pass, got:\n{}",
            listing(found)
        );
    }
    expect(
        &report,
        &html.join("bad-diagram.html"),
        "is mermaid's error diagram",
    );
    expect(
        &report,
        &html.join("bad-diagram.html"),
        "Syntax error in text",
    );
    expect(
        &report,
        &html.join("undrawn-diagram.html"),
        "mermaid diagram 1 did not become an SVG",
    );
    expect(
        &report,
        &html.join("bad-formula.html"),
        "TeX left unrendered in the page text: `$$\\frac{1}{2$$`",
    );
    expect(
        &report,
        &html.join("katex-error.html"),
        "KaTeX error: `\\nope`: ParseError: KaTeX parse error: Undefined control sequence",
    );
    expect(
        &report,
        &html.join("missing-image.html"),
        "image did not load: figures/missing.svg",
    );
    expect(
        &report,
        &html.join("console-error.html"),
        "console error: logged by the console-error page",
    );
    expect(&report, &html.join("exception.html"), "uncaught exception");
    expect(&report, &html.join("exception.html"), "notDefinedAnywhere");
    expect(
        &report,
        &html.join("online-only.html"),
        "https://cdn.example.com/lib.js",
    );
    // Where the HTML holds it, a problem names the line.
    expect_line(&report, &html.join("bad-diagram.html"), "class=\"mermaid\"");
    expect_line(&report, &html.join("console-error.html"), "console.error(");
    let reported: BTreeSet<&Path> =
        report.problems.iter().map(|p| p.file.as_path()).collect();
    let broken: BTreeSet<PathBuf> = SUMMARY
        .lines()
        .filter_map(|l| l.split_once("](")?.1.strip_suffix(".md)"))
        .filter(|page| *page != "good")
        .map(|page| html.join(format!("{page}.html")))
        .collect();
    assert_eq!(
        reported,
        broken.iter().map(PathBuf::as_path).collect(),
        "exactly the broken pages have problems:\n{}",
        listing(&report.problems)
    );
    // The good page's diagram, formulas and figure were seen, not skipped.
    assert!(report.diagrams >= 2, "diagrams seen: {report:?}");
    assert!(report.formulas >= 2, "formulas seen: {report:?}");
    assert!(report.images >= 2, "images seen: {report:?}");
}

#[test]
fn a_missing_book_directory_is_one_problem_not_a_panic() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let missing = dir.path().join("book");
    // No browser is started for a directory that is not there.
    let report = check_in_browser(&missing, Path::new("/nonexistent/chromium"));
    assert_eq!(report.problems.len(), 1, "{}", listing(&report.problems));
    assert_eq!(report.problems[0].file, missing);
}

#[test]
fn a_chromium_that_cannot_start_is_one_problem_naming_it() {
    let dir = tempfile::tempdir().expect("temporary directory");
    fs::write(dir.path().join("index.html"), "<p>hi</p>").expect("write page");
    let report = check_in_browser(dir.path(), Path::new("/nonexistent/chromium"));
    assert_eq!(report.problems.len(), 1, "{}", listing(&report.problems));
    assert!(
        report.problems[0].message.contains("/nonexistent/chromium"),
        "{}",
        report.problems[0]
    );
}

fn write_book(root: &Path) {
    let book = Path::new(env!("CARGO_MANIFEST_DIR"));
    for rel in FROM_THE_BOOK {
        copy(&book.join(rel), &root.join(rel));
    }
    let pages = [
        ("SUMMARY.md", SUMMARY),
        ("good.md", GOOD),
        ("bad-diagram.md", BAD_DIAGRAM),
        ("undrawn-diagram.md", UNDRAWN_DIAGRAM),
        ("bad-formula.md", BAD_FORMULA),
        ("katex-error.md", KATEX_ERROR),
        ("missing-image.md", MISSING_IMAGE),
        ("console-error.md", CONSOLE_ERROR),
        ("exception.md", EXCEPTION),
        ("online-only.md", ONLINE_ONLY),
        ("figures/ok.svg", SVG),
    ];
    for (rel, text) in pages {
        let path = root.join("src").join(rel);
        fs::create_dir_all(path.parent().expect("has a parent"))
            .expect("create directories");
        fs::write(path, text).expect("write page");
    }
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        for entry in fs::read_dir(from).expect("read directory") {
            let entry = entry.expect("directory entry");
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        fs::create_dir_all(to.parent().expect("has a parent"))
            .expect("create directories");
        fs::copy(from, to).unwrap_or_else(|e| panic!("copy {}: {e}", from.display()));
    }
}

/// `mdbook build` of the book at `root`, with the pinned preprocessors.
fn build(root: &Path) {
    let bin = cargo_bin();
    for tool in ["mdbook", "mdbook-katex", "mdbook-mermaid"] {
        assert!(
            bin.join(tool).is_file() || on_path(tool),
            "{tool} is not installed: run `cargo xtask tools` (or `cargo xtask test`, which installs it)"
        );
    }
    // mdbook finds its preprocessors on PATH; `cargo install` puts them in ~/.cargo/bin.
    let mut paths = vec![bin];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path = std::env::join_paths(paths).expect("PATH");
    let out = Command::new("mdbook")
        .arg("build")
        .arg(root)
        .env("PATH", &path)
        .output()
        .expect("run mdbook");
    assert!(
        out.status.success(),
        "mdbook build of the test book failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default()
        .join("bin")
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

fn on_page<'a>(report: &'a BrowserReport, page: &Path) -> Vec<&'a Problem> {
    report.problems.iter().filter(|p| p.file == page).collect()
}

#[track_caller]
fn expect(report: &BrowserReport, page: &Path, words: &str) {
    assert!(
        on_page(report, page)
            .iter()
            .any(|p| p.message.contains(words)),
        "expected a problem on {} containing {words:?}; all problems:\n{}",
        page.display(),
        listing(&report.problems)
    );
}

/// The page's (first) problem is on the line of its HTML that holds `needle`.
#[track_caller]
fn expect_line(report: &BrowserReport, page: &Path, needle: &str) {
    let html = fs::read_to_string(page).expect("read built page");
    let line = 1 + html
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{} has no {needle:?}", page.display()));
    let found = on_page(report, page);
    assert!(
        found.first().is_some_and(|p| p.line == line),
        "expected the problem on {} at line {line}, got:\n{}",
        page.display(),
        listing(found)
    );
}

fn listing<'a>(problems: impl IntoIterator<Item = &'a Problem>) -> String {
    problems.into_iter().map(|p| format!("  {p}\n")).collect()
}
