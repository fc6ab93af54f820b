//! Finding the book's markdown files and its chapters.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use crate::Problem;
use crate::config::BookConfig;
use crate::expand::Expander;

/// Every `.md` file under the source directory, sorted; an unreadable
/// directory entry becomes a problem. A missing source directory yields
/// nothing here ([`crate::check_summary`] reports it).
pub(crate) fn markdown_files(cfg: &BookConfig) -> (Vec<PathBuf>, Vec<Problem>) {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    if !cfg.src.is_dir() {
        return (files, problems);
    }
    for entry in WalkDir::new(&cfg.src).sort_by_file_name() {
        match entry {
            Ok(e)
                if e.file_type().is_file()
                    && e.path().extension().is_some_and(|x| x == "md") =>
            {
                files.push(crate::normalize(e.path()));
            }
            Ok(_) => {}
            Err(e) => {
                let path = e.path().unwrap_or(&cfg.src).to_path_buf();
                problems.push(Problem::new(
                    &cfg.root,
                    &path,
                    1,
                    format!("cannot read: {e}"),
                ));
            }
        }
    }
    (files, problems)
}

/// `SUMMARY.md` in the source directory.
pub(crate) fn summary_path(cfg: &BookConfig) -> PathBuf {
    cfg.src.join("SUMMARY.md")
}

/// Normalised paths of every file that some markdown file under the source
/// directory includes (directly or through nested includes).
pub(crate) fn include_targets(
    cfg: &BookConfig,
    markdown: &[PathBuf],
) -> BTreeSet<PathBuf> {
    let mut expander = Expander::new(&cfg.root);
    for md in markdown {
        expander.expand_file(md);
    }
    expander.targets.into_iter().collect()
}

/// The pages mdBook renders, as the math and diagram checks should see them:
/// every file `SUMMARY.md` links to, plus every other markdown file that is
/// not merely a fragment included elsewhere (an orphan is still checked,
/// and reported by [`crate::check_summary`]). `SUMMARY.md` itself is not a page.
pub(crate) fn chapter_files(cfg: &BookConfig, markdown: &[PathBuf]) -> Vec<PathBuf> {
    let summary = summary_path(cfg);
    let linked: BTreeSet<PathBuf> = crate::summary::summary_links(cfg)
        .map(|links| {
            links
                .into_iter()
                .filter_map(|l| l.path)
                .filter(|p| p.is_file())
                .collect()
        })
        .unwrap_or_default();
    let included = include_targets(cfg, markdown);
    let mut chapters: BTreeSet<PathBuf> = markdown
        .iter()
        .filter(|p| **p != summary && !included.contains(*p))
        .cloned()
        .collect();
    chapters.extend(linked);
    chapters.into_iter().collect()
}

/// Whether `path` lies inside `dir` (both normalised).
pub(crate) fn is_inside(path: &Path, dir: &Path) -> bool {
    path.starts_with(dir)
}
