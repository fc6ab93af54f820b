//! Includes resolve, and every listing crate is shown somewhere in the book.

use std::path::Path;

use walkdir::WalkDir;

use crate::config::BookConfig;
use crate::expand::Expander;
use crate::files::{include_targets, is_inside, markdown_files};
use crate::{Problem, finish};

/// Checks every `{{#include}}`, `{{#rustdoc_include}}` and `{{#playground}}`
/// in every markdown file under `src/` (and in what they include, to any
/// depth), parsed as mdBook 0.5.4 parses them: the file exists; a named anchor
/// has both its `ANCHOR:` and `ANCHOR_END:` lines and selects at least one
/// non-blank line; a line range lies within the file and is not empty; an
/// excerpt shows at most 40 lines unless its `ANCHOR:` line says why not,
/// `ANCHOR: name (long: <reason>)` (included markdown is not counted). Unknown
/// helpers such as `{{#inlcude ...}}`, which mdBook would print verbatim, are
/// reported too. Each problem is located at the helper.
pub fn check_includes(root: &Path) -> Vec<Problem> {
    let cfg = BookConfig::load(root);
    let (markdown, mut problems) = markdown_files(&cfg);
    problems.extend(cfg.problems.iter().cloned());
    let mut expander = Expander::new(&cfg.root);
    for md in &markdown {
        expander.expand_file(md);
    }
    problems.extend(expander.problems);
    finish(problems)
}

/// Checks that every listing crate (a directory `listings/<crate>/` with a
/// `Cargo.toml`) is shown in the book: some include under `src/` reads a file
/// inside it. A crate no include reaches is reported at its `Cargo.toml`, line 1.
pub fn check_listings_included(root: &Path) -> Vec<Problem> {
    let cfg = BookConfig::load(root);
    let (markdown, mut problems) = markdown_files(&cfg);
    problems.extend(cfg.problems.iter().cloned());
    let listings = cfg.root.join("listings");
    if !listings.is_dir() {
        return finish(problems);
    }
    let targets = include_targets(&cfg, &markdown);
    for entry in WalkDir::new(&listings)
        .min_depth(1)
        .max_depth(1)
        .sort_by_file_name()
    {
        let dir = match entry {
            Ok(e) if e.file_type().is_dir() => crate::normalize(e.path()),
            Ok(_) => continue,
            Err(e) => {
                problems.push(Problem::new(
                    &cfg.root,
                    &listings,
                    1,
                    format!("cannot read: {e}"),
                ));
                continue;
            }
        };
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        if !targets.iter().any(|t| is_inside(t, &dir)) {
            let name = dir.file_name().unwrap_or_default().to_string_lossy();
            problems.push(Problem::new(
                &cfg.root,
                &manifest,
                1,
                format!(
                    "listing crate `{name}` is never shown in the book: no {{{{#include}}}} or {{{{#rustdoc_include}}}} under {} reads a file in listings/{name}/",
                    crate::relative_to(&cfg.root, &cfg.src).display()
                ),
            ));
        }
    }
    finish(problems)
}
