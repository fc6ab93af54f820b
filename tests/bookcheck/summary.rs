//! `SUMMARY.md`: every entry exists, and every page is reachable from it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use pulldown_cmark::{Event, Parser, Tag};

use crate::config::BookConfig;
use crate::files::{include_targets, markdown_files, summary_path};
use crate::{Problem, finish, line_of};

/// A link in `SUMMARY.md`.
pub(crate) struct SummaryLink {
    /// 1-based line of the link in `SUMMARY.md`.
    pub line: usize,
    /// The destination as written.
    pub href: String,
    /// Normalised absolute path; `None` for a draft chapter (`[Title]()`).
    pub path: Option<PathBuf>,
}

/// Every link in `SUMMARY.md`, read as mdbook-summary 0.5.4 reads it
/// (`src/lib.rs`: pulldown-cmark with no extensions; `parse_link` turns `%20`
/// into a space; an empty destination is a draft chapter; paths are relative
/// to the source directory). Err: `SUMMARY.md` is missing or unreadable.
pub(crate) fn summary_links(cfg: &BookConfig) -> Result<Vec<SummaryLink>, Problem> {
    let path = summary_path(cfg);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Problem::new(
            &cfg.root,
            &path,
            1,
            format!("cannot read SUMMARY.md, the book's table of contents: {e}"),
        )
    })?;
    let mut links = Vec::new();
    for (event, range) in Parser::new(&text).into_offset_iter() {
        if let Event::Start(Tag::Link { dest_url, .. }) = event {
            let href = dest_url.replace("%20", " ");
            let path = (!href.is_empty()).then(|| crate::normalize(&cfg.src.join(&href)));
            links.push(SummaryLink {
                line: line_of(&text, range.start),
                href,
                path,
            });
        }
    }
    Ok(links)
}

/// Checks `src/SUMMARY.md`: it exists; every link in it points to an existing
/// file (draft chapters, `- [Title]()`, are allowed) and no file is listed
/// twice (mdBook refuses duplicates); and every other `.md` file under `src/`
/// is listed in it, unless it is included into another file.
pub fn check_summary(root: &Path) -> Vec<Problem> {
    let cfg = BookConfig::load(root);
    let (markdown, mut problems) = markdown_files(&cfg);
    problems.extend(cfg.problems.iter().cloned());
    let summary = summary_path(&cfg);
    let links = match summary_links(&cfg) {
        Ok(links) => links,
        Err(p) => {
            problems.push(p);
            return finish(problems);
        }
    };

    let mut listed: BTreeMap<PathBuf, usize> = BTreeMap::new();
    for link in &links {
        let Some(path) = &link.path else { continue };
        if link.href.contains("://") {
            problems.push(Problem::new(
                &cfg.root,
                &summary,
                link.line,
                format!(
                    "SUMMARY entry `{}` is a URL: mdBook reads every entry as a markdown file under {}",
                    link.href,
                    crate::relative_to(&cfg.root, &cfg.src).display()
                ),
            ));
        } else if !path.is_file() {
            let what = if path.exists() {
                "is not a file"
            } else {
                "does not exist"
            };
            problems.push(Problem::new(
                &cfg.root,
                &summary,
                link.line,
                format!(
                    "SUMMARY entry `{}` {what}: expected a markdown file at {} (write `[Title]()` for a draft chapter)",
                    link.href,
                    crate::relative_to(&cfg.root, path).display()
                ),
            ));
        }
        if let Some(first) = listed.insert(path.clone(), link.line) {
            listed.insert(path.clone(), first);
            problems.push(Problem::new(
                &cfg.root,
                &summary,
                link.line,
                format!(
                    "SUMMARY entry `{}` repeats the file already listed on line {first}; mdBook rejects duplicate entries",
                    link.href
                ),
            ));
        }
    }

    let included = include_targets(&cfg, &markdown);
    for md in &markdown {
        if *md == summary || listed.contains_key(md) || included.contains(md) {
            continue;
        }
        let rel = rel_to_src(&cfg, md);
        problems.push(Problem::new(
            &cfg.root,
            md,
            1,
            format!(
                "page is not in SUMMARY.md, so mdBook never renders it: add `- [Title]({rel})` there, or include it from a chapter"
            ),
        ));
    }
    finish(problems)
}

fn rel_to_src(cfg: &BookConfig, path: &Path) -> String {
    path.strip_prefix(&cfg.src)
        .unwrap_or(path)
        .to_string_lossy()
        .replace('\\', "/")
}
