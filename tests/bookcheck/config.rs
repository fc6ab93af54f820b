//! What the checks need from `book.toml`: the source directory, the order in
//! which mdBook runs the preprocessors, and the `[preprocessor.katex]` table.
//!
//! A missing `book.toml` is not a defect (mdBook then uses its defaults); one
//! that does not parse is.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::{Problem, absolute_root};

/// The parts of `book.toml` the checks depend on.
pub(crate) struct BookConfig {
    /// Absolute, normalised book root.
    pub root: PathBuf,
    /// Absolute source directory (`[book] src`, default `src`).
    pub src: PathBuf,
    /// Preprocessor names in the order mdBook runs them.
    order: Vec<String>,
    /// The raw `[preprocessor.katex]` table, if any.
    pub katex: Option<toml::Value>,
    /// Where `book.toml` could not be read.
    pub problems: Vec<Problem>,
}

/// The preprocessors mdBook adds unless `build.use-default-preprocessors = false`
/// (mdbook-driver 0.5.4, `src/mdbook.rs`, `DEFAULT_PREPROCESSORS`).
const DEFAULT_PREPROCESSORS: [&str; 2] = ["links", "index"];

impl BookConfig {
    /// Reads `root/book.toml`, falling back to mdBook's defaults where it is
    /// missing or broken (a broken one is also recorded in `problems`).
    pub fn load(root: &Path) -> BookConfig {
        let root = absolute_root(root);
        let path = root.join("book.toml");
        let mut problems = Vec::new();
        let table = match std::fs::read_to_string(&path) {
            Ok(text) => match text.parse::<toml::Table>() {
                Ok(table) => table,
                Err(e) => {
                    let line = e.span().map_or(1, |s| crate::line_of(&text, s.start));
                    let msg = e.message().trim().to_string();
                    problems.push(Problem::new(
                        &root,
                        &path,
                        line,
                        format!("book.toml is not valid TOML: {msg}"),
                    ));
                    toml::Table::new()
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
            Err(e) => {
                problems.push(Problem::new(
                    &root,
                    &path,
                    1,
                    format!("cannot read book.toml: {e}"),
                ));
                toml::Table::new()
            }
        };

        let src = table
            .get("book")
            .and_then(|b| b.get("src"))
            .and_then(|s| s.as_str())
            .unwrap_or("src");
        let use_defaults = table
            .get("build")
            .and_then(|b| b.get("use-default-preprocessors"))
            .and_then(|v| v.as_bool())
            .unwrap_or(true);
        let preprocessors = table
            .get("preprocessor")
            .and_then(|p| p.as_table())
            .cloned()
            .unwrap_or_default();
        let (order, cyclic) = preprocessor_order(&preprocessors, use_defaults);
        if !cyclic.is_empty() {
            problems.push(Problem::new(
                &root,
                &path,
                1,
                format!(
                    "the `before`/`after` keys of preprocessors {} form a cycle, so mdBook refuses to build",
                    cyclic.join(", ")
                ),
            ));
        }
        BookConfig {
            src: crate::normalize(&root.join(src)),
            katex: preprocessors.get("katex").cloned(),
            root,
            order,
            problems,
        }
    }

    fn position(&self, name: &str) -> Option<usize> {
        self.order.iter().position(|n| n == name)
    }

    /// Whether mdBook expands `{{#include}}` before the preprocessor `name`
    /// sees the text. A preprocessor the book does not configure is taken to
    /// run last, so the checks read what it would read if it were added.
    pub fn includes_expanded_before(&self, name: &str) -> bool {
        match (self.position("links"), self.position(name)) {
            (Some(links), Some(other)) => links < other,
            (Some(_), None) => true,
            (None, _) => false,
        }
    }

    /// Whether both preprocessors are configured and `first` runs before `second`.
    pub fn runs_before(&self, first: &str, second: &str) -> bool {
        matches!((self.position(first), self.position(second)), (Some(a), Some(b)) if a < b)
    }

    /// Line of `[preprocessor.<name>]` in book.toml (1 when not found), for
    /// problems about that table.
    pub fn table_line(&self, name: &str) -> usize {
        let header = format!("[preprocessor.{name}]");
        std::fs::read_to_string(self.root.join("book.toml"))
            .ok()
            .and_then(|text| text.lines().position(|l| l.trim() == header).map(|i| i + 1))
            .unwrap_or(1)
    }
}

/// The order mdBook 0.5.4 runs preprocessors in (mdbook-driver `src/mdbook.rs`,
/// `determine_preprocessors`): a topological sort of the `before`/`after`
/// constraints, ties broken by sorting names by code point. Returns the order
/// and the names left over when the constraints form a cycle.
fn preprocessor_order(
    tables: &toml::Table,
    use_defaults: bool,
) -> (Vec<String>, Vec<String>) {
    let mut nodes: BTreeSet<String> = BTreeSet::new();
    if use_defaults {
        nodes.extend(DEFAULT_PREPROCESSORS.iter().map(|s| s.to_string()));
    }
    nodes.extend(tables.keys().cloned());
    let exists = |name: &str| {
        (use_defaults && DEFAULT_PREPROCESSORS.contains(&name))
            || tables.contains_key(name)
    };
    // predecessors[n] = names that must run before n
    let mut predecessors: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, table) in tables {
        for other in string_list(table.get("before")) {
            if exists(&other) {
                predecessors.entry(other).or_default().insert(name.clone());
            }
        }
        for other in string_list(table.get("after")) {
            if exists(&other) {
                predecessors.entry(name.clone()).or_default().insert(other);
            }
        }
    }
    let mut order = Vec::new();
    loop {
        let ready: Vec<String> = nodes
            .iter()
            .filter(|n| predecessors.get(*n).is_none_or(|p| p.is_empty()))
            .cloned()
            .collect();
        if ready.is_empty() {
            break;
        }
        for name in &ready {
            nodes.remove(name);
            for preds in predecessors.values_mut() {
                preds.remove(name);
            }
        }
        order.extend(ready); // BTreeSet iteration is already sorted by code point
    }
    (order, nodes.into_iter().collect())
}

fn string_list(value: Option<&toml::Value>) -> Vec<String> {
    value
        .and_then(|v| v.as_array())
        .map(|items| {
            items
                .iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
