//! Expanding mdBook's helpers the way its `links` preprocessor does, while
//! remembering, for every byte of the result, which file and line it came from.
//! The other checks read this expanded text, and report positions in the file
//! where the text is actually written.

use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::rc::Rc;

use crate::links::{self, Link, LinkKind, Selection, Taken};
use crate::{Problem, preview};

/// mdBook stops expanding nested includes at this depth (`MAX_LINK_NESTED_DEPTH`).
const MAX_DEPTH: usize = 10;

/// Where a run of bytes of a [`Mapped`] text came from.
#[derive(Clone, Debug)]
struct Span {
    /// Offset in the mapped text where the run starts.
    start: usize,
    file: Rc<Path>,
    /// 1-based line of `file` the run starts on.
    line: usize,
    /// Copied verbatim from `file`, so newlines in it advance the line;
    /// otherwise made up (a `# ` prefix, a joining newline) and pinned to `line`.
    verbatim: bool,
}

/// Text with a source position for every byte.
#[derive(Clone, Debug, Default)]
pub(crate) struct Mapped {
    pub text: String,
    spans: Vec<Span>,
}

impl Mapped {
    /// The whole of `file`'s `text`.
    pub fn from_file(file: Rc<Path>, text: String) -> Mapped {
        Mapped {
            spans: vec![Span {
                start: 0,
                file,
                line: 1,
                verbatim: true,
            }],
            text,
        }
    }

    /// File and 1-based line that byte `offset` of the text came from.
    pub fn origin(&self, offset: usize) -> (Rc<Path>, usize) {
        let i = self
            .spans
            .partition_point(|s| s.start <= offset)
            .saturating_sub(1);
        let span = &self.spans[i];
        let line = if span.verbatim {
            let end = offset.min(self.text.len()).max(span.start);
            span.line + count_newlines(&self.text[span.start..end])
        } else {
            span.line
        };
        (span.file.clone(), line)
    }

    /// Appends `src.text[range]`, keeping its origins.
    pub fn push_from(&mut self, src: &Mapped, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let base = self.text.len();
        let first = src
            .spans
            .partition_point(|s| s.start <= range.start)
            .saturating_sub(1);
        for (i, span) in src.spans.iter().enumerate().skip(first) {
            if span.start >= range.end {
                break;
            }
            let (start, line) = if i == first {
                let line = if span.verbatim {
                    span.line + count_newlines(&src.text[span.start..range.start])
                } else {
                    span.line
                };
                (base, line)
            } else {
                (base + span.start - range.start, span.line)
            };
            self.spans.push(Span {
                start,
                file: span.file.clone(),
                line,
                verbatim: span.verbatim,
            });
        }
        self.text.push_str(&src.text[range]);
    }

    /// Appends all of `src`.
    pub fn append(&mut self, src: &Mapped) {
        self.push_from(src, 0..src.text.len());
    }

    /// Appends text that no file holds, attributed to `file`:`line`.
    pub fn push_synthetic(&mut self, text: &str, file: Rc<Path>, line: usize) {
        if text.is_empty() {
            return;
        }
        self.spans.push(Span {
            start: self.text.len(),
            file,
            line,
            verbatim: false,
        });
        self.text.push_str(text);
    }
}

fn count_newlines(s: &str) -> usize {
    s.bytes().filter(|&b| b == b'\n').count()
}

/// Expands helpers in markdown files, collecting problems and include targets.
pub(crate) struct Expander<'a> {
    root: &'a Path,
    /// Problems found while expanding (missing files, anchors, bad ranges ...).
    pub problems: Vec<Problem>,
    /// Normalised paths of every file an include or playground helper read.
    pub targets: Vec<PathBuf>,
    cache: HashMap<PathBuf, Result<Rc<str>, String>>,
}

impl<'a> Expander<'a> {
    /// An expander for the book at `root` (absolute and normalised).
    pub fn new(root: &'a Path) -> Self {
        Expander {
            root,
            problems: Vec::new(),
            targets: Vec::new(),
            cache: HashMap::new(),
        }
    }

    /// Reads `path` (a markdown file) and returns it unexpanded, or records
    /// why it cannot be read.
    pub fn load(&mut self, path: &Path) -> Option<Mapped> {
        match self.read(path) {
            Ok(text) => Some(Mapped::from_file(Rc::from(path), text.to_string())),
            Err(e) => {
                self.problems.push(Problem::new(
                    self.root,
                    path,
                    1,
                    format!("cannot read file: {e}"),
                ));
                None
            }
        }
    }

    /// `path` with every helper expanded, as mdBook's `links` preprocessor
    /// leaves a chapter.
    pub fn expand_file(&mut self, path: &Path) -> Option<Mapped> {
        let raw = self.load(path)?;
        let base = path.parent().unwrap_or(self.root).to_path_buf();
        Some(self.replace_all(&raw, &base, 0))
    }

    /// A chapter as a preprocessor sees it: with its includes expanded when the `links`
    /// preprocessor runs before it (`expanded`), as written otherwise.
    pub fn page(&mut self, path: &Path, expanded: bool) -> Option<Mapped> {
        if expanded {
            self.expand_file(path)
        } else {
            self.load(path)
        }
    }

    fn read(&mut self, path: &Path) -> Result<Rc<str>, String> {
        let key = crate::normalize(path);
        self.cache
            .entry(key.clone())
            .or_insert_with(|| match std::fs::read_to_string(&key) {
                Ok(text) => Ok(Rc::from(text)),
                Err(e) => Err(e.to_string()),
            })
            .clone()
    }

    fn problem(&mut self, at: (Rc<Path>, usize), message: String) {
        self.problems
            .push(Problem::new(self.root, &at.0, at.1, message));
    }

    fn show(&self, path: &Path) -> String {
        crate::relative_to(self.root, path).display().to_string()
    }

    /// `replace_all` in mdBook's links.rs: expands each helper in `input`,
    /// recursing into what it produced with the included file's directory as base.
    fn replace_all(&mut self, input: &Mapped, base: &Path, depth: usize) -> Mapped {
        let mut out = Mapped::default();
        let mut previous_end = 0;
        for link in links::find_links(&input.text) {
            out.push_from(input, previous_end..link.range.start);
            let at = input.origin(link.range.start);
            match self.render(&link, input, base, at.clone()) {
                Some((content, nested_base)) => {
                    if depth < MAX_DEPTH {
                        match nested_base {
                            Some(dir) => {
                                let nested = self.replace_all(&content, &dir, depth + 1);
                                out.append(&nested);
                            }
                            None => out.append(&content),
                        }
                    } else if nested_base.is_some() {
                        self.problem(
                            at,
                            format!(
                                "`{}`: includes nest more than {MAX_DEPTH} levels deep (an include cycle?); mdBook drops this one",
                                preview(&link.text, 80)
                            ),
                        );
                    }
                    previous_end = link.range.end;
                }
                // mdBook leaves the helper in the page as written.
                None => previous_end = link.range.start,
            }
        }
        out.push_from(input, previous_end..input.text.len());
        out
    }

    /// What a helper expands to, and the base directory for helpers nested in
    /// it; `None` where mdBook fails and keeps the helper text.
    fn render(
        &mut self,
        link: &Link,
        input: &Mapped,
        base: &Path,
        at: (Rc<Path>, usize),
    ) -> Option<(Mapped, Option<PathBuf>)> {
        let shown = preview(&link.text, 80);
        match &link.kind {
            LinkKind::Escaped => {
                let mut m = Mapped::default();
                m.push_from(input, link.range.start + 1..link.range.end);
                Some((m, None))
            }
            LinkKind::Title => Some((Mapped::default(), None)),
            LinkKind::Unknown(typ) => {
                // mdBook skips it without a word; the reader sees the raw braces.
                self.problem(
                    at,
                    format!(
                        "`{shown}`: unknown mdBook helper `{typ}` (expected include, rustdoc_include, playground or title); mdBook shows it as literal text"
                    ),
                );
                None
            }
            LinkKind::NoPath(typ) => {
                self.problem(
                    at,
                    format!(
                        "`{shown}`: `{typ}` needs a file path; mdBook shows it as literal text"
                    ),
                );
                None
            }
            LinkKind::Include(path, sel) | LinkKind::RustdocInclude(path, sel) => {
                let rustdoc = matches!(link.kind, LinkKind::RustdocInclude(..));
                let target = crate::normalize(&base.join(path));
                let text = self.read_target(&target, &shown, at.clone())?;
                let file = self.show(&target);
                for message in selection_problems(&text, sel, rustdoc, &file) {
                    self.problem(at.clone(), format!("`{shown}`: {message}"));
                }
                let content = included(&text, sel, rustdoc, &target);
                Some((content, Some(parent(&target))))
            }
            LinkKind::Playground(path, attrs) => {
                let target = crate::normalize(&base.join(path));
                let text = self.read_target(&target, &shown, at.clone())?;
                let file: Rc<Path> = Rc::from(target.as_path());
                let mut m = Mapped::default();
                let ftype = if attrs.is_empty() { "rust" } else { "rust," };
                m.push_synthetic(
                    &format!("```{ftype}{}\n", attrs.join(",")),
                    at.0.clone(),
                    at.1,
                );
                m.append(&Mapped::from_file(file, text.to_string()));
                if !text.ends_with('\n') {
                    m.push_synthetic("\n", at.0.clone(), at.1);
                }
                m.push_synthetic("```\n", at.0, at.1);
                Some((m, Some(parent(&target))))
            }
        }
    }

    fn read_target(
        &mut self,
        target: &Path,
        shown: &str,
        at: (Rc<Path>, usize),
    ) -> Option<Rc<str>> {
        match self.read(target) {
            Ok(text) => {
                self.targets.push(target.to_path_buf());
                Some(text)
            }
            Err(e) => {
                let message = format!(
                    "`{shown}`: cannot read included file `{}`: {e}",
                    self.show(target)
                );
                self.problem(at, message);
                None
            }
        }
    }
}

/// What is wrong with the lines an include selects from `text` (the file
/// `file`): an anchor that is missing or unterminated, a line range outside
/// the file or empty, a selection with nothing but blank lines, and line
/// specifications mdBook accepts but that are almost surely typos.
fn selection_problems(
    text: &str,
    sel: &Selection,
    rustdoc: bool,
    file: &str,
) -> Vec<String> {
    let mut problems = range_problems(text, sel, rustdoc, file);
    problems.extend(snapshot_header_problem(text, sel, rustdoc, file));
    problems.extend(length_problem(text, sel, rustdoc, file));
    problems.extend(fence_problem(text, sel, rustdoc, file));
    problems
}

/// A listing line that holds a run of three backticks: the page shows the listing
/// inside a code fence, and Markdown ends that fence at the first such run, so the
/// rest of the listing, and every formula after it on the page, is mangled.
/// Included markdown is prose, not a listing, and may hold fences of its own.
fn fence_problem(
    text: &str,
    sel: &Selection,
    rustdoc: bool,
    file: &str,
) -> Option<String> {
    if file.ends_with(".md") {
        return None;
    }
    let lines = links::line_ranges(text);
    let taken = links::take(text, sel, rustdoc);
    let line = taken.iter().find(|t| {
        lines
            .get(t.index)
            .is_some_and(|r| text[r.clone()].contains("```"))
    })?;
    Some(format!(
        "line {} of `{file}` holds a run of three backticks, which ends the page's code fence early: write it with escapes, as \"\\u{{60}}\\u{{60}}\\u{{60}}\"",
        line.index + 1
    ))
}

/// An excerpt longer than [`links::MAX_EXCERPT_LINES`] shown lines (the
/// `rustdoc_include` lines hidden behind `# ` do not count), unless its
/// `ANCHOR:` line carries a `(long: <reason>)` marker; a marker with an empty or
/// malformed reason, or on an excerpt short enough not to need one. Included
/// markdown is prose spliced into the page, not a listing, and is not counted.
fn length_problem(
    text: &str,
    sel: &Selection,
    rustdoc: bool,
    file: &str,
) -> Option<String> {
    if file.ends_with(".md") {
        return None;
    }
    let max = links::MAX_EXCERPT_LINES;
    let shown = links::take(text, sel, rustdoc)
        .iter()
        .filter(|t| !t.hidden)
        .count();
    let how_to = "split it into named units that each explain one idea, or show the key part and name the file for the rest";
    let Selection::Anchor(anchor) = sel else {
        return (shown > max).then(|| {
            format!(
                "shows {shown} lines of `{file}`, more than the {max} an excerpt may show: {how_to} (a deliberate exception must be an anchor whose line reads `ANCHOR: name (long: <reason>)`)"
            )
        });
    };
    let (Some(start), Some(_)) = links::anchor_lines(text, anchor) else {
        return None; // reported by `range_problems`
    };
    let line = links::line_ranges(text)
        .get(start)
        .map_or("", |r| &text[r.clone()]);
    let at = format!("anchor `{anchor}` (line {} of `{file}`)", start + 1);
    match links::long_marker(line) {
        links::LongMarker::Malformed(rest) => Some(format!(
            "{at}: `{rest}` after the anchor name is not a length marker; write `(long: <reason>)`"
        )),
        links::LongMarker::Reason(reason) if reason.is_empty() => Some(format!(
            "{at}: the `(long: …)` marker gives no reason; say why this excerpt must show {shown} lines"
        )),
        links::LongMarker::Reason(_) if shown <= max => Some(format!(
            "{at} shows {shown} lines, within the limit of {max}: remove its `(long: …)` marker"
        )),
        links::LongMarker::Reason(_) => None,
        links::LongMarker::Absent if shown > max => Some(format!(
            "{at} shows {shown} lines, more than the {max} an excerpt may show: {how_to}; a deliberate exception needs `ANCHOR: {anchor} (long: <reason>)`"
        )),
        links::LongMarker::Absent => None,
    }
}

/// The book shows program output by including insta snapshots (`*.snap`), whose first
/// lines are insta's own header (`---`, metadata, `---`). An include of a snapshot must
/// start after it, or the page shows the metadata as if the program had printed it.
fn snapshot_header_problem(
    text: &str,
    sel: &Selection,
    rustdoc: bool,
    file: &str,
) -> Option<String> {
    if !file.ends_with(".snap") {
        return None;
    }
    let mut lines = text.lines();
    if lines.next() != Some("---") {
        return Some(format!(
            "`{file}` does not start with insta's `---` header: is it a snapshot?"
        ));
    }
    let header_end = 1 + lines.position(|l| l == "---")?; // 0-based index of the closing `---`
    let shows_header = links::take(text, sel, rustdoc)
        .iter()
        .any(|t| t.index <= header_end);
    shows_header.then(|| {
        format!(
            "includes insta's snapshot header (lines 1–{}) of `{file}`; start at line {}",
            header_end + 1,
            header_end + 2
        )
    })
}

/// Problems with the anchor or line range an include selects.
fn range_problems(text: &str, sel: &Selection, rustdoc: bool, file: &str) -> Vec<String> {
    let n = links::line_ranges(text).len();
    match sel {
        Selection::Anchor(anchor) => match links::anchor_lines(text, anchor) {
            (None, _) => vec![format!(
                "anchor `{anchor}` not found: `{file}` has no line containing `ANCHOR: {anchor}`"
            )],
            (Some(s), None) => vec![format!(
                "anchor `{anchor}` is not closed: `{file}` has `ANCHOR: {anchor}` on line {} but no `ANCHOR_END: {anchor}` after it",
                s + 1
            )],
            (Some(s), Some(e)) if blank_selection(text, sel, rustdoc) => vec![format!(
                "anchor `{anchor}` (lines {}–{} of `{file}`) selects no non-blank line: only blank lines or other anchor markers lie between `ANCHOR: {anchor}` and `ANCHOR_END: {anchor}`",
                s + 1,
                e + 1
            )],
            (Some(_), Some(_)) => Vec::new(),
        },
        Selection::Lines { start, end, doubts } => {
            let mut problems = doubts.clone();
            let shown = match (start, end) {
                (Some(s), Some(e)) => format!("lines {}–{e}", s + 1),
                (Some(s), None) => format!("lines {}–end", s + 1),
                (None, Some(e)) => format!("lines 1–{e}"),
                (None, None) => "the whole file".to_string(),
            };
            let problem = match (*start, *end) {
                (Some(s), _) if s >= n => Some(format!(
                    "range starts at line {}, but `{file}` has only {n} lines",
                    s + 1
                )),
                (_, Some(e)) if e > n => Some(format!(
                    "range ends at line {e}, but `{file}` has only {n} lines"
                )),
                (s, Some(e)) if e <= s.unwrap_or(0) => {
                    Some(format!("range {shown} is empty"))
                }
                _ if blank_selection(text, sel, rustdoc) => Some(format!(
                    "{shown} of `{file}` hold only blank lines; expected code or text"
                )),
                _ => None,
            };
            problems.extend(problem);
            problems
        }
    }
}

/// Whether every line an include shows (not counting hidden rustdoc lines) is blank.
fn blank_selection(text: &str, sel: &Selection, rustdoc: bool) -> bool {
    let lines = links::line_ranges(text);
    links::take(text, sel, rustdoc)
        .iter()
        .filter(|t| !t.hidden)
        .all(|t| text[lines[t.index].clone()].trim().is_empty())
}

/// The text an include produces, mapped back to the lines of `target`.
fn included(text: &str, sel: &Selection, rustdoc: bool, target: &Path) -> Mapped {
    let file: Rc<Path> = Rc::from(target);
    let whole = Mapped::from_file(file.clone(), text.to_string());
    let lines = links::line_ranges(text);
    let taken: Vec<Taken> = links::take(text, sel, rustdoc);
    let mut out = Mapped::default();
    for (i, t) in taken.iter().enumerate() {
        if i > 0 {
            out.push_synthetic("\n", file.clone(), taken[i - 1].index + 1);
        }
        if t.hidden {
            out.push_synthetic("# ", file.clone(), t.index + 1);
        }
        out.push_from(&whole, lines[t.index].clone());
    }
    out
}

fn parent(path: &Path) -> PathBuf {
    path.parent().map(Path::to_path_buf).unwrap_or_default()
}
