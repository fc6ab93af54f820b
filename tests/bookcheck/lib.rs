//! Whole-book checks for the mdBook in this repository.
//!
//! Each check reads the book the way mdBook 0.5.4 and its preprocessors
//! (mdbook-katex 0.10.0, mdbook-mermaid) read it, and reports every defect as a
//! [`Problem`] that prints as `path:line: message`. `tests/book.rs` runs
//! [`check_all`] on the real book; `tests/checks_catch_breakage.rs` proves that
//! each check catches what it claims to catch.
//!
//! The built book is checked twice: [`check_built_html`] reads its HTML, and
//! [`check_in_browser`] opens every page in headless Chromium (`cargo xtask test` runs
//! both after `mdbook build`; `tests/browser_catches_breakage.rs` proves the latter).
//!
//! The book root is the directory holding `book.toml`; the text lives in its
//! source directory (`[book] src`, default `src/`) and the listings in
//! `listings/<crate>/`.

use std::fmt;
use std::path::{Path, PathBuf};

mod browser;
mod config;
mod expand;
mod files;
mod html;
mod includes;
mod links;
mod math;
mod mermaid;
mod scan;
mod summary;

pub use browser::{
    BrowserReport, CHROMIUM_FLAGS, INSTALL_CHROMIUM, check_in_browser, find_chromium,
    pages_to_open,
};
pub use html::check_built_html;
pub use includes::{check_includes, check_listings_included};
pub use math::check_math;
pub use mermaid::{DIAGRAM_TYPES, check_mermaid};
pub use summary::check_summary;

/// One defect found in the book, located at a line of a file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Problem {
    /// The file, relative to the book root when it lies inside it
    /// (for [`check_built_html`]: the HTML directory joined with the page path).
    pub file: PathBuf,
    /// 1-based line number within `file`.
    pub line: usize,
    /// What is wrong, and what was expected instead.
    pub message: String,
}

impl Problem {
    /// A problem in `file` (absolute or relative to the current directory),
    /// shown relative to `root` when `file` lies inside it.
    pub(crate) fn new(
        root: &Path,
        file: &Path,
        line: usize,
        message: impl Into<String>,
    ) -> Self {
        Problem {
            file: relative_to(root, file),
            line,
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file.display(), self.line, self.message)
    }
}

/// Runs every source check on the book at `root`: [`check_includes`],
/// [`check_listings_included`], [`check_summary`], [`check_math`] and
/// [`check_mermaid`]. Problems come back sorted by file and line, without
/// duplicates.
pub fn check_all(root: &Path) -> Vec<Problem> {
    let mut problems = check_includes(root);
    problems.extend(check_listings_included(root));
    problems.extend(check_summary(root));
    problems.extend(check_math(root));
    problems.extend(check_mermaid(root));
    finish(problems)
}

/// Sorts problems by file, line and message, and drops duplicates (a file
/// reached both directly and through an include reports each defect once).
pub(crate) fn finish(mut problems: Vec<Problem>) -> Vec<Problem> {
    problems.sort();
    problems.dedup();
    problems
}

/// `root` made absolute and free of `.`/`..`, so that every path the checks
/// build from it can be compared and shortened with `strip_prefix`.
pub(crate) fn absolute_root(root: &Path) -> PathBuf {
    normalize(&std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf()))
}

/// Resolves `.` and `..` components lexically (without touching the disk).
pub(crate) fn normalize(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                if matches!(out.components().next_back(), Some(Component::Normal(_))) {
                    out.pop();
                } else {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// `path` relative to `root` when it lies inside it, otherwise `path` itself.
pub(crate) fn relative_to(root: &Path, path: &Path) -> PathBuf {
    let path = normalize(path);
    match path.strip_prefix(root) {
        Ok(rel) if rel.as_os_str().is_empty() => PathBuf::from("."),
        Ok(rel) => rel.to_path_buf(),
        Err(_) => path,
    }
}

/// 1-based line number of byte `offset` in `text`.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let offset = offset.min(text.len());
    1 + text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// `text` on one line, whitespace runs collapsed, cut to about `max` characters:
/// for quoting a formula or an include directive inside a message.
pub(crate) fn preview(text: &str, max: usize) -> String {
    let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        flat
    } else {
        let cut: String = flat.chars().take(max).collect();
        format!("{cut}…")
    }
}
