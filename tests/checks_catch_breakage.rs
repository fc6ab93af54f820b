//! Each book check catches the defect it is for, at the right file and line,
//! and accepts the correct counterpart. Every test builds a tiny book in a
//! temporary directory with exactly one defect.

use std::fs;
use std::path::{Path, PathBuf};

use book_checks::{
    Problem, check_all, check_built_html, check_includes, check_listings_included,
    check_math, check_mermaid, check_summary,
};
use tempfile::TempDir;

const SUMMARY: &str = "# Summary\n\n- [Chapter one](ch01/index.md)\n";

const LIB_RS: &str = "\
//! Chapter one listing.

// ANCHOR: add
pub fn add(a: f32, b: f32) -> f32 {
    a + b
}
// ANCHOR_END: add

// ANCHOR: empty

// ANCHOR_END: empty

// ANCHOR: outer
// ANCHOR: inner
// ANCHOR_END: inner
// ANCHOR_END: outer

// ANCHOR: open
pub fn open() {}
";

const CARGO_TOML: &str = "[package]\nname = \"ch01\"\nversion = \"0.1.0\"\n";

/// A chapter page whose line 5 is `body`.
fn chapter(body: &str) -> String {
    format!("# Chapter one\n\nSome text.\n\n{body}\n\nMore text.\n")
}

/// A temporary book: SUMMARY with one chapter, one listing crate.
struct Book {
    dir: TempDir,
}

impl Book {
    /// The valid base book with `src/ch01/index.md` showing `body` on line 5.
    fn with_chapter(body: &str) -> Book {
        let book = Book::empty();
        book.write("src/SUMMARY.md", SUMMARY);
        book.write("src/ch01/index.md", &chapter(body));
        book.write("listings/ch01/Cargo.toml", CARGO_TOML);
        book.write("listings/ch01/src/lib.rs", LIB_RS);
        book
    }

    /// The valid base book: the chapter includes the `add` anchor.
    fn valid() -> Book {
        Book::with_chapter(
            "```rust\n{{#include ../../listings/ch01/src/lib.rs:add}}\n```",
        )
    }

    fn empty() -> Book {
        Book {
            dir: tempfile::tempdir().expect("temporary directory"),
        }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, rel: &str, text: &str) {
        let path = self.root().join(rel);
        fs::create_dir_all(path.parent().expect("has a parent"))
            .expect("create directories");
        fs::write(path, text).expect("write file");
    }
}

/// 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    1 + text
        .lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("fixture has no line containing {needle:?}"))
}

fn listing(problems: &[Problem]) -> String {
    problems
        .iter()
        .map(|p| format!("  {p}\n"))
        .collect::<String>()
}

/// Exactly one problem, at `file`:`line`, whose message contains `words`.
#[track_caller]
fn assert_one(problems: &[Problem], file: &str, line: usize, words: &str) {
    assert_eq!(
        problems.len(),
        1,
        "expected exactly one problem at {file}:{line}, got:\n{}",
        listing(problems)
    );
    let p = &problems[0];
    assert_eq!(p.file, PathBuf::from(file), "wrong file in: {p}");
    assert_eq!(p.line, line, "wrong line in: {p}");
    assert!(
        p.message.contains(words),
        "message should contain {words:?}: {p}"
    );
    let shown = p.to_string();
    assert!(
        shown.starts_with(&format!("{file}:{line}: ")),
        "Display should be `path:line: message`, got: {shown}"
    );
}

#[track_caller]
fn assert_clean(problems: &[Problem]) {
    assert!(
        problems.is_empty(),
        "expected no problem, got:\n{}",
        listing(problems)
    );
}

const INDEX: &str = "src/ch01/index.md";

// ---------------------------------------------------------------- includes

#[test]
fn valid_book_passes_every_check() {
    assert_clean(&check_all(Book::valid().root()));
}

#[test]
fn include_of_missing_file() {
    let book =
        Book::with_chapter("```rust\n{{#include ../../listings/ch01/src/nope.rs}}\n```");
    assert_one(
        &check_includes(book.root()),
        INDEX,
        6,
        "cannot read included file `listings/ch01/src/nope.rs`",
    );
}

#[test]
fn missing_anchor() {
    let book = Book::with_chapter(
        "```rust\n{{#include ../../listings/ch01/src/lib.rs:nope}}\n```",
    );
    assert_one(
        &check_includes(book.root()),
        INDEX,
        6,
        "anchor `nope` not found",
    );
}

#[test]
fn anchor_without_end() {
    let book = Book::with_chapter(
        "```rust\n{{#include ../../listings/ch01/src/lib.rs:open}}\n```",
    );
    assert_one(
        &check_includes(book.root()),
        INDEX,
        6,
        "no `ANCHOR_END: open`",
    );
}

#[test]
fn anchor_selecting_only_blank_lines() {
    let book = Book::with_chapter(
        "```rust\n{{#include ../../listings/ch01/src/lib.rs:empty}}\n```",
    );
    assert_one(
        &check_includes(book.root()),
        INDEX,
        6,
        "selects no non-blank line",
    );
}

#[test]
fn anchor_selecting_only_nested_anchor_lines() {
    let book = Book::with_chapter(
        "```rust\n{{#include ../../listings/ch01/src/lib.rs:outer}}\n```",
    );
    assert_one(
        &check_includes(book.root()),
        INDEX,
        6,
        "selects no non-blank line",
    );
}

#[test]
fn line_range_past_the_end() {
    let book = Book::with_chapter(
        "```rust\n{{#include ../../listings/ch01/src/lib.rs:4:99}}\n```",
    );
    let lines = LIB_RS.lines().count();
    assert_one(
        &check_includes(book.root()),
        INDEX,
        6,
        &format!(
            "ends at line 99, but `listings/ch01/src/lib.rs` has only {lines} lines"
        ),
    );
}

#[test]
fn line_range_starting_past_the_end() {
    let book = Book::with_chapter(
        "```rust\n{{#include ../../listings/ch01/src/lib.rs:50}}\n```",
    );
    assert_one(&check_includes(book.root()), INDEX, 6, "starts at line 50");
}

#[test]
fn empty_line_range() {
    let book = Book::with_chapter(
        "```rust\n{{#include ../../listings/ch01/src/lib.rs:6:4}}\n```",
    );
    assert_one(&check_includes(book.root()), INDEX, 6, "is empty");
}

#[test]
fn valid_line_ranges_pass() {
    let book = Book::with_chapter(
        "```rust\n{{#include ../../listings/ch01/src/lib.rs:4:6}}\n{{#include ../../listings/ch01/src/lib.rs:4}}\n{{#include ../../listings/ch01/src/lib.rs::6}}\n{{#include ../../listings/ch01/src/lib.rs:18:}}\n```",
    );
    assert_clean(&check_includes(book.root()));
}

const SNAPSHOT: &str =
    "---\nsource: listings/ch01/tests/snapshots.rs\n---\nhello\nworld\n";

#[test]
fn snapshot_include_showing_insta_header() {
    let book = Book::with_chapter(
        "```text\n{{#include ../../listings/ch01/tests/snapshots/out.snap}}\n```",
    );
    book.write("listings/ch01/tests/snapshots/out.snap", SNAPSHOT);
    assert_one(&check_includes(book.root()), INDEX, 6, "start at line 4");
}

#[test]
fn snapshot_include_after_the_header_passes() {
    let book = Book::with_chapter(
        "```text\n{{#include ../../listings/ch01/tests/snapshots/out.snap:4:}}\n```",
    );
    book.write("listings/ch01/tests/snapshots/out.snap", SNAPSHOT);
    assert_clean(&check_includes(book.root()));
}

#[test]
fn rustdoc_include_of_missing_file() {
    let book = Book::with_chapter(
        "```rust\n{{#rustdoc_include ../../listings/ch01/src/gone.rs:add}}\n```",
    );
    assert_one(
        &check_includes(book.root()),
        INDEX,
        6,
        "cannot read included file `listings/ch01/src/gone.rs`",
    );
}

#[test]
fn rustdoc_include_of_existing_anchor_passes() {
    let book = Book::with_chapter(
        "```rust\n{{#rustdoc_include ../../listings/ch01/src/lib.rs:add}}\n```",
    );
    assert_clean(&check_includes(book.root()));
}

#[test]
fn escaped_include_is_not_an_include() {
    let book = Book::valid();
    book.write(
        "src/ch01/index.md",
        &chapter("Write `\\{{#include missing.rs}}` to include a file.\n\n{{#include ../../listings/ch01/src/lib.rs:add}}"),
    );
    assert_clean(&check_includes(book.root()));
}

#[test]
fn misspelt_helper_is_reported() {
    let book = Book::valid();
    book.write(
        "src/ch01/index.md",
        &chapter("{{#inclde ../../listings/ch01/src/lib.rs:add}}\n\n{{#include ../../listings/ch01/src/lib.rs:add}}"),
    );
    assert_one(
        &check_includes(book.root()),
        INDEX,
        5,
        "unknown mdBook helper `inclde`",
    );
}

#[test]
fn broken_include_inside_an_included_fragment_is_located_in_the_fragment() {
    let book = Book::with_chapter("{{#include part.md}}");
    let part = "Fragment.\n\n{{#include ../../listings/ch01/src/lib.rs:missing}}\n";
    book.write("src/ch01/part.md", part);
    assert_one(
        &check_includes(book.root()),
        "src/ch01/part.md",
        3,
        "anchor `missing` not found",
    );
}

// ---------------------------------------------------------------- excerpt length

/// A listing whose anchor `body` shows `n` lines, its start line reading `start`.
fn long_listing(start: &str, n: usize) -> String {
    let body: String = (0..n).map(|i| format!("    let x{i} = {i};\n")).collect();
    format!("//! Long.\n\n{start}\npub fn f() {{\n{body}}}\n// ANCHOR_END: body\n")
}

/// The base book whose chapter includes anchor `body` of `listings/ch01/src/long.rs`.
fn book_with_long(source: &str) -> Book {
    let book = Book::with_chapter(
        "```rust\n{{#include ../../listings/ch01/src/long.rs:body}}\n```",
    );
    book.write("listings/ch01/src/long.rs", source);
    book
}

#[test]
fn excerpt_over_forty_lines_is_reported_at_the_include() {
    // 39 body lines + `pub fn f() {` + `}` = 41 shown lines.
    let book = book_with_long(&long_listing("// ANCHOR: body", 39));
    assert_one(
        &check_includes(book.root()),
        INDEX,
        6,
        "anchor `body` (line 3 of `listings/ch01/src/long.rs`) shows 41 lines, more than the 40",
    );
}

#[test]
fn excerpt_of_forty_lines_passes() {
    let book = book_with_long(&long_listing("// ANCHOR: body", 38));
    assert_clean(&check_includes(book.root()));
}

#[test]
fn long_excerpt_with_a_reasoned_marker_passes() {
    let start = "// ANCHOR: body (long: a table of cases, one a line)";
    let book = book_with_long(&long_listing(start, 60));
    assert_clean(&check_all(book.root()));
}

#[test]
fn long_marker_with_an_empty_reason_is_reported() {
    let book = book_with_long(&long_listing("// ANCHOR: body (long: )", 60));
    assert_one(&check_includes(book.root()), INDEX, 6, "gives no reason");
}

#[test]
fn malformed_long_marker_is_reported() {
    let book = book_with_long(&long_listing("// ANCHOR: body (long because)", 60));
    assert_one(
        &check_includes(book.root()),
        INDEX,
        6,
        "`(long because)` after the anchor name is not a length marker",
    );
}

#[test]
fn long_marker_on_a_short_excerpt_is_reported() {
    let book = book_with_long(&long_listing("// ANCHOR: body (long: why not)", 3));
    assert_one(
        &check_includes(book.root()),
        INDEX,
        6,
        "remove its `(long: …)` marker",
    );
}

#[test]
fn long_line_range_is_reported() {
    let book = Book::with_chapter(
        "```rust\n{{#include ../../listings/ch01/src/long.rs:3:50}}\n```",
    );
    book.write(
        "listings/ch01/src/long.rs",
        &long_listing("// ANCHOR: body", 60),
    );
    assert_one(
        &check_includes(book.root()),
        INDEX,
        6,
        "shows 48 lines of `listings/ch01/src/long.rs`",
    );
}

#[test]
fn rustdoc_include_counts_only_the_lines_it_shows() {
    let book = Book::with_chapter(
        "```rust\n{{#rustdoc_include ../../listings/ch01/src/long.rs:body}}\n```",
    );
    let mut source = long_listing("// ANCHOR: body", 3);
    source.push_str(&"// hidden behind `# `\n".repeat(60));
    book.write("listings/ch01/src/long.rs", &source);
    assert_clean(&check_includes(book.root()));
}

#[test]
fn long_markdown_fragment_is_prose_not_an_excerpt() {
    let book = Book::with_chapter("{{#include part.md}}");
    book.write("src/ch01/part.md", &"A line of prose.\n".repeat(60));
    assert_clean(&check_includes(book.root()));
}

// ---------------------------------------------------------------- listings

#[test]
fn listing_crate_not_included_anywhere() {
    let book = Book::valid();
    book.write("listings/ch02/Cargo.toml", "[package]\nname = \"ch02\"\n");
    book.write("listings/ch02/src/lib.rs", "pub fn two() {}\n");
    assert_one(
        &check_listings_included(book.root()),
        "listings/ch02/Cargo.toml",
        1,
        "listing crate `ch02` is never shown",
    );
}

#[test]
fn included_listing_crate_passes() {
    assert_clean(&check_listings_included(Book::valid().root()));
}

// ---------------------------------------------------------------- SUMMARY

#[test]
fn summary_entry_pointing_to_missing_file() {
    let book = Book::valid();
    let summary = format!("{SUMMARY}- [Chapter two](ch02/index.md)\n");
    book.write("src/SUMMARY.md", &summary);
    assert_one(
        &check_summary(book.root()),
        "src/SUMMARY.md",
        line_of(&summary, "ch02/index.md"),
        "SUMMARY entry `ch02/index.md` does not exist",
    );
}

#[test]
fn chapter_not_in_summary() {
    let book = Book::valid();
    book.write("src/ch01/extra.md", "# Extra\n");
    assert_one(
        &check_summary(book.root()),
        "src/ch01/extra.md",
        1,
        "not in SUMMARY.md",
    );
}

#[test]
fn included_fragment_need_not_be_in_summary() {
    let book = Book::with_chapter("{{#include part.md}}");
    book.write("src/ch01/part.md", "A fragment.\n");
    assert_clean(&check_summary(book.root()));
}

#[test]
fn draft_chapter_is_accepted() {
    let book = Book::valid();
    book.write("src/SUMMARY.md", &format!("{SUMMARY}- [Coming soon]()\n"));
    assert_clean(&check_summary(book.root()));
}

#[test]
fn missing_summary_is_a_problem_not_a_panic() {
    let book = Book::empty();
    assert_one(
        &check_summary(book.root()),
        "src/SUMMARY.md",
        1,
        "cannot read SUMMARY.md",
    );
    // The other checks have nothing to look at and say nothing.
    assert_eq!(check_all(book.root()).len(), 1);
}

// ---------------------------------------------------------------- math

#[test]
fn katex_error_is_reported_at_the_formula() {
    let text = "# Chapter one\n\nThe mean is $\\mu$.\n\nBroken: $\\frac{1}{$ here.\n";
    let book = Book::valid();
    book.write("src/ch01/index.md", text);
    assert_one(
        &check_math(book.root()),
        INDEX,
        line_of(text, "Broken"),
        "KaTeX cannot render inline formula",
    );
}

#[test]
fn undefined_control_sequence_in_display_math() {
    let text = "# Chapter one\n\nText.\n\n$$\nx = \\notacommand{y}\n$$\n\nAfter.\n";
    let book = Book::valid();
    book.write("src/ch01/index.md", text);
    let problems = check_math(book.root());
    assert_one(
        &problems,
        INDEX,
        line_of(text, "$$"),
        "Undefined control sequence",
    );
    assert!(
        problems[0].message.contains("display formula"),
        "{}",
        problems[0]
    );
}

#[test]
fn katex_error_in_an_included_fragment_is_located_in_the_fragment() {
    let book = Book::with_chapter(
        "{{#include part.md}}\n\n{{#include ../../listings/ch01/src/lib.rs:add}}",
    );
    let part = "Fragment.\n\nSee $\\notacommand$.\n";
    book.write("src/ch01/part.md", part);
    assert_one(
        &check_math(book.root()),
        "src/ch01/part.md",
        3,
        "Undefined control sequence",
    );
}

#[test]
fn escaped_dollars_and_code_are_not_math() {
    let text = "# Chapter one\n\n\
        It costs \\$5, or \\$10 with shipping.\n\n\
        In code, `$\\notacommand$` is just text, as is ``a ` $\\notacommand$``.\n\n\
        ```text\n$\\notacommand$ and $$\\frac{$$\n```\n\n\
        Real math still renders: $a^2 + b^2 = c^2$ and\n\n$$\n\\sum_{i=1}^n x_i\n$$\n";
    let book = Book::valid();
    book.write("src/ch01/index.md", text);
    assert_clean(&check_math(book.root()));
}

#[test]
fn unclosed_dollar_is_reported() {
    let text = "# Chapter one\n\nThis costs $5 and nothing closes it.\n";
    let book = Book::valid();
    book.write("src/ch01/index.md", text);
    assert_one(&check_math(book.root()), INDEX, 3, "never closed");
}

#[test]
fn dollar_inside_a_mermaid_diagram_breaks_it_when_mermaid_runs_first() {
    let book =
        Book::with_chapter("```mermaid\nflowchart LR\n  A[\"cost $x$\"] --> B\n```");
    book.write(
        "book.toml",
        "[book]\nsrc = \"src\"\n\n[preprocessor.katex]\nafter = [\"links\"]\n\n[preprocessor.mermaid]\ncommand = \"mdbook-mermaid\"\n",
    );
    assert_one(
        &check_math(book.root()),
        INDEX,
        7,
        "inside a mermaid diagram",
    );
}

// ---------------------------------------------------------------- mermaid

#[test]
fn empty_mermaid_block() {
    let book = Book::with_chapter("```mermaid\n\n```");
    assert_one(
        &check_mermaid(book.root()),
        INDEX,
        5,
        "mermaid block is empty",
    );
}

#[test]
fn mermaid_block_with_unknown_type() {
    let book =
        Book::with_chapter("```mermaid\n%% a comment\n\nflowchat LR\n  A --> B\n```");
    assert_one(
        &check_mermaid(book.root()),
        INDEX,
        8,
        "starts with `flowchat LR`, which is not a Mermaid diagram type",
    );
}

#[test]
fn valid_mermaid_blocks_pass() {
    let book = Book::with_chapter(
        "```mermaid\n---\ntitle: Data flow\n---\n%% comment\nflowchart LR\n  A --> B\n```\n\n\
         ```mermaid\nsequenceDiagram\n  A->>B: hi\n```\n\n\
         ```mermaid\n%%{init: {'theme': 'dark'}}%%\nstateDiagram-v2\n  [*] --> S\n```",
    );
    assert_clean(&check_mermaid(book.root()));
}

// ---------------------------------------------------------------- built HTML

#[test]
fn built_html_with_katex_error_and_leftover_tex() {
    let dir = TempDir::new().expect("temporary directory");
    let page = "<!DOCTYPE html>\n<html><body>\n\
        <p>Fine: <span class=\"katex\"><span class=\"katex-html\">$</span>x<span>$</span></span></p>\n\
        <p><span class=\"katex-error\" title=\"ParseError: KaTeX parse error: Undefined control sequence\">\\nope</span></p>\n\
        <p>Left over: $$x$$</p>\n\
        <p>Inline left over: $x^2$ here.</p>\n\
        <pre><code>$$ in code is fine $x$</code></pre>\n\
        <p>Prices like $5 and $10 are fine.</p>\n\
        <script>var a = '$$x$$';</script>\n\
        </body></html>\n";
    fs::write(dir.path().join("ch01.html"), page).expect("write page");
    let problems = check_built_html(dir.path());
    let file = dir.path().join("ch01.html");
    let found: Vec<(usize, bool)> =
        problems.iter().map(|p| (p.line, p.file == file)).collect();
    assert_eq!(
        found,
        vec![(4, true), (5, true), (6, true)],
        "got:\n{}",
        listing(&problems)
    );
    assert!(
        problems[0].message.contains("katex-error"),
        "{}",
        problems[0]
    );
    assert!(
        problems[0].message.contains("Undefined control sequence"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].message.contains("display math"),
        "{}",
        problems[1]
    );
    assert!(
        problems[2].message.contains("inline math"),
        "{}",
        problems[2]
    );
}

#[test]
fn clean_built_html_passes() {
    let dir = TempDir::new().expect("temporary directory");
    let page = "<html><body><p>Math: <span class=\"katex\">x</span>. Costs $5.</p>\
        <pre><code>$$x$$</code></pre></body></html>\n";
    fs::write(dir.path().join("index.html"), page).expect("write page");
    assert_clean(&check_built_html(dir.path()));
}

// ---------------------------------------------------------------- more math

#[test]
fn katex_error_in_an_anchored_excerpt_is_located_at_its_own_line() {
    let book = Book::with_chapter(
        "{{#include part.md:excerpt}}\n\n{{#include ../../listings/ch01/src/lib.rs:add}}",
    );
    let part = "Not shown: $x$.\n\n<!-- ANCHOR: excerpt -->\nShown.\n\nBad: $\\notacommand$.\n<!-- ANCHOR_END: excerpt -->\n";
    book.write("src/ch01/part.md", part);
    assert_one(
        &check_math(book.root()),
        "src/ch01/part.md",
        line_of(part, "Bad"),
        "Undefined control sequence",
    );
}

#[test]
fn unclosed_backtick_that_hides_math_is_reported() {
    let text = "# Chapter one\n\nA stray ` backtick.\n\nThen $x^2$ is never rendered.\n";
    let book = Book::valid();
    book.write("src/ch01/index.md", text);
    assert_one(
        &check_math(book.root()),
        INDEX,
        3,
        "renders no math after it (1 formula(s) left as raw TeX, the first at src/ch01/index.md:5)",
    );
    // A stray backtick with no math after it hides nothing.
    book.write(
        "src/ch01/index.md",
        "# Chapter one\n\n$x$ renders, then a stray ` backtick and a literal \\$5.\n",
    );
    assert_clean(&check_math(book.root()));
}

#[test]
fn backtick_fence_inside_a_listing_is_reported() {
    let book = Book::with_chapter(
        "```rust\n{{#include ../../listings/ch01/src/fence.rs:body}}\n```",
    );
    book.write(
        "listings/ch01/src/fence.rs",
        "// ANCHOR: body\nfn is_fence(l: &str) -> bool {\n    l.starts_with(\"```\")\n}\n// ANCHOR_END: body\n",
    );
    assert_one(
        &check_includes(book.root()),
        INDEX,
        6,
        "line 3 of `listings/ch01/src/fence.rs` holds a run of three backticks",
    );
}
